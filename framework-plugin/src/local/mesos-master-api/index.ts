/**
 * The local cluster's Mesos master operator API subset (`GET_AGENTS`,
 * `GET_TASKS`, `MARK_AGENT_GONE`): the masters' view of which task runs on
 * which agent.
 * @packageDocumentation
 */
export { createMesosMasterApi, startMesosMasterApi, type MasterAgent, type MasterSource, type MesosMasterApiDeps } from './server.js';
