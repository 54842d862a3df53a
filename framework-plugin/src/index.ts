/**
 * secure-instance-profiles: the resolver core (Marathon app definitions,
 * DC/OS path authorization, secret stores, mount plans).
 * @packageDocumentation
 */
export { allow, deny, type Decision } from './authz/decision.js';
export { authorizeSecret, normalizePath } from './authz/secretPathRule.js';
export { validateAwsConfig, type AwsConfigCheck, type AwsConfigSummary } from './awsconfig/validateAwsConfig.js';
export { SipError, isSipError } from './errors/SipError.js';
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
} from './marathon/appDefinition.js';
export { resolveAppId, ID_SEGMENT } from './marathon/appId.js';
export { MarathonValidationError, type MarathonErrorBody, type ValidationDetail } from './marathon/validationError.js';
export * from './resolver/index.js';
export { createLocalStore, type LocalStoreInit } from './secrets/localStore.js';
export { createDcosSecretsClient, type DcosSecretsClientInit } from './secrets/dcosSecretsClient.js';
export { createSecretsApi, startSecretsServer, type SecretsApiDeps, type SecretsServer } from './secrets/dcosSecretsApi.js';
export { SecretStoreError, SecretErrorCode } from './secrets/errors.js';
export { canonicalSecretPath, canonicalSecretFolder } from './secrets/secretPath.js';
export { MAX_SECRET_BYTES, type SecretStore } from './secrets/SecretStore.js';
export { runCli } from './cli/main.js';
