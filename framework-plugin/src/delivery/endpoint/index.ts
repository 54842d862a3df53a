/**
 * Credential-endpoint delivery (`sip.aws.credentials=endpoint`): `sip agent`
 * serves the ECS container-credentials protocol to the tasks of its Mesos
 * agent, finding each caller from its connection, so the external id never
 * enters a task.
 * @packageDocumentation
 */
export { CREDENTIALS_PATH, taskToken } from './taskToken.js';
export { endpointRefusal } from './endpointApp.js';
export {
  createAgentHandler,
  listenAgent,
  type AgentDeps,
  type AgentHandler,
  type AgentServer,
  type ConnectionQuota,
  type Denial,
  type ListenAt,
} from './agentServer.js';
export { createAppRoles, type AppRoles, type AppRolesInit, type MarathonReader, type RoleSource, type TaskRole } from './appRole.js';
export { createTaskLocator, type Caller, type TaskLocator, type TaskLocatorInit } from './taskLocator.js';
export { createStsAssumer, type StsAssumerInit } from './stsAssumer.js';
export { peerProcesses, findSocket, procNetAddress, type ConnectionEnds, type PeerProcesses } from './peerProcess.js';
export { containerIdOf, placeOf, placeOfPid, startTimeOf, type CgroupPlace } from './containerOf.js';
export { startAgent, type AgentConfig, type RunningAgent } from './agent.js';
export { readPolicy } from './policyFile.js';
export { checkUpstreamUrl, guardLoopback, type UpstreamTrust } from './upstreamTrust.js';
export { followTaskEnds, type TaskEndsInit } from './taskEnds.js';
export { metricsHandler } from './metricsServer.js';
export { createConnectionOwners, type SocketOwner } from './connectionOwners.js';
export { createDenialThrottle, type DenialThrottleInit } from './denialThrottle.js';
export { createServerClient, type ServedCredentials, type ServerClient, type ServerClientInit } from './serverClient.js';
