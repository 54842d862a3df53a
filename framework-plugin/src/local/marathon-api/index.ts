/**
 * Marathon's REST API and event stream, served over any scheduler that
 * implements {@link MarathonBackend}.
 * @packageDocumentation
 */
export { createMarathonApi, startMarathonServer, type MarathonApiDeps, type MarathonBackend, type MarathonServer } from './server.js';
