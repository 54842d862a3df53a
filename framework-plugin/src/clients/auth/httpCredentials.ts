import { z } from 'zod/mini';
import { SipError } from '../../core/errors/SipError.js';
import { basicAuth, type UpstreamAuth } from '../../net/upstreamAuth.js';

// Mesos's credentials file (`--http_credentials`, `--credentials`; apache/mesos
// docs/authentication.md): {"credentials":[{"principal":"…","secret":"…"}]}.
const credentialsFile = z.object({
  credentials: z.array(z.object({ principal: z.string().check(z.minLength(1)), secret: z.string().check(z.minLength(1)) })).check(z.minLength(1)),
});

/**
 * HTTP Basic from a credentials file in Mesos's format; the first credential
 * is the agent's. Problems name the file, never a secret.
 * @throws SipError `SIP_AGENT_CONFIG_INVALID`
 */
export async function basicAuthFromFile(file: string, readFile: (file: string) => Promise<string>): Promise<UpstreamAuth> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file));
  } catch (err) {
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `credentials ${file} is not readable JSON (${(err as NodeJS.ErrnoException).code ?? 'syntax error'})`, {
      expose: true,
    });
  }
  const parsed = credentialsFile.safeParse(raw);
  if (!parsed.success)
    throw new SipError('SIP_AGENT_CONFIG_INVALID', `credentials ${file}: expected Mesos's format {"credentials":[{"principal":"…","secret":"…"}]}`, {
      expose: true,
    });
  const first = parsed.data.credentials[0]!;
  return basicAuth(first.principal, first.secret);
}
