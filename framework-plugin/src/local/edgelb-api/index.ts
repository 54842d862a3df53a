/**
 * Edge-LB's V2 Pool API served over the local EdgeLB.
 * @packageDocumentation
 */
export { createEdgeLbApi, startEdgeLbApi, EDGELB_BASE_PATH, type EdgeLbApiDeps } from './server.js';
