import { readFileSync } from 'node:fs';

/**
 * A small `/proc` file, read synchronously (microseconds in the kernel; on the
 * thread pool it would queue behind slow `/proc/net/tcp` reads), or undefined
 * when the process is gone.
 */
function readSmall(file: string): string | undefined {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

/** A Mesos container id (UUID-like): what a cgroup path segment must look like to count. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;
/** Docker's container ids in its cgroup paths (`/docker/<id>`, `/system.slice/docker-<id>.scope`). */
const DOCKER = /^\/(?:.*\/)?(?:docker\/([0-9a-f]{64})|docker-([0-9a-f]{64})\.scope)$/;

/** Where a process sits, from its cgroups. */
export type CgroupPlace =
  /** In a Mesos container's own cgroup (`/<root>/<containerId>`). */
  | { kind: 'container'; containerId: string }
  /** In a nested container (a pod's task: `/<root>/<parent>/mesos/<child>`). */
  | { kind: 'nested'; containerId: string; childId: string }
  /** In a Docker container (the Docker containerizer's tasks): resolved through Docker. */
  | { kind: 'docker'; dockerId: string }
  | { kind: 'none'; reason: string };

/**
 * The v1 hierarchies whose line must name the caller's container: Mesos's
 * Linux launcher always puts a container in `freezer` (to kill it) and, on
 * systemd hosts, in `name=systemd` (apache/mesos
 * src/slave/containerizer/mesos/linux_launcher.cpp), whatever isolators run.
 */
export const DEFAULT_CGROUP_HIERARCHIES: readonly string[] = ['freezer', 'name=systemd'];

/** One `/proc/<pid>/cgroup` line: its hierarchy's controllers (or names) and the path. */
interface CgroupLine {
  readonly controllers: readonly string[];
  readonly path: string;
}

function placeOfPath(path: string, prefix: string): CgroupPlace | undefined {
  const d = DOCKER.exec(path);
  if (d) return { kind: 'docker', dockerId: (d[1] ?? d[2])! };
  if (!path.startsWith(prefix)) return undefined;
  const parts = path.slice(prefix.length).split('/');
  if (!parts.every((p) => CONTAINER_ID.test(p))) return { kind: 'none', reason: `cgroup ${path} is not a container's` };
  if (parts.length === 1) return { kind: 'container', containerId: parts[0]! };
  if (parts.length === 3 && parts[1] === 'mesos') return { kind: 'nested', containerId: parts[0]!, childId: parts[2]! };
  return { kind: 'none', reason: `cgroup ${path} is below a container's own (a child cgroup is not the container)` };
}

/**
 * Where a process belongs, from its `/proc/<pid>/cgroup` text. Mesos's
 * cgroups isolator and launcher put a container's processes in
 * `/<cgroups_root>/<containerId>` (apache/mesos
 * src/slave/containerizer/mesos/paths.cpp), a nested container's in
 * `/<cgroups_root>/<parent>/mesos/<child>`; the Docker containerizer's live in
 * Docker's cgroups. Strict, as SPIRE's attestor is: the line of every
 * hierarchy in `required` ({@link DEFAULT_CGROUP_HIERARCHIES}; on a host with
 * only the unified hierarchy, its `0::` line) must name the container, every
 * other line under the root or Docker's must name the same one, and only at
 * exactly the container's level (a child cgroup a task user made under its
 * own, in a hierarchy it was chowned, is not the container). Pure.
 */
export function placeOf(cgroupText: string, root: string, required: readonly string[] = DEFAULT_CGROUP_HIERARCHIES): CgroupPlace {
  const prefix = `/${root.replace(/^\/+|\/+$/g, '')}/`;
  const lines: CgroupLine[] = [];
  for (const line of cgroupText.split('\n')) {
    if (!line) continue;
    const [, controllers = '', ...rest] = line.split(':');
    lines.push({ controllers: controllers === '' ? [''] : controllers.split(','), path: rest.join(':') });
  }
  // Only the unified hierarchy (cgroup v2): its one line is what must name the container.
  const unifiedOnly = lines.length > 0 && lines.every((l) => l.controllers[0] === '');
  const must = unifiedOnly ? [''] : required;
  const places = new Map<string, CgroupPlace>();
  for (const l of lines) {
    const place = placeOfPath(l.path, prefix);
    const name = l.controllers[0] === '' ? 'unified' : l.controllers.join(',');
    if (place === undefined) {
      if (must.some((h) => l.controllers.includes(h))) return { kind: 'none', reason: `its ${name} cgroup ${l.path} is no container's` };
      continue;
    }
    if (place.kind === 'none') return place;
    places.set(JSON.stringify(place), place);
  }
  for (const h of must) {
    if (!lines.some((l) => l.controllers.includes(h))) return { kind: 'none', reason: `it has no ${h === '' ? 'unified' : h} cgroup` };
  }
  if (places.size === 0) return { kind: 'none', reason: `it is in no container under /${root.replace(/^\/+|\/+$/g, '')}` };
  if (places.size > 1) {
    const kinds = new Set([...places.values()].map((p) => (p.kind === 'docker' ? 'docker' : 'mesos')));
    return { kind: 'none', reason: kinds.size > 1 ? 'its cgroups name both a Mesos and a Docker container' : 'its cgroups name different containers' };
  }
  return [...places.values()][0]!;
}

/** The Mesos container id of {@link placeOf} (nested containers count as none), for callers that need just that. */
export function containerIdOf(cgroupText: string, root: string, required: readonly string[] = DEFAULT_CGROUP_HIERARCHIES): string | undefined {
  const p = placeOf(cgroupText, root, required);
  return p.kind === 'container' ? p.containerId : undefined;
}

/** {@link placeOf} for a live process. */
export async function placeOfPid(pid: number, root: string, proc = '/proc', required: readonly string[] = DEFAULT_CGROUP_HIERARCHIES): Promise<CgroupPlace> {
  const text = readSmall(`${proc}/${pid}/cgroup`);
  return text === undefined ? { kind: 'none', reason: `process ${pid} is gone` } : placeOf(text, root, required);
}

/**
 * A process's start time (`/proc/<pid>/stat` field 22, clock ticks since
 * boot): with the pid, it names one process for good, so a pid reused while
 * the agent looked is noticed. Undefined when the process is gone.
 */
export async function startTimeOf(pid: number, proc = '/proc'): Promise<string | undefined> {
  const stat = readSmall(`${proc}/${pid}/stat`);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}
