import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { basename, isAbsolute, join, relative } from 'node:path';
import { SipError } from '../../core/errors/SipError.js';
import type { AwsCredentials } from '../emulator/credentials.js';
import { copyModule } from './moduleCopy.js';
import { findProviderMirror, mirrorCliConfig } from './providerMirror.js';

/** User options of {@link createTerraform}. */
export interface TerraformInit {
  /** Directory of the root module (e.g. `terraform/`). */
  configDir: string;
  /**
   * Directory for this run's `.terraform`, state, var files and CLI config,
   * keeping the source tree clean (tests, the bench). The module runs from a
   * copy made there on first use, without the variable files Terraform
   * auto-loads or any run state found in `configDir` (a running demo's
   * endpoint and keys are never read). Omitted: Terraform's own defaults in
   * `configDir` (`.terraform/`, `terraform.tfstate`, auto-loaded
   * `*.auto.tfvars.json`), so a user can replay every command by hand.
   */
  workDir?: string;
  /**
   * With a `workDir`: directories beside `configDir` the module reads through
   * `../` (e.g. `marathon`), linked beside the copy.
   */
  siblings?: readonly string[];
  /**
   * In-place mode: the `*.auto.tfvars.json` file (in `configDir`) that
   * {@link Terraform.apply} writes its variables to. Default
   * `local.auto.tfvars.json`.
   */
  varsFileName?: string;
  /** Credentials given to the provider through the environment (never argv). */
  credentials?: AwsCredentials;
  /** Offline provider mirror; default: found by {@link findProviderMirror}. */
  providerMirror?: string;
  /** Called with each line Terraform prints (for progress output). */
  onLine?: (line: string) => void;
  /** Called with each command line, as a user would type it, just before it runs. */
  onCommand?: (commandLine: string) => void;
  /** Timeout of one command, ms. Default 10 minutes. */
  timeoutMs?: number;
}

/** Variables as Terraform takes them in a `.tfvars.json` file. */
export type TerraformVars = Record<string, unknown>;

/** A Terraform root module bound to one working directory and state file. */
export interface Terraform {
  init(): Promise<void>;
  /** Applies; `vars` (when given) are written to the var file first. */
  apply(vars?: TerraformVars): Promise<void>;
  destroy(vars?: TerraformVars): Promise<void>;
  /** One output; sensitive outputs are returned in clear, so handle with care. */
  output(name: string): Promise<string>;
  /** Every output's value, keyed by name (sensitive ones in clear). */
  outputs(): Promise<Record<string, unknown>>;
  /** `terraform validate` (after {@link Terraform.init}). */
  validate(): Promise<void>;
  /** `terraform fmt -check -recursive`; rejects listing the unformatted files. */
  fmtCheck(): Promise<void>;
  /** The shell line that runs `terraform <args>` exactly as this object does, paths relative to the current directory. */
  commandLine(args: readonly string[]): string;
  /** Path of the var file {@link Terraform.apply} writes. */
  readonly varsFile: string;
}

// Terraform colours its diagnostics even when stdout is not a terminal.
// eslint-disable-next-line no-control-regex
const ANSI = /\x1b\[[0-9;]*m/g;
const shellWord = (s: string): string => (/^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`);
const fromCwd = (p: string): string => {
  const rel = relative(process.cwd(), p);
  return rel === '' ? '.' : rel.startsWith('..') || isAbsolute(rel) ? p : rel;
};

/**
 * Runs the real `terraform` binary on a root module.
 *
 * With a `workDir`, all run state (plugins, state, variables) stays there; in
 * place (no `workDir`), Terraform's defaults are used and every command is one
 * a user can copy ({@link Terraform.commandLine}): `init` takes the provider
 * mirror through a CLI config written beside the module (`.terraformrc`),
 * later commands need nothing but the module directory.
 *
 * Variables go through a JSON var file and credentials through the
 * environment, so no secret appears in a process listing.
 * @throws SipError `SIP_TERRAFORM_MISSING` when terraform is not installed,
 *   `SIP_TERRAFORM_FAILED` with the command and Terraform's error text.
 */
export function createTerraform(init: TerraformInit): Terraform {
  const inPlace = init.workDir === undefined;
  const home = init.workDir ?? init.configDir;
  const state = join(home, 'terraform.tfstate');
  const varsFile = inPlace ? join(init.configDir, init.varsFileName ?? 'local.auto.tfvars.json') : join(home, 'run.auto.tfvars.json');
  const cliConfig = join(home, '.terraformrc');
  const mirror = findProviderMirror(init.providerMirror);
  // Where commands run: the module itself in place, else a private copy of it.
  const moduleDir = inPlace ? init.configDir : join(home, 'module', basename(init.configDir));
  let copied: Promise<unknown> | undefined;
  const ready = (): Promise<unknown> => (inPlace ? Promise.resolve() : (copied ??= mkdir(home, { recursive: true }).then(() => copyModule(init.configDir, join(home, 'module'), init.siblings))));

  const env: NodeJS.ProcessEnv = { ...process.env };
  if (!inPlace) Object.assign(env, { TF_DATA_DIR: join(home, '.terraform'), TF_IN_AUTOMATION: '1', TF_INPUT: '0', CHECKPOINT_DISABLE: '1' });
  if (mirror) env.TF_CLI_CONFIG_FILE = cliConfig;
  if (init.credentials) {
    env.AWS_ACCESS_KEY_ID = init.credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = init.credentials.secretAccessKey;
    if (init.credentials.sessionToken) env.AWS_SESSION_TOKEN = init.credentials.sessionToken;
    else delete env.AWS_SESSION_TOKEN;
    delete env.AWS_PROFILE;
  }
  // In place, only `init` needs the CLI config; the rest runs as a bare `terraform`.
  const needsCliConfig = (args: readonly string[]): boolean => Boolean(mirror) && (!inPlace || args[0] === 'init');
  const flags = (args: readonly string[]): string[] => {
    const [verb, ...rest] = args;
    if (inPlace) return [verb!, ...rest];
    const stateful = verb === 'apply' || verb === 'destroy' || verb === 'output';
    const withVars = verb === 'apply' || verb === 'destroy';
    // Flags before positional arguments: Terraform stops reading flags at the first one.
    return [verb!, '-no-color', ...(stateful ? [`-state=${state}`] : []), ...(withVars ? [`-var-file=${varsFile}`] : []), ...rest];
  };

  const commandLine = (args: readonly string[]): string =>
    [
      ...(needsCliConfig(args) ? [`TF_CLI_CONFIG_FILE=${shellWord(fromCwd(cliConfig))}`] : []),
      'terraform',
      `-chdir=${shellWord(fromCwd(moduleDir))}`,
      ...flags(args).map(shellWord),
    ].join(' ');

  const run = async (args: string[], quiet = false): Promise<string> => {
    await ready();
    const full = [`-chdir=${moduleDir}`, ...flags(args)];
    const childEnv = { ...env };
    if (!needsCliConfig(args) && inPlace) delete childEnv.TF_CLI_CONFIG_FILE;
    if (!quiet) init.onCommand?.(commandLine(args));
    return new Promise((resolve, reject) => {
      const child = spawn('terraform', full, { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGTERM'), init.timeoutMs ?? 600_000);
      child.stdout.on('data', (d: Buffer) => {
        const text = d.toString('utf8');
        out += text;
        if (!quiet && init.onLine) for (const line of text.replace(ANSI, '').split('\n')) if (line.trim()) init.onLine(line);
      });
      child.stderr.on('data', (d: Buffer) => {
        err += d.toString('utf8');
      });
      child.once('error', (e: NodeJS.ErrnoException) => {
        clearTimeout(timer);
        reject(
          e.code === 'ENOENT'
            ? new SipError('SIP_TERRAFORM_MISSING', 'terraform not found on PATH; install Terraform >= 1.5 (https://developer.hashicorp.com/terraform/install)')
            : e,
        );
      });
      child.once('close', (code) => {
        clearTimeout(timer);
        if (code === 0) return resolve(out);
        const detail = (err || out).replace(ANSI, '').trim().split('\n').slice(-15).join('\n');
        reject(new SipError('SIP_TERRAFORM_FAILED', `terraform ${args[0]} failed (exit ${code}):\n${detail}`));
      });
    });
  };

  const writeVars = async (vars: TerraformVars | undefined): Promise<void> => {
    if (vars) await writeFile(varsFile, `${JSON.stringify(vars, null, 2)}\n`, { mode: 0o600 });
  };

  return {
    varsFile,
    commandLine,
    async init() {
      await mkdir(home, { recursive: true });
      if (mirror) await writeFile(cliConfig, mirrorCliConfig(mirror));
      await run(['init', '-input=false']);
    },
    async apply(vars) {
      await writeVars(vars);
      await run(['apply', '-auto-approve', '-input=false']);
    },
    async destroy(vars) {
      await writeVars(vars);
      await run(['destroy', '-auto-approve', '-input=false']);
    },
    async output(name) {
      return run(['output', '-raw', name], true);
    },
    async validate() {
      await run(['validate']);
    },
    async fmtCheck() {
      await run(['fmt', '-check', '-recursive', '-list=true'], true);
    },
    async outputs() {
      const raw = JSON.parse(await run(['output', '-json'], true)) as Record<string, { value: unknown }>;
      return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value]));
    },
  };
}
