import { request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { createParser } from 'eventsource-parser';
import { SipError } from '../../core/errors/SipError.js';
import { tokenAuth, type UpstreamAuth } from '../../net/upstreamAuth.js';

/** A Marathon event as parsed from the stream. */
export type StreamEvent = { eventType: string } & Record<string, unknown>;

/** An open `/v2/events` subscription. */
export interface EventSubscription {
  /** Next event that matches, or a `SIP_WAIT_TIMEOUT` error after `timeoutMs`. */
  next(match: (e: StreamEvent) => boolean, timeoutMs: number): Promise<StreamEvent>;
  /** Resolves (with the reason) once the stream has ended, by {@link close} or by the server. */
  readonly ended: Promise<Error>;
  close(): void;
}

/** Options of {@link subscribe}. */
export interface SubscribeOptions {
  /** DC/OS ACS token (`Authorization: token=…`). */
  token?: string;
  /** Any other way in (HTTP Basic, a renewing service-account login); wins over `token`. */
  auth?: UpstreamAuth;
  /** Only these event types (`?event_type=…`, as Marathon filters). */
  eventTypes?: readonly string[];
  /** Most bytes held without an event ending (default 1 MiB): a stream that sends more is dropped. */
  maxEventBytes?: number;
  /** Events kept for {@link EventSubscription.next} (default 1000; the oldest go first). */
  maxQueued?: number;
  /**
   * Silence after which the stream counts as dead, ms (default 35 s). Marathon
   * (Jetty's `EventSourceServlet`) sends a heartbeat every 10 s.
   */
  idleTimeoutMs?: number;
}

/**
 * Subscribes to Marathon's Server-Sent Events (`GET /v2/events`) and resolves
 * once the stream is attached, so nothing published afterwards is missed.
 *
 * The stream is read as the SSE specification says (by `eventsource-parser`),
 * not as one server happens to write it: lines end in CRLF (Marathon, through
 * Jetty), LF or CR, possibly split across packets (Jetty's heartbeat writes
 * `\r` and `\n` separately); comments and heartbeats are skipped. What it
 * holds is bounded: a partial event up to `maxEventBytes`, at most
 * `maxQueued` unread events. On a 401 the credential is renewed once.
 * @throws SipError `SIP_MARATHON_UNREACHABLE` (no connection),
 *   `SIP_MARATHON_FAILED` (any answer but 200 with `text/event-stream`).
 */
export async function subscribe(url: string, options: SubscribeOptions = {}): Promise<EventSubscription> {
  const auth = options.auth ?? (options.token ? tokenAuth(options.token) : undefined);
  const u = new URL(`${url.replace(/\/+$/, '')}/v2/events`);
  for (const t of options.eventTypes ?? []) u.searchParams.append('event_type', t);
  let opened = await open(u, auth ? await auth.header() : undefined);
  if (opened.res.statusCode === 401 && auth) {
    const sent = String(opened.req.getHeader('authorization') ?? '');
    opened.res.resume();
    if (await auth.renew(sent)) opened = await open(u, await auth.header());
  }
  const { req, res } = opened;
  if (res.statusCode !== 200 || !String(res.headers['content-type'] ?? '').startsWith('text/event-stream')) {
    res.resume();
    req.destroy();
    throw new SipError('SIP_MARATHON_FAILED', `the event stream at ${u.origin} answered HTTP ${res.statusCode}${res.statusCode === 401 || res.statusCode === 403 ? ` (${auth?.describe ?? 'no credentials'} refused)` : ''}`, { expose: true });
  }
  return follow(req, res, options);
}

function open(u: URL, authorization: string | undefined): Promise<{ req: ClientRequest; res: IncomingMessage }> {
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(u, { headers: { accept: 'text/event-stream', ...(authorization ? { authorization } : {}) } }, (res) => resolve({ req, res }));
    req.once('error', (err: NodeJS.ErrnoException) => reject(new SipError('SIP_MARATHON_UNREACHABLE', `cannot open the event stream at ${u.origin}: ${err.code ?? err.message}`, { expose: true })));
    req.end();
  });
}

function follow(req: ClientRequest, res: IncomingMessage, options: SubscribeOptions): EventSubscription {
  const maxEventBytes = options.maxEventBytes ?? 1024 * 1024;
  const maxQueued = options.maxQueued ?? 1000;
  const queue: StreamEvent[] = [];
  const waiters = new Set<() => void>();
  let closed: Error | undefined;
  let endedWith: (e: Error) => void = () => undefined;
  const ended = new Promise<Error>((r) => (endedWith = r));
  const end = (why: Error): void => {
    if (closed) return;
    closed = why;
    req.destroy();
    endedWith(why);
    waiters.forEach((w) => w());
  };
  let pending = 0; // bytes since the last event ended
  const parser = createParser({
    onEvent(e) {
      pending = 0;
      try {
        const parsed = JSON.parse(e.data) as StreamEvent;
        if (typeof parsed !== 'object' || parsed === null) return;
        if (typeof parsed.eventType !== 'string' && e.event) parsed.eventType = e.event;
        queue.push(parsed);
        if (queue.length > maxQueued) queue.splice(0, queue.length - maxQueued);
      } catch {
        // a malformed event is skipped
      }
    },
  });
  res.setEncoding('utf8');
  res.socket?.setTimeout(options.idleTimeoutMs ?? 35_000, () => end(new SipError('SIP_MARATHON_FAILED', 'the event stream went silent (no event or heartbeat)', { expose: true })));
  res.on('data', (chunk: string) => {
    pending += Buffer.byteLength(chunk);
    parser.feed(chunk);
    if (pending > maxEventBytes) return end(new SipError('SIP_MARATHON_FAILED', `the event stream sent more than ${maxEventBytes} bytes without ending an event`, { expose: true }));
    if (queue.length) waiters.forEach((w) => w());
  });
  res.once('close', () => end(new SipError('SIP_MARATHON_FAILED', 'the event stream closed', { expose: true })));
  res.once('error', (err) => end(new SipError('SIP_MARATHON_FAILED', `the event stream failed: ${err.message}`, { expose: true })));
  return {
    ended,
    next(match, timeoutMs) {
      return new Promise((ok, fail) => {
        const timer = setTimeout(() => {
          waiters.delete(check);
          fail(new SipError('SIP_WAIT_TIMEOUT', `no matching event within ${Math.round(timeoutMs / 1000)} s`, { expose: true }));
        }, timeoutMs);
        const check = (): void => {
          const idx = queue.findIndex(match);
          if (idx >= 0) {
            const [e] = queue.splice(0, idx + 1).slice(-1);
            clearTimeout(timer);
            waiters.delete(check);
            ok(e as StreamEvent);
          } else if (closed) {
            clearTimeout(timer);
            waiters.delete(check);
            fail(closed);
          }
        };
        waiters.add(check);
        check();
      });
    },
    close: () => end(new SipError('SIP_MARATHON_FAILED', 'the event stream was closed', { expose: true })),
  };
}
