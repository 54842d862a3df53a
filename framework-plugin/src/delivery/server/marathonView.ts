import { SipError } from '../../core/errors/SipError.js';

/** The Marathon calls the server makes (the project's Marathon client fits). */
export interface MarathonReader {
  getApp(id: string): Promise<Record<string, any>>;
  info(): Promise<Record<string, any>>;
}

/** What sip server asks Marathon, with the failures sorted into answers and outages. */
export interface MarathonView {
  /**
   * Marathon's framework id: read once, again when `fresh` (a task under
   * another framework id: perhaps a new Marathon; at most once a minute).
   * An empty one (Marathon not yet registered) is never kept.
   * @throws SipError `SIP_SERVER_UPSTREAM_FAILED`
   */
  framework(fresh?: boolean): Promise<string>;
  /**
   * The app's record, or undefined when Marathon has no such app; any other
   * failure is an outage (`SIP_SERVER_UPSTREAM_FAILED`, retried), never a refusal.
   */
  appOf(appId: string): Promise<Record<string, any> | undefined>;
}

/** {@link MarathonView} over a {@link MarathonReader}. */
export function marathonView(marathon: MarathonReader, now: () => number = Date.now): MarathonView {
  let framework: { id: Promise<string>; at: number } | undefined;
  return {
    framework(fresh = false) {
      if (!framework || (fresh && now() - framework.at > 60_000)) {
        const id = marathon.info().then((i) => {
          const v = typeof i.frameworkId === 'string' ? i.frameworkId : '';
          if (!v) throw new SipError('SIP_SERVER_UPSTREAM_FAILED', 'Marathon has no framework id yet (not registered with the master)', { expose: true });
          return v;
        });
        const entry = { id, at: now() };
        framework = entry;
        id.catch(() => framework === entry && (framework = undefined));
      }
      return framework.id;
    },
    appOf: (appId) =>
      marathon.getApp(appId).catch((err: { code?: string; message?: string }) => {
        if (err.code === 'SIP_MARATHON_NOT_FOUND') return undefined;
        throw new SipError('SIP_SERVER_UPSTREAM_FAILED', `Marathon cannot be asked about app ${appId}: ${err.code ?? err.message ?? 'error'}`, {
          expose: true,
        });
      }),
  };
}
