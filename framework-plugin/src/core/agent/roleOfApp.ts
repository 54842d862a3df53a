import { AgentError } from './errors.js';
import { decideByPolicy, type RolePolicy } from './policy.js';
import type { AssumeRoleConfig } from '../awsconfig/assumeRoleOf.js';
import { parseAppDefinition, type ValidatedApp } from '../marathon/appDefinition.js';
import { definitionOf } from '../marathon/views.js';
import type { AuditSink } from '../resolver/audit.js';
import { ResolveError } from '../resolver/errors.js';
import { resolveRoleConfig } from '../resolver/roleConfig.js';
import { AWS_CONFIG_LABEL } from '../marathon/credentialMode.js';
import type { SecretStore } from '../secrets/SecretStore.js';

/** Where an app's role comes from: its `aws-config` secret through the resolver, or a policy file. */
export type RoleSource = { kind: 'secrets'; store: SecretStore; audit: AuditSink } | { kind: 'policy'; policy: RolePolicy };

/** The role one task may use. */
export interface TaskRole {
  readonly app: ValidatedApp;
  readonly role: AssumeRoleConfig;
}

/**
 * The role an app may use, from its Marathon record (`GET /v2/apps/<id>`):
 * the policy's rule for it, or the AWS config its label names, read through
 * the resolver (path rule, validation, audit) for `taskId`. Shared by sip
 * agent's decisions and sip server's (each reads the record itself).
 * @throws AgentError `SIP_AGENT_NO_ROLE` with the reason; the secret store's outage as it is.
 */
export async function roleOfApp(raw: Record<string, any>, taskId: string, source: RoleSource): Promise<TaskRole> {
  const app = parseAppDefinition(definitionOf(raw));
  if (source.kind === 'policy') {
    const d = decideByPolicy(source.policy, app.id);
    if (!d.allow) throw new AgentError('SIP_AGENT_NO_ROLE', d.reason);
    return { app, role: Object.freeze({ roleArn: d.rule.roleArn, externalId: d.rule.externalId }) };
  }
  // The role binding the task never receives: the AWS config the app names by label, read by the agent (or server) alone.
  let role: AssumeRoleConfig | undefined;
  try {
    role = await resolveRoleConfig(app, { taskId }, { store: source.store, audit: source.audit });
  } catch (err) {
    if (err instanceof ResolveError && err.code !== 'SIP_SECRET_UNAVAILABLE') throw new AgentError('SIP_AGENT_NO_ROLE', err.message);
    throw err;
  }
  if (role === undefined) throw new AgentError('SIP_AGENT_NO_ROLE', `app ${app.id} names no AWS config: label it ${AWS_CONFIG_LABEL}=<secret path>`);
  return { app, role };
}
