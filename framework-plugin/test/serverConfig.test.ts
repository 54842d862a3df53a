import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { runCli } from '../src/cli/main.js';
import { captureIo } from './cliIo.js';

// `sip server` at the edge: a wrong command line stops before anything
// starts, with the fix; `sip server ca create DIR` makes the replicas' CA
// (key 0600) and never overwrites one.

const io = captureIo;

test('sip server refuses a wrong command line before it starts anything', async () => {
  const base = ['server', '--ca-cert', 'c', '--ca-key', 'k', '--agent-role', 'r', '--mesos-master-url', 'http://m', '--marathon-url', 'http://mt'];
  const cases: Array<[string[], RegExp]> = [
    [['server'], /--ca-cert FILE and --ca-key FILE are required \(sip server ca create DIR makes them\)/],
    [['server', '--ca-cert', 'c', '--ca-key', 'k'], /--agent-role NAME is required/],
    [['server', '--ca-cert', 'c', '--ca-key', 'k', '--agent-role', 'r'], /--mesos-master-url URL and --marathon-url URL are required/],
    [base, /exactly one of --secrets-url URL or --policy FILE/],
    [[...base, '--secrets-url', 'http://s', '--cert-lifetime', '10'], /300-86400/],
    [[...base, '--secrets-url', 'http://s', '--listen', 'nope'], /HOST:PORT/],
    [['server', 'ca'], /sip server ca create DIR/],
  ];
  for (const [args, message] of cases) {
    const out = { text: '' };
    assert.is(await runCli(args, io(out)), 2, args.join(' '));
    assert.match(out.text, message);
  }
});

test('sip server ca create DIR: a CA certificate and its key (0600), never overwritten', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sip-ca-'));
  const out = { text: '' };
  assert.is(await runCli(['server', 'ca', 'create', dir], io(out)), 0, out.text);
  const cert = new X509Certificate(readFileSync(join(dir, 'ca.pem')));
  assert.ok(cert.ca, 'a CA certificate');
  assert.is(statSync(join(dir, 'ca.key')).mode & 0o777, 0o600);
  const before = readFileSync(join(dir, 'ca.key'), 'utf8');
  const again = { text: '' };
  assert.is.not(await runCli(['server', 'ca', 'create', dir], io(again)), 0);
  assert.match(again.text, 'never overwritten');
  assert.is(readFileSync(join(dir, 'ca.key'), 'utf8'), before);
  assert.not.match(again.text + out.text, 'PRIVATE KEY', 'the key never reaches output');
});

test.run();
