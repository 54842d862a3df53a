import { readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { freePort } from '@secure-instance-profiles/framework-plugin/net';
import { Upload } from '@aws-sdk/lib-storage';
import { startBinapp } from '../src/fixtures/binappProcess.js';
import { demoAuth, streamUpload } from '../src/fixtures/http.js';
import { startStack } from '../src/fixtures/stack.js';
import { reportFailure } from '../src/script/failure.js';
import { benchAgent } from './agent.js';
import { benchServer } from './server.js';
import { measureLbOverhead } from './lbOverhead.js';
import { compareWallTimes, stubMarathon, timeToReady } from './startup.js';

// npm run bench
// 0. Start-up: `sip --help` and `sip marathon app list` against a bare
//    `node -e 0` (target ≤ 3×); binapp's time to ready and idle RSS (targets
//    ≤ 300 ms, ≤ 90 MiB).
// 1. Upload throughput: binapp (HTTP → streamed multipart to S3) vs. a direct
//    SDK upload of the same bytes to the same emulator, same part size and
//    concurrency, median of several rounds, printed as a ratio.
// 2. binapp's peak RSS while streaming a 1 GiB body, in a fresh process (target ≤ 128 MiB).
// 3. sip agent: cached-credential req/s and p99 from a task, round trips per credential resolution, time to first credentials and STS calls per task, file vs endpoint mode.
// 4. sip server vs direct sip agent on two agents: credential latency (first, cached) and a start-up burst of
//    BENCH_BURST_TASKS (500) tasks: launch → first credentials p50/p99, STS calls per second against the cap.
// All traffic stays on 127.0.0.1.

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
const MiB = 1024 * 1024;
const SIZE = Number(process.env.BENCH_UPLOAD_MIB ?? 128) * MiB;
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const BIG = Number(process.env.BENCH_BIG_MIB ?? 1024) * MiB;
const CHUNK = MiB;

/** The same deterministic body generator streamUpload uses, as a Readable for the SDK. */
function body(bytes: number): Readable {
  const pattern = Buffer.alloc(CHUNK);
  let sent = 0;
  return new Readable({
    read() {
      if (sent >= bytes) return void this.push(null);
      const n = Math.min(CHUNK, bytes - sent);
      pattern.writeUInt32BE(sent / CHUNK, 0);
      this.push(Buffer.from(pattern.subarray(0, n)));
      sent += n;
    },
  });
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const kib = (pid: number, field: string): number =>
  Number(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN);

const SIP = fileURLToPath(new URL('../../framework-plugin/bin/sip.mjs', import.meta.url));
const BINAPP = fileURLToPath(new URL('../../binapp/bin/binapp.mjs', import.meta.url));
const STARTUP_ROUNDS = Number(process.env.BENCH_STARTUP_ROUNDS ?? 10);
const target = (ok: boolean): string => (ok ? 'within target' : 'OVER TARGET');

/** The whole bench, in order; a failure ends it with one line (see {@link reportFailure}). */
async function main(): Promise<void> {
  const marathon = await stubMarathon();
  const cli = await compareWallTimes(
    {
      node: [process.execPath, '-e', '0'],
      help: [process.execPath, SIP, '--help'],
      list: [process.execPath, SIP, 'marathon', 'app', 'list', '--marathon-url', marathon.url],
    },
    STARTUP_ROUNDS,
  );
  marathon.close();
  const startupLines = [
    '',
    `start-up, median of ${STARTUP_ROUNDS} interleaved runs (ms):`,
    `  node -e 0                      ${cli.node!.toFixed(0)}`,
    `  sip --help                     ${cli.help!.toFixed(0)}   ratio ${(cli.help! / cli.node!).toFixed(2)} (target ≤ 3: ${target(cli.help! / cli.node! <= 3)})`,
    `  sip marathon app list          ${cli.list!.toFixed(0)}   ratio ${(cli.list! / cli.node!).toFixed(2)} (target ≤ 3: ${target(cli.list! / cli.node! <= 3)})`,
  ];
  process.stdout.write(`${startupLines.join('\n')}\n`);

  const stack = await startStack();
  try {
    const config = await stack.writeConfig('aws-config', stack.awsConfig);
    const app = await startBinapp({
      env: {
        ...stack.awsEnv(config),
        BINAPP_BUCKET: stack.bucket,
        BINAPP_USER: 'testuser',
        BINAPP_PASS: 'password',
        BINAPP_MAX_BYTES: String(2 * BIG),
        BINAPP_LOG_LEVEL: 'warn',
      },
    });
    const headers = { authorization: demoAuth(), accept: 'application/json' };
    // Warm both paths (credentials, connections) before timing.
    await streamUpload({ url: `${app.url}/bin`, headers, bytes: 8 * MiB, chunkBytes: CHUNK });
    await new Upload({ client: stack.adminS3, params: { Bucket: stack.bucket, Key: 'bench/warm', Body: body(8 * MiB) } }).done();

    const viaBinapp: number[] = [];
    const direct: number[] = [];
    for (let round = 0; round < ROUNDS; round++) {
      let t = process.hrtime.bigint();
      const r = await streamUpload({ url: `${app.url}/bin`, headers, bytes: SIZE, chunkBytes: CHUNK });
      if (r.status !== 201) throw new Error(`binapp answered ${r.status}: ${r.body}`);
      viaBinapp.push(SIZE / MiB / (Number(process.hrtime.bigint() - t) / 1e9));

      t = process.hrtime.bigint();
      await new Upload({
        client: stack.adminS3,
        params: { Bucket: stack.bucket, Key: `bench/direct-${round}`, Body: body(SIZE) },
        partSize: 5 * MiB, // binapp's defaults (BINAPP_PART_MIB, BINAPP_PARTS_IN_FLIGHT): the same work both ways
        queueSize: 2,
      }).done();
      direct.push(SIZE / MiB / (Number(process.hrtime.bigint() - t) / 1e9));
    }

    const lb = await measureLbOverhead(Number(new URL(app.url).port));
    await app.stop();

    // binapp's start: spawn → first 200 from /healthz, then RSS after a second idle (median of 5).
    const appEnv = {
      ...stack.awsEnv(config),
      BINAPP_BUCKET: stack.bucket,
      BINAPP_USER: 'testuser',
      BINAPP_PASS: 'password',
      BINAPP_LOG_LEVEL: 'warn',
      BINAPP_HOST: '127.0.0.1',
    };
    const starts = [];
    for (let i = 0; i < 5; i++) {
      const port = await freePort();
      starts.push(await timeToReady(process.execPath, [BINAPP], { ...process.env, ...appEnv, PORT0: String(port) }, `http://127.0.0.1:${port}/healthz`));
    }
    const readyMs = median(starts.map((s) => s.readyMs));
    const idleMiB = median(starts.map((s) => s.idleRssMiB));

    // Peak memory for 1 GiB in a fresh process, so the figure includes no earlier heap growth.
    const fresh = await startBinapp({ env: { ...appEnv, BINAPP_MAX_BYTES: String(2 * BIG) } });
    const baseline = kib(fresh.pid, 'VmRSS');
    const big = await streamUpload({ url: `${fresh.url}/bin`, headers, bytes: BIG, chunkBytes: CHUNK });
    if (big.status !== 201) throw new Error(`1 GiB upload answered ${big.status}: ${big.body}`);
    const peak = kib(fresh.pid, 'VmHWM');
    await fresh.stop();

    const b = median(viaBinapp);
    const d = median(direct);
    const lines = [
      '',
      `upload throughput, ${SIZE / MiB} MiB bodies, median of ${ROUNDS} (MiB/s):`,
      `  binapp (HTTP → S3 multipart)   ${b.toFixed(1)}   rounds: ${viaBinapp.map((x) => x.toFixed(1)).join(', ')}`,
      `  direct SDK upload              ${d.toFixed(1)}   rounds: ${direct.map((x) => x.toFixed(1)).join(', ')}`,
      `  ratio binapp/direct            ${(b / d).toFixed(2)} (target ≥ 0.9: ${target(b / d >= 0.9)})`,
      '',
      'binapp start, median of 5 (compiled bundle):',
      `  time to ready (/healthz 200)   ${readyMs.toFixed(0)} ms   ratio to target ${(readyMs / 300).toFixed(2)} (target ≤ 300 ms: ${target(readyMs <= 300)})`,
      `  idle RSS after 1 s             ${idleMiB.toFixed(1)} MiB   ratio to target ${(idleMiB / 90).toFixed(2)} (target ≤ 90 MiB: ${target(idleMiB <= 90)})`,
      '',
      `binapp memory while streaming ${BIG / MiB} MiB (fresh process):`,
      `  RSS before                     ${(baseline / 1024).toFixed(1)} MiB`,
      `  peak RSS (VmHWM)               ${(peak / 1024).toFixed(1)} MiB   ratio to target ${(peak / 1024 / 128).toFixed(2)} (target ≤ 128 MiB: ${target(peak / 1024 <= 128)})`,
      `  ratio peak RSS / body size     ${((peak * 1024) / BIG).toFixed(3)}`,
      '',
      'GET /healthz, 8 keep-alive clients, 4000 requests each way (EdgeLB data plane overhead):',
      `  direct to binapp               ${lb.direct.rps.toFixed(0)} req/s   p50 ${lb.direct.p50Ms.toFixed(2)} ms   p99 ${lb.direct.p99Ms.toFixed(2)} ms   failed ${lb.direct.failed}`,
      `  through HAProxy (Host routing) ${lb.viaHaproxy.rps.toFixed(0)} req/s   p50 ${lb.viaHaproxy.p50Ms.toFixed(2)} ms   p99 ${lb.viaHaproxy.p99Ms.toFixed(2)} ms   failed ${lb.viaHaproxy.failed}`,
      `  ratio req/s HAProxy/direct     ${(lb.viaHaproxy.rps / lb.direct.rps).toFixed(2)}`,
      `  ratio p99 HAProxy/direct       ${(lb.viaHaproxy.p99Ms / lb.direct.p99Ms).toFixed(2)}`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
  } finally {
    await stack.stop();
  }

  // 3. sip agent, from inside real tasks of a real local cluster (its own emulator).
  process.stdout.write(`${(await benchAgent()).join('\n')}\n`);
  // 4. sip server against the agents deciding, two agents each.
  process.stdout.write(`${(await benchServer()).join('\n')}\n`);
}

main().then(
  () => process.exit(0),
  (err: unknown) => process.exit(reportFailure('npm run bench', err, join(tmpdir(), 'sip-bench.log'))),
);
