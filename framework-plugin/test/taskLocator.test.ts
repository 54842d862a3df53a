import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { MesosAgentClient } from '../src/clients/mesos/agentClient.js';
import { createTaskLocator } from '../src/delivery/endpoint/taskLocator.js';

// The task locator over a fake /proc (net/tcp, fds, cgroups, start times) and
// a fake Mesos agent: the kernel facts it reads, without a cluster.

const TASK_A = 'team_a.instance-11111111-aaaa-bbbb-cccc-000000000000._app.1';
const TASK_B = 'team_b.instance-22222222-aaaa-bbbb-cccc-000000000000._app.1';
const INODE = '777001';
// The caller's end 127.0.0.1:40000 → the agent's 127.0.0.1:51679 (0xC9DF), owner uid 0 so every pid is a candidate.
const TCP = [
  '  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode',
  `   0: 0100007F:9C40 0100007F:C9DF 01 00000000:00000000 00:00000000 00000000     0        0 ${INODE} 1`,
].join('\n');
const socket = { localAddress: '127.0.0.1', localPort: 51679, remoteAddress: '127.0.0.1', remotePort: 40000 } as Socket;
const mesos = (calls: { n: number }): MesosAgentClient => ({
  async getContainers() {
    calls.n++;
    return [
      { containerId: 'ca', executorId: TASK_A, frameworkId: 'marathon-fw' },
      { containerId: 'cb', executorId: TASK_B, frameworkId: 'marathon-fw' },
    ];
  },
  getAgentId: async () => 'agent-S1',
  getSandboxes: async () => new Map(),
});

/** A fake /proc: pid → the container its cgroups name; each holds the caller's socket. */
function fakeProc(pids: Record<number, string>): string {
  const proc = mkdtempSync(join(tmpdir(), 'sip-fake-proc-'));
  mkdirSync(join(proc, 'net'));
  writeFileSync(join(proc, 'net', 'tcp'), TCP);
  writeFileSync(join(proc, 'net', 'tcp6'), '  sl  local_address\n');
  for (const [pid, container] of Object.entries(pids)) {
    mkdirSync(join(proc, pid, 'fd'), { recursive: true });
    symlinkSync(`socket:[${INODE}]`, join(proc, pid, 'fd', '3'));
    const cg = `/mesos/${container}`;
    writeFileSync(join(proc, pid, 'cgroup'), `12:freezer:${cg}\n10:memory:${cg}\n1:name=systemd:${cg}\n0::/\n`);
    writeFileSync(join(proc, pid, 'stat'), `${pid} (sh) S 1 ${pid} ${pid} 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 ${5000 + Number(pid)} 0 0`);
  }
  return proc;
}

test('the caller is the task of the one container all its socket holders are in', async () => {
  const proc = fakeProc({ 101: 'ca', 102: 'ca' });
  try {
    const caller = await createTaskLocator({ mesos: mesos({ n: 0 }), cgroupsRoot: 'mesos', proc }).locate(socket);
    assert.is(caller.taskId, TASK_A);
    assert.is(caller.appId, '/team/a');
    assert.is(caller.containerId, 'ca');
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test('a socket held by processes in two containers is nobody (a descriptor handed over cannot borrow a task)', async () => {
  const proc = fakeProc({ 101: 'ca', 202: 'cb' });
  try {
    const err = await createTaskLocator({ mesos: mesos({ n: 0 }), cgroupsRoot: 'mesos', proc })
      .locate(socket)
      .catch((e: { code?: string; message: string }) => e);
    assert.is((err as { code?: string }).code, 'SIP_AGENT_UNKNOWN_CALLER');
    assert.match((err as Error).message, 'shared by processes of different containers');
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test('a container the agent does not list is nobody, and a miss asks the agent again (once per 100 ms whoever asks)', async () => {
  const proc = fakeProc({ 303: 'cz' });
  const calls = { n: 0 };
  try {
    const locator = createTaskLocator({ mesos: mesos(calls), cgroupsRoot: 'mesos', proc, failureTtlMs: 0 });
    const results = await Promise.all(Array.from({ length: 20 }, () => locator.locate({ ...socket } as Socket).catch((e: Error) => e.message)));
    assert.ok(
      results.every((m) => String(m).includes('container cz is not one the Mesos agent lists')),
      String(results[0]),
    );
    assert.ok(calls.n <= 3, `20 misses at once cost ${calls.n} container lists`);
  } finally {
    rmSync(proc, { recursive: true, force: true });
  }
});

test.run();
