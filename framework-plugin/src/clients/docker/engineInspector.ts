import { request } from 'node:http';

/** Docker's view of a container (the Docker containerizer's tasks). */
export interface DockerInspector {
  /** The container's name (without `/`) and labels; undefined when Docker does not know it. */
  inspect(dockerId: string): Promise<{ name: string; labels: Readonly<Record<string, string>> } | undefined>;
}

/**
 * Reads a container's name and labels from the Docker Engine API over its
 * Unix socket (`GET /containers/<id>/json`; read-only use). Undefined when
 * Docker does not know the container or cannot be asked.
 */
export function createDockerInspector(socketPath = '/var/run/docker.sock', timeoutMs = 2000): DockerInspector {
  return {
    inspect(dockerId) {
      if (!/^[0-9a-f]{12,64}$/.test(dockerId)) return Promise.resolve(undefined);
      return new Promise((resolve) => {
        const req = request({ socketPath, path: `/containers/${dockerId}/json`, method: 'GET', timeout: timeoutMs }, (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d: string) => {
            text += d;
            if (text.length > 4 * 1024 * 1024) req.destroy();
          });
          res.on('end', () => {
            if (res.statusCode !== 200) return resolve(undefined);
            try {
              const j = JSON.parse(text) as { Name?: unknown; Config?: { Labels?: Record<string, string> | null } };
              resolve(typeof j.Name === 'string' ? { name: j.Name.replace(/^\//, ''), labels: j.Config?.Labels ?? {} } : undefined);
            } catch {
              resolve(undefined);
            }
          });
        });
        req.once('timeout', () => req.destroy());
        req.once('error', () => resolve(undefined));
        req.end();
      });
    },
  };
}
