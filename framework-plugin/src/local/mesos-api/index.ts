/**
 * The local cluster's Mesos agent operator API subset (`GET_CONTAINERS`), so
 * `sip agent` runs the same code against it as against a real agent.
 * @packageDocumentation
 */
export { createMesosAgentApi, startMesosAgentApi, commandExecutorName, type ContainerSource, type LocalContainer, type MesosAgentApiDeps, type MesosAuthenticator } from './server.js';
export { basicAuthenticator, tokenAuthenticator } from './authenticators.js';
