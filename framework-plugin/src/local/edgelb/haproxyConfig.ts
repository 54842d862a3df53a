import { SipError } from '../../core/errors/SipError.js';
import { hasControl } from './schema/grammar.js';
import type { Pool, PoolBackend, PoolFrontend } from './pool.js';
import type { Rule } from './labels.js';

/** Where the rendered HAProxy listens for its own use. */
export interface HaproxyRuntime {
  /** Admin socket (runtime API, `expose-fd listeners` for seamless reloads). */
  readonly statsSocket: string;
  /** Loopback port of the stats frontend (`monitor-uri /_haproxy_health_check`). */
  readonly statsPort: number;
}

const escapeRegex = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
/**
 * A regular expression as one HAProxy word: single-quoted, where HAProxy
 * interprets nothing (no backslash escapes, no `$VAR`, no `#` comment). The
 * grammar refuses single quotes in regexes, so the quoting cannot be closed.
 */
const quoted = (re: string): string => `'${re}'`;
const safeName = (s: string): string => s.replace(/[^A-Za-z0-9_.:-]/g, '_');

/** One `{ fetch pattern }` block per condition; juxtaposed blocks are ANDed by HAProxy. */
function conditions(rule: Rule): string {
  const c: string[] = [];
  if (rule.hostEq) c.push(`{ req.hdr(host) -i -m reg ${quoted(`^${escapeRegex(rule.hostEq)}(:.*)?$`)} }`);
  if (rule.hostReg) c.push(`{ req.hdr(host) -i -m reg ${quoted(rule.hostReg)} }`);
  if (rule.pathBeg) c.push(`{ path_beg ${rule.pathBeg} }`);
  if (rule.pathEnd) c.push(`{ path_end ${rule.pathEnd} }`);
  if (rule.pathReg) c.push(`{ path_reg ${quoted(rule.pathReg)} }`);
  return c.join(' ');
}

function frontend(f: PoolFrontend): string[] {
  // Misc text (bindModifier, miscStrs, httpchk; Pool API only) goes in as written: the final check refuses control characters.
  const lines = [
    `frontend ${safeName(f.name)}`,
    `  bind ${f.bindAddress}:${f.bindPort}${f.bindModifier ? ` ${f.bindModifier}` : ''}`,
    `  mode ${f.protocol === 'TCP' ? 'tcp' : 'http'}`,
  ];
  if (f.protocol === 'HTTP') lines.push('  option forwardfor', '  http-request set-header X-Forwarded-Port %[dst_port]');
  for (const m of f.miscStrs ?? []) lines.push(`  ${m}`);
  for (const r of f.rules) {
    const cond = conditions(r);
    lines.push(cond ? `  use_backend ${safeName(r.backend)} if ${cond}` : `  default_backend ${safeName(r.backend)}`);
  }
  if (f.defaultBackend) lines.push(`  default_backend ${safeName(f.defaultBackend)}`);
  return lines;
}

function backend(b: PoolBackend): string[] {
  const lines = [`backend ${safeName(b.name)}`, `  mode ${b.protocol === 'TCP' ? 'tcp' : 'http'}`, `  balance ${b.balance}`];
  if (b.rewritePath) {
    // `/a` → `/`: `/a/x` → `/x`, `/a` → `/`; `/a/` → `/b/`: `/a/x` → `/b/x`.
    const from = escapeRegex(b.rewritePath.fromPath.replace(/\/$/, ''));
    const to = b.rewritePath.toPath.endsWith('/') ? b.rewritePath.toPath : `${b.rewritePath.toPath}/`;
    lines.push(`  http-request replace-path ${quoted(`^${from}/?(.*)$`)} ${quoted(`${to}\\1`)}`);
  }
  if (b.hostHeader) lines.push(`  http-request set-header Host ${b.hostHeader}`);
  if (b.httpchk !== undefined) lines.push(`  option httpchk${b.httpchk ? ` ${b.httpchk}` : ''}`);
  if (b.sticky) lines.push(`  cookie ${b.sticky}`);
  for (const m of b.miscStrs ?? []) lines.push(`  ${m}`);
  for (const s of b.servers) {
    const extra = [b.sticky ? `cookie ${safeName(s.name)}` : '', s.check ? 'check' : '', s.miscStr ? s.miscStr : ''].filter(Boolean).join(' ');
    lines.push(`  server ${safeName(s.name)} ${s.host}:${s.port}${extra ? ` ${extra}` : ''}`);
  }
  return lines;
}

/**
 * Renders a pool as `haproxy.cfg`: global section with the admin socket,
 * sane timeouts, a stats frontend with `monitor-uri /_haproxy_health_check`,
 * one frontend per bind port (rules in order, `use_backend … if { … }`), and
 * one backend per group with a server per running, healthy task. A request
 * that matches no rule gets HAProxy's 503.
 */
export function renderHaproxyConfig(pool: Pool, runtime: HaproxyRuntime): string {
  const lines = [
    `# pool ${pool.name}: rendered by secure-instance-profiles; do not edit`,
    'global',
    '  maxconn 4096',
    `  stats socket ${runtime.statsSocket} mode 600 level admin expose-fd listeners`,
    '  log stdout format raw local0 notice',
    '',
    'defaults',
    '  mode http',
    '  log global',
    '  option dontlognull',
    '  option redispatch',
    '  retries 2',
    '  timeout connect 5s',
    '  timeout client 60s',
    '  timeout server 60s',
    '  timeout http-request 15s',
    '  timeout http-keep-alive 5s',
    '  timeout queue 30s',
    '',
    'frontend stats',
    `  bind 127.0.0.1:${runtime.statsPort}`,
    '  mode http',
    '  monitor-uri /_haproxy_health_check',
    '  stats enable',
    '  stats uri /haproxy?stats',
    '',
  ];
  for (const f of pool.frontends) lines.push(...frontend(f), '');
  for (const b of pool.backends) lines.push(...backend(b), '');
  // The last guard: whatever field a future change forgets to check, no value
  // with a control character can add a line to the config.
  const bad = lines.findIndex(hasControl);
  if (bad >= 0)
    throw new SipError('SIP_HAPROXY_CONFIG_INVALID', `a value with a control character reached line ${bad + 1} of the HAProxy config; nothing was rendered`);
  return `${lines.join('\n')}`;
}
