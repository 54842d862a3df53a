import { cp, mkdir, rm, stat, symlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { SipError } from '../../core/errors/SipError.js';

/**
 * What Terraform reads from a root module's directory without being asked:
 * variable files it auto-loads (`terraform.tfvars[.json]`, `*.auto.tfvars[.json]`)
 * and run state (`.terraform/`, `terraform.tfstate*`, the CLI config the demo
 * writes). A copy leaves them all out, so a run never picks up another run's
 * endpoint, keys or state (e.g. the `local-cluster.auto.tfvars.json` that
 * `npm run demo` writes beside the module on purpose).
 */
const RUN_STATE = /(^|\/)(\.terraform|\.terraformrc|\.terraform\.tfstate\.lock\.info|terraform\.tfstate[^/]*|terraform\.tfvars(\.json)?|[^/]*\.auto\.tfvars(\.json)?)$/;

/** True when `path` is run state or an auto-loaded variable file (see {@link copyModule}). */
export const isRunState = (path: string): boolean => RUN_STATE.test(path);

/**
 * Copies the root module `configDir` to `<dest>/<name of configDir>`, without
 * auto-loaded variable files or run state, and links each of `siblings`
 * (directories beside `configDir` the module reads through `../`, such as
 * `marathon/`) next to the copy. Replaces an earlier copy. Returns the copy's path.
 * @throws SipError `SIP_TERRAFORM_FAILED` when `configDir` is not a directory.
 */
export async function copyModule(configDir: string, dest: string, siblings: readonly string[] = []): Promise<string> {
  const isDir = await stat(configDir).then(
    (s) => s.isDirectory(),
    () => false,
  );
  if (!isDir) throw new SipError('SIP_TERRAFORM_FAILED', `no Terraform module at ${configDir}`);
  const copy = join(dest, basename(configDir));
  await rm(dest, { recursive: true, force: true });
  await mkdir(dest, { recursive: true });
  await cp(configDir, copy, { recursive: true, filter: (src) => !isRunState(src) });
  for (const name of siblings) await symlink(join(dirname(configDir), name), join(dest, name));
  return copy;
}
