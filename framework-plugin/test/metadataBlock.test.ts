import { execFileSync, spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { installMetadataBlock, METADATA_ADDRESSES, metadataRuleset, type MetadataBlockSpec } from '../src/delivery/endpoint/metadataBlock.js';
import { nftCommand } from '../src/delivery/endpoint/nftables.js';
import { isSipError } from '../src/core/errors/SipError.js';

// `sip agent --block-metadata`: the ruleset (pure) and, as root, the real
// nftables taking it: a task's uid is refused, root is not, applying twice or
// after a "crash" leaves one table, removal opens the way again.

const spec = (over: Partial<MetadataBlockSpec> = {}): MetadataBlockSpec => ({
  table: 'sip_agent_51679',
  targets: METADATA_ADDRESSES,
  tasks: { uids: [{ min: 2000000, max: 2999999 }] },
  ...over,
});

test('the ruleset replaces its own table in one transaction and rejects task sockets to every metadata address', () => {
  const script = metadataRuleset(spec({ tasks: { uids: [{ min: 2000000, max: 2999999 }], netClsPrimaryHandle: 0x1234 } }));
  const lines = script.split('\n');
  assert.equal(
    lines.slice(0, 3),
    ['table inet sip_agent_51679', 'delete table inet sip_agent_51679', 'table inet sip_agent_51679 {'],
    'create-if-missing, delete, declare: idempotent and atomic',
  );
  assert.ok(lines.includes('    ip daddr 169.254.169.254 meta skuid 2000000-2999999 counter reject with icmpx type admin-prohibited'));
  assert.ok(lines.includes('    ip6 daddr fd00:ec2::254 meta cgroup & 0xffff0000 == 0x12340000 counter reject with icmpx type admin-prohibited'));
  assert.is(lines.filter((l) => l.includes('reject')).length, 4, 'two addresses × two matches');
  const local = metadataRuleset(spec({ targets: [{ host: '127.0.0.1', port: 8111 }] }));
  assert.match(local, 'ip daddr 127.0.0.1 tcp dport 8111 meta skuid 2000000-2999999 counter reject with tcp reset');
});

test("the per-uid connection quota, in the kernel too: new connections to the agent's address beyond it are reset", () => {
  const script = metadataRuleset(spec({ connectionQuota: { host: '127.0.0.1', port: 51679, maxPerUid: 128 } }));
  assert.match(script, 'set callers {\n    typeof meta skuid; flags dynamic; size 65536;\n  }');
  assert.match(script, '    ip daddr 127.0.0.1 tcp dport 51679 ct state new add @callers { meta skuid ct count over 128 } counter reject with tcp reset\n');
  assert.match(metadataRuleset(spec({ connectionQuota: { host: '0.0.0.0', port: 51679, maxPerUid: 4 } })), '    tcp dport 51679 ct state new add @callers');
  assert.not.match(metadataRuleset(spec()), 'callers', 'no quota asked, none installed');
});

test('a ruleset that would block nothing, root, or inject nftables text is refused with a typed error', () => {
  const bad: [Partial<MetadataBlockSpec>, string][] = [
    [{ tasks: { uids: [] } }, 'name the tasks'],
    [{ tasks: { uids: [{ min: 0, max: 10 }] } }, 'never root'],
    [{ tasks: { uids: [], netClsPrimaryHandle: 0x10000 } }, 'primary handle'],
    [{ targets: [{ host: '169.254.169.254; flush ruleset' }] }, 'not an IP address'],
    [{ targets: [] }, 'no metadata address'],
    [{ table: 'x; flush ruleset' }, 'table name'],
    [{ connectionQuota: { host: '127.0.0.1 counter accept', port: 1, maxPerUid: 1 } }, 'not an IP address'],
    [{ connectionQuota: { host: '127.0.0.1', port: 0, maxPerUid: 1 } }, 'not a port'],
    [{ connectionQuota: { host: '127.0.0.1', port: 80, maxPerUid: 0 } }, 'not a positive integer'],
  ];
  for (const [over, why] of bad) {
    try {
      metadataRuleset(spec(over));
      assert.unreachable(why);
    } catch (err) {
      assert.ok(isSipError(err, 'SIP_AGENT_CONFIG_INVALID'), String(err));
      assert.match((err as Error).message, why);
    }
  }
});

test('nftables refusing the rules stops the agent from starting, with the catalogue code', async () => {
  const err = await installMetadataBlock(spec(), async () => {
    throw new Error('Error: Could not process rule: Operation not permitted');
  }).catch((e: unknown) => e);
  assert.ok(isSipError(err, 'SIP_AGENT_METADATA_BLOCK_FAILED'));
  assert.match((err as Error).message, 'Operation not permitted');
});

/** Status of a GET from a process of `uid` (curl: 000 when the connection is refused). */
function curlAs(uid: number, url: string): Promise<string> {
  return new Promise((resolve) => {
    const child = spawn('curl', ['-s', '-o', '/dev/null', '-m', '3', '-w', '%{http_code}', url], { uid, gid: uid, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('close', () => resolve(out));
  });
}

const tables = (): string[] =>
  execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })
    .split('\n')
    .filter((l) => l.includes('sip_test_block'));

test('real nftables: a task uid cannot reach the metadata address, root can; twice, or after a crash, one table; removed, open again', async () => {
  if (process.getuid?.() !== 0) return void process.stdout.write('\n  NOT CHECKED (not root): nftables\n');
  const server: Server = createServer((_req, res) => res.end('role'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const url = `http://127.0.0.1:${port}/latest/meta-data/iam/security-credentials/`;
  const s = spec({ table: 'sip_test_block', targets: [{ host: '127.0.0.1', port }], tasks: { uids: [{ min: 2000000, max: 2999999 }] } });
  const nft = nftCommand();
  try {
    assert.is(await curlAs(2000123, url), '200', 'open before');
    const first = await installMetadataBlock(s, nft);
    assert.is(await curlAs(2000123, url), '000', 'a task uid is refused');
    assert.is(await curlAs(0, url), '200', 'root (the agent itself) is not');
    assert.is(await curlAs(3000000, url), '200', 'a uid outside the range is not');
    // The agent killed with -9 leaves its table; the next start replaces it.
    await installMetadataBlock(s, nft);
    assert.is(tables().length, 1, 'one table after installing twice');
    assert.is(await curlAs(2000123, url), '000');
    await first.remove();
    await first.remove();
    assert.is(tables().length, 0, 'removed, and removing again is harmless');
    assert.is(await curlAs(2000123, url), '200', 'open again');
  } finally {
    await nft('table inet sip_test_block\ndelete table inet sip_test_block\n').catch(() => undefined);
    server.close();
  }
});

/** How many of `n` connections a process of `uid` holds open to `port` after a moment (the rest reset). */
function connectAs(uid: number, port: number, n: number): Promise<number> {
  const code = `let o=0;for(let i=0;i<${n};i++){const s=require('net').connect(${port},'127.0.0.1');s.on('connect',()=>o++);s.on('error',()=>{})}setTimeout(()=>{console.log(o);process.exit()},700)`;
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['-e', code], { uid, gid: uid, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('close', () => resolve(Number(out.trim())));
  });
}

test("real nftables: a uid's connections to the agent beyond the quota are reset by the kernel; another uid's are not", async () => {
  if (process.getuid?.() !== 0) return void process.stdout.write('\n  NOT CHECKED (not root): nftables\n');
  const accepted: import('node:net').Socket[] = [];
  const server = (await import('node:net')).createServer((s) => accepted.push(s));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  const nft = nftCommand();
  const block = await installMetadataBlock(spec({ table: 'sip_test_block', connectionQuota: { host: '127.0.0.1', port, maxPerUid: 5 } }), nft);
  try {
    assert.is(await connectAs(65534, port, 12), 5, 'uid 65534: five connections, seven reset');
    assert.is(await connectAs(2000123, port, 4), 4, "another uid's are its own");
    // Closed connections no longer count.
    assert.is(await connectAs(65534, port, 5), 5, 'the first five closed: five again');
  } finally {
    await block.remove();
    for (const s of accepted) s.destroy();
    server.close();
  }
});

test.run();
