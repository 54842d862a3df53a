import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../src/cli/main.js';
import { startSecretsServer } from '../src/local/secrets-api/server.js';
import { createLocalStore } from '../src/stores/localStore.js';

const SECRET = 'external_id = Cli-Secret-Value-99';
const SIP = fileURLToPath(new URL('../bin/sip.mjs', import.meta.url));

async function sip(args: string[], opts: { stdin?: string; tty?: boolean; env?: Record<string, string> } = {}) {
  let stdout = '';
  let stderr = '';
  const stdin = Object.assign(Readable.from(opts.stdin === undefined ? [] : [opts.stdin]), { isTTY: opts.tty ?? opts.stdin === undefined });
  const code = await runCli(args, {
    stdin,
    stdout: { write: (s: string) => (stdout += s) },
    stderr: { write: (s: string) => (stderr += s) },
    env: opts.env ?? {},
    readFile: (p) => readFile(p, 'utf8'),
  });
  return { code, stdout, stderr };
}

let dir: string;
const S = (): string[] => ['--store-dir', dir];
test.before.each(() => {
  dir = mkdtempSync(join(tmpdir(), 'sip-cli-'));
});

test('create (-v, -f, stdin), get, list, update, delete with dcos-like exit codes', async () => {
  const WARNING = 'sip: warning: a value given with -v is visible in the process list and your shell history; pipe it on stdin or use -f FILE instead\n';
  assert.equal(await sip(['security', 'secrets', 'create', '/instance-profile-app/aws-config', '-v', SECRET, ...S()]), {
    code: 0,
    stdout: '',
    stderr: WARNING,
  });
  const file = join(dir, 'value.txt');
  writeFileSync(file, 'from file');
  assert.is((await sip(['security', 'secrets', 'create', 'team/a', '-f', file, ...S()])).code, 0);
  assert.is((await sip(['security', 'secrets', 'create', 'team/b', ...S()], { stdin: 'from stdin' })).code, 0);
  assert.equal(await sip(['security', 'secrets', 'get', 'team/b', ...S()]), { code: 0, stdout: 'from stdin', stderr: '' });
  assert.is((await sip(['security', 'secrets', 'get', '/team/a', '--json', ...S()])).stdout, '{"value":"from file"}\n');
  assert.is((await sip(['security', 'secrets', 'list', ...S()])).stdout, 'instance-profile-app/aws-config\nteam/a\nteam/b\n');
  assert.is((await sip(['security', 'secrets', 'list', '/team', '--json', ...S()])).stdout, '["a","b"]\n');
  assert.is((await sip(['security', 'secrets', 'update', 'team/a', '-v', 'changed', ...S()])).code, 0);
  assert.is((await sip(['security', 'secrets', 'get', 'team/a', ...S()])).stdout, 'changed');
  assert.equal(await sip(['security', 'secrets', 'delete', 'team/a', '--json', ...S()]), { code: 0, stdout: '{"path":"team/a","deleted":true}\n', stderr: '' });
});

test('exists and not found exit 1 with the reason; the value is never echoed', async () => {
  await sip(['security', 'secrets', 'create', 'x/y', '-v', SECRET, ...S()]);
  const exists = await sip(['security', 'secrets', 'create', 'x/y', '-v', SECRET, ...S()]);
  assert.is(exists.code, 1);
  assert.is(
    exists.stderr
      .split('\n')
      .filter((l) => !l.startsWith('sip: warning:'))
      .join('\n'),
    'sip: secret "x/y" already exists (SIP_SECRET_EXISTS)\n',
  );
  for (const verb of ['get', 'delete']) {
    const r = await sip(['security', 'secrets', verb, 'x/none', ...S()]);
    assert.is(r.code, 1);
    assert.match(r.stderr, 'SIP_SECRET_NOT_FOUND');
  }
  const upd = await sip(['security', 'secrets', 'update', 'x/none', '-v', SECRET, ...S()]);
  assert.is(upd.code, 1);
  assert.ok(!upd.stderr.includes('Cli-Secret-Value'), 'the value was echoed');
});

test('usage errors exit 2 with the usage text and change nothing', async () => {
  const cases = [
    ['security', 'secrets'],
    ['security', 'secrets', 'frob', 'x'],
    ['security', 'secrets', 'create'],
    ['security', 'secrets', 'create', 'x', '-v', 'a', '-f', 'b'],
    ['security', 'secrets', 'get', 'x', '-v', 'a'],
    ['security', 'secrets', 'create', 'x', '--bogus'],
    ['security', 'secrets', 'list', '--secrets-url', 'http://127.0.0.1:1'],
    ['nope'],
  ];
  for (const args of cases) {
    const r = await sip([...args, ...S()], { tty: true });
    assert.is(r.code, 2, args.join(' '));
    assert.match(r.stderr, 'usage: sip');
  }
  const noValue = await sip(['security', 'secrets', 'create', 'x', ...S()], { tty: true });
  assert.is(noValue.code, 2);
  assert.match(noValue.stderr, 'no value');
  assert.is((await sip(['security', 'secrets', 'list', '--json', ...S()])).stdout, '[]\n');
});

test('the real sip binary: value on stdin, against a DC/OS Secrets API with a token', async () => {
  const server = await startSecretsServer({ store: createLocalStore({ dir }), token: 't0k', logger: pino({ level: 'silent' }) });
  try {
    const run = (args: string[], input?: string) =>
      new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
        const child = spawn(process.execPath, [SIP, 'security', 'secrets', ...args, '--secrets-url', server.url], {
          env: { ...process.env, SIP_ACS_TOKEN: 't0k' },
        });
        let out = '';
        let err = '';
        child.stdout.on('data', (d: Buffer) => (out += d));
        child.stderr.on('data', (d: Buffer) => (err += d));
        child.once('close', (code) => resolve({ code, out, err }));
        child.stdin.on('error', () => undefined); // EPIPE when sip exits without reading stdin (get)
        child.stdin.end(input ?? '');
      });
    assert.is((await run(['create', '/instance-profile-app/aws-config'], SECRET)).code, 0);
    const got = await run(['get', '/instance-profile-app/aws-config']);
    assert.equal([got.code, got.out], [0, SECRET]);
    const again = await run(['create', '/instance-profile-app/aws-config'], SECRET);
    assert.is(again.code, 1);
    assert.match(again.err, 'SIP_SECRET_EXISTS');
  } finally {
    await server.stop();
  }
});

test("Terraform's quoted or heredoc rendering, or an empty pipe, is refused with the fix and stores nothing", async () => {
  const raw =
    '[default]\nrole_arn = arn:aws:iam::123456789012:role/sip-apps/app\nexternal_id = Quoted-Id-0123456789\ncredential_source = Ec2InstanceMetadata\n';
  const forms: Array<[string, string]> = [
    [JSON.stringify(raw), 'quoted rendering'],
    [`<<EOT\n${raw}EOT\n`, 'heredoc rendering'],
    ['', 'is empty'],
    ['\n', 'is empty'],
  ];
  for (const [value, what] of forms) {
    const r = await sip(['security', 'secrets', 'create', 'team/app/aws-config', ...S()], { stdin: value, tty: false });
    assert.is(r.code, 1, what);
    assert.match(r.stderr, what);
    assert.match(r.stderr, 'terraform -chdir=terraform output -raw secret_aws_conf');
    assert.not.match(r.stderr, 'Quoted-Id', 'the value was echoed');
    assert.is((await sip(['security', 'secrets', 'get', 'team/app/aws-config', ...S()])).code, 1, `${what}: something was stored`);
  }
  assert.is((await sip(['security', 'secrets', 'create', 'team/app/aws-config', ...S()], { stdin: raw, tty: false })).code, 0, 'the raw form is stored');
  const def = JSON.stringify({ id: '/app', cmd: 'x' });
  for (const [text, what] of [
    [JSON.stringify(def), 'quoted rendering'],
    [`<<EOT\n${def}\nEOT`, 'heredoc rendering'],
    ['', 'is empty'],
  ] as const) {
    const r = await sip(['marathon', 'app', 'add', '--marathon-url', 'http://127.0.0.1:1'], { stdin: text, tty: false });
    assert.is(r.code, 3, what);
    assert.match(r.stderr, what);
    assert.match(r.stderr, 'terraform -chdir=terraform output -raw marathon_app_definition');
  }
});

test.run();
