import { readFile } from 'node:fs/promises';

/** A Mesos container id (UUID-like): what a cgroup path segment must look like to count. */
const CONTAINER_ID = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

/**
 * The Mesos container a process belongs to, from its `/proc/<pid>/cgroup`
 * text: Mesos's cgroups isolator puts a container's processes under
 * `/<cgroups_root>/<containerId>` (nested containers and Docker's own
 * cgroups go below that). Every hierarchy that places the process under
 * the root must name the same container, else undefined. Pure.
 */
export function containerIdOf(cgroupText: string, root: string): string | undefined {
  const prefix = `/${root.replace(/^\/+|\/+$/g, '')}/`;
  const found = new Set<string>();
  for (const line of cgroupText.split('\n')) {
    const path = line.split(':').slice(2).join(':');
    if (!path.startsWith(prefix)) continue;
    const id = path.slice(prefix.length).split('/')[0] ?? '';
    if (!CONTAINER_ID.test(id)) return undefined;
    found.add(id);
  }
  return found.size === 1 ? [...found][0] : undefined;
}

/** {@link containerIdOf} for a live process; undefined when it is gone or outside every container. */
export async function containerOfPid(pid: number, root: string, proc = '/proc'): Promise<string | undefined> {
  const text = await readFile(`${proc}/${pid}/cgroup`, 'utf8').catch(() => '');
  return containerIdOf(text, root);
}
