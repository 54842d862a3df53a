/**
 * The local cluster: a Marathon-like scheduler running apps as local
 * processes with their secrets, and its Marathon-compatible API.
 * @packageDocumentation
 */
export { createLocalCluster, type LocalCluster, type LocalClusterInit } from './localCluster.js';
export { createEventBus, type EventBus, type MarathonEvent } from './events.js';
export type { AppView, Deployment, TaskView, TaskFailure, TaskStatus, HealthCheckResult } from './model.js';
export { createMarathonApi, startMarathonServer, type MarathonApiDeps, type MarathonServer } from '../marathon-api/server.js';
export { createLocalStore } from '../secrets/localStore.js';
export { startSecretsServer } from '../secrets/dcosSecretsApi.js';
export { awsAgentEnv } from './runLocalCluster.js';
export { createDockerEngine, shareWithContainerUser, CONTAINER_SANDBOX, MANAGED_LABEL, type DockerEngine, type DockerTaskSpec } from '../launcher/dockerTask.js';
