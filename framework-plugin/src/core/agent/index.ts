/**
 * The credential agent's pure core: the credential cache, role policies,
 * session names, errors, and whether a task runs on the node that asks.
 * @packageDocumentation
 */
export { createCredentialCache, type CredentialCache, type CredentialCacheDeps } from './credentialCache.js';
export { taskOnNode, type MarathonTask, type MasterTask, type MastersView, type TaskOnNode } from './taskOnNode.js';
