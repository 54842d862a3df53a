import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { link, mkdir, open, readdir, readFile, rename, stat, unlink } from 'node:fs/promises';
import { join } from 'node:path';
import { SecretErrorCode, SecretStoreError } from '../core/secrets/errors.js';
import { canonicalSecretFolder, canonicalSecretPath } from '../core/secrets/secretPath.js';
import { MAX_SECRET_BYTES, type SecretStore } from '../core/secrets/SecretStore.js';

const MAGIC = Buffer.from('SIP1');
const IV_BYTES = 12;
const TAG_BYTES = 16;
const SUFFIX = '.secret';

/** User options of {@link createLocalStore}. */
export interface LocalStoreInit {
  /** Directory of the store; created 0700 when absent. */
  dir: string;
  /** Key file (32 bytes, mode 0600). Default `<dir>/store.key`, created on first use. */
  keyFile?: string;
}

const encodeName = (path: string): string => `${Buffer.from(path, 'utf8').toString('base64url')}${SUFFIX}`;
const decodeName = (name: string): string => Buffer.from(name.slice(0, -SUFFIX.length), 'base64url').toString('utf8');
const isNotFound = (err: unknown): boolean => (err as NodeJS.ErrnoException).code === 'ENOENT';

/**
 * The embedded secret store: one file per secret, AES-256-GCM encrypted under
 * a key file kept 0600, the secret's path bound in as associated data (so a
 * file moved to another path does not decrypt).
 *
 * Writes are atomic (temp file + fsync + rename or link) and safe under
 * concurrent writers and processes: a create is a hard link that fails if the
 * name exists, an update a rename over it. A tampered file or a wrong key
 * gives `SIP_SECRET_TAMPERED`, never garbage.
 */
export function createLocalStore(init: LocalStoreInit): SecretStore {
  const dir = init.dir;
  const dataDir = join(dir, 'data');
  const keyFile = init.keyFile ?? join(dir, 'store.key');
  let keyPromise: Promise<Buffer> | undefined;

  const loadKey = async (): Promise<Buffer> => {
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    // Publish a new key atomically (temp file + link), so a concurrent
    // opener never reads a half-written key; an existing key is left alone.
    if (
      !(await stat(keyFile).then(
        () => true,
        () => false,
      ))
    ) {
      const tmp = `${keyFile}.tmp-${process.pid}-${randomBytes(6).toString('hex')}`;
      const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
      try {
        await fh.writeFile(randomBytes(32));
        await fh.sync();
      } finally {
        await fh.close();
      }
      try {
        await link(tmp, keyFile);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
    }
    const info = await stat(keyFile);
    if ((info.mode & 0o077) !== 0) {
      throw new SecretStoreError(
        SecretErrorCode.keyInsecure,
        `key file ${keyFile} is readable by group or others (mode ${(info.mode & 0o777).toString(8)}); run: chmod 600 ${keyFile}`,
      );
    }
    const key = await readFile(keyFile);
    if (key.length !== 32) throw new SecretStoreError(SecretErrorCode.tampered, `key file ${keyFile} is not a 32-byte key`);
    return key;
  };
  const key = (): Promise<Buffer> => {
    keyPromise ??= loadKey().catch((err) => {
      keyPromise = undefined;
      throw err;
    });
    return keyPromise;
  };

  const seal = async (path: string, value: string): Promise<Buffer> => {
    const plain = Buffer.from(value, 'utf8');
    if (plain.length > MAX_SECRET_BYTES) {
      throw new SecretStoreError(SecretErrorCode.tooLarge, `secret "${path}" is ${plain.length} bytes; the limit is ${MAX_SECRET_BYTES}`);
    }
    const iv = randomBytes(IV_BYTES);
    const cipher = createCipheriv('aes-256-gcm', await key(), iv);
    cipher.setAAD(Buffer.from(path, 'utf8'));
    const body = Buffer.concat([cipher.update(plain), cipher.final()]);
    return Buffer.concat([MAGIC, iv, cipher.getAuthTag(), body]);
  };

  const unseal = async (path: string, sealed: Buffer): Promise<string> => {
    const tampered = (): SecretStoreError =>
      new SecretStoreError(
        SecretErrorCode.tampered,
        `secret "${path}" cannot be decrypted: the file was modified or the store key is not the one it was written with`,
      );
    if (sealed.length < MAGIC.length + IV_BYTES + TAG_BYTES || !sealed.subarray(0, MAGIC.length).equals(MAGIC)) throw tampered();
    const iv = sealed.subarray(MAGIC.length, MAGIC.length + IV_BYTES);
    const tag = sealed.subarray(MAGIC.length + IV_BYTES, MAGIC.length + IV_BYTES + TAG_BYTES);
    const decipher = createDecipheriv('aes-256-gcm', await key(), iv);
    decipher.setAAD(Buffer.from(path, 'utf8'));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(sealed.subarray(MAGIC.length + IV_BYTES + TAG_BYTES)), decipher.final()]).toString('utf8');
    } catch {
      throw tampered();
    }
  };

  /** Writes `bytes` to a fresh temp file in the data dir, fsynced. */
  const writeTemp = async (bytes: Buffer): Promise<string> => {
    const tmp = join(dataDir, `.tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
    const fh = await open(tmp, constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL, 0o600);
    try {
      await fh.writeFile(bytes);
      await fh.sync();
    } finally {
      await fh.close();
    }
    return tmp;
  };

  const syncDir = async (): Promise<void> => {
    const fh = await open(dataDir, constants.O_RDONLY);
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  };

  const fileOf = (path: string): string => join(dataDir, encodeName(path));

  return {
    async get(rawPath) {
      const path = canonicalSecretPath(rawPath);
      let sealed: Buffer;
      try {
        sealed = await readFile(fileOf(path));
      } catch (err) {
        if (isNotFound(err)) throw new SecretStoreError(SecretErrorCode.notFound, `secret "${path}" does not exist`);
        throw err;
      }
      return unseal(path, sealed);
    },

    async create(rawPath, value) {
      const path = canonicalSecretPath(rawPath);
      const tmp = await writeTemp(await seal(path, value));
      try {
        await link(tmp, fileOf(path)); // atomic create-if-absent
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new SecretStoreError(SecretErrorCode.exists, `secret "${path}" already exists`);
        throw err;
      } finally {
        await unlink(tmp).catch(() => undefined);
      }
      await syncDir();
    },

    async update(rawPath, value) {
      const path = canonicalSecretPath(rawPath);
      const sealed = await seal(path, value);
      try {
        await stat(fileOf(path));
      } catch (err) {
        if (isNotFound(err)) throw new SecretStoreError(SecretErrorCode.notFound, `secret "${path}" does not exist`);
        throw err;
      }
      const tmp = await writeTemp(sealed);
      try {
        await rename(tmp, fileOf(path));
      } catch (err) {
        await unlink(tmp).catch(() => undefined);
        throw err;
      }
      await syncDir();
    },

    async delete(rawPath) {
      const path = canonicalSecretPath(rawPath);
      try {
        await unlink(fileOf(path));
      } catch (err) {
        if (isNotFound(err)) throw new SecretStoreError(SecretErrorCode.notFound, `secret "${path}" does not exist`);
        throw err;
      }
      await syncDir();
    },

    async list(rawFolder) {
      const folder = canonicalSecretFolder(rawFolder);
      await key();
      const names = (await readdir(dataDir)).filter((n) => n.endsWith(SUFFIX)).map(decodeName);
      const prefix = folder ? `${folder}/` : '';
      return names
        .filter((p) => p.startsWith(prefix))
        .map((p) => p.slice(prefix.length))
        .sort();
    },
  };
}
