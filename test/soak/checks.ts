import { closeSync, openSync, readdirSync, readFileSync, readSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { probeDir, type SoakApp } from './apps.js';
import type { SoakCluster } from './cluster.js';
import type { Ledger } from './ledger.js';
import { viaLb } from './uploads.js';

// The invariants the soak checks while it runs: recovery to every app's
// declared instances with EdgeLB routing to each; credentials for running
// tasks (the longest gap); no secret where another app, a log, an event or
// an answer shows it; nothing acknowledged lost from Marathon or the store.

/**
 * What keeps the cluster from its declared state: an app short of its
 * instances (or of healthy ones where it has checks), or EdgeLB not
 * answering 200 for an exposed app; undefined when every app is back.
 */
export async function notRecovered(c: SoakCluster, apps: readonly SoakApp[]): Promise<string | undefined> {
  const r = await c.marathon('GET', '/v2/apps');
  const listed = (r.body as { apps?: Array<{ id: string; instances: number; tasksRunning: number; tasksHealthy: number }> } | undefined)?.apps;
  if (!listed) return `Marathon answered ${r.status || 'nothing'}`;
  for (const app of apps) {
    const a = listed.find((x) => x.id === app.id);
    if (!a) return `${app.id} missing`;
    if (a.instances !== app.instances || a.tasksRunning < app.instances || (app.host && a.tasksHealthy < app.instances))
      return `${app.id}: ${a.tasksRunning} running, ${a.tasksHealthy} healthy of ${a.instances} (declared ${app.instances})`;
  }
  for (const app of apps) {
    const status = app.host ? await viaLb(c.info().edgelbUrl, app.host, '/ping') : 200;
    if (status !== 200) return `EdgeLB answers ${status || 'nothing'} for ${app.host}`;
  }
  return undefined;
}

/**
 * The longest time a running probe task asked for credentials and was
 * refused, between two answers it got (a task's first answer after its
 * start is not a gap: that is launch time), ms, and when it began.
 */
export function credentialGap(c: SoakCluster, ledger: Ledger, counted: Map<string, number>): { longestMs: number; at: number | null } {
  let longest = { longestMs: 0, at: null as number | null };
  for (const dir of probeLogs(c, '.log')) {
    let text: string;
    try {
      text = readFileSync(dir, 'utf8');
    } catch {
      continue;
    }
    let lastOk: number | undefined;
    const lines = text.split('\n');
    // Each answer counted once, however often the file is read.
    for (const line of lines.slice(counted.get(dir) ?? 0, -1)) {
      const [what, , code] = line.split(' ');
      if (what === 'OK' || what === 'FAIL') ledger.count('credentials', what === 'OK' ? '200' : `${code || 'none'}`, what === 'OK');
    }
    counted.set(dir, Math.max(0, lines.length - 1));
    for (const line of lines) {
      const [what, t] = line.split(' ');
      if (what !== 'OK') continue;
      const at = Number(t);
      if (lastOk !== undefined && at - lastOk > longest.longestMs) longest = { longestMs: at - lastOk, at: lastOk };
      lastOk = at;
    }
  }
  return longest;
}

/** The probes' files ending in `ext` (their logs, their last answers). */
function probeLogs(c: SoakCluster, ext: string): string[] {
  try {
    const dir = probeDir(c.stateDir);
    return readdirSync(dir)
      .filter((f) => f.endsWith(ext))
      .map((f) => join(dir, f));
  } catch {
    return [];
  }
}

/** Secret words (external ids, keys issued to tasks, the admin's key) and where they must never appear. */
export class LeakScanner {
  private readonly words = new Map<string, string>();
  private readonly offsets = new Map<string, number>();
  readonly leaks: Array<{ where: string; what: string }> = [];

  constructor(private readonly ledger: Ledger) {}

  /** A value that must stay secret, with a name for the report (never the value). */
  add(name: string, value: string): void {
    if (value.length >= 12) this.words.set(value, name);
  }

  /** Keys issued to probe tasks (each sandbox's last answer, read as root): secrets of /soak/endpoint. */
  learnIssued(c: SoakCluster): void {
    for (const file of probeLogs(c, '.json')) {
      try {
        const creds = JSON.parse(readFileSync(file, 'utf8')) as { SecretAccessKey?: string; Token?: string };
        if (creds.SecretAccessKey) this.add('a secret access key issued to /soak/endpoint/probe', creds.SecretAccessKey);
        if (creds.Token) this.add('a session token issued to /soak/endpoint/probe', creds.Token.slice(0, 64));
      } catch {
        // not yet written, or being rewritten
      }
    }
  }

  /** Checks a text (an answer, an event) for any secret word. */
  scan(where: string, text: string): void {
    for (const [value, name] of this.words) {
      if (text.includes(value) && !this.leaks.some((l) => l.where === where && l.what === name)) {
        this.leaks.push({ where, what: name });
        this.ledger.violate(`leak: ${name} in ${where}`);
      }
    }
  }

  /** Scans what was appended to each file since the last call: the cluster log, and every task's stdout and stderr. */
  scanFiles(c: SoakCluster): void {
    const files = [join(c.stateDir, 'cluster.log')];
    try {
      for (const d of readdirSync(join(c.stateDir, 'sandboxes'))) for (const f of ['stdout', 'stderr']) files.push(join(c.stateDir, 'sandboxes', d, f));
    } catch {
      // no sandboxes (the daemon starting again)
    }
    for (const file of files) {
      let size: number;
      try {
        size = statSync(file).size;
      } catch {
        continue;
      }
      const from = Math.min(this.offsets.get(file) ?? 0, size);
      if (size === from) continue;
      // Overlap by the longest word, so a value split across two reads is still seen.
      const start = Math.max(0, from - 2048);
      const buf = Buffer.alloc(size - start);
      const fd = openSync(file, 'r');
      try {
        readSync(fd, buf, 0, buf.length, start);
      } finally {
        closeSync(fd);
      }
      this.offsets.set(file, size);
      this.scan(file.replace(c.stateDir, '<state>'), buf.toString('utf8'));
    }
  }
}

/** Compares Marathon's apps and the store's secrets with what was acknowledged. */
export async function lostSince(
  c: SoakCluster,
  apps: readonly SoakApp[],
  secrets: ReadonlyMap<string, string>,
): Promise<{ apps: string[]; secrets: string[] }> {
  const lost = { apps: [] as string[], secrets: [] as string[] };
  const listed = (await c.marathon('GET', '/v2/apps')).body as { apps?: Array<{ id: string }> } | undefined;
  if (listed?.apps) for (const a of apps) if (!listed.apps.some((x) => x.id === a.id)) lost.apps.push(a.id);
  for (const [path, value] of secrets) {
    try {
      const res = await fetch(`${c.info().secretsUrl}/secrets/v1/secret/default/${path}`, {
        headers: { authorization: `token=${c.token}` },
        signal: AbortSignal.timeout(10_000),
      });
      if (res.status === 404) lost.secrets.push(path);
      else if (res.ok && ((await res.json()) as { value?: string }).value !== value) lost.secrets.push(`${path} (not the value last acknowledged)`);
    } catch {
      // unreachable now: checked again later
    }
  }
  return lost;
}
