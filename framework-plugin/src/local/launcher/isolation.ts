import { existsSync, statSync } from 'node:fs';
import { delimiter, dirname, resolve } from 'node:path';

/** Whether the local cluster can keep tasks from each other, and why not. */
export type Isolation =
  | { readonly enabled: true }
  | {
      readonly enabled: false;
      /** Why tasks would share one identity (shown by `sip cluster up` and in refusals). */
      readonly reason: string;
      /** The operator chose to run apps with secrets anyway (`--insecure-shared-identity`). */
      readonly insecure: boolean;
    };

/** The first directory on the way to `path` that an unprivileged user cannot enter, if any. */
export function blockedAncestor(path: string): string | undefined {
  const chain: string[] = [];
  for (let p = resolve(path); ; p = dirname(p)) {
    chain.unshift(p);
    if (p === dirname(p)) break;
  }
  for (const dir of chain) {
    try {
      const st = statSync(dir);
      if (st.isDirectory() && (st.mode & 0o001) === 0) return dir;
    } catch {
      return dir;
    }
  }
  return undefined;
}

/**
 * Decides whether tasks can run under their own identities: the cluster
 * must be root (to start processes as other users), and every directory a
 * task needs (its sandbox's root, the node binary, the project's tools) must
 * be enterable by an unprivileged user.
 */
export function detectIsolation(needs: { sandboxRoot: string; tools: readonly string[] }, insecure: boolean, isRoot = process.getuid?.() === 0): Isolation {
  if (!isRoot) return { enabled: false, reason: 'the cluster is not running as root, so it cannot start tasks under their own users', insecure };
  for (const dir of [needs.sandboxRoot, ...needs.tools]) {
    const blocked = blockedAncestor(dir);
    if (blocked) {
      const mode = (() => {
        try {
          return (statSync(blocked).mode & 0o777).toString(8).padStart(4, '0');
        } catch {
          return 'missing';
        }
      })();
      return {
        enabled: false,
        reason: `tasks could not reach ${dir}: ${blocked} is mode ${mode} (move the checkout and state dir somewhere others may enter, e.g. /srv or /opt)`,
        insecure,
      };
    }
  }
  return { enabled: true };
}

/**
 * The PATH tasks get: the agent's, without directories an unprivileged task
 * cannot enter (e.g. a Python under /root). What was dropped is returned so
 * the cluster can say so instead of tasks failing with "not found".
 */
export function taskPath(path: string): { path: string; dropped: string[] } {
  const kept: string[] = [];
  const dropped: string[] = [];
  for (const dir of path.split(delimiter).filter(Boolean)) {
    if (!existsSync(dir)) continue; // nothing to run there, nothing to report
    (blockedAncestor(dir) ? dropped : kept).push(dir);
  }
  return { path: kept.join(delimiter), dropped };
}
