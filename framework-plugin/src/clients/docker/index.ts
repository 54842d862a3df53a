/**
 * The Docker Engine's view of a container (read-only), for the Docker containerizer's tasks.
 * @packageDocumentation
 */
export { createDockerInspector, type DockerInspector } from './engineInspector.js';
