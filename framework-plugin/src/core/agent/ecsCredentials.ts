import type { AssumeRoleConfig } from '../awsconfig/assumeRoleOf.js';
import type { AssumeRequest, RoleCredentials } from './credentialCache.js';
import { roleSessionName, sessionAppId, tagValue } from './sessionName.js';

/**
 * The STS request for a task of an app with a role: the session named after
 * app and task (injective), the app as source identity, app and task as
 * session tags, the app's own duration where its AWS config sets one. Pure.
 */
export function assumeRequestOf(appId: string, role: AssumeRoleConfig, taskId: string): AssumeRequest {
  return {
    roleArn: role.roleArn,
    externalId: role.externalId,
    sessionName: roleSessionName(appId, taskId),
    sourceIdentity: sessionAppId(appId).slice(0, 64),
    tags: { 'marathon-app': tagValue(appId), 'mesos-task': tagValue(taskId) },
    taskId,
    ...(role.durationSeconds !== undefined ? { durationSeconds: role.durationSeconds } : {}),
  };
}

/** The ECS container-credentials document (`AccessKeyId`, `SecretAccessKey`, `Token`, `Expiration`, `RoleArn`). Pure. */
export function ecsCredentialsBody(c: RoleCredentials, roleArn: string): Buffer {
  return Buffer.from(
    JSON.stringify({
      AccessKeyId: c.accessKeyId,
      SecretAccessKey: c.secretAccessKey,
      Token: c.sessionToken,
      Expiration: c.expiration.toISOString(),
      RoleArn: roleArn,
    }),
  );
}
