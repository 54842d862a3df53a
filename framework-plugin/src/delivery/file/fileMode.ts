import { CREDENTIALS_LABEL } from '../../core/marathon/credentialMode.js';
import type { DeliveryMode } from '../deliveryMode.js';
import { awsConfigDelivered } from '../../core/awsconfig/holdsAwsConfig.js';
import { materialize } from './materialize.js';

/** What the file mode needs to know of the node. */
export interface FileModeInit {
  /** sip agent closes the metadata service to tasks here (`--block-metadata`): an AWS config could never reach the node's role. */
  metadataClosed?: boolean;
}

/**
 * The walk-through's mode (`sip.aws.credentials=file`): every secret the
 * plan names is written into the sandbox (files 0400, the task's) or put in
 * its environment; the task's SDK assumes the role with the AWS config it
 * receives and the node's role from the metadata service.
 */
export function createFileMode(init: FileModeInit = {}): DeliveryMode {
  return {
    name: 'file',
    refusal(task) {
      const config = init.metadataClosed ? awsConfigDelivered(task.plan) : undefined;
      return config
        ? `${CREDENTIALS_LABEL}=file cannot work on this cluster: sip agent closes the metadata service to tasks (--block-metadata), so the AWS config in ${config} could never reach the node's role; use ${CREDENTIALS_LABEL}=endpoint`
        : undefined;
    },
    async deliver(task, sandbox) {
      const written = await materialize(task.plan, sandbox.hostPath, sandbox.owner);
      return { files: written.files, env: task.plan.env, cleanup: () => written.cleanup() };
    },
  };
}
