import { readFile } from 'node:fs/promises';
import { exitCodeOf } from '../core/errors/catalogue.js';
import { SipError } from '../core/errors/SipError.js';
import { ExitCode, UsageError, type CliIo } from './io.js';
import { CLUSTER_USAGE, clusterCommand } from './clusterCommand.js';
import { EDGELB_USAGE, edgelbCommand } from './edgelbCommand.js';
import { MARATHON_USAGE, marathonCommand } from './marathonCommand.js';
import { SECRETS_USAGE, secretsCommand } from './secretsCommand.js';

/** Top-level usage of `sip`. */
export const USAGE = `usage: sip <command> …

  sip cluster <up|down|status>                               the local one-machine cluster
  sip marathon <app|task> …                                  apps and tasks (like 'dcos marathon')
  sip edgelb <create|update|delete|show|list|status|ping> …   load-balancer pools (like 'dcos edgelb')
  sip security secrets <create|get|list|update|delete> …   manage per-app secrets (like 'dcos security secrets')

Run a command with --help for its options.`;

/**
 * Runs `sip` with `argv` (without the program name) and returns the exit
 * code. Only parses and dispatches; never exits the process itself.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [group, sub, ...rest] = argv;
  const usage = group === 'security' ? SECRETS_USAGE : group === 'marathon' ? MARATHON_USAGE : group === 'cluster' ? CLUSTER_USAGE : group === 'edgelb' ? EDGELB_USAGE : USAGE;
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout.write(`${usage}\n`);
      return ExitCode.ok;
    }
    if (group === 'security' && sub === 'secrets') return await secretsCommand(rest, io);
    if (group === 'marathon') return await marathonCommand(argv.slice(1), io);
    if (group === 'cluster') return await clusterCommand(argv.slice(1), io);
    if (group === 'edgelb') return await edgelbCommand(argv.slice(1), io);
    throw new UsageError(group ? `unknown command: ${[group, sub].filter(Boolean).join(' ')}` : 'missing command');
  } catch (err) {
    if (err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      io.stderr.write(`sip: ${(err as Error).message}\n\n${usage}\n`);
      return ExitCode.usage;
    }
    if (err instanceof SipError) {
      io.stderr.write(`sip: ${err.message} (${err.code})\n`);
      return exitCodeOf(err.code);
    }
    io.stderr.write(`sip: unexpected error: ${(err as Error).message}\n`);
    return ExitCode.failed;
  }
}

/** The process entry point's I/O. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, readFile: (p) => readFile(p, 'utf8') };
}
