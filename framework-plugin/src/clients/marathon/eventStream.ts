import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { SipError } from '../../core/errors/SipError.js';

/** A Marathon event as parsed from the stream. */
export type StreamEvent = { eventType: string } & Record<string, unknown>;

/** An open `/v2/events` subscription. */
export interface EventSubscription {
  /** Next event that matches, or a `SIP_WAIT_TIMEOUT` error after `timeoutMs`. */
  next(match: (e: StreamEvent) => boolean, timeoutMs: number): Promise<StreamEvent>;
  close(): void;
}

/**
 * Subscribes to Marathon's Server-Sent Events (`GET /v2/events`, optionally
 * filtered by `eventTypes`) and resolves once the stream is attached, so
 * nothing published afterwards is missed.
 */
export function subscribe(url: string, options: { token?: string; eventTypes?: string[] } = {}): Promise<EventSubscription> {
  const u = new URL(`${url.replace(/\/+$/, '')}/v2/events`);
  for (const t of options.eventTypes ?? []) u.searchParams.append('event_type', t);
  const request = u.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const queue: StreamEvent[] = [];
    const waiters = new Set<() => void>();
    let closed: Error | undefined;
    const req = request(u, { headers: { accept: 'text/event-stream', ...(options.token ? { authorization: `token=${options.token}` } : {}) } }, (res) => {
      if (res.statusCode !== 200) {
        reject(new SipError('SIP_MARATHON_FAILED', `event stream answered HTTP ${res.statusCode}`, { expose: true }));
        res.resume();
        return;
      }
      let buffer = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        buffer += chunk;
        let i;
        while ((i = buffer.indexOf('\n\n')) >= 0) {
          const data = buffer.slice(0, i).split('\n').find((l) => l.startsWith('data: '));
          buffer = buffer.slice(i + 2);
          if (data) {
            try {
              queue.push(JSON.parse(data.slice(6)) as StreamEvent);
            } catch {
              // ignore a malformed event
            }
          }
        }
        waiters.forEach((w) => w());
      });
      res.on('close', () => {
        closed = new SipError('SIP_MARATHON_FAILED', 'the event stream closed', { expose: true });
        waiters.forEach((w) => w());
      });
      resolve({
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
        close: () => req.destroy(),
      });
    });
    req.on('error', (err) =>
      reject(new SipError('SIP_MARATHON_UNREACHABLE', `cannot open the event stream at ${u.origin}: ${(err as { code?: string }).code ?? err.message}`, { expose: true })),
    );
    req.end();
  });
}
