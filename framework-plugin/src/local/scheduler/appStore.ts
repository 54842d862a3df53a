import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import { SipError } from '../../core/errors/SipError.js';
import { parseAppDefinition, type ValidatedApp } from '../../core/marathon/appDefinition.js';

/** One persisted app: its definition and the version its tasks run. */
export interface StoredApp {
  readonly app: ValidatedApp;
  readonly version: string;
  /** The app's user id, kept so its tasks keep their identity across restarts. */
  readonly uid?: number;
}

/** Where the scheduler keeps its apps across restarts. */
export interface AppStore {
  /** The apps saved last; none when nothing was saved. */
  load(): Promise<StoredApp[]>;
  /** Replaces what is saved, atomically (a crash leaves the old or the new list, never half). */
  save(apps: readonly StoredApp[]): Promise<void>;
}

/**
 * Apps in one JSON file (`<state>/marathon/apps.json`), written through a
 * temp file and a rename. Loading validates every app again: this is an
 * edge (the file may have been edited by hand).
 * @throws SipError `SIP_STATE_INVALID` naming the file when it cannot be read.
 */
export function createFileAppStore(file: string): AppStore {
  return {
    async load() {
      let text: string;
      try {
        text = await readFile(file, 'utf8');
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
        throw new SipError('SIP_STATE_INVALID', `cannot read ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
      }
      try {
        const saved = JSON.parse(text) as Array<{ app: unknown; version: unknown; uid?: unknown }>;
        return saved.map((s) => ({ app: parseAppDefinition(s.app), version: String(s.version), ...(Number.isInteger(s.uid) ? { uid: s.uid as number } : {}) }));
      } catch (err) {
        throw new SipError('SIP_STATE_INVALID', `cannot read ${file}: ${(err as Error).message}`);
      }
    },
    async save(apps) {
      await mkdir(dirname(file), { recursive: true, mode: 0o700 });
      const tmp = `${file}.tmp-${process.pid}`;
      await writeFile(tmp, JSON.stringify(apps, null, 2));
      await rename(tmp, file);
    },
  };
}
