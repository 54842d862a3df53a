import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSharedConfigFiles } from '@smithy/core/config';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseProfiles } from '../src/core/awsconfig/parseProfiles.js';

// core/ parses AWS configs on a string (no temp files); the AWS SDK's loader
// reads files. Both must read every text the same way: the texts below, and
// a few thousand made of the pieces the SDK's parser treats specially.

const dir = mkdtempSync(join(tmpdir(), 'sip-profiles-'));

async function sdk(text: string): Promise<unknown> {
  const file = join(dir, 'config');
  writeFileSync(file, text);
  return (await loadSharedConfigFiles({ configFilepath: file, filepath: join(dir, 'none'), ignoreCache: true })).configFile;
}
const ours = (text: string): unknown => {
  try {
    return parseProfiles(text);
  } catch {
    return {}; // the SDK swallows a refused file whole
  }
};

const TEXTS = [
  '[default]\nrole_arn = arn:aws:iam::123456789012:role/sip-apps/x\nexternal_id = abc\ncredential_source = Ec2InstanceMetadata\n',
  '[profile app]\r\nrole_arn=arn\r\nexternal_id = a#b ; not a comment\r\n',
  '[default]\nexternal_id = one # a comment\nregion = us-east-1;not\n',
  '[profile "quoted"]\nkey = v\n[profile \'single\']\nk = v\n[profile bad name here]\nk = v\n',
  '[sso-session s]\nsso_region = eu-west-1\n[services dev]\ns3 =\n  endpoint_url = http://x\nk = v\n',
  '[default]\ns3 =\n  max_concurrent_requests = 20\n  addressing_style = path\nregion = eu-west-1\n',
  '[__proto__]\nk = v\n',
  '[profile __proto__]\nk = v\n',
  '[default]\n=novalue\nnoequals\n  [ default ]  \nk = v\n',
  'k = before any section\n[default]\n[default]\na = 1\n[default]\nb = 2\n',
  '[profile default]\nrole_arn = from-profile-default\n[default]\nrole_arn = from-default\n',
];

test('the SDK and core read every fixture the same', async () => {
  for (const t of TEXTS) assert.equal(ours(t), await sdk(t), JSON.stringify(t));
});

test('the SDK and core read 3,000 texts made of the tricky pieces the same', async () => {
  const pieces = [
    '[default]',
    '[profile a]',
    '[profile "b"]',
    '[sso-session s]',
    '[services x]',
    '[junk]',
    '[__proto__]',
    'k = v',
    'k=v',
    ' k = v',
    '  nested = 1',
    's3 =',
    'x = 1 # c',
    'x = 1#c',
    'x = 1 ;c',
    '; comment',
    '# comment',
    '=v',
    'novalue',
    '',
    '\r',
    'role_arn = arn:aws:iam::1:role/r',
    'external_id = e-1',
  ];
  let seed = 7;
  const rand = (n: number): number => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n;
  for (let i = 0; i < 3000; i++) {
    const lines = Array.from({ length: 1 + rand(10) }, () => pieces[rand(pieces.length)]);
    const text = lines.join(rand(4) === 0 ? '\r\n' : '\n');
    assert.equal(ours(text), await sdk(text), JSON.stringify(text));
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
