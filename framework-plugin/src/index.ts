/**
 * secure-instance-profiles: what a real cluster runs. The resolver core
 * (Marathon app definitions, DC/OS path authorization, AWS-config checks,
 * mount plans, the error catalogue), the secret stores, the delivery modes
 * and the clients of Marathon, the DC/OS Secrets API and Edge-LB.
 *
 * The local stand-in (`./local/*`) and the CLI are separate entry points and
 * are never imported from here.
 * @packageDocumentation
 */
export { allow, deny, type Decision } from './core/authz/decision.js';
export { authorizeSecret } from './core/authz/secretPathRule.js';
export { validateAwsConfig, type AwsConfigCheck, type AwsConfigSummary } from './core/awsconfig/validateAwsConfig.js';
export { SipError, isSipError } from './core/errors/SipError.js';
export { CATALOGUE, exitCodeOf, isSipErrorCode, type SipErrorCode } from './core/errors/catalogue.js';
export {
  parseAppDefinition,
  readAppDefinition,
  validateAppDefinition,
  secretVolumes,
  isSandboxPath,
  type AppDefinition,
  type HealthCheck,
  type SecretVolume,
  type ParseAppOptions,
} from './core/marathon/appDefinition.js';
export { resolveAppId, ID_SEGMENT } from './core/marathon/appId.js';
export { MarathonValidationError, type MarathonErrorBody, type ValidationDetail } from './core/marathon/validationError.js';
export type { AppView, Deployment, TaskView, TaskFailure, TaskStatus, HealthCheckResult } from './core/marathon/views.js';
export { createEventBus, type EventBus, type MarathonEvent } from './core/marathon/events.js';
export * from './core/resolver/index.js';
export { SecretStoreError, SecretErrorCode } from './core/secrets/errors.js';
export { canonicalSecretPath, canonicalSecretFolder } from './core/secrets/secretPath.js';
export { MAX_SECRET_BYTES, type SecretStore } from './core/secrets/SecretStore.js';
export { createLocalStore, type LocalStoreInit } from './stores/localStore.js';
export { createDcosSecretsClient, type DcosSecretsClientInit } from './stores/dcosSecretsClient.js';
export { materialize, type Materialized } from './delivery/file/materialize.js';
export { createMarathonClient, MarathonApiError, type MarathonClient, type MarathonClientInit } from './clients/marathon/client.js';
export { subscribe, type EventSubscription, type StreamEvent, type SubscribeOptions } from './clients/marathon/eventStream.js';
export { followEvents, type EventFollower, type FollowInit } from './clients/marathon/eventFollower.js';
export { createEdgeLbClient, EdgeLbApiError, type EdgeLbClient, type EdgeLbClientInit } from './clients/edgelb/client.js';
