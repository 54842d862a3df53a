/**
 * The DC/OS Secrets API served over any {@link SecretStore}.
 * @packageDocumentation
 */
export { createSecretsApi, startSecretsServer, type SecretsApiDeps, type SecretsServer } from './server.js';
