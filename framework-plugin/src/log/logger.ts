import { pino, type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * The project's structured logger: pino, JSON lines on stderr by default.
 *
 * Field names are stable (`component`, `err.code`, …). Paths that might carry
 * a secret (authorization headers, credentials, external ids) are redacted as
 * a second line of defence; code never logs a secret on purpose.
 */
export function createLogger(options: { name: string; level?: string; destination?: NodeJS.WritableStream }): Logger {
  return pino(
    {
      name: options.name,
      level: options.level ?? 'info',
      redact: {
        paths: [
          'req.headers.authorization',
          'headers.authorization',
          '*.secretAccessKey',
          '*.SecretAccessKey',
          '*.sessionToken',
          '*.Token',
          '*.externalId',
          '*.external_id',
        ],
        censor: '[redacted]',
      },
    },
    (options.destination ?? process.stderr) as pino.DestinationStream,
  );
}
