import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readPolicy } from '../src/cli/agentCommand.js';
import { runCli } from '../src/cli/main.js';
import { containerIdOf } from '../src/delivery/endpoint/containerOf.js';
import { findSocket, procNetAddress } from '../src/delivery/endpoint/peerProcess.js';
import { appIdOfTask } from '../src/delivery/endpoint/taskLocator.js';

// sip agent's edges: its command line and policy file (validated before
// anything starts, errors never quoting an external id), and the pure parts
// of caller identification (/proc/net/tcp, /proc/<pid>/cgroup, task ids).

const io = (out: { text: string }) => ({
  stdin: Object.assign(Readable.from([]), { isTTY: true }),
  stdout: { write: (s: string) => void (out.text += s) },
  stderr: { write: (s: string) => void (out.text += s) },
  env: {},
  readFile: (p: string) => readFile(p, 'utf8'),
});

test('sip agent refuses a wrong command line before it starts anything', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['agent'], /exactly one of --secrets-url .* or --policy/],
    [['agent', '--secrets-url', 'http://x', '--policy', 'p.json'], /exactly one of/],
    [['agent', '--secrets-url', 'http://x', '--listen', '0.0.0.0:51679'], /loopback only/],
    [['agent', '--secrets-url', 'http://x', '--listen', 'nope'], /HOST:PORT/],
    [['agent', '--secrets-url', 'http://x', '--duration', '60'], /900-43200/],
  ];
  for (const [args, message] of cases) {
    const out = { text: '' };
    assert.is(await runCli(args, io(out)), 2, args.join(' '));
    assert.match(out.text, message);
  }
});

test('a policy file is validated at the edge: bad rules are named by path, never by their external id', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'sip-policy-'));
  const file = join(dir, 'policy.json');
  const out = { text: '' };
  writeFileSync(file, JSON.stringify({ rules: [{ group: '/team', roleArn: 'arn:aws:iam::123456789012:role/sip-apps/team', externalId: 'Policy-Ext-Id-1' }] }));
  const ok = await readPolicy(file, io(out));
  assert.equal(ok.rules.map((r) => r.group), ['/team']);
  writeFileSync(file, JSON.stringify({ rules: [{ group: '/team', roleArn: 'not-an-arn', externalId: 'Policy-Ext-Id-2 has spaces' }] }));
  const err = await readPolicy(file, io(out)).catch((e: Error & { code: string }) => e);
  assert.is((err as { code: string }).code, 'SIP_AGENT_CONFIG_INVALID');
  assert.match((err as Error).message, '/rules/0/roleArn');
  assert.not.match((err as Error).message, 'Policy-Ext-Id-2');
  writeFileSync(file, JSON.stringify({ rules: [{ group: '/Team/../..', roleArn: 'arn:aws:iam::123456789012:role/x', externalId: 'abc' }] }));
  assert.match(((await readPolicy(file, io(out)).catch((e: Error) => e)) as Error).message, '/rules/0/group');
  rmSync(dir, { recursive: true, force: true });
});

test('the caller in /proc/net/tcp: its end local, ours remote; IPv4 and IPv4-mapped IPv6', () => {
  assert.is(procNetAddress('127.0.0.1', 8080, false), '0100007F:1F90');
  assert.is(procNetAddress('::ffff:127.0.0.1', 8080, true), '0000000000000000FFFF00000100007F:1F90');
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000     0        0 1111 1',
    '   1: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  2001        0 2222 1',
  ].join('\n');
  const ends = { localAddress: '127.0.0.1', localPort: 8080, remoteAddress: '127.0.0.1', remotePort: 0xd431 };
  assert.equal(findSocket([{ text: tcp, v6: false }], ends), { inode: '2222', uid: 2001 });
  assert.is(findSocket([{ text: tcp, v6: false }], { ...ends, remotePort: 1 }), undefined);
});

test('the container from /proc/<pid>/cgroup: under the root, one container in every hierarchy, else none', () => {
  const root = 'sip-x/mesos';
  assert.is(containerIdOf('10:memory:/sip-x/mesos/abc-123\n8:pids:/sip-x/mesos/abc-123\n0::/\n', root), 'abc-123');
  assert.is(containerIdOf('10:memory:/sip-x/mesos/abc-123/mesos/child\n', root), 'abc-123', 'nested containers count as their parent');
  assert.is(containerIdOf('10:memory:/sip-x/mesos/abc\n8:pids:/sip-x/mesos/def\n', root), undefined, 'two containers: none');
  assert.is(containerIdOf('10:memory:/process_api/x\n', root), undefined);
  assert.is(containerIdOf('10:memory:/sip-x/mesos/..\n', root), undefined);
  assert.is(containerIdOf('10:memory:/sip-x/mesosX/abc\n', root), undefined);
});

test('a Marathon task id names its app exactly (ids never hold "_")', () => {
  assert.is(appIdOfTask('team_web.instance-3f2a9c1e-aaaa-bbbb-cccc-000000000000._app.1'), '/team/web');
  assert.is(appIdOfTask('a.b_c.instance-1._app.1'), '/a.b/c');
  assert.is(appIdOfTask('team_web.0664256e-6771-11e5-94e1-be5b2935a987'), '/team/web');
  assert.is(appIdOfTask('../etc.instance-1'), undefined);
  assert.is(appIdOfTask('garbage'), undefined);
});

test.run();
