import { spawn } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { SipError } from '../../core/errors/SipError.js';
import type { AwsCredentials } from '../emulator/credentials.js';
import { findProviderMirror, mirrorCliConfig } from './providerMirror.js';

/** User options of {@link createTerraform}. */
export interface TerraformInit {
  /** Directory of the root module (e.g. `terraform/`). */
  configDir: string;
  /** Directory for this run's `.terraform`, state, var files and CLI config. */
  workDir: string;
  /** Credentials given to the provider through the environment (never argv). */
  credentials?: AwsCredentials;
  /** Offline provider mirror; default: found by {@link findProviderMirror}. */
  providerMirror?: string;
  /** Called with each line Terraform prints (for progress output). */
  onLine?: (line: string) => void;
  /** Timeout of one command, ms. Default 10 minutes. */
  timeoutMs?: number;
}

/** Variables as Terraform takes them in a `.tfvars.json` file. */
export type TerraformVars = Record<string, unknown>;

/** A Terraform root module bound to one working directory and state file. */
export interface Terraform {
  init(): Promise<void>;
  apply(vars: TerraformVars): Promise<void>;
  destroy(vars: TerraformVars): Promise<void>;
  /** One output; sensitive outputs are returned in clear, so handle with care. */
  output(name: string): Promise<string>;
  /** Every output's value, keyed by name (sensitive ones in clear). */
  outputs(): Promise<Record<string, unknown>>;
  /** `terraform validate` (after {@link Terraform.init}). */
  validate(): Promise<void>;
  /** `terraform fmt -check -recursive`; rejects listing the unformatted files. */
  fmtCheck(): Promise<void>;
}

/**
 * Runs the real `terraform` binary on a root module, keeping all run state
 * (plugins, state, variables) in `workDir` so the source tree stays clean.
 *
 * Variables go through a JSON var file and credentials through the
 * environment, so no secret appears in a process listing.
 * @throws SipError `SIP_TERRAFORM_MISSING` when terraform is not installed,
 *   `SIP_TERRAFORM_FAILED` with the command and Terraform's error text.
 */
export function createTerraform(init: TerraformInit): Terraform {
  const state = join(init.workDir, 'terraform.tfstate');
  const varFile = join(init.workDir, 'run.auto.tfvars.json');
  const cliConfig = join(init.workDir, 'terraformrc');
  const mirror = findProviderMirror(init.providerMirror);

  const env: NodeJS.ProcessEnv = {
    ...process.env,
    TF_DATA_DIR: join(init.workDir, '.terraform'),
    TF_IN_AUTOMATION: '1',
    TF_INPUT: '0',
    CHECKPOINT_DISABLE: '1',
    ...(mirror ? { TF_CLI_CONFIG_FILE: cliConfig } : {}),
  };
  if (init.credentials) {
    env.AWS_ACCESS_KEY_ID = init.credentials.accessKeyId;
    env.AWS_SECRET_ACCESS_KEY = init.credentials.secretAccessKey;
    if (init.credentials.sessionToken) env.AWS_SESSION_TOKEN = init.credentials.sessionToken;
    else delete env.AWS_SESSION_TOKEN;
    delete env.AWS_PROFILE;
  }

  const run = async (args: string[], quiet = false): Promise<string> => {
    const full = [`-chdir=${init.configDir}`, ...args];
    return new Promise((resolve, reject) => {
      const child = spawn('terraform', full, { env, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      let err = '';
      const timer = setTimeout(() => child.kill('SIGTERM'), init.timeoutMs ?? 600_000);
      child.stdout.on('data', (d: Buffer) => {
        const text = d.toString('utf8');
        out += text;
        if (!quiet && init.onLine) for (const line of text.split('\n')) if (line.trim()) init.onLine(line);
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
        const detail = (err || out).trim().split('\n').slice(-15).join('\n');
        reject(new SipError('SIP_TERRAFORM_FAILED', `terraform ${args[0]} failed (exit ${code}):\n${detail}`));
      });
    });
  };

  const writeVars = async (vars: TerraformVars): Promise<void> => {
    await writeFile(varFile, JSON.stringify(vars), { mode: 0o600 });
  };

  return {
    async init() {
      await mkdir(init.workDir, { recursive: true });
      if (mirror) await writeFile(cliConfig, mirrorCliConfig(mirror));
      await run(['init', '-input=false', '-no-color']);
    },
    async apply(vars) {
      await writeVars(vars);
      await run(['apply', '-auto-approve', '-input=false', '-no-color', `-state=${state}`, `-var-file=${varFile}`]);
    },
    async destroy(vars) {
      await writeVars(vars);
      await run(['destroy', '-auto-approve', '-input=false', '-no-color', `-state=${state}`, `-var-file=${varFile}`]);
    },
    async output(name) {
      return run(['output', '-no-color', `-state=${state}`, '-raw', name], true);
    },
    async validate() {
      await run(['validate', '-no-color']);
    },
    async fmtCheck() {
      await run(['fmt', '-check', '-recursive', '-list=true'], true);
    },
    async outputs() {
      const raw = JSON.parse(await run(['output', '-no-color', `-state=${state}`, '-json'], true)) as Record<string, { value: unknown }>;
      return Object.fromEntries(Object.entries(raw).map(([k, v]) => [k, v.value]));
    },
  };
}
