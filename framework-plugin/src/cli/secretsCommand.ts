import { parseArgs } from 'node:util';
import { join } from 'node:path';
import { SecretStoreError } from '../core/secrets/errors.js';
import { refuseRenderedValue } from './renderedValue.js';
import { createDcosSecretsClient } from '../stores/dcosSecretsClient.js';
import { createLocalStore } from '../stores/localStore.js';
import type { SecretStore } from '../core/secrets/SecretStore.js';
import { stateDirOf } from './clusterState.js';
import { ExitCode, readAll, UsageError, type CliIo } from './io.js';

/** Usage of `sip security secrets`. */
export const SECRETS_USAGE = `usage: sip security secrets <create|get|list|update|delete> [PATH] [options]

  create PATH  (-v VALUE | -f FILE | value on stdin)   store a new secret
  update PATH  (-v VALUE | -f FILE | value on stdin)   replace a secret's value
  get PATH                                             print a secret's value
  list [PATH]                                          list secrets under PATH
  delete PATH                                          remove a secret

options:
  -v, --value VALUE      the value (beware: visible in the process list and your shell history; prefer stdin)
  -f, --file FILE        read the value from FILE
  -j, --json             machine-readable output ({"value": …} for get, as dcos)
      --store-id ID      the secret store (only "default", as on DC/OS)
      --store-dir DIR    local encrypted store (default: $SIP_STATE_DIR/secrets, else .state/secrets)
      --secrets-url URL  use a DC/OS Secrets API instead (a real cluster or 'sip cluster up')
      --token TOKEN      ACS token for --secrets-url (default: $SIP_ACS_TOKEN)

exit codes: 0 done, 1 failed (exists, not found, unreachable, …), 2 usage error`;

/** Picks the store from the options: the DC/OS API when a URL is given, else the local store. */
function storeFrom(values: { 'store-dir'?: string; 'secrets-url'?: string; token?: string }, io: CliIo): SecretStore {
  if (values['secrets-url']) {
    const token = values.token ?? io.env.SIP_ACS_TOKEN;
    if (!token) throw new UsageError('--secrets-url needs --token or $SIP_ACS_TOKEN');
    return createDcosSecretsClient({ url: values['secrets-url'], token });
  }
  const dir = values['store-dir'] ?? join(stateDirOf(undefined, io.env), 'secrets');
  return createLocalStore({ dir });
}

/** A value that is not empty and not Terraform's quoted or heredoc rendering of one. */
function checked(value: string): string {
  refuseRenderedValue(value, 'the secret value', 'secret_aws_conf', 'SIP_SECRET_VALUE_INVALID');
  return value;
}

async function valueFrom(values: { value?: string; file?: string }, io: CliIo): Promise<string> {
  if (values.value !== undefined && values.file !== undefined) throw new UsageError('give the value with -v or -f, not both');
  if (values.value !== undefined) {
    // dcos takes -v too, so it stays; but a secret there is in every process listing and the shell history.
    io.stderr.write('sip: warning: a value given with -v is visible in the process list and your shell history; pipe it on stdin or use -f FILE instead\n');
    return values.value;
  }
  if (values.file !== undefined) {
    try {
      return await io.readFile(values.file);
    } catch (err) {
      throw new SecretStoreError('SIP_SECRET_VALUE_INVALID', `cannot read ${values.file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
    }
  }
  if (io.stdin.isTTY) throw new UsageError('no value: give -v VALUE, -f FILE, or pipe it on stdin');
  return readAll(io.stdin);
}

/**
 * `sip security secrets …`, mirroring `dcos security secrets`: same verbs,
 * exit 0 on success and 1 when the secret exists / is not found. Values are
 * printed only by `get`; messages never include one.
 */
export async function secretsCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: {
      value: { type: 'string', short: 'v' },
      file: { type: 'string', short: 'f' },
      json: { type: 'boolean', short: 'j', default: false },
      'store-id': { type: 'string', default: 'default' },
      'store-dir': { type: 'string' },
      'secrets-url': { type: 'string' },
      token: { type: 'string' },
    },
  });
  const [verb, path, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
  const needsPath = verb !== 'list';
  if (!verb || !['create', 'get', 'list', 'update', 'delete'].includes(verb)) throw new UsageError(verb ? `unknown command: ${verb}` : 'missing command');
  if (needsPath && !path) throw new UsageError(`${verb} needs a PATH`);
  if ((verb === 'get' || verb === 'list' || verb === 'delete') && (values.value !== undefined || values.file !== undefined)) {
    throw new UsageError(`${verb} takes no value`);
  }
  // dcos's --store-id: DC/OS has one secret store, `default`; so does this.
  if (values['store-id'] !== 'default') throw new UsageError(`--store-id ${values['store-id']}: the only store is "default"`);
  const store = storeFrom(values, io);
  const out = (text: string): void => void io.stdout.write(text.endsWith('\n') ? text : `${text}\n`);
  const p = path ?? '';
  switch (verb) {
    case 'create':
      await store.create(p, checked(await valueFrom(values, io)));
      if (values.json) out(JSON.stringify({ path: p, created: true }));
      break;
    case 'update':
      await store.update(p, checked(await valueFrom(values, io)));
      if (values.json) out(JSON.stringify({ path: p, updated: true }));
      break;
    case 'delete':
      await store.delete(p);
      if (values.json) out(JSON.stringify({ path: p, deleted: true }));
      break;
    case 'get': {
      const value = await store.get(p);
      if (values.json) out(JSON.stringify({ value }));
      else io.stdout.write(value);
      break;
    }
    case 'list': {
      const keys = await store.list(p);
      if (values.json) out(JSON.stringify(keys));
      else if (keys.length > 0) out(keys.join('\n'));
      break;
    }
  }
  return ExitCode.ok;
}
