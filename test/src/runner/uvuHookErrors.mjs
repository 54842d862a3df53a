// Loaded with --import into every test process the runner starts. uvu 0.5
// swallows an error thrown by a before/after hook (its runner returns from a
// `finally`): the file then exits 0 with "Passed: 0" and no cause anywhere.
// This registers a load hook that rewrites uvu's hook loops so such an error
// is printed with its stack and the process exits non-zero.
import { register } from 'node:module';

register(new URL('./uvuHookErrorsLoader.mjs', import.meta.url));
