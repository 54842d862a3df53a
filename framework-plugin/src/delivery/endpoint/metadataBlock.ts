import { isIP } from 'node:net';
import { SipError } from '../../core/errors/SipError.js';

/** The EC2 instance metadata service: IPv4 and the Nitro IPv6 address. */
export const METADATA_ADDRESSES: readonly MetadataTarget[] = [{ host: '169.254.169.254' }, { host: 'fd00:ec2::254' }];

/** An address (and port, where it is not the whole host) of the metadata service. */
export interface MetadataTarget {
  readonly host: string;
  readonly port?: number;
}

/** Whose sockets may not reach the metadata service. */
export interface TaskMatch {
  /** Uid ranges of Mesos tasks (`meta skuid`). */
  readonly uids: readonly { min: number; max: number }[];
  /**
   * Mesos's net_cls primary handle (`--cgroups_net_cls_primary_handle`, 16
   * bits): every container's classid is `primary:secondary`
   * (`meta cgroup`, cgroup v1's net_cls).
   */
  readonly netClsPrimaryHandle?: number;
}

/** What `sip agent --block-metadata` installs. */
export interface MetadataBlockSpec {
  /** The nftables table (family `inet`) it owns: replaced whole, removed whole. */
  readonly table: string;
  readonly targets: readonly MetadataTarget[];
  readonly tasks: TaskMatch;
  /**
   * The agent's per-uid connection quota, enforced by the kernel too: a
   * uid's new connection to the agent's address beyond `maxPerUid` open ones
   * is reset before it is accepted (nftables `ct count`, conntrack), so a
   * tenant's flood of connections costs the agent nothing.
   */
  readonly connectionQuota?: { readonly host: string; readonly port: number; readonly maxPerUid: number };
}

const TABLE = /^[a-z][a-z0-9_]{0,30}$/;

/**
 * The nftables script that makes `spec` true in one transaction: it creates
 * the table if missing, deletes it, and declares it whole, so applying it
 * twice, or after a crash left an older one, ends in the same rules, and no
 * moment passes without them. A task's socket (by uid range or net_cls
 * classid) to a metadata address is rejected in `output`: tasks on the
 * host's network (Mesos's default, and DOCKER with `--network host`). Pure.
 * @throws SipError `SIP_AGENT_CONFIG_INVALID` for a bad table, address or match.
 */
export function metadataRuleset(spec: MetadataBlockSpec): string {
  if (!TABLE.test(spec.table)) throw invalid(`nftables table name ${JSON.stringify(spec.table)} is not [a-z][a-z0-9_]*`);
  if (spec.targets.length === 0) throw invalid('no metadata address to block');
  const matches: string[] = [];
  for (const r of spec.tasks.uids) {
    if (!Number.isInteger(r.min) || !Number.isInteger(r.max) || r.min < 1 || r.max < r.min || r.max > 4294967294)
      throw invalid(`task uid range ${r.min}-${r.max} must lie within 1-4294967294 (never root's)`);
    matches.push(`meta skuid ${r.min}-${r.max}`);
  }
  const handle = spec.tasks.netClsPrimaryHandle;
  if (handle !== undefined) {
    if (!Number.isInteger(handle) || handle < 1 || handle > 0xffff) throw invalid('the net_cls primary handle must be 0x0001-0xffff');
    matches.push(`meta cgroup & 0xffff0000 == 0x${handle.toString(16).padStart(4, '0')}0000`);
  }
  if (matches.length === 0) throw invalid('name the tasks whose access is blocked: their uids or Mesos net_cls primary handle');
  const rules: string[] = [];
  for (const t of spec.targets) {
    const family = isIP(t.host);
    if (family === 0) throw invalid(`metadata address ${JSON.stringify(t.host)} is not an IP address`);
    if (t.port !== undefined && !(Number.isInteger(t.port) && t.port > 0 && t.port < 65536)) throw invalid(`metadata port ${t.port} is not a port`);
    const to = `${family === 4 ? 'ip' : 'ip6'} daddr ${t.host}${t.port !== undefined ? ` tcp dport ${t.port}` : ''}`;
    const verdict = t.port !== undefined ? 'reject with tcp reset' : 'reject with icmpx type admin-prohibited';
    for (const m of matches) rules.push(`    ${to} ${m} counter ${verdict}`);
  }
  const quota = spec.connectionQuota ? quotaRule(spec.connectionQuota) : undefined;
  return [
    `table inet ${spec.table}`,
    `delete table inet ${spec.table}`,
    `table inet ${spec.table} {`,
    ...(quota ? ['  set callers {', '    typeof meta skuid; flags dynamic; size 65536;', '  }'] : []),
    '  chain output {',
    '    type filter hook output priority filter; policy accept;',
    ...rules,
    ...(quota ? [quota] : []),
    '  }',
    '}',
    '',
  ].join('\n');
}

/** The kernel's share of the per-uid connection quota: new connections to the agent beyond the quota are reset. */
function quotaRule(q: NonNullable<MetadataBlockSpec['connectionQuota']>): string {
  const family = isIP(q.host);
  if (family === 0) throw invalid(`the agent's address ${JSON.stringify(q.host)} is not an IP address`);
  if (!(Number.isInteger(q.port) && q.port > 0 && q.port < 65536)) throw invalid(`the agent's port ${q.port} is not a port`);
  if (!(Number.isInteger(q.maxPerUid) && q.maxPerUid > 0)) throw invalid(`the connection quota ${q.maxPerUid} is not a positive integer`);
  const any = q.host === '0.0.0.0' || q.host === '::';
  const to = `${any ? '' : `${family === 4 ? 'ip' : 'ip6'} daddr ${q.host} `}tcp dport ${q.port}`;
  return `    ${to} ct state new add @callers { meta skuid ct count over ${q.maxPerUid} } counter reject with tcp reset`;
}

/** The script that removes the table, whether or not it is there. Pure. */
export function metadataRulesetRemoval(table: string): string {
  if (!TABLE.test(table)) throw invalid(`nftables table name ${JSON.stringify(table)} is not [a-z][a-z0-9_]*`);
  return `table inet ${table}\ndelete table inet ${table}\n`;
}

/** Runs an nftables script (`nft -f -`). */
export type NftApply = (script: string) => Promise<void>;

/** The installed block, until removed. */
export interface MetadataBlock {
  readonly table: string;
  /** Removes the rules (idempotent). */
  remove(): Promise<void>;
}

/**
 * Installs the block before the agent serves anything; the table stays if
 * the agent dies (tasks stay cut off, never opened), and the next start
 * replaces it.
 * @throws SipError `SIP_AGENT_METADATA_BLOCK_FAILED` when nftables refuses.
 */
export async function installMetadataBlock(spec: MetadataBlockSpec, nft: NftApply): Promise<MetadataBlock> {
  const script = metadataRuleset(spec);
  await nft(script).catch((err: unknown) => {
    throw new SipError('SIP_AGENT_METADATA_BLOCK_FAILED', `nftables refused the metadata block (table inet ${spec.table}): ${(err as Error).message}`, {
      expose: true,
    });
  });
  let removed = false;
  return {
    table: spec.table,
    async remove() {
      if (removed) return;
      removed = true;
      await nft(metadataRulesetRemoval(spec.table));
    },
  };
}

function invalid(message: string): SipError {
  return new SipError('SIP_AGENT_CONFIG_INVALID', message, { expose: true });
}
