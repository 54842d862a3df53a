/**
 * Small HTTP and waiting helpers shared by the servers, clients and CLI.
 * @packageDocumentation
 */
export { freePort } from './freePort.js';
export { waitFor, type WaitForOptions } from './waitFor.js';
export { serve, type Served } from './serve.js';
export { readBody, BodyTooLargeError } from './readBody.js';
export { acsTokenCheck } from './acsToken.js';
export { acsAuthenticator, basicAuthenticator, type HttpAuthenticator } from './httpAuthenticator.js';
export { decodePath } from './decodePath.js';
export { sendRequest, type HttpAnswer, type HttpRequestInit } from './httpRequest.js';
export { tokenAuth, basicAuth, type UpstreamAuth } from './upstreamAuth.js';
export { canBind, bindAddresses, busyNewBind } from './canBind.js';
