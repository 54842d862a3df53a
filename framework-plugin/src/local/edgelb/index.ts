/**
 * EdgeLB on HAProxy: Auto Pools from Marathon labels, HAProxy config
 * rendering, and a supervised HAProxy process.
 * @packageDocumentation
 */
export { parseTaskLabels, type LabelError, type ParsedLabels, type GroupLabels, type Rule } from './labels.js';
export { autoPools, type AutoPoolOptions, type AutoPoolResult } from './autopool.js';
export type { Pool, PoolBackend, PoolFrontend, PoolServer } from './pool.js';
export { renderHaproxyConfig, type HaproxyRuntime } from './haproxyConfig.js';
export { startHaproxy, checkHaproxyConfig, type Haproxy, type HaproxyInit } from './haproxyProcess.js';
export { startEdgeLb, type AppSource, type EdgeLb, type EdgeLbInit } from './controller.js';
