import type { AppView } from './views.js';

/** A group as `GET /v2/groups` shows it: apps and subgroups by path. */
export interface GroupView {
  id: string;
  apps: AppView[];
  groups: GroupView[];
  pods: unknown[];
  dependencies: string[];
  version: string;
  enforceRole: boolean;
}

/** The parent group of an app or group id (`/a/b/c` → `/a/b`, `/a` → `/`). */
export const parentOf = (id: string): string => id.slice(0, id.lastIndexOf('/')) || '/';

/** Whether `id` is `group` or lies under it. */
export const isUnder = (id: string, group: string): boolean => group === '/' || id === group || id.startsWith(`${group}/`);

/**
 * The group tree Marathon derives from app ids, pure: every ancestor of an
 * app is a group; a group's version is its newest app's. Returns the group
 * `id` (`/` for the root), or undefined when no app lies under it.
 */
export function groupTree(apps: readonly AppView[], id = '/', rootVersion = new Date(0).toISOString()): GroupView | undefined {
  const under = apps.filter((a) => isUnder(a.id, id) && a.id !== id);
  if (id !== '/' && under.length === 0) return undefined;
  const direct = under.filter((a) => parentOf(a.id) === id);
  const childIds = new Set<string>();
  for (const a of under) {
    let g = parentOf(a.id);
    while (g !== '/' && parentOf(g) !== id && g !== id) g = parentOf(g);
    if (g !== id && g !== '/' && parentOf(g) === id) childIds.add(g);
  }
  const groups = [...childIds].sort().map((g) => groupTree(under, g, rootVersion)!);
  const versions = under.map((a) => a.version).sort();
  return { id, apps: direct, groups, pods: [], dependencies: [], version: versions.at(-1) ?? rootVersion, enforceRole: false };
}
