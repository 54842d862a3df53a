#!/usr/bin/env node
// Runs binapp from its TypeScript sources (tsx), so the same command works in
// a checkout, in a Marathon task and in the Docker image.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
