/**
 * How the local cluster starts a task: a process group or a Docker
 * container, its host ports, and its health probes.
 * @packageDocumentation
 */
export { createDockerEngine, shareWithContainerUser, CONTAINER_SANDBOX, MANAGED_LABEL, type DockerEngine, type DockerTaskSpec } from './dockerTask.js';
export { createPortAllocator, type PortAllocator } from './ports.js';
export { probe, type ProbeResult, type ProbeTarget } from './healthCheck.js';
export { startTaskProcess, type TaskCommand, type TaskExit, type TaskProcess } from './taskProcess.js';
export { appIdentity, FIRST_APP_UID, type TaskUser } from './identity.js';
export { detectIsolation, blockedAncestor, taskPath, type Isolation } from './isolation.js';
