import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readPolicy } from '../src/cli/agentCommand.js';
import { runCli } from '../src/cli/main.js';
import { parseTaskId } from '../src/core/marathon/taskId.js';
import { containerIdOf, placeOf } from '../src/delivery/endpoint/containerOf.js';
import { findSocket, procNetAddress } from '../src/delivery/endpoint/peerProcess.js';
import { listenerOwners } from '../src/net/listenerOwner.js';
import { captureIo } from './cliIo.js';

// sip agent's edges: its command line and policy file (validated before
// anything starts, errors never quoting an external id), and the pure parts
// of caller identification (/proc/net/tcp, /proc/<pid>/cgroup, task ids).

const io = captureIo;

test('sip agent refuses a wrong command line before it starts anything', async () => {
  const cases: Array<[string[], RegExp]> = [
    [['agent'], /exactly one of --secrets-url .*, --policy FILE or --server URL/],
    [['agent', '--server', 'https://s:1', '--policy', 'p.json'], /exactly one of/],
    [['agent', '--server', 'https://s:1'], /--server goes with --server-ca FILE/],
    [['agent', '--server', 'http://s:1', '--server-ca', 'ca.pem'], /--server http:\/\/s:1: expected https:\/\/host:port/],
    [['agent', '--secrets-url', 'http://x', '--policy', 'p.json'], /exactly one of/],
    [['agent', '--secrets-url', 'http://x'], /--marathon-url URL is required \(Marathon runs on the masters/],
    [['agent', '--marathon-url', 'http://m', '--secrets-url', 'http://x', '--listen', '0.0.0.0:51679'], /loopback only/],
    [['agent', '--marathon-url', 'http://m', '--secrets-url', 'http://x', '--listen', 'nope'], /HOST:PORT/],
    [['agent', '--marathon-url', 'http://m', '--secrets-url', 'http://x', '--duration', '60'], /900-43200/],
    [['agent', '--marathon-url', 'http://m', '--secrets-url', 'http://x', '--token-file', 't', '--http-credentials', 'c'], /at most one of --token-file/],
    [['agent', '--marathon-url', 'http://m', '--secrets-url', 'http://x', '--service-account', 'sip-agent'], /--service-account-key FILE/],
    [['agent', '--marathon-url', 'http://m', '--secrets-url', 'http://x', '--upstream-uid', 'root'], /numeric uid/],
    [['agent', '--marathon-url', 'http://m', '--secrets-url', 'http://x', '--metrics-listen', 'unix:relative.sock'], /absolute path/],
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
  const ok = await readPolicy(file, io(out).readFile);
  assert.equal(
    ok.rules.map((r) => r.group),
    ['/team'],
  );
  writeFileSync(file, JSON.stringify({ rules: [{ group: '/team', roleArn: 'not-an-arn', externalId: 'Policy-Ext-Id-2 has spaces' }] }));
  const err = await readPolicy(file, io(out).readFile).catch((e: Error & { code: string }) => e);
  assert.is((err as { code: string }).code, 'SIP_AGENT_CONFIG_INVALID');
  assert.match((err as Error).message, '/rules/0/roleArn');
  assert.not.match((err as Error).message, 'Policy-Ext-Id-2');
  writeFileSync(file, JSON.stringify({ rules: [{ group: '/Team/../..', roleArn: 'arn:aws:iam::123456789012:role/x', externalId: 'abc' }] }));
  assert.match(((await readPolicy(file, io(out).readFile).catch((e: Error) => e)) as Error).message, '/rules/0/group');
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

test('the container from /proc/<pid>/cgroup: freezer and name=systemd and every line under the root name one container at its own level', () => {
  const root = 'sip-x/mesos';
  // What a task on a hybrid v1 host reads: Mesos's launcher put it in freezer and name=systemd, the isolators in memory and pids.
  const at = (cid: string, extra = ''): string =>
    `12:freezer:/sip-x/mesos/${cid}\n10:memory:/sip-x/mesos/${cid}\n8:pids:/sip-x/mesos/${cid}\n5:devices:/system.slice/mesos-agent.service\n1:name=systemd:/sip-x/mesos/${cid}\n0::/\n${extra}`;
  assert.is(containerIdOf(at('abc-123'), root), 'abc-123');
  assert.equal(
    placeOf(at('abc-123/mesos/child'), root),
    { kind: 'nested', containerId: 'abc-123', childId: 'child' },
    "a pod's task: nested, never its parent",
  );
  assert.is(containerIdOf(at('abc-123/mesos/child'), root), undefined);
  assert.is(containerIdOf(at('abc').replace('8:pids:/sip-x/mesos/abc', '8:pids:/sip-x/mesos/def'), root), undefined, 'two containers: none');
  assert.is(containerIdOf('12:freezer:/process_api/x\n1:name=systemd:/process_api/x\n', root), undefined);
  assert.is(containerIdOf(at('..'), root), undefined);
  assert.is(containerIdOf(at('abc').replaceAll('/sip-x/mesos/', '/sip-x/mesosX/'), root), undefined);
  // A process of the task's user that made a child cgroup under the task's (a chowned v1 hierarchy).
  const child = placeOf(at('abc-123').replace('10:memory:/sip-x/mesos/abc-123', '10:memory:/sip-x/mesos/abc-123/mine'), root);
  assert.is(child.kind, 'none');
  assert.match((child as { reason: string }).reason, 'below a container');
  // A process moved into the task's memory and pids groups (chowned to the task's user) but never into its freezer or systemd group.
  const moved = placeOf('12:freezer:/\n10:memory:/sip-x/mesos/abc-123\n8:pids:/sip-x/mesos/abc-123\n1:name=systemd:/user.slice/user-2001.slice\n0::/\n', root);
  assert.is(moved.kind, 'none', 'the memory and pids groups alone are not the container');
  assert.match((moved as { reason: string }).reason, 'freezer cgroup / is no container');
  const noFreezer = placeOf('10:memory:/sip-x/mesos/abc-123\n8:pids:/sip-x/mesos/abc-123\n1:name=systemd:/sip-x/mesos/abc-123\n', root);
  assert.match((noFreezer as { reason: string }).reason, 'no freezer cgroup');
  // The hierarchies an operator names instead (--cgroup-hierarchies).
  assert.is(containerIdOf('10:memory:/sip-x/mesos/abc\n12:freezer:/\n', root, ['memory']), 'abc');
  // Only the unified hierarchy (cgroup v2): its one line must name the container.
  assert.is(containerIdOf('0::/sip-x/mesos/abc\n', root), 'abc');
  assert.is(containerIdOf('0::/user.slice\n', root), undefined);
  // The Docker containerizer's tasks live in Docker's cgroups.
  const id = 'a'.repeat(64);
  assert.equal(placeOf(`12:freezer:/docker/${id}\n10:memory:/docker/${id}\n1:name=systemd:/docker/${id}\n`, root), { kind: 'docker', dockerId: id });
  assert.equal(placeOf(`0::/system.slice/docker-${id}.scope\n`, root), { kind: 'docker', dockerId: id });
  assert.is(placeOf(`12:freezer:/docker/${id}\n1:name=systemd:/docker/${id}\n8:pids:/sip-x/mesos/abc\n`, root).kind, 'none');
  assert.is(
    placeOf(`12:freezer:/\n10:memory:/docker/${id}\n1:name=systemd:/docker/${id}\n`, root).kind,
    'none',
    "outside the Docker container's freezer group",
  );
});

test('a Marathon task id names its app in every form Marathon parses (core/task/Task.scala), never a wrong one', () => {
  const app = (id: string): string | undefined => parseTaskId(id)?.appId;
  assert.is(app('team_web.instance-3f2a9c1e-aaaa-bbbb-cccc-000000000000._app.1'), '/team/web');
  assert.is(app('a.b_c.instance-1._app.1'), '/a.b/c');
  assert.is(app('team_web.0664256e-6771-11e5-94e1-be5b2935a987'), '/team/web', 'legacy <app>.<uuid>');
  assert.is(app('team_web.marathon-0664256e-6771-11e5-94e1-be5b2935a987.$anon'), '/team/web', '.marathon-<uuid> form');
  assert.is(app('team_web.instance-0664256e-6771-11e5-94e1-be5b2935a987.$anon'), '/team/web');
  assert.is(app('team_web_0664256e'), '/team/web', 'legacy with _');
  assert.equal(parseTaskId('shop_pod.instance-3f2a9c1e._app.2'), { appId: '/shop/pod', instanceId: 'shop_pod.instance-3f2a9c1e' });
  assert.equal(
    parseTaskId('shop_pod.instance-3f2a9c1e.web.2'),
    { appId: '/shop/pod', instanceId: 'shop_pod.instance-3f2a9c1e', container: 'web' },
    "a pod's task names its container",
  );
  assert.is(app('../etc.instance-1'), undefined);
  assert.is(app('garbage'), undefined);
  assert.is(app('Team_web.1234'), undefined, 'not a Marathon path');
});

test('who holds a loopback port: the owners of its listening sockets, on that address or any', () => {
  const tcp = [
    '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
    '   0: 0100007F:13BB 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1',
    '   1: 00000000:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  2001        0 2222 1',
    '   2: 0100007F:D431 0100007F:1F90 01 00000000:00000000 00:00000000 00000000  2002        0 3333 1',
  ].join('\n');
  assert.equal(listenerOwners([{ text: tcp, v6: false }], '127.0.0.1', 5051), [0]);
  assert.equal(listenerOwners([{ text: tcp, v6: false }], '127.0.0.1', 8080), [2001], 'a socket on 0.0.0.0 takes loopback connections too');
  assert.equal(listenerOwners([{ text: tcp, v6: false }], '127.0.0.1', 54321), [], 'an established socket is no listener');
});

test.run();
