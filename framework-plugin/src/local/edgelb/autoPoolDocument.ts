import type { V2Pool } from '../../clients/edgelb/types.js';
import type { Pool } from './pool.js';

/**
 * An Auto Pool as the Pool API lists it (`dcos edgelb list|show`): the V2
 * document Edge-LB's autopool framework would have created from the apps'
 * labels, with `autoCreate: true`. Read-only: it follows the labels.
 */
export function autoPoolDocument(pool: Pool): V2Pool {
  return {
    apiVersion: 'V2',
    name: pool.name,
    namespace: 'dcos-edgelb/pools',
    count: 1,
    autoCreate: true,
    haproxy: {
      frontends: pool.frontends.map((f) => ({
        bindAddress: f.bindAddress,
        bindPort: f.bindPort,
        protocol: f.protocol,
        linkBackend: {
          ...(f.defaultBackend ? { defaultBackend: f.defaultBackend } : {}),
          map: f.rules.map((r) => ({ ...r })),
        },
      })),
      backends: pool.backends.map((b) => ({
        name: b.name,
        protocol: b.protocol,
        balance: b.balance,
        services: b.servers.map((s) => ({ endpoint: { type: 'ADDRESS', address: s.host, port: s.port } })),
      })),
    },
  } as unknown as V2Pool;
}
