import { definition, type SoakApp } from './apps.js';
import type { SoakCluster } from './cluster.js';
import type { Ledger } from './ledger.js';
import { viaLb } from './uploads.js';

// What operators do all day through the APIs: scale, restart, deploy a new
// version, roll back to the one before, update a secret, change EdgeLB pools.
// Each acknowledged change is remembered: the checks compare the cluster with
// it (nothing acknowledged may be lost).

const POOL = {
  apiVersion: 'V2',
  name: 'soak-extra',
  count: 1,
  haproxy: {
    frontends: [{ bindPort: 80, protocol: 'HTTP', linkBackend: { map: [{ hostEq: 'extra.soak.local', backend: 'bin' }] } }],
    backends: [
      { name: 'bin', protocol: 'HTTP', balance: 'leastconn', services: [{ marathon: { serviceID: '/soak/file/bin' }, endpoint: { portName: 'http' } }] },
    ],
  },
};

/** The operations and what they acknowledged. */
export class Operations {
  private version = 0;
  private readonly told = new Set<string>();
  private secretRevision = 0;
  private poolPresent = false;

  constructor(
    private readonly c: SoakCluster,
    private readonly ledger: Ledger,
    readonly apps: SoakApp[],
    private readonly bucket: string,
    /** Secret path → the value last acknowledged. */
    readonly secrets: Map<string, string>,
    private readonly scanAnswer: (where: string, text: string) => void,
  ) {}

  private async call(kind: string, method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const r = await this.c.marathon(method, path, body);
    const ok = r.status >= 200 && r.status < 300;
    this.ledger.count(kind, r.status ? String(r.status) : 'error:unreachable', ok);
    this.scanAnswer(`Marathon answer (${kind})`, JSON.stringify(r.body ?? ''));
    return r;
  }

  /** The first failure of each kind, said once (the CLI's own message). */
  private tell(kind: string, r: { code: number | null; err: string }): void {
    if (r.code === 0 || this.told.has(kind)) return;
    this.told.add(kind);
    process.stdout.write(`[soak] first ${kind} failure: ${r.err.trim().split('\n')[0]}\n`);
  }

  private binapps(): SoakApp[] {
    return this.apps.filter((a) => a.host);
  }

  /** One operation, chosen by `n`. */
  async run(n: number): Promise<void> {
    const app = this.binapps()[n % 2]!;
    const path = `/v2/apps${app.id}`;
    const urls = this.c.info().agents.map((a) => a.credentialsUrl);
    switch (n % 6) {
      case 0: {
        const instances = app.instances === 2 ? 3 : 2;
        const r = await this.call('scale', 'PUT', path, { instances });
        if (r.status === 200 || r.status === 201) app.instances = instances;
        return;
      }
      case 1:
        await this.call('restart', 'POST', `${path}/restart`);
        return;
      case 2: {
        const r = await this.call('deploy', 'PUT', path, definition(app, this.bucket, this.c.stateDir, ++this.version, urls));
        if (r.status !== 200 && r.status !== 201) this.version--;
        return;
      }
      case 3: {
        // Rollback as clients do it: the version before, read from /versions, put back whole.
        const versions = (await this.call('rollback', 'GET', `${path}/versions`)).body as { versions?: string[] } | undefined;
        const previous = versions?.versions?.[1];
        if (!previous) return;
        const at = (await this.call('rollback', 'GET', `${path}/versions/${previous}`)).body as Record<string, unknown> | undefined;
        if (!at) return;
        const { version: _v, versionInfo: _vi, ...def } = at;
        const r = await this.call('rollback', 'PUT', path, def);
        if (r.status === 200 || r.status === 201) app.instances = Number(def.instances ?? app.instances);
        return;
      }
      case 4: {
        // A secret update: the same role and external id, a new revision line (the store must keep the last acknowledged one whole).
        const [secret, value] = [...this.secrets.entries()][this.secretRevision % this.secrets.size]!;
        const next = `${value.replace(/\n# revision \d+\n$/, '\n')}# revision ${++this.secretRevision}\n`;
        const r = await this.c.sip(['security', 'secrets', 'update', secret], next);
        this.ledger.count('secret-update', r.code === 0 ? 'ok' : `exit ${r.code}`, r.code === 0);
        this.tell('secret-update', r);
        if (r.code === 0) this.secrets.set(secret, next);
        return;
      }
      default: {
        const r = this.poolPresent ? await this.c.sip(['edgelb', 'delete', POOL.name]) : await this.c.sip(['edgelb', 'create', '-'], JSON.stringify(POOL));
        const ok = r.code === 0;
        this.ledger.count('pool-change', ok ? 'ok' : `exit ${r.code}`, ok);
        this.tell('pool-change', r);
        if (ok) this.poolPresent = !this.poolPresent;
        if (ok && this.poolPresent) {
          // The new pool routes within 10 s.
          const until = Date.now() + 10_000;
          let status = 0;
          while (Date.now() < until && (status = await viaLb(this.c.info().edgelbUrl, 'extra.soak.local', '/ping')) !== 200)
            await new Promise((r) => setTimeout(r, 250));
          this.ledger.count('pool-route', String(status), status === 200);
        }
      }
    }
  }
}
