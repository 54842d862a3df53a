/**
 * How `sip agent` proves itself to Marathon, the Mesos agent and the DC/OS
 * Secrets API: a DC/OS service-account login renewed before expiry, or HTTP
 * Basic from a credentials file in Mesos's format.
 * @packageDocumentation
 */
export { serviceAccountAuth, type ServiceAccountInit } from './serviceAccount.js';
export { basicAuthFromFile } from './httpCredentials.js';
