import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SipError } from '../../core/errors/SipError.js';
import { validateV2Pool, type PoolProblem, type V2Pool } from './schema/poolSchema.js';
import { boundPorts } from './explicitPool.js';

/** A pool document that failed validation: every problem by JSON path. */
export class PoolValidationError extends SipError {
  /** The problems, e.g. `{ path: 'haproxy.frontends[0].bindPort', message: 'is required…' }`. */
  readonly problems: readonly PoolProblem[];

  constructor(problems: readonly PoolProblem[]) {
    super('SIP_EDGELB_POOL_INVALID', `invalid pool: ${problems.map((p) => `${p.path}: ${p.message}`).join('; ')}`, { expose: true });
    this.problems = problems;
  }
}

/** What a registry needs to know about the rest of the load balancer. */
export interface PoolRegistryInit {
  /** Where pools are kept, one `<name>.json` each. */
  dir: string;
  /** The local port frontends asking for 80 bind. */
  httpPort: number;
  /** Ports the load balancer itself uses (stats): no pool may bind them. */
  reservedPorts: readonly number[];
}

/** The pools created through the API, persisted across restarts. */
export interface PoolRegistry {
  list(): V2Pool[];
  get(name: string): V2Pool | undefined;
  /** @throws PoolValidationError, SipError `SIP_EDGELB_POOL_EXISTS` */
  create(doc: unknown): Promise<V2Pool>;
  /** @throws PoolValidationError, SipError `SIP_EDGELB_POOL_NOT_FOUND` */
  update(name: string, doc: unknown): Promise<V2Pool>;
  /** @throws SipError `SIP_EDGELB_POOL_NOT_FOUND` */
  delete(name: string): Promise<void>;
}

/** Limits of the one-machine load balancer, reported like validation problems. */
function localProblems(pool: V2Pool): PoolProblem[] {
  const problems: PoolProblem[] = [];
  (pool.haproxy?.frontends ?? []).forEach((f, i) => {
    if (f.protocol === 'HTTPS' || f.protocol === 'TLS')
      problems.push({
        path: `haproxy.frontends[${i}].protocol`,
        message: `${f.protocol} needs certificates, which the local EdgeLB does not serve; use HTTP or TCP`,
      });
  });
  (pool.haproxy?.backends ?? []).forEach((b, i) => {
    if (b.protocol === 'HTTPS') problems.push({ path: `haproxy.backends[${i}].protocol`, message: 'HTTPS backends are not served locally; use HTTP' });
  });
  return problems;
}

/**
 * Loads the pools kept in `dir` and serves create/update/delete with
 * validation (Edge-LB's V2 spec, then the local limits, then port
 * conflicts with other pools). A refused document changes nothing; an
 * accepted one is written atomically before it is served.
 */
export async function openPoolRegistry(init: PoolRegistryInit): Promise<PoolRegistry> {
  await mkdir(init.dir, { recursive: true, mode: 0o700 });
  const pools = new Map<string, V2Pool>();
  for (const f of (await readdir(init.dir)).filter((n) => n.endsWith('.json'))) {
    const r = validateV2Pool(JSON.parse(await readFile(join(init.dir, f), 'utf8')));
    if (r.ok) pools.set(r.pool.name, r.pool);
  }

  const check = (doc: unknown, replacing?: string): V2Pool => {
    const r = validateV2Pool(doc);
    if (!r.ok) throw new PoolValidationError(r.problems);
    const local = localProblems(r.pool);
    if (local.length > 0) throw new PoolValidationError(local);
    const problems: PoolProblem[] = [];
    const mine = boundPorts(r.pool, init.httpPort);
    mine.forEach((port, i) => {
      if (init.reservedPorts.includes(port))
        problems.push({ path: `haproxy.frontends[${i}].bindPort`, message: `port ${port} is the load balancer's own stats port` });
      for (const other of pools.values()) {
        if (other.name === replacing || other.name === r.pool.name) continue;
        const j = boundPorts(other, init.httpPort).indexOf(port);
        if (j < 0) continue;
        const theirs = other.haproxy!.frontends![j]!;
        const ours = r.pool.haproxy!.frontends![i]!;
        const tcp = (p: string | undefined): boolean => p === 'TCP' || p === 'TLS';
        if (tcp(theirs.protocol) !== tcp(ours.protocol))
          problems.push({ path: `haproxy.frontends[${i}].protocol`, message: `port ${port} is bound by pool "${other.name}" as ${theirs.protocol}` });
        else if (tcp(ours.protocol) || (theirs.linkBackend?.defaultBackend && ours.linkBackend?.defaultBackend))
          problems.push({
            path: `haproxy.frontends[${i}].bindPort`,
            message: `port ${port} is bound by pool "${other.name}", which already takes all its traffic`,
          });
      }
    });
    if (problems.length > 0) throw new PoolValidationError(problems);
    return r.pool;
  };

  const save = async (pool: V2Pool): Promise<void> => {
    const tmp = join(init.dir, `.${pool.name}.json.tmp`);
    await writeFile(tmp, JSON.stringify(pool, null, 2), { mode: 0o600 });
    await rename(tmp, join(init.dir, `${pool.name}.json`));
    pools.set(pool.name, pool);
  };
  const notFound = (name: string): SipError => new SipError('SIP_EDGELB_POOL_NOT_FOUND', `pool "${name}" does not exist`, { expose: true });

  return {
    list: () => [...pools.values()].sort((a, b) => a.name.localeCompare(b.name)),
    get: (name) => pools.get(name),
    async create(doc) {
      const pool = check(doc);
      if (pools.has(pool.name)) throw new SipError('SIP_EDGELB_POOL_EXISTS', `pool "${pool.name}" already exists; use update`, { expose: true });
      await save(pool);
      return pool;
    },
    async update(name, doc) {
      if (!pools.has(name)) throw notFound(name);
      const pool = check(doc, name);
      if (pool.name !== name) throw new PoolValidationError([{ path: 'name', message: `must be "${name}", the pool being updated` }]);
      await save(pool);
      return pool;
    },
    async delete(name) {
      if (!pools.delete(name)) throw notFound(name);
      await rm(join(init.dir, `${name}.json`), { force: true });
    },
  };
}
