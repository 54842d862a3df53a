import { parseArgs } from 'node:util';
import { SipError } from '../core/errors/SipError.js';
import { createEdgeLbClient, EdgeLbApiError } from '../clients/edgelb/client.js';
import { acsTokenOf, readClusterInfo, stateDirOf } from './clusterState.js';
import { ExitCode, readInput, UsageError, type CliIo } from './io.js';

/** Usage of `sip edgelb`. */
export const EDGELB_USAGE = `usage: sip edgelb <command> [NAME|FILE] [options]   (like 'dcos edgelb')

  create FILE      create a pool from an Edge-LB V2 pool JSON file ('-' = stdin)
  update FILE      replace the pool named in FILE
  delete NAME      delete a pool (its frontends stop listening)
  show [NAME]      print a pool's config (all pools without NAME)
  list             list pool names
  status NAME      frontends and servers as HAProxy sees them (Auto Pools too, e.g. auto-default)
  lb-config NAME   the HAProxy config a pool renders to
  ping             check that Edge-LB answers

options:
  --json               machine-readable output
  --edgelb-url URL     Edge-LB API (default: the local cluster's; on DC/OS https://<cluster>/service/edgelb)
  --token TOKEN        ACS token (default: $SIP_ACS_TOKEN, else the local cluster's)
  --state-dir DIR      local cluster state (default: $SIP_STATE_DIR, else .state)

exit codes: 0 done, 1 failed, 2 usage error, 3 invalid pool, 4 pool exists, 5 pool not found`;

async function poolDocument(arg: string | undefined, io: CliIo): Promise<unknown> {
  const text = await readInput(arg, io, 'give a pool FILE or pipe it on stdin', 'SIP_EDGELB_POOL_INVALID');
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new EdgeLbApiError(400, { problems: [{ path: '(root)', message: `not JSON (${(err as Error).message})` }] }, 'read pool');
  }
}

/**
 * `sip edgelb …`, mirroring `dcos edgelb`: pools are Edge-LB V2 JSON,
 * checked by the API (path-precise problems, exit 3). Talks to the local
 * cluster's Edge-LB unless `--edgelb-url` points elsewhere.
 */
export async function edgelbCommand(argv: string[], io: CliIo): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    strict: true,
    options: { json: { type: 'boolean', default: false }, 'edgelb-url': { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' } },
  });
  const [verb, arg, ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument: ${extra[0]}`);
  const known = ['create', 'update', 'delete', 'show', 'list', 'status', 'lb-config', 'ping'];
  if (!verb || !known.includes(verb)) throw new UsageError(verb ? `unknown command: edgelb ${verb}` : 'missing command');
  if (['delete', 'status', 'lb-config'].includes(verb) && !arg) throw new UsageError(`edgelb ${verb} needs a pool NAME`);

  const stateDir = stateDirOf(values['state-dir'], io.env);
  const url = values['edgelb-url'] ?? io.env.SIP_EDGELB_URL ?? (await readClusterInfo(stateDir))?.edgelbApiUrl;
  if (!url)
    throw new SipError('SIP_EDGELB_UNREACHABLE', 'no Edge-LB to talk to: start the local cluster (sip cluster up) or pass --edgelb-url', { expose: true });
  const token = await acsTokenOf(values.token, io.env, stateDir);
  if (!token) throw new UsageError('no ACS token: pass --token or set $SIP_ACS_TOKEN');
  const client = createEdgeLbClient({ url, token });
  const out = (s: string): void => void io.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
  const json = (v: unknown): void => out(JSON.stringify(v, null, values.json ? 0 : 2));

  switch (verb) {
    case 'ping':
      out(await client.ping());
      break;
    case 'create': {
      const pool = await client.createPool(await poolDocument(arg, io));
      if (values.json) json(pool);
      else out(`created pool ${pool.name}`);
      break;
    }
    case 'update': {
      const doc = await poolDocument(arg, io);
      const name = String((doc as { name?: unknown })?.name ?? '');
      if (!name) throw new EdgeLbApiError(400, { problems: [{ path: 'name', message: 'is required' }] }, 'update pool');
      const pool = await client.updatePool(name, doc);
      if (values.json) json(pool);
      else out(`updated pool ${pool.name}`);
      break;
    }
    case 'delete':
      await client.deletePool(arg!);
      out(values.json ? JSON.stringify({ deleted: arg }) : `deleted pool ${arg}`);
      break;
    case 'show':
      json(arg ? await client.getPool(arg) : await client.listPools());
      break;
    case 'list': {
      const pools = await client.listPools();
      if (values.json) json(pools.map((p) => p.name));
      else out(pools.length ? pools.map((p) => p.name).join('\n') : 'no pools');
      break;
    }
    case 'lb-config':
      out(await client.lbConfig(arg!));
      break;
    case 'status': {
      const s = await client.poolStatus(arg!);
      if (values.json) json(s);
      else
        out(
          [
            `pool ${s.name} (${s.source === 'auto' ? 'Auto Pool from labels' : 'Pool API'})`,
            ...s.frontends.map((f) => `  frontend ${f.name}  ${f.protocol}  ${f.bind}`),
            ...s.backends.flatMap((b) => [
              `  backend ${b.name}  ${b.servers.length} server(s)`,
              ...b.servers.map((sv) => `    ${sv.name}  ${sv.address}  ${sv.status}`),
            ]),
          ].join('\n'),
        );
      break;
    }
  }
  return ExitCode.ok;
}
