/**
 * The embedded AWS emulator: moto with IAM enforcement and an EC2 metadata
 * endpoint, for tests, the demo and the local cluster.
 * @packageDocumentation
 */
export { startEmulator, type Emulator, type EmulatorInit, type InstanceMetadataInit } from './startEmulator.js';
export { startMotoServer, type MotoServer, type MotoServerInit } from './motoServer.js';
export { startImdsServer, type ImdsServer, type ImdsServerInit } from './imdsServer.js';
export { agentRoleCredentials, type AgentRoleCredentialsInit, type CredentialSource } from './agentRoleCredentials.js';
export type { AwsCredentials, EmulatorIdentity } from './credentials.js';
export { openEmulator, emulatorConfig, localstackAvailability, type OpenedEmulator, type EmulatorKind, type EmulatorConfig } from './openEmulator.js';
