import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LocalClusterInfo } from '../local/stack.js';

/** Where the local cluster keeps its state unless told otherwise: `<project>/.state`. */
export const DEFAULT_STATE_DIR = fileURLToPath(new URL('../../../.state', import.meta.url));

/** What a running local cluster publishes in `<state>/cluster.json`. */
export type ClusterInfo = LocalClusterInfo;

/** The state directory from `--state-dir`, `$SIP_STATE_DIR`, or the default. */
export function stateDirOf(option: string | undefined, env: Readonly<Record<string, string | undefined>>): string {
  return option ?? env.SIP_STATE_DIR ?? DEFAULT_STATE_DIR;
}

/**
 * The ACS token for the cluster's APIs: `--token`, else `$SIP_ACS_TOKEN`,
 * else the local cluster's own (`<state>/acs-token`, readable by its
 * operator only), else none.
 */
export async function acsTokenOf(option: string | undefined, env: Readonly<Record<string, string | undefined>>, stateDir: string): Promise<string | undefined> {
  const token = option ?? env.SIP_ACS_TOKEN ?? (await readFile(join(stateDir, 'acs-token'), 'utf8').catch(() => '')).trim();
  return token || undefined;
}

/** Reads `<state>/cluster.json`, or undefined when no cluster was started there. */
export async function readClusterInfo(stateDir: string): Promise<ClusterInfo | undefined> {
  try {
    return JSON.parse(await readFile(join(stateDir, 'cluster.json'), 'utf8')) as ClusterInfo;
  } catch {
    return undefined;
  }
}
