import { readFile } from 'node:fs/promises';

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
 * Where a process belongs, from its `/proc/<pid>/cgroup` text. Mesos's
 * cgroups isolator and launcher put a container's processes in
 * `/<cgroups_root>/<containerId>` (apache/mesos
 * src/slave/containerizer/mesos/paths.cpp), a nested container's in
 * `/<cgroups_root>/<parent>/mesos/<child>`; the Docker containerizer's live in
 * Docker's cgroups. Strict, as SPIRE's attestor is: every line under the root
 * must name the same container at exactly the container's level (a child
 * cgroup a task user made under its own is not the container), and the
 * Docker lines must name one Docker container. Pure.
 */
export function placeOf(cgroupText: string, root: string): CgroupPlace {
  const prefix = `/${root.replace(/^\/+|\/+$/g, '')}/`;
  const places = new Set<string>();
  const docker = new Set<string>();
  let found: CgroupPlace | undefined;
  for (const line of cgroupText.split('\n')) {
    if (!line) continue;
    const path = line.split(':').slice(2).join(':');
    const d = DOCKER.exec(path);
    if (d) {
      docker.add((d[1] ?? d[2])!);
      continue;
    }
    if (!path.startsWith(prefix)) continue;
    const parts = path.slice(prefix.length).split('/');
    if (!parts.every((p) => CONTAINER_ID.test(p))) return { kind: 'none', reason: `cgroup ${path} is not a container's` };
    if (parts.length === 1) found = { kind: 'container', containerId: parts[0]! };
    else if (parts.length === 3 && parts[1] === 'mesos') found = { kind: 'nested', containerId: parts[0]!, childId: parts[2]! };
    else return { kind: 'none', reason: `cgroup ${path} is below a container's own (a child cgroup is not the container)` };
    places.add(JSON.stringify(found));
  }
  if (places.size > 1) return { kind: 'none', reason: 'its cgroups name different containers' };
  if (found && docker.size > 0) return { kind: 'none', reason: 'its cgroups name both a Mesos and a Docker container' };
  if (found) return found;
  if (docker.size > 1) return { kind: 'none', reason: 'its cgroups name different Docker containers' };
  if (docker.size === 1) return { kind: 'docker', dockerId: [...docker][0]! };
  return { kind: 'none', reason: `it is in no container under /${root.replace(/^\/+|\/+$/g, '')}` };
}

/** The Mesos container id of {@link placeOf} (nested containers count as none), for callers that need just that. */
export function containerIdOf(cgroupText: string, root: string): string | undefined {
  const p = placeOf(cgroupText, root);
  return p.kind === 'container' ? p.containerId : undefined;
}

/** {@link placeOf} for a live process. */
export async function placeOfPid(pid: number, root: string, proc = '/proc'): Promise<CgroupPlace> {
  const text = await readFile(`${proc}/${pid}/cgroup`, 'utf8').catch(() => undefined);
  return text === undefined ? { kind: 'none', reason: `process ${pid} is gone` } : placeOf(text, root);
}

/**
 * A process's start time (`/proc/<pid>/stat` field 22, clock ticks since
 * boot): with the pid, it names one process for good, so a pid reused while
 * the agent looked is noticed. Undefined when the process is gone.
 */
export async function startTimeOf(pid: number, proc = '/proc'): Promise<string | undefined> {
  const stat = await readFile(`${proc}/${pid}/stat`, 'utf8').catch(() => undefined);
  if (stat === undefined) return undefined;
  return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
}
