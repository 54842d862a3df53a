import { CREDENTIALS_LABEL } from '../../core/marathon/credentialMode.js';
import type { DeliveryMode } from '../deliveryMode.js';
import { materialize } from '../file/materialize.js';
import { endpointAdmission, endpointRefusal } from './endpointApp.js';
import { CREDENTIALS_PATH } from './taskToken.js';
import { TASK_TOKEN_FILE } from './tokenWriter.js';

/** What the endpoint mode needs to know of the node's sip agent. */
export interface EndpointModeInit {
  /** Where tasks reach sip agent (`http://127.0.0.1:51679`); none when the node runs no agent. */
  agentUrl?: string;
  /** Why sip agent cannot tell tasks apart here (no per-task cgroups), or undefined. */
  noCgroups?: string;
  /** Whether sip agent resolves DOCKER containers (it has the Docker socket). */
  docker: boolean;
}

/**
 * `sip.aws.credentials=endpoint`: the task gets sip agent's endpoint
 * (`AWS_CONTAINER_CREDENTIALS_FULL_URI`) and the path of the token sip agent
 * writes into its sandbox (`AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE`), and
 * never its AWS config: a task that would receive one, under any name, is
 * refused, as is a label outside the app's path. Other secrets are
 * delivered as in file mode.
 */
export function createEndpointMode(init: EndpointModeInit): DeliveryMode {
  return {
    name: 'endpoint',
    admission: (app, store) => endpointAdmission(app, store),
    refusal(task) {
      const why = !init.agentUrl
        ? 'this cluster runs no credential agent'
        : init.noCgroups !== undefined
          ? `the credential agent tells tasks apart by their cgroups, which this cluster cannot create (${init.noCgroups})`
          : task.docker && !init.docker
            ? 'the credential agent cannot resolve DOCKER containers here (no Docker socket); use a MESOS container or the file mode'
            : undefined;
      if (why) return `${CREDENTIALS_LABEL}=endpoint cannot be served: ${why}`;
      return endpointRefusal(task.app, task.plan, task.taskId, task.audit, task.now);
    },
    async deliver(task, sandbox) {
      const written = await materialize(task.plan, sandbox.hostPath, sandbox.owner);
      const env = {
        ...task.plan.env,
        AWS_CONTAINER_CREDENTIALS_FULL_URI: `${init.agentUrl}${CREDENTIALS_PATH}`,
        // sip agent writes the token there itself once the Mesos agent lists the task.
        AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE: `${sandbox.taskPath}/${TASK_TOKEN_FILE}`,
      };
      return { files: written.files, env, cleanup: () => written.cleanup() };
    },
  };
}
