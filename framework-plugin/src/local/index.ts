/**
 * The one-machine stand-in for a DC/OS cluster, wired in one place
 * ({@link runLocalCluster}): emulator, secrets API, scheduler, EdgeLB and
 * Marathon API.
 * @packageDocumentation
 */
export { runLocalCluster, awsAgentEnv, type LocalClusterInfo, type RunLocalClusterInit, type RunningLocalCluster } from './stack.js';
export { isolateTasks, lockStateDir, type TaskIsolation } from './taskIsolation.js';
export { processAlive } from './crashRecovery.js';
