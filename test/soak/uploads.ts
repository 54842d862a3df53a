import { createHash, randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { DeleteObjectCommand, GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import type { Emulator } from '@secure-instance-profiles/framework-plugin/local/emulator';
import { BIN_AUTH, PREFIX } from './apps.js';
import type { Ledger } from './ledger.js';

// Uploads through EdgeLB (random sizes, 1 byte to 64 MiB, log-uniform: most
// small, some large) and their proof: every upload answered 201 is read back
// from the bucket with the admin's keys and compared byte for byte (its
// SHA-256), then deleted (the emulator holds objects in memory); every object
// found that no 201 acknowledged is looked at for a twin (stored twice) and
// counted as stray (a client that gave up after the store succeeded).

const ID_BYTES = 16;

interface Acked {
  key: string;
  id: string;
  sha256: string;
  bytes: number;
  at: number;
  tries: number;
}

/** The upload load and its verifier. */
export class Uploads {
  readonly stats = { acknowledged: 0, verified: 0, lost: 0, torn: 0, duplicated: 0, stray: 0, bytesAcknowledged: 0 };
  private readonly pending: Acked[] = [];
  private readonly verifiedIds = new Map<string, string>();
  private readonly inFlight = new Set<string>();
  private readonly s3: S3Client;

  constructor(
    private readonly ledger: Ledger,
    private readonly bucket: string,
    emulator: Emulator,
    private readonly maxBytes: number,
    /** Words the answers are checked for (secrets): never in an HTTP answer. */
    private readonly scanAnswer: (where: string, text: string) => void,
  ) {
    this.s3 = new S3Client({
      endpoint: emulator.endpoint,
      region: emulator.region,
      credentials: emulator.admin.credentials,
      forcePathStyle: true,
      maxAttempts: 1,
    });
  }

  /** One upload to `host` through EdgeLB at `lbUrl`. */
  async uploadOnce(lbUrl: string, host: string, mode: string): Promise<void> {
    const size = Math.max(1, Math.floor(Math.exp(Math.random() * Math.log(this.maxBytes))));
    const body = randomBytes(size);
    const id = randomBytes(ID_BYTES).toString('hex');
    Buffer.from(id, 'hex').copy(body, 0, 0, Math.min(ID_BYTES, size));
    const sha256 = createHash('sha256').update(body).digest('hex');
    this.inFlight.add(id);
    const res = await post(lbUrl, host, body);
    this.inFlight.delete(id);
    const ok = res.status === 201;
    this.ledger.count('upload', res.status ? String(res.status) : `error:${res.error}`, ok);
    this.scanAnswer(`upload answer (${host})`, res.body);
    // A client backs off after a failure (as the AWS SDKs and curl --retry do), instead of spinning on a refused port.
    if (!ok) return void (await new Promise((r) => setTimeout(r, 250 + Math.random() * 500)));
    const bin = /BinID (\S+)/.exec(res.body)?.[1];
    if (!bin) return void this.ledger.violate(`upload answered 201 without a bin id: ${res.body.slice(0, 100)}`);
    this.stats.acknowledged++;
    this.stats.bytesAcknowledged += size;
    this.pending.push({ key: `${PREFIX}/${mode}/${bin}`, id: size >= ID_BYTES ? id : `short:${sha256}`, sha256, bytes: size, at: Date.now(), tries: 0 });
  }

  /** Reads back every acknowledged upload not yet proven; `final`: the last chance (missing then is lost). */
  async verify(final = false): Promise<void> {
    for (const a of this.pending.splice(0)) {
      const got = await this.read(a.key);
      if (got === 'unreachable') {
        if (final) this.ledger.violate(`upload ${a.key} could not be read back at the end (the emulator did not answer)`);
        else this.pending.push(a);
        continue;
      }
      if (got === undefined) {
        // Acknowledged means stored: a miss is given 3 reads over at least 10 s (the store's own retries) before it counts as lost.
        if (++a.tries < 3 && !final) this.pending.push(a);
        else {
          this.stats.lost++;
          this.ledger.violate(`upload ${a.key} (${a.bytes} B) answered 201 but is not in the bucket`);
        }
        continue;
      }
      if (got.sha256 !== a.sha256 || got.bytes !== a.bytes) {
        this.stats.torn++;
        this.ledger.violate(`upload ${a.key} is stored torn: ${got.bytes} B of ${a.bytes} B, hash ${got.sha256 === a.sha256 ? 'equal' : 'different'}`);
      } else this.stats.verified++;
      this.verifiedIds.set(a.id, a.key);
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: a.key })).catch(() => undefined);
    }
  }

  /** Objects no 201 acknowledged: a twin of an acknowledged one is a duplicate; others stray. Removed once counted. */
  async sweep(): Promise<void> {
    let listed;
    try {
      listed = await this.s3.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: `${PREFIX}/` }), { abortSignal: AbortSignal.timeout(10_000) });
    } catch {
      return;
    }
    const known = new Set(this.pending.map((a) => a.key));
    for (const o of listed.Contents ?? []) {
      if (!o.Key || known.has(o.Key) || Date.now() - (o.LastModified?.getTime() ?? Date.now()) < 120_000) continue;
      const head = await this.read(o.Key, ID_BYTES);
      if (head === 'unreachable' || head === undefined) continue;
      const id = head.head.toString('hex');
      if (this.inFlight.has(id)) continue;
      if (this.verifiedIds.has(id)) {
        this.stats.duplicated++;
        this.ledger.violate(`upload stored twice: ${o.Key} repeats ${this.verifiedIds.get(id)}`);
      } else this.stats.stray++;
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: o.Key })).catch(() => undefined);
    }
  }

  private async read(key: string, headBytes?: number): Promise<{ sha256: string; bytes: number; head: Buffer } | undefined | 'unreachable'> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: key, ...(headBytes ? { Range: `bytes=0-${headBytes - 1}` } : {}) }), {
        abortSignal: AbortSignal.timeout(60_000),
      });
      const bytes = Buffer.from(await r.Body!.transformToByteArray());
      return { sha256: createHash('sha256').update(bytes).digest('hex'), bytes: bytes.length, head: bytes.subarray(0, ID_BYTES) };
    } catch (err) {
      return (err as { name?: string }).name === 'NoSuchKey' ? undefined : 'unreachable';
    }
  }

  destroy(): void {
    this.s3.destroy();
  }
}

/** POST /bin through EdgeLB with the app's Host; status 0 and the error code when it fails before an answer. */
function post(lbUrl: string, host: string, body: Buffer): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = request(
      `${lbUrl}/bin`,
      {
        method: 'POST',
        headers: { Host: host, authorization: BIN_AUTH, 'content-type': 'application/octet-stream', 'content-length': body.length },
        agent: false,
        timeout: 120_000,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (d: string) => (text += d.slice(0, 4096)));
        res.once('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        res.once('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, body: '', error: e.code ?? 'error' }));
      },
    );
    req.once('error', (e: NodeJS.ErrnoException) => resolve({ status: 0, body: '', error: e.code ?? 'error' }));
    req.once('timeout', () => req.destroy(Object.assign(new Error('timeout'), { code: 'TIMEOUT' })));
    req.end(body);
  });
}

/** GET `path` through EdgeLB with `host`: the status, 0 when nothing answered. */
export function viaLb(lbUrl: string, host: string, path: string): Promise<number> {
  return new Promise((resolve) => {
    const req = request(`${lbUrl}${path}`, { headers: { Host: host }, agent: false, timeout: 3000 }, (res) => {
      res.resume();
      res.once('end', () => resolve(res.statusCode ?? 0));
    });
    req.once('error', () => resolve(0));
    req.once('timeout', () => req.destroy());
    req.end();
  });
}
