import type { AppDefinition } from './appDefinition.js';

/** Marathon's service-port range (`local_port_min`..`local_port_max`). */
export const SERVICE_PORT_RANGE = { from: 10000, to: 20000 } as const;

/** Why ports could not be assigned. */
export interface PortProblem {
  readonly kind: 'conflict' | 'exhausted';
  /** JSON pointer of the offending port (conflicts). */
  readonly path?: string;
  readonly message: string;
}
const EXHAUSTED: PortProblem = { kind: 'exhausted', message: `no service port left in ${SERVICE_PORT_RANGE.from}-${SERVICE_PORT_RANGE.to}` };

/** What Marathon gives a host-networked app that declares no ports: one port named `default`. */
const DEFAULT_PORT_DEFINITIONS = [{ port: 0, protocol: 'tcp', name: 'default' }];

/** The service ports an app holds (port definitions, else container port mappings). */
export function servicePortsOf(app: AppDefinition): number[] {
  if (app.portDefinitions) return app.portDefinitions.map((p) => p.port ?? 0);
  return (app.container?.portMappings ?? []).map((p) => p.servicePort ?? 0);
}

/**
 * Marathon's port normalisation, pure: an app without `portDefinitions` and
 * without container port mappings gets the default port definition, and every
 * service port 0 gets a cluster-wide unique one from {@link SERVICE_PORT_RANGE}
 * (`taken` holds the other apps' ports). On an update, a port 0 keeps the
 * service port the previous version had at the same index.
 * A port asked for explicitly must be free: another app's, or twice in one
 * app, is a conflict.
 * @returns the app with its ports filled in, or the problem (a conflict with its path, or the range exhausted).
 */
export function assignServicePorts<T extends AppDefinition>(app: T, taken: ReadonlySet<number>, previous?: AppDefinition): { ok: true; app: T } | { ok: false; problem: PortProblem } {
  const used = new Set(taken);
  const mappingsGiven = !app.portDefinitions && (app.container?.portMappings?.length ?? 0) > 0;
  const explicit = mappingsGiven ? (app.container?.portMappings ?? []).map((m) => m.servicePort ?? 0) : (app.portDefinitions ?? []).map((d) => d.port ?? 0);
  const seen = new Set<number>();
  for (const [i, p] of explicit.entries()) {
    if (p <= 0) continue;
    const path = mappingsGiven ? `/container/portMappings/${i}/servicePort` : `/portDefinitions/${i}/port`;
    if (taken.has(p)) return { ok: false, problem: { kind: 'conflict', path, message: `service port ${p} is already used by another app` } };
    if (seen.has(p)) return { ok: false, problem: { kind: 'conflict', path, message: `service port ${p} is given twice` } };
    seen.add(p);
    used.add(p);
  }
  const before = previous ? servicePortsOf(previous) : [];
  const next = (i: number): number | undefined => {
    const kept = before[i];
    if (kept && !used.has(kept)) return kept;
    for (let p = SERVICE_PORT_RANGE.from; p <= SERVICE_PORT_RANGE.to; p++) if (!used.has(p)) return p;
    return undefined;
  };
  const fill = (port: number | undefined, i: number): number | undefined => {
    const p = port && port > 0 ? port : next(i);
    if (p !== undefined) used.add(p);
    return p;
  };
  const mappings = app.container?.portMappings;
  if (!app.portDefinitions && mappings && mappings.length > 0) {
    const filled = mappings.map((m, i) => ({ ...m, servicePort: fill(m.servicePort, i) }));
    if (filled.some((m) => m.servicePort === undefined)) return { ok: false, problem: EXHAUSTED };
    return { ok: true, app: { ...app, container: { ...app.container!, portMappings: filled } } };
  }
  const defs = app.portDefinitions ?? DEFAULT_PORT_DEFINITIONS;
  const filled = defs.map((d, i) => ({ ...d, port: fill(d.port, i) }));
  if (filled.some((d) => d.port === undefined)) return { ok: false, problem: EXHAUSTED };
  return { ok: true, app: { ...app, portDefinitions: filled as NonNullable<AppDefinition['portDefinitions']> } };
}
