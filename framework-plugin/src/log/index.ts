/**
 * Structured logs (pino) with the project's field names.
 * @packageDocumentation
 */
export { createLogger, type Logger } from './logger.js';
export { fdDestination, type FdDestination } from './fdDestination.js';
