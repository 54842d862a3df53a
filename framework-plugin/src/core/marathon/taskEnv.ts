import type { AppDefinition } from './appDefinition.js';

/**
 * The environment Mesos/Marathon give a task: the agent's environment, the
 * app's plain `env`, its secret env values, and `MESOS_SANDBOX`,
 * `MARATHON_APP_ID`, `MARATHON_APP_VERSION`, `MESOS_TASK_ID`, `HOST`,
 * `PORT0..n`, `PORT`, `PORTS`, `PORT_<NAME>`, `MARATHON_APP_LABEL_<NAME>`.
 */
export function taskEnv(
  app: AppDefinition,
  version: string,
  taskId: string,
  sandbox: string,
  host: string,
  ports: readonly number[],
  agentEnv: Record<string, string>,
  secretEnv: Readonly<Record<string, string>>,
): Record<string, string> {
  const env: Record<string, string> = { ...agentEnv };
  for (const [k, v] of Object.entries(app.env)) if (typeof v === 'string') env[k] = v;
  Object.assign(env, secretEnv);
  env.MESOS_SANDBOX = sandbox;
  env.MARATHON_APP_ID = app.id;
  env.MARATHON_APP_VERSION = version;
  env.MESOS_TASK_ID = taskId;
  env.HOST = host;
  const names = app.portDefinitions?.map((p) => p.name) ?? app.container?.portMappings?.map((p) => p.name) ?? [];
  ports.forEach((p, i) => {
    env[`PORT${i}`] = String(p);
    const name = names[i];
    if (name) env[`PORT_${name.toUpperCase().replace(/[^A-Z0-9]/g, '_')}`] = String(p);
  });
  if (ports[0] !== undefined) env.PORT = String(ports[0]);
  env.PORTS = ports.join(',');
  for (const [k, v] of Object.entries(app.labels)) {
    const name = k.toUpperCase().replace(/[^A-Z0-9]/g, '_');
    if (name) env[`MARATHON_APP_LABEL_${name}`] = v;
  }
  return env;
}
