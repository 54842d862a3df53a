import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createAgentHandler } from '@secure-instance-profiles/framework-plugin/delivery/endpoint';
import { createLogger } from '@secure-instance-profiles/framework-plugin/log';

// How operators deploy and watch sip agent (marathon/sip-agent/): the systemd
// units for DC/OS and for open-source Mesos pass systemd's own checks, use
// only options sip agent has, and keep their hardening; the alert rules pass
// promtool (syntax and their unit tests); the rules and the Grafana dashboard
// name only metrics the agent exports.

const DIR = fileURLToPath(new URL('../../marathon/sip-agent/', import.meta.url));
const MARATHON_DIR = fileURLToPath(new URL('../../marathon/', import.meta.url));
const SIP = fileURLToPath(new URL('../../framework-plugin/bin/sip.mjs', import.meta.url));
/** Each unit, the sip command it runs. */
const UNITS = [
  { unit: 'sip-agent/sip-agent-dcos.service', command: 'agent' },
  { unit: 'sip-agent/sip-agent-mesos.service', command: 'agent' },
  { unit: 'sip-server/sip-server-dcos.service', command: 'server' },
  { unit: 'sip-server/sip-server-mesos.service', command: 'server' },
] as const;
const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

test('the systemd units (sip agent, sip server) pass systemd-analyze verify, keep their hardening and pass only options the command has', () => {
  const optionsOf = (command: string): Set<string> => {
    const usage = spawnSync(process.execPath, [SIP, command, '--help'], { encoding: 'utf8' });
    return new Set([...(usage.stdout + usage.stderr).matchAll(/--[a-z][a-z-]+/g)].map((m) => m[0]));
  };
  const work = mkdtempSync(join(tmpdir(), 'sip-units-'));
  try {
    for (const { unit: path, command } of UNITS) {
      const known = optionsOf(command);
      assert.ok(known.has('--marathon-url') && known.has('--service-account'), `sip ${command} --help lists the options`);
      const unit = path.split('/')[1]!;
      const text = readFileSync(join(MARATHON_DIR, path), 'utf8');
      const flags = [...(/ExecStart=[\s\S]*?'\n/.exec(text)?.[0] ?? '').matchAll(/ (--[a-z][a-z-]+)/g)].map((m) => m[1]!);
      assert.ok(flags.includes('--marathon-url'), `${unit} names Marathon`);
      for (const f of flags) assert.ok(known.has(f), `${unit}: ${f} is an option of sip ${command}`);
      for (const directive of [
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        'ProtectHome=yes',
        'PrivateTmp=yes',
        'CapabilityBoundingSet=',
        'RestrictAddressFamilies=',
        'MemoryMax=',
        'LoadCredential=',
        'LimitNOFILE=',
      ]) {
        assert.match(text, directive, `${unit} has ${directive}`);
      }
      assert.not.match(text, /127\.0\.0\.1:5051|127\.0\.0\.1:8080/, `${unit} assumes no loopback Mesos or Marathon`);
      if (command === 'agent') assert.match(text, /--metrics-listen unix:/, `${unit}: metrics only root can read`);
      else {
        assert.match(text, /--ca-key "\$\$\{CREDENTIALS_DIRECTORY\}\/ca\.key"/, `${unit}: the CA's key handed over by systemd`);
        assert.match(text, 'DynamicUser=yes', `${unit}: the server runs as no one in particular`);
      }
      if (!has('systemd-analyze')) {
        process.stdout.write(`\n  NOT CHECKED (no systemd-analyze): systemd-analyze verify ${unit}\n`);
        continue;
      }
      // verify checks that ExecStart's program exists: /bin/sh here; node's own path stands in for /usr/bin/node.
      const copy = join(work, unit);
      writeFileSync(copy, text.replaceAll('/usr/bin/node', process.execPath));
      const v = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
      assert.is(v.status, 0, `systemd-analyze verify ${unit}: ${v.stderr}`);
      const sec = spawnSync('systemd-analyze', ['security', '--offline=yes', copy], { encoding: 'utf8' });
      const level = Number(/Overall exposure level for \S+: ([\d.]+)/.exec(sec.stdout)?.[1]);
      assert.ok(level > 0 && level <= 3, `${unit}: systemd-analyze security exposure ${level} (README quotes it)`);
    }
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});

test('the Prometheus alert rules pass promtool check and their unit tests', () => {
  if (!has('promtool')) return void process.stdout.write('\n  NOT CHECKED (no promtool; apt-get install prometheus): the alert rules\n');
  const check = spawnSync('promtool', ['check', 'rules', 'sip-agent.rules.yml'], { cwd: DIR, encoding: 'utf8' });
  assert.is(check.status, 0, check.stdout + check.stderr);
  const unit = spawnSync('promtool', ['test', 'rules', 'sip-agent.rules.test.yml'], { cwd: DIR, encoding: 'utf8' });
  assert.is(unit.status, 0, unit.stdout + unit.stderr);
});

test('the rules and the Grafana dashboard name only metrics sip agent exports', async () => {
  const handler = createAgentHandler({
    locator: { taskIds: async () => [], locate: async () => Promise.reject(new Error('unused')) },
    roles: { roleFor: async () => Promise.reject(new Error('unused')), forgetTask: () => undefined, tasks: () => new Set() },
    cache: {
      get: async () => Promise.reject(new Error('unused')),
      forgetTask: () => undefined,
      tasks: () => new Set(),
      stats: () => ({ entries: 0, hits: 0, stsCalls: 0, stsFailures: 0 }),
    },
    logger: createLogger({ name: 'deploy-test', level: 'silent' }),
  });
  const exported = new Set((await handler.registry.getMetricsAsJSON()).map((m) => m.name));
  const rules = readFileSync(join(DIR, 'sip-agent.rules.yml'), 'utf8');
  const dashboard = JSON.parse(readFileSync(join(DIR, 'sip-agent.dashboard.json'), 'utf8')) as { panels: Array<{ targets: Array<{ expr: string }> }> };
  const recorded = new Set([...rules.matchAll(/- record: (\S+)/g)].map((m) => m[1]!));
  const exprs = [...[...rules.matchAll(/expr: (.+)/g)].map((m) => m[1]!), ...dashboard.panels.flatMap((p) => p.targets.map((t) => t.expr))];
  assert.ok(dashboard.panels.length >= 6);
  for (const expr of exprs) {
    for (const [name] of expr.matchAll(/sip_agent[a-z_:0-9]*/g)) {
      if (recorded.has(name)) continue;
      const base = name.replace(/_(bucket|sum|count)$/, '');
      assert.ok(exported.has(base), `${name} (in "${expr}") is a metric sip agent exports`);
    }
  }
});

test.run();
