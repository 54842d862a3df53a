import { SipError } from '../errors/SipError.js';
import type { SipErrorCode } from '../errors/catalogue.js';

/** Codes the credential agent answers with (403 for who is asking, 503 for STS). */
export type AgentErrorCode = Extract<SipErrorCode, `SIP_AGENT_${string}`>;

/**
 * Why the agent refused a request. The message is the reason the caller
 * gets (JSON `{code, message}`): it names the app, task and role, never a
 * credential or an external id.
 */
export class AgentError extends SipError {
  constructor(code: AgentErrorCode, message: string) {
    super(code, message, { expose: true });
    this.name = 'AgentError';
  }
}
