// Module load hook (see uvuHookErrors.mjs): patches uvu/dist/index.mjs as it loads.
const REPORT = `
function __sipHookFailed(kind, suite, err) {
  process.exitCode = 1;
  const where = suite ? \` in suite "\${suite}"\` : '';
  process.stdout.write(\`\\n   FAIL  \${kind} hook\${where} threw: \${err && err.stack || err}\\n\`);
}
async function __sipHook(kind, suite, hook, state) {
  try { await hook(state); } catch (err) { __sipHookFailed(kind, suite, err); throw err; }
}
`;

export async function load(url, context, nextLoad) {
  const result = await nextLoad(url, context);
  if (!/\/uvu\/dist\/index\.mjs$/.test(url)) return result;
  let source = String(result.source);
  const patched = source
    .replace('for (hook of before) await hook(state);', "for (hook of before) await __sipHook('before', name, hook, state);")
    .replace('for (hook of after) await hook(state);', "for (hook of after) await __sipHook('after', name, hook, state);");
  if (patched === source) throw new Error('uvuHookErrors: uvu changed; the hook-error patch no longer applies');
  source = REPORT + patched;
  return { ...result, source, shortCircuit: true };
}
