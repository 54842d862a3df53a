import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { chmod, copyFile, mkdir, mkdtemp, readdir, readFile, realpath, rm, writeFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const BINAPP = fileURLToPath(new URL('../', import.meta.url));

/** The binapp image's repository; tags are content hashes plus `latest`. */
export const BINAPP_IMAGE = 'secure-instance-profiles/binapp';
/** The locally made base image's repository. */
export const BASE_IMAGE = 'secure-instance-profiles/node-base';
/** The unprivileged user binapp runs as in its image. */
export const IMAGE_USER = '10001:10001';

/** What {@link buildBinappImage} made or found. */
export interface BuiltImage {
  /** `secure-instance-profiles/binapp:<hash>` (also tagged `latest`). */
  readonly image: string;
  readonly baseImage: string;
  /** Uncompressed size as `docker image inspect` reports it. */
  readonly sizeBytes: number;
  /** True when nothing had changed and no build ran. */
  readonly cached: boolean;
}

/** Thrown when no Docker engine answers. */
export class DockerUnavailableError extends Error {
  readonly code = 'SIP_DOCKER_UNAVAILABLE';
}

async function docker(args: string[], input?: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('docker', args, { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d: Buffer) => (out += d));
    child.stderr!.on('data', (d: Buffer) => (err += d));
    child.once('error', (e: NodeJS.ErrnoException) =>
      reject(new DockerUnavailableError(e.code === 'ENOENT' ? 'docker is not installed (apt-get install -y docker.io)' : e.message)),
    );
    child.once('close', (code) => (code === 0 ? resolve(out.trim()) : reject(new Error(`docker ${args[0]} failed: ${err.trim() || out.trim()}`))));
    if (input) input.pipe(child.stdin!);
  });
}

const imageExists = async (ref: string): Promise<boolean> =>
  docker(['image', 'inspect', '--format', '{{.Id}}', ref]).then(
    () => true,
    () => false,
  );
const sha = (...parts: Array<string | Buffer>): string => {
  const h = createHash('sha256');
  for (const p of parts) h.update(p);
  return h.digest('hex').slice(0, 12);
};

/** Checks that a Docker engine answers. @throws DockerUnavailableError with the fix. */
export async function assertDockerEngine(): Promise<void> {
  try {
    await docker(['version', '--format', '{{.Server.Version}}']);
  } catch (err) {
    if (err instanceof DockerUnavailableError) throw err;
    throw new DockerUnavailableError('no Docker engine answers; start one: dockerd --bridge=none --iptables=false --ip-masq=false &');
  }
}

/** Shared libraries a binary needs, as `ldd` lists them (absolute paths). */
async function libsOf(binary: string): Promise<string[]> {
  const { stdout } = await run('ldd', [binary]);
  return [...stdout.matchAll(/(\/\S+) \(0x/g)].map((m) => m[1]!);
}

async function copyInto(rootfs: string, file: string, as = file): Promise<void> {
  await mkdir(join(rootfs, dirname(as)), { recursive: true });
  await copyFile(await realpath(file), join(rootfs, as));
}

/**
 * A base image made here without a registry: this machine's `node` binary,
 * `/bin/sh` (dash, for Marathon `cmd`), the shared libraries both need,
 * CA certificates, an unprivileged user 10001, `/tmp`; `docker import`ed.
 * Tagged by a hash of its contents, so it is made once per Node build.
 */
export async function buildBaseImage(): Promise<string> {
  const node = process.execPath;
  const sh = await realpath('/bin/sh');
  const files = [...new Set([...(await libsOf(node)), ...(await libsOf(sh))])].sort();
  const tag = `${BASE_IMAGE}:node${process.versions.node}-${sha(await readFile(node), await readFile(sh), files.join('\n'))}`;
  if (await imageExists(tag)) return tag;
  const rootfs = await mkdtemp(join(tmpdir(), 'sip-rootfs-'));
  try {
    await copyInto(rootfs, node, '/usr/local/bin/node');
    await copyInto(rootfs, sh, '/bin/sh');
    for (const f of files) await copyInto(rootfs, f);
    if (existsSync('/etc/ssl/certs/ca-certificates.crt')) await copyInto(rootfs, '/etc/ssl/certs/ca-certificates.crt');
    await mkdir(join(rootfs, 'etc'), { recursive: true });
    await writeFile(join(rootfs, 'etc/passwd'), 'root:x:0:0:root:/root:/bin/sh\napp:x:10001:10001:binapp:/tmp:/bin/sh\n');
    await writeFile(join(rootfs, 'etc/group'), 'root:x:0:\napp:x:10001:\n');
    await mkdir(join(rootfs, 'tmp'));
    await chmod(join(rootfs, 'tmp'), 0o1777);
    const tar = spawn('tar', ['-C', rootfs, '--owner=0', '--group=0', '-c', '.'], { stdio: ['ignore', 'pipe', 'inherit'] });
    await docker(['import', '--change', 'ENV PATH=/usr/local/bin:/bin', '--change', 'WORKDIR /', '-', tag], tar.stdout);
    return tag;
  } finally {
    await rm(rootfs, { recursive: true, force: true });
  }
}

/**
 * binapp and all its dependencies bundled for Node into `<ctx>/app/` (no
 * node_modules in the image): the same bundle step as `npm run build`.
 * @returns the bundle's files, for the image's content hash.
 */
async function bundle(ctx: string): Promise<Buffer> {
  const out = join(ctx, 'app');
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [join(BINAPP, 'scripts/bundle.mjs'), out], { stdio: ['ignore', 'inherit', 'inherit'] });
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve() : reject(new Error(`bundling binapp failed (exit ${code})`))));
  });
  const files = (await readdir(out, { recursive: true, withFileTypes: true }))
    .filter((f) => f.isFile())
    .map((f) => join(f.parentPath ?? f.path, f.name))
    .sort();
  return Buffer.concat(await Promise.all(files.map(async (f) => Buffer.concat([Buffer.from(`${f.slice(out.length)}\0`), await readFile(f)]))));
}

/**
 * Builds binapp's image with no registry: the local base image
 * ({@link buildBaseImage}), then `binapp/Dockerfile` on top with binapp
 * bundled (an entry and its chunks). Tagged `<hash of bundle, Dockerfile and base>` and
 * `latest`; when that tag exists nothing is built.
 * @throws DockerUnavailableError when no engine answers.
 */
export async function buildBinappImage(): Promise<BuiltImage> {
  await assertDockerEngine();
  const baseImage = await buildBaseImage();
  const ctx = await mkdtemp(join(tmpdir(), 'sip-binapp-image-'));
  try {
    const code = await bundle(ctx);
    const dockerfile = await readFile(join(BINAPP, 'Dockerfile'));
    await writeFile(join(ctx, 'Dockerfile'), dockerfile);
    const image = `${BINAPP_IMAGE}:${sha(code, dockerfile, baseImage)}`;
    const cached = await imageExists(image);
    if (!cached) await docker(['build', '--quiet', '--build-arg', `NODE_IMAGE=${baseImage}`, '-t', image, ctx]);
    await docker(['tag', image, `${BINAPP_IMAGE}:latest`]);
    const sizeBytes = Number(await docker(['image', 'inspect', '--format', '{{.Size}}', image]));
    return { image, baseImage, sizeBytes, cached };
  } finally {
    await rm(ctx, { recursive: true, force: true });
  }
}
