/** One access decision, as recorded for audit. Never holds a secret value. */
export interface AuditRecord {
  readonly time: string;
  readonly appId: string;
  readonly taskId: string;
  /** Name of the secret in the app definition. */
  readonly secret: string;
  /** Store path requested. */
  readonly path: string;
  readonly decision: 'allow' | 'deny';
  readonly reason: string;
}

/** Where audit records go (a pino logger, a file, a test array). */
export type AuditSink = (record: AuditRecord) => void;
