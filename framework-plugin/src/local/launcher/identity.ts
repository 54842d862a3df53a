/** The unprivileged identity a task runs under: one per app, like a Mesos framework user per tenant. */
export interface TaskUser {
  readonly uid: number;
  readonly gid: number;
}

/** First uid handed to apps: far above any real account. */
export const FIRST_APP_UID = 2_000_000;
/** How many app uids there are. */
export const APP_UIDS = 1_000_000;

/** FNV-1a over the id: a stable starting point, so an app keeps its uid across restarts when it can. */
function fnv1a(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h;
}

/**
 * The identity for `appId`: its persisted uid when it has one, else one
 * derived from the id, moved on until no other app holds it. Every app gets
 * its own uid and group, so no task can read another app's sandbox, secrets
 * or `/proc/<pid>/environ`.
 */
export function appIdentity(appId: string, taken: ReadonlySet<number>, persisted?: number): TaskUser {
  if (persisted !== undefined && persisted >= FIRST_APP_UID && persisted < FIRST_APP_UID + APP_UIDS && !taken.has(persisted))
    return { uid: persisted, gid: persisted };
  let uid = FIRST_APP_UID + (fnv1a(appId) % APP_UIDS);
  while (taken.has(uid)) uid = FIRST_APP_UID + ((uid - FIRST_APP_UID + 1) % APP_UIDS);
  return { uid, gid: uid };
}
