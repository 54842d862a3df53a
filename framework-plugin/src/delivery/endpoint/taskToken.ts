import { createHmac } from 'node:crypto';

/** The path tasks are given in `AWS_CONTAINER_CREDENTIALS_FULL_URI`. */
export const CREDENTIALS_PATH = '/v1/credentials';

/**
 * The per-task token the launcher hands a task (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`)
 * and `sip agent` expects back: HMAC-SHA256 of the task id under the agent's key, base64url.
 */
export function taskToken(key: Buffer, taskId: string): string {
  return createHmac('sha256', key).update(taskId).digest('base64url');
}
