/** One app's versions, oldest first, bounded as Marathon's `zk_max_versions`: what `/versions` lists and a rollback returns to. */
export interface AppVersions<A> {
  /** Records a version of the definition (the oldest goes past the bound). */
  record(version: string, app: A): void;
  /** Version stamps, newest first (Marathon's `/v2/apps/{id}/versions`). */
  list(): string[];
  /** The definition at a version, or undefined. */
  at(version: string): A | undefined;
  /** A stamp later than every version recorded and than `since` (two changes in one millisecond stay ordered). */
  stampAfter(now: Date, since: string): string;
}

/** An {@link AppVersions} holding at most `max` versions. Pure. */
export function createAppVersions<A>(first: { version: string; app: A }, max: number): AppVersions<A> {
  const history = [first];
  return {
    record(version, app) {
      history.push({ version, app });
      if (history.length > max) history.shift();
    },
    list: () => history.map((h) => h.version).reverse(),
    at: (version) => history.find((h) => h.version === version)?.app,
    stampAfter(now, since) {
      const t = now.toISOString();
      return t > since ? t : new Date(Date.parse(since) + 1).toISOString();
    },
  };
}
