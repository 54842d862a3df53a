/**
 * The local cluster's stand-in of DC/OS IAM for service accounts: account
 * creation and `POST /acs/api/v1/auth/login`, issuing tokens that expire.
 * @packageDocumentation
 */
export { createIamApi, startIamApi, type IamApiDeps } from './server.js';
export { createTokenIssuer, type TokenIssuer } from './tokenIssuer.js';
