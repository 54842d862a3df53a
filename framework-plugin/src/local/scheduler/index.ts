/**
 * The local cluster's scheduler: keeps Marathon apps running as local
 * processes with their secrets, as a Mesos agent + Marathon would.
 * @packageDocumentation
 */
export { createLocalCluster, type LocalCluster, type LocalClusterInit } from './localCluster.js';
