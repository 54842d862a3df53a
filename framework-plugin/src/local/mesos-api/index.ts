/**
 * The local cluster's Mesos agent operator API subset (`GET_CONTAINERS`), so
 * `sip agent` runs the same code against it as against a real agent.
 * @packageDocumentation
 */
export {
  createMesosAgentApi,
  startMesosAgentApi,
  commandExecutorName,
  MESOS_AGENT_REALM,
  type ContainerSource,
  type LocalContainer,
  type MesosAgentApiDeps,
} from './server.js';
