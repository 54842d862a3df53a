import { spawn } from 'node:child_process';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { listenAgent } from '../src/delivery/endpoint/agentServer.js';
import { createConnectionOwners } from '../src/delivery/endpoint/connectionOwners.js';
import { startSockDiag } from '../src/delivery/endpoint/sockDiag.js';

// The agent's listener where nftables is not in hand: the per-uid connection
// quota is the agent's own (it accepts, finds the uid, closes what is over).

/** Connections a process of `uid` opens to `port` and the ones closed on it within `ms`. */
function connectAs(uid: number, port: number, n: number, ms: number): Promise<{ open: number; closed: number }> {
  const code = `let open=0,closed=0;for(let i=0;i<${n};i++){const s=require('net').connect(${port},'127.0.0.1');s.on('connect',()=>open++);s.on('close',()=>closed++);s.on('error',()=>{})}setTimeout(()=>{console.log(JSON.stringify({open,closed}));process.exit()},${ms})`;
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['-e', code], { uid, gid: uid, env: { PATH: process.env.PATH }, stdio: ['ignore', 'pipe', 'ignore'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out) as { open: number; closed: number });
      } catch {
        reject(new Error(`no count from the client: ${out}`));
      }
    });
  });
}

for (const lane of ['the kernel dump (python3 helper)', '/proc/net/tcp'] as const) {
  test(`without nftables, ${lane}: a uid's connections beyond its quota are closed at once; another uid's are served`, async () => {
    if (process.getuid?.() !== 0) return void process.stdout.write('\n  NOT CHECKED (not root): connections as another uid\n');
    const diag = lane === '/proc/net/tcp' ? undefined : startSockDiag();
    if (lane !== '/proc/net/tcp' && !diag) return void process.stdout.write('\n  NOT CHECKED (no python3)\n');
    const owners = createConnectionOwners('/proc', diag ? { clients: diag.clients } : {});
    const refused: number[] = [];
    const server = await listenAgent(
      (_req, res) => res.end('ok'),
      { host: '127.0.0.1', port: 0 },
      {
        maxPerUid: 5,
        uidOf: async (s) => (await owners(s))?.uid,
        onRefused: (uid) => refused.push(uid),
      },
    );
    try {
      const port = Number(new URL(server.url).port);
      const flood = connectAs(65534, port, 40, 1500);
      const other = connectAs(2000123, port, 3, 1500);
      const [f, o] = await Promise.all([flood, other]);
      assert.is(f.open, 40, 'every connect was accepted by the kernel');
      assert.is(f.closed, 35, 'all but five were closed by the agent');
      assert.equal(o, { open: 3, closed: 0 }, "another uid's connections stay");
      assert.is(refused.length, 35);
      assert.ok(
        refused.every((u) => u === 65534),
        'refusals name the flooding uid',
      );
    } finally {
      await server.close();
      diag?.stop();
    }
  });
}

test.run();
