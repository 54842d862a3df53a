/**
 * The Mesos agent operator API (the `GET_CONTAINERS` subset `sip agent` uses).
 * @packageDocumentation
 */
export { createMesosAgentClient, type MesosAgentClient, type MesosAgentClientInit, type MesosContainer } from './agentClient.js';
export { parseMasterAgents, parseMasterTasks, type MasterAgentInfo } from './masterTasks.js';
export { createMesosMasterClient, type MesosMasterClient, type MesosMasterClientInit } from './masterClient.js';
