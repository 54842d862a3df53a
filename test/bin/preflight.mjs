#!/usr/bin/env node
// First thing `npm run demo`, `npm test` and `npm run bench` run, before any
// dependency exists: installs what it can (npm packages), and otherwise stops
// with the one command that fixes what is missing. Plain Node, no imports
// beyond the standard library.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const purpose = process.argv[2] ?? 'test';

function fail(what, fix) {
  process.stderr.write(`\npreflight: ${what}\n  fix it with:\n\n    ${fix}\n\n`);
  process.exit(1);
}

function run(cmd, args, opts = {}) {
  return spawnSync(cmd, args, { encoding: 'utf8', ...opts });
}

// Node 20+
const major = Number(process.versions.node.split('.')[0]);
if (major < 20) fail(`Node ${process.versions.node} is too old; Node 20 or newer is required`, 'https://nodejs.org/en/download (or: nvm install 20)');

// npm dependencies: install when absent or older than the lock file.
const lock = join(root, 'package-lock.json');
const installed = join(root, 'node_modules', '.package-lock.json');
if (!existsSync(installed) || statSync(installed).mtimeMs < statSync(lock).mtimeMs) {
  process.stderr.write('preflight: installing npm dependencies (npm ci)…\n');
  const r = run('npm', ['ci', '--no-audit', '--no-fund'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail('npm ci failed (see above)', `cd ${root} && npm ci`);
}

// The build: `sip` and binapp run compiled code. Incremental, so a no-op
// when nothing changed; always run, so an edited source is never stale.
{
  const r = run('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) fail('the build failed (see above)', `cd ${root} && npm run build`);
}

// Python with moto[server]: the AWS emulator.
const python = process.env.SIP_PYTHON ?? 'python3';
const moto = run(python, ['-c', 'import moto, moto.server; print(moto.__version__)']);
if (moto.error) fail(`${python} not found (the AWS emulator needs Python 3 with moto[server])`, 'apt-get install -y python3 python3-pip');
if (moto.status !== 0) fail(`moto is not installed for ${python}`, `${python} -m pip install 'moto[server]>=5.1,<6'`);
const [mMajor, mMinor] = moto.stdout.trim().split('.').map(Number);
if (mMajor < 5 || (mMajor === 5 && mMinor < 1))
  fail(`moto ${moto.stdout.trim()} is too old (need >= 5.1)`, `${python} -m pip install -U 'moto[server]>=5.1,<6'`);

// Terraform >= 1.5.
const tf = run('terraform', ['version', '-json'], { env: { ...process.env, CHECKPOINT_DISABLE: '1' } });
const tfFix =
  'wget -qO- https://apt.releases.hashicorp.com/gpg | gpg --dearmor -o /usr/share/keyrings/hashicorp.gpg && echo "deb [signed-by=/usr/share/keyrings/hashicorp.gpg] https://apt.releases.hashicorp.com $(lsb_release -cs) main" > /etc/apt/sources.list.d/hashicorp.list && apt-get update && apt-get install -y terraform';
if (tf.error) fail('terraform not found on PATH (need >= 1.5)', tfFix);
try {
  const v = JSON.parse(tf.stdout).terraform_version.split('.').map(Number);
  if (v[0] < 1 || (v[0] === 1 && v[1] < 5)) fail(`terraform ${v.join('.')} is too old (need >= 1.5)`, tfFix);
} catch {
  // Unparseable version output: let terraform itself complain later.
}

// Debian packages: curl (the demo uses it as a user would), haproxy (EdgeLB's
// data plane). Installed when root, else the exact command is printed.
function ensureDebianPackage(command, pkg) {
  if (!run('sh', ['-c', `command -v ${command}`]).status) return;
  if (process.getuid?.() === 0 && existsSync('/usr/bin/apt-get')) {
    process.stderr.write(`preflight: installing ${pkg} (apt-get)…\n`);
    const r = run('sh', ['-c', `apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq ${pkg}`], { stdio: 'inherit' });
    if (r.status === 0) return;
  }
  fail(`${command} is not installed`, `sudo apt-get install -y ${pkg}`);
}
if (purpose === 'demo' || purpose === 'soak') ensureDebianPackage('curl', 'curl');
ensureDebianPackage('haproxy', 'haproxy');
// promtool: the suites check sip agent's Prometheus alert rules with it.
if (purpose === 'test') ensureDebianPackage('promtool', 'prometheus');
// nftables: sip agent closes the metadata service to tasks (endpoint mode) with it; only root can.
if (process.getuid?.() === 0) ensureDebianPackage('nft', 'nftables');
// faketime: the soak (run by npm test too) steps the cluster's clock with libfaketime.
if (purpose === 'soak' || purpose === 'test') ensureDebianPackage('faketime', 'faketime');

// A Docker engine for the Docker suites (binapp's image, DOCKER apps): started
// here when root, loopback only (no bridge, no iptables); else the command.
const DOCKERD = 'dockerd --bridge=none --iptables=false --ip-masq=false';
const engine = () => run('docker', ['version', '--format', '{{.Server.Version}}']).status === 0;
if (purpose === 'test' && !engine()) {
  ensureDebianPackage('dockerd', 'docker.io');
  if (process.getuid?.() !== 0) fail('no Docker engine answers', `sudo sh -c '${DOCKERD} >/var/log/sip-dockerd.log 2>&1 &'`);
  process.stderr.write(`preflight: starting the Docker engine (${DOCKERD})…\n`);
  run('sh', ['-c', `nohup ${DOCKERD} >/tmp/sip-dockerd.log 2>&1 &`]);
  const until = Date.now() + 30_000;
  while (!engine() && Date.now() < until) run('sleep', ['0.5']);
  if (!engine()) fail('the Docker engine did not start (see /tmp/sip-dockerd.log)', `${DOCKERD} &`);
}

process.stderr.write(`preflight: ok for ${purpose} (node ${process.versions.node}, moto ${moto.stdout.trim()}, terraform found)\n`);
