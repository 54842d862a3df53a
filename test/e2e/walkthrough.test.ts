import { spawn, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { freePort, waitFor } from '@secure-instance-profiles/framework-plugin/net';
import { runProcess, type Ran } from '../src/fixtures/process.js';
import { assertNoLeaks } from '../src/fixtures/leaks.js';

// The walk-through as a user runs it: `npm run demo`, `sip`, `terraform`,
// `curl` as child processes only, each step's output and exit code checked;
// then what the demo does not show: the agent's own credentials cannot touch
// the bucket, no external id anywhere in API views, events or logs, and
// `--down` leaves no process, port or secret file.

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const SIP = join(ROOT, 'framework-plugin/bin/sip.mjs');
const PROBE = join(ROOT, 'test/src/demo/awsProbe.ts');
const state = mkdtempSync(join(tmpdir(), 'sip-e2e-'));
// The demo keeps Terraform's state where a user finds it, in terraform/; the
// suite runs it on a copy of the module (with marathon/ beside it, as in the
// repository) so a developer's own demo state is never touched.
const checkout = mkdtempSync(join(tmpdir(), 'sip-e2e-checkout-'));
const notRunState = (src: string): boolean => !/(^|\/)(\.terraform|\.terraformrc|terraform\.tfstate[^/]*|[^/]*\.auto\.tfvars\.json)$/.test(src);
for (const dir of ['terraform', 'marathon']) cpSync(join(ROOT, dir), join(checkout, dir), { recursive: true, filter: notRunState });
const HOST = 'binapp.mesosphere.com';
let env: NodeJS.ProcessEnv = {};
let info: Record<string, string> & { pid: number; enforcesIam: boolean };
let events: ChildProcess | undefined;
let eventText = '';
let token = '';
const outputs: string[] = [];

async function run(cmd: string, args: string[], opts: { input?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Ran> {
  const ran = await runProcess(cmd, args, {
    cwd: ROOT,
    env: { ...process.env, ...env, ...opts.env },
    ...(opts.input === undefined ? {} : { input: opts.input }),
  });
  outputs.push(ran.out, ran.err);
  return ran;
}
const sip = (args: string[], input?: string): Promise<Ran> => run(process.execPath, [SIP, ...args], input === undefined ? {} : { input });
const npm = (args: string[]): Promise<Ran> => run('npm', args);
/** A line as a user types it in a shell at the checkout's root; `sip` stands for `npx sip`. */
async function byHand(line: string, input?: string): Promise<Ran> {
  const script = `sip() { "${process.execPath}" "${SIP}" "$@"; }\n${line}`;
  const ran = await runProcess('bash', ['-c', script], { cwd: checkout, env: { ...process.env, ...env }, ...(input === undefined ? {} : { input }) });
  outputs.push(ran.out, ran.err);
  return ran;
}
const terraformOutput = (name: string): Promise<Ran> => byHand(`terraform -chdir=terraform output -raw ${name}`);
let demoOut = '';
const curl = (args: string[], input?: string): Promise<Ran> => run('curl', ['-sS', '--max-time', '10', ...args], input === undefined ? {} : { input });
const listening = (port: number): Promise<boolean> =>
  new Promise((resolve) => {
    const s = connect({ host: '127.0.0.1', port }, () => (s.destroy(), resolve(true)));
    s.once('error', () => resolve(false));
  });
const portOf = (url: string): number => Number(new URL(url).port);

/** Pids whose command line, working directory or environment mention the run's state dir. */
function processesOf(dir: string): number[] {
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p) && Number(p) !== process.pid)
    .filter((p) => {
      try {
        const cmdline = readFileSync(`/proc/${p}/cmdline`, 'utf8');
        const environ = readFileSync(`/proc/${p}/environ`, 'utf8');
        return cmdline.includes(dir) || environ.includes(dir) || readlinkSync(`/proc/${p}/cwd`).startsWith(dir);
      } catch {
        return false;
      }
    })
    .map(Number);
}

function filesUnder(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .map((f) => join(dir, f))
    .filter((f) => {
      try {
        return statSync(f).isFile();
      } catch {
        return false;
      }
    });
}

const e2e = suite('walk-through (npm run demo, sip, terraform, curl)');

e2e.before(async () => {
  env = { SIP_STATE_DIR: state, SIP_LB_PORT: String(await freePort()), SIP_TERRAFORM_DIR: join(checkout, 'terraform') };
});

e2e.after(async () => {
  events?.kill();
  if (existsSync(join(state, 'cluster.json'))) await sip(['cluster', 'down']);
  rmSync(state, { recursive: true, force: true });
  rmSync(checkout, { recursive: true, force: true });
});

e2e('sip cluster up prints its endpoints; every Marathon event of the run is recorded from here on', async () => {
  const up = await sip(['cluster', 'up', '--lb-port', env.SIP_LB_PORT!]);
  assert.is(up.code, 0, up.err);
  assert.match(up.out, new RegExp(`edgelb\\s+http://127\\.0\\.0\\.1:${env.SIP_LB_PORT}`));
  info = JSON.parse(readFileSync(join(state, 'cluster.json'), 'utf8'));
  // The Marathon API asks for the cluster's ACS token, as DC/OS in strict mode does.
  token = readFileSync(join(state, 'acs-token'), 'utf8').trim();
  events = spawn('curl', ['-sN', '-H', 'Accept: text/event-stream', '-H', `Authorization: token=${token}`, `${info.marathonUrl}/v2/events`], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  events.stdout!.on('data', (d: Buffer) => (eventText += d));
  await waitFor(async () => eventText.includes('event_stream_attached'), { what: 'the event stream attached', timeoutMs: 10_000, intervalMs: 50 });
});

e2e('npm run demo: every step passes, the object is read back, both refusals happen', async () => {
  const demo = await npm(['run', 'demo']);
  assert.is(demo.code, 0, demo.out.slice(-3000));
  demoOut = demo.out;
  const steps = [...demo.out.matchAll(/^\[(\d+)\] (.*)$/gm)].map((m) => m[2]);
  assert.equal(steps.length, 9, steps.join('\n'));
  assert.is((demo.out.match(/✓ done in/g) ?? []).length, 9);
  assert.not.match(demo.out, '✗');
  assert.match(steps[0]!, 'npx sip cluster up');
  assert.match(demo.out, 'local cluster already running', 'the demo reuses the running cluster');
  assert.match(steps[1]!, `terraform -chdir=${checkout}/terraform apply -auto-approve -input=false`);
  assert.match(
    steps[2]!,
    `terraform -chdir=${checkout}/terraform output -raw secret_aws_conf | npx sip security secrets create /instance-profile-app/aws-config`,
  );
  assert.match(demo.out, /\| BinID [\w-]{21}\n/);
  assert.match(demo.out, /sent {3}(\d+) bytes, sha256 (\w+)…\n {4}stored \1 bytes, sha256 \2…\n {4}identical ✓/);
  assert.match(
    demo.out,
    'TASK_FAILED (secret "awsConfig" (instance-profile-app/aws-config) denied: app /other-app is not under the secret\'s namespace /instance-profile-app)',
  );
  if (info.enforcesIam)
    assert.match(
      demo.out,
      /with the real config:\n {4}\| arn:aws:sts::\d+:assumed-role\/sip-demo-instance-profile-app\/\S+\n {4}with external_id replaced:\n {4}\| denied: AccessDenied/,
    );
  else assert.match(demo.out, 'NOT SHOWN:');
  assert.match(demo.out, 'demo complete');
});

e2e('binapp answers through EdgeLB by Host header only; an object posted with curl reads back through it', async () => {
  const lb = `http://127.0.0.1:${env.SIP_LB_PORT}`;
  const posted = await curl(
    ['--fail-with-body', '--user', 'testuser:password', '-X', 'POST', '-H', `Host: ${HOST}`, '--data-binary', '@-', `${lb}/bin`],
    'walk-through payload\n',
  );
  assert.is(posted.code, 0, posted.err);
  const id = /^BinID (\S+)$/m.exec(posted.out)?.[1];
  assert.ok(id, posted.out);
  const got = await curl(['--fail-with-body', '--user', 'testuser:password', '-H', `Host: ${HOST}`, `${lb}/bin/${id}`]);
  assert.is(got.out, 'walk-through payload\n');
  assert.is((await curl(['-o', '/dev/null', '-w', '%{http_code}', '-H', 'Host: unknown.example.com', `${lb}/ping`])).out, '503');
  const status = await sip(['edgelb', 'status', 'auto-default']);
  assert.is(status.code, 0, status.err);
  assert.match(status.out, /backend first {2}1 server\(s\)\n {4}instance-profile-app\.\S+ {2}127\.0\.0\.1:\d+/);
});

e2e('the agent’s own metadata credentials cannot touch the bucket', async () => {
  if (!info.enforcesIam) return void process.stdout.write(`\n  NOT CHECKED (${info.emulator}): agent credentials denied on the bucket\n`);
  const bucket = await terraformOutput('s3_bucket_name');
  assert.is(bucket.code, 0, bucket.err);
  const agentEnv = {
    AWS_ENDPOINT_URL: info.awsEndpoint,
    AWS_EC2_METADATA_SERVICE_ENDPOINT: info.imdsEndpoint,
    AWS_SHARED_CREDENTIALS_FILE: '/dev/null',
    AWS_CONFIG_FILE: '/dev/null',
    AWS_REGION: info.region,
  };
  const who = await run(process.execPath, ['--import', 'tsx', PROBE, 'whoami'], { env: agentEnv });
  assert.is(who.code, 0, who.out + who.err);
  assert.match(who.out, /assumed-role\/sip-local-agent\//, 'it is the agent identity');
  const put = await run(process.execPath, ['--import', 'tsx', PROBE, 'put', bucket.out, 'bin/from-the-agent'], { env: agentEnv });
  assert.is(put.code, 3, put.out + put.err);
  assert.is(put.out.trim(), 'denied: AccessDenied');
});

e2e('by hand after the demo: the post’s lines as a user types them, with terraform where it looks', async () => {
  const APP = '/instance-profile-app';
  // Every terraform command the demo printed is the one it ran: each replays as printed.
  const printed = [...demoOut.matchAll(/^ {4}\$ (.*terraform .*)$/gm)].map((m) => m[1]!);
  assert.ok(printed.some((l) => / init /.test(l)) && printed.some((l) => / apply /.test(l)), printed.join('\n'));
  for (const line of printed) {
    const again = await byHand(line);
    assert.is(again.code, 0, `${line}\n${again.err}`);
    if (/ apply /.test(line)) assert.match(again.out, /No changes|0 added, 0 changed, 0 destroyed/);
  }
  assert.is((await byHand('terraform -chdir=terraform apply -auto-approve')).code, 0, 'plain apply re-applies the same state');

  // The secret from Terraform's raw output, then the app as the post adds it, and the post's jq loop.
  const updated = await byHand('terraform -chdir=terraform output -raw secret_aws_conf | sip security secrets update /instance-profile-app/aws-config');
  assert.is(updated.code, 0, updated.err);
  assert.is((await byHand(`sip marathon app remove ${APP} --wait`)).code, 0);
  const added = await byHand('terraform -chdir=terraform output -raw marathon_app_definition | sip marathon app add');
  assert.is(added.code, 0, added.err);
  const loop = await byHand(
    `n=0; until sip marathon app show ${APP} | jq -e '.tasksHealthy==1' >/dev/null; do n=$((n+1)); [ $n -gt 240 ] && exit 9; sleep 0.5; done; echo healthy after $n`,
  );
  assert.is(loop.code, 0, `the jq loop never ended: ${loop.out}${loop.err}`);
  assert.match(loop.out, /^healthy after \d+$/m);

  // The post's curl, with the LB address from the post's own output name.
  const lb = await terraformOutput('public-agents-loadbalancer');
  assert.is(lb.out, `127.0.0.1:${env.SIP_LB_PORT}`);
  let posted: Ran = { code: 1, out: '', err: '' };
  await waitFor(
    async () => {
      posted = await byHand(
        `echo foobar | curl -sS --fail-with-body --user testuser:password -X POST -H "Host: ${HOST}" -d @- $(terraform -chdir=terraform output -raw public-agents-loadbalancer)/bin`,
      );
      return posted.code === 0;
    },
    { what: 'binapp routed again after the re-add', timeoutMs: 60_000, intervalMs: 250 },
  ).catch(() => undefined);
  assert.is(posted.code, 0, posted.out + posted.err);
  const bin = /^BinID (\S+)$/m.exec(posted.out)?.[1];
  assert.ok(bin, posted.out);

  // aws s3 cp under the cluster's environment prints what curl sent.
  if ((await byHand('command -v aws')).code !== 0) {
    process.stdout.write('\n  NOT CHECKED (no aws CLI on PATH): aws s3 cp under eval "$(sip cluster env)"\n');
  } else {
    const cp = await byHand(`eval "$(sip cluster env)"; aws s3 cp s3://$(terraform -chdir=terraform output -raw s3_bucket_name)/bin/${bin} -`);
    assert.is(cp.code, 0, cp.err);
    assert.is(cp.out, 'foobar');
    const unset = await byHand('eval "$(sip cluster env)"; eval "$(sip cluster env --unset)"; echo "${AWS_ENDPOINT_URL-gone}"');
    assert.is(unset.out.trim(), 'gone');
  }

  // The post's forms without -raw are refused, naming the fix, and change nothing.
  const before = await byHand('sip security secrets get /instance-profile-app/aws-config | sha256sum');
  const refusals: Array<[string, string]> = [
    ['terraform -chdir=terraform output secret_aws_conf | sip security secrets update /instance-profile-app/aws-config', 'output -raw secret_aws_conf'],
    ['sip security secrets update /instance-profile-app/aws-config -v "$(terraform -chdir=terraform output secret_aws_conf)"', 'output -raw secret_aws_conf'],
    ['terraform -chdir=terraform output no_such_output 2>/dev/null | sip security secrets update /instance-profile-app/aws-config', 'empty'],
    ['terraform -chdir=terraform output marathon_app_definition | sip marathon app add', 'output -raw marathon_app_definition'],
  ];
  for (const [line, hint] of refusals) {
    const r = await byHand(line);
    assert.is.not(r.code, 0, line);
    assert.match(r.err, hint, `${line}: ${r.err}`);
  }
  assert.is((await byHand('sip security secrets get /instance-profile-app/aws-config | sha256sum')).out, before.out, 'the secret is unchanged');
  const apps = JSON.parse((await sip(['marathon', 'app', 'list', '--json'])).out) as Array<{ id: string }>;
  assert.equal(
    apps.map((a) => a.id),
    [APP],
    'nothing was added',
  );
});

e2e('no external id in GET /v2/apps/instance-profile-app, the events, the logs, the task sandboxes or any output', async () => {
  const secret = await sip(['security', 'secrets', 'get', '/instance-profile-app/aws-config']);
  assert.is(secret.code, 0);
  const externalId = /^\s*external_id\s*=\s*(\S+)\s*$/m.exec(secret.out)?.[1] ?? '';
  outputs.splice(outputs.indexOf(secret.out), 1); // the one output that must show it
  assert.ok(externalId.length >= 16, 'the secret holds an external id');
  const app = await curl(['-H', `Authorization: token=${token}`, `${info.marathonUrl}/v2/apps/instance-profile-app?embed=apps.tasks`]);
  assert.match(app.out, '"secrets":{"awsConfig":{"source":"instance-profile-app/aws-config"}}');
  assert.match(eventText, 'event: deployment_success', 'events were recorded');
  const logs = filesUnder(state).filter((f) => /\.log$|\/stdout$|\/stderr$|haproxy\.cfg$/.test(f));
  assert.ok(logs.some((f) => f.endsWith('cluster.log')) && logs.some((f) => f.endsWith('/stderr')), 'daemon log and sandboxes found');
  const places: Array<[string, string]> = [
    ['GET /v2/apps/instance-profile-app', app.out],
    ['Marathon events', eventText],
    ...logs.map((f): [string, string] => [f.slice(state.length), readFileSync(f, 'utf8')]),
    ...outputs.map((o, i): [string, string] => [`command output #${i}`, o]),
  ];
  // The external id in any shape (as written, base64, URL-encoded, JSON-escaped), and AWS credentials by their shape.
  assertNoLeaks(Object.fromEntries(places), [{ kind: 'external id', value: externalId }], { awsShapes: true });
});

e2e('npm run demo again is idempotent: the secret and the app are updated, nothing is left over', async () => {
  const again = await npm(['run', 'demo']);
  assert.is(again.code, 0, again.out.slice(-3000));
  assert.match(again.out, 'exists from an earlier run → npx sip security secrets update');
  assert.match(again.out, 'exists from an earlier run → npx sip marathon app update /instance-profile-app --wait');
  assert.match(again.out, 'Apply complete! Resources: 0 added, 0 changed, 0 destroyed.');
  const apps = JSON.parse((await sip(['marathon', 'app', 'list', '--json'])).out) as Array<{ id: string; tasksHealthy: number }>;
  assert.equal(
    apps.map((a) => [a.id, a.tasksHealthy]),
    [['/instance-profile-app', 1]],
  );
});

e2e('npm run demo -- --down: terraform destroy, then no process, no port, no secret file left', async () => {
  const ports = [info.marathonUrl, info.secretsUrl, info.awsEndpoint, info.imdsEndpoint, info.edgelbUrl, info.edgelbStatsUrl, info.edgelbApiUrl].map((u) =>
    portOf(u!),
  );
  assert.ok((await Promise.all(ports.map(listening))).every(Boolean), 'all up before');
  assert.ok(processesOf(state).length >= 4, 'daemon, moto, haproxy, binapp found before');
  const down = await npm(['run', 'demo', '--', '--down']);
  assert.is(down.code, 0, down.out.slice(-3000));
  assert.match(down.out, /Destroy complete! Resources: 7 destroyed\./);
  assert.match(down.out, 'all torn down');
  events?.kill();
  // Waits (bounded) for the state it asserts; what is left after that is reported.
  await waitFor(async () => processesOf(state).length === 0, { what: 'every process of the run gone', timeoutMs: 10_000, intervalMs: 100 }).catch(
    () => undefined,
  );
  assert.equal(processesOf(state), [], 'processes of the run');
  assert.equal(
    (await Promise.all(ports.map(async (p) => [p, await listening(p)]))).filter(([, open]) => open),
    [],
    'ports still open',
  );
  assert.not.ok(existsSync(state), 'the state dir (secrets, sandboxes, mounted aws-config files) is gone');
  assert.not.ok(existsSync(join(checkout, 'terraform', 'local-cluster.auto.tfvars.json')), 'the local cluster’s variables (endpoint, admin keys) are gone');
  assert.ok(existsSync(join(checkout, 'terraform', 'terraform.tfstate')), 'the (now empty) state stays where terraform keeps it');
});

e2e.run();
