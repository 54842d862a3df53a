import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { authorizeSecret } from '../src/core/authz/secretPathRule.js';

// The DC/OS docs' table plus the edge cases the docs leave open.
const TABLE: Array<[secret: string, app: string, allowed: boolean]> = [
  ['group/secret', '/marathon-user/service', false],
  ['group/secret', '/group/hdfs/service', true],
  ['group/hdfs/secret', '/group/spark/service', false],
  ['hdfs/secret', '/hdfs', true],
  ['instance-profile-app/aws-config', '/instance-profile-app', true],
  ['instance-profile-app/aws-config', '/other-app', false],
  ['/instance-profile-app/aws-config', '/instance-profile-app', true],
  ['instance-profile-app/aws-config', 'instance-profile-app', true],
  ['a/b/x', '/a/bc/app', false],
  ['a/b/x', '/a/b', true],
  ['a/b/x', '/a/b/c/app', true],
  ['a/b/x', '/a', false],
  ['a/b/x', '/ab/app', false],
  ['mysecret', '/any/app/at/all', true],
  ['/mysecret', '/x', true],
  ['a//b/x', '/a/b/app', true],
  ['a/../b/x', '/a/b/app', false],
  ['', '/app', false],
];

test('the DC/OS spaces table and its edge cases', () => {
  for (const [secret, app, allowed] of TABLE) {
    const d = authorizeSecret(app, secret);
    assert.is(d.allow, allowed, `${app} reading ${secret}: ${d.reason}`);
    assert.ok(d.reason.length > 0);
  }
});

test('a denial names the app and the namespace', () => {
  const d = authorizeSecret('/other-app', 'instance-profile-app/aws-config');
  assert.equal(d, { allow: false, reason: "app /other-app is not under the secret's namespace /instance-profile-app" });
});

// Property-style: over generated ids and paths, the decision equals the
// segment-prefix definition, and prefix tricks never pass.
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => (s = (s * 1664525 + 1013904223) >>> 0) / 2 ** 32;
}
const ALPHABET = ['a', 'b', 'ab', 'ba', 'a-b', 'app', 'apps', 'x1'];

test('property: allowed ⇔ the namespace segments are a prefix of the app id segments', () => {
  const r = rng(42);
  const pick = (): string => ALPHABET[Math.floor(r() * ALPHABET.length)] ?? 'a';
  const segs = (max: number): string[] => Array.from({ length: 1 + Math.floor(r() * max) }, pick);
  for (let i = 0; i < 5000; i++) {
    const app = segs(4);
    const secret = segs(4);
    const ns = secret.slice(0, -1);
    const expected = ns.length === 0 || (ns.length <= app.length && ns.every((s, j) => s === app[j]));
    const d = authorizeSecret(`/${app.join('/')}`, secret.join('/'));
    assert.is(d.allow, expected, `/${app.join('/')} reading ${secret.join('/')}`);
    // A string-prefix lookalike app (namespace + suffix glued onto the last segment) is never allowed.
    if (ns.length > 0) {
      const lookalike = `/${ns.join('/')}x/${pick()}`;
      assert.is(authorizeSecret(lookalike, secret.join('/')).allow, false, `${lookalike} reading ${secret.join('/')}`);
    }
  }
});

test.run();
