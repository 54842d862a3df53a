import { readFile } from 'node:fs/promises';
import { exitCodeOf } from '../core/errors/catalogue.js';
import { SipError } from '../core/errors/SipError.js';
import { ExitCode, UsageError, type CliIo } from './io.js';

/** Top-level usage of `sip`. */
export const USAGE = `usage: sip <command> …

  sip cluster <up|down|status>                               the local one-machine cluster
  sip marathon <app|task> …                                  apps and tasks (like 'dcos marathon')
  sip edgelb <create|update|delete|show|list|status|ping> …   load-balancer pools (like 'dcos edgelb')
  sip security secrets <create|get|list|update|delete> …   manage per-app secrets (like 'dcos security secrets')
  sip agent [options]                                        per-task AWS credentials on a Mesos agent (ECS credentials protocol)
  sip server [options] | sip server ca create DIR            the holder of app roles agents ask (sip agent --server)

Run a command with --help for its options.`;

/**
 * Runs `sip` with `argv` (without the program name) and returns the exit
 * code. Only parses and dispatches; never exits the process itself.
 */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [group, sub, ...rest] = argv;
  // Each command group is loaded only when it runs: `sip --help` loads no
  // client, `sip marathon …` no local cluster.
  const command = await loadCommand(group, sub);
  const usage = command?.usage ?? USAGE;
  try {
    if (argv.includes('--help') || argv.includes('-h')) {
      io.stdout.write(`${usage}\n`);
      return ExitCode.ok;
    }
    if (command) return await command.run(group === 'security' ? rest : argv.slice(1), io);
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

/** A command group: its usage text and how to run it. */
interface Command {
  readonly usage: string;
  run(argv: string[], io: CliIo): Promise<number>;
}

async function loadCommand(group: string | undefined, sub: string | undefined): Promise<Command | undefined> {
  switch (group) {
    case 'security': {
      if (sub !== 'secrets') return undefined;
      const m = await import('./secretsCommand.js');
      return { usage: m.SECRETS_USAGE, run: m.secretsCommand };
    }
    case 'marathon': {
      const m = await import('./marathonCommand.js');
      return { usage: m.MARATHON_USAGE, run: m.marathonCommand };
    }
    case 'cluster': {
      const m = await import('./clusterCommand.js');
      return { usage: m.CLUSTER_USAGE, run: m.clusterCommand };
    }
    case 'agent': {
      const m = await import('./agentCommand.js');
      return { usage: m.AGENT_USAGE, run: m.agentCommand };
    }
    case 'server': {
      const m = await import('./serverCommand.js');
      return { usage: m.SERVER_USAGE, run: m.serverCommand };
    }
    case 'edgelb': {
      const m = await import('./edgelbCommand.js');
      return { usage: m.EDGELB_USAGE, run: m.edgelbCommand };
    }
    default:
      return undefined;
  }
}

/** The process entry point's I/O. */
export function processIo(): CliIo {
  return { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr, env: process.env, readFile: (p) => readFile(p, 'utf8') };
}
