import { z } from 'zod/mini';
import type { RolePolicy } from '../../core/agent/policy.js';
import { EXTERNAL_ID, ROLE_ARN } from '../../core/awsconfig/validateAwsConfig.js';
import { SipError } from '../../core/errors/SipError.js';
import { resolveAppId } from '../../core/marathon/appId.js';

const policySchema = z.object({
  rules: z.array(
    z.object({
      group: z.string(),
      roleArn: z.string().check(z.regex(ROLE_ARN)),
      externalId: z.string().check(z.regex(EXTERNAL_ID)),
    }),
  ),
});

/**
 * Reads and validates a policy file (config at the edge):
 * `{"rules":[{"group":"/team","roleArn":"arn:…","externalId":"…"}]}`.
 * Problems name the file and the rule's path, never an external id.
 * @throws SipError `SIP_AGENT_CONFIG_INVALID`
 */
export async function readPolicy(file: string, readFile: (file: string) => Promise<string>): Promise<RolePolicy> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file));
  } catch (err) {
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `policy ${file} is not readable JSON (${(err as NodeJS.ErrnoException).code ?? 'syntax error'})`, {
      expose: true,
    });
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => `/${i.path.map(String).join('/')}`).join(', ');
    throw new SipError(
      'SIP_AGENT_CONFIG_INVALID',
      `policy ${file}: invalid at ${where} (groups are Marathon paths, roleArn an IAM role ARN, externalId 2-1224 of [\\w+=,.@:/-])`,
      { expose: true },
    );
  }
  const rules = parsed.data.rules.map((r, i) => {
    const g = r.group === '/' ? { ok: true as const, id: '/' } : resolveAppId(r.group);
    if (!g.ok) throw new SipError('SIP_AGENT_CONFIG_INVALID', `policy ${file}: /rules/${i}/group: ${g.error}`, { expose: true });
    return Object.freeze({ ...r, group: g.id });
  });
  return { rules };
}
