import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { validateAwsConfig } from '../src/core/awsconfig/validateAwsConfig.js';

const ID = 'Ext-Id_0123456789abcdef';
const good = `[default]\nregion = us-east-1\nrole_arn = arn:aws:iam::123456789012:role/sip-apps/app\nexternal_id = ${ID}\ncredential_source = Ec2InstanceMetadata\n`;

async function problems(text: string): Promise<string[]> {
  const r = await validateAwsConfig(text);
  assert.is(r.ok, false, 'was accepted');
  const list = r.ok ? [] : r.problems;
  for (const p of list) assert.ok(!p.includes(ID) && !p.includes('spaces are not'), `a problem echoed the external id: ${p.slice(0, 20)}`);
  return list;
}

test('the terraform-rendered config is valid', async () => {
  const r = await validateAwsConfig(good);
  assert.equal(r, {
    ok: true,
    summary: { profile: 'default', roleArn: 'arn:aws:iam::123456789012:role/sip-apps/app', hasExternalId: true, credentialSource: 'Ec2InstanceMetadata' },
  });
});

test('each bad key is named; the external id is never echoed', async () => {
  const cases: Array<[string, string]> = [
    [good.replace(/role_arn = .*/, 'role_arn = arn:aws:iam::123456789012:user/bob'), 'role_arn (line 3):'],
    [good.replace(/role_arn = .*\n/, ''), 'role_arn: required'],
    [good.replace(/external_id = .*/, 'external_id = spaces are not allowed'), 'external_id (line 4): must be'],
    [good.replace(/external_id = .*/, 'external_id = x'), 'external_id (line 4): must be'],
    [good.replace(/external_id = .*\n/, ''), 'external_id: required'],
    [good.replace('Ec2InstanceMetadata', 'Ec2InstanceMetaData'), 'credential_source (line 5): is not one of'],
    [good.replace(/credential_source = .*\n/, ''), 'credential_source: required'],
    [`${good}source_profile = other\n`, 'set only one of them'],
    [`${good}duration_seconds = 60\n`, 'duration_seconds'],
    [`${good}aws_access_key_id = AKIAIOSFODNN7EXAMPLE\n`, 'aws_access_key_id: static keys are refused'],
    [`${good}[profile other]\naws_secret_access_key = abc\n`, '[other] aws_secret_access_key'],
    ['[profile nope]\nregion = x\n', 'profile [default] is missing'],
  ];
  for (const [text, expected] of cases) {
    const list = await problems(text);
    assert.ok(
      list.some((p) => p.includes(expected)),
      `${expected} not in ${JSON.stringify(list)}`,
    );
  }
});

test('parsed as the SDK parses: comments after whitespace are dropped', async () => {
  const r = await validateAwsConfig(good.replace(`external_id = ${ID}`, `external_id = ${ID} # note`));
  assert.ok(r.ok);
});

test('source_profile variant is accepted when the profile exists', async () => {
  const text = `[default]\nrole_arn = arn:aws:iam::123456789012:role/app\nexternal_id = ${ID}\nsource_profile = base\n[profile base]\ncredential_source = Ec2InstanceMetadata\n`;
  assert.ok((await validateAwsConfig(text)).ok);
  assert.ok((await problems(text.replace('[profile base]', '[profile elsewhere]'))).some((p) => p.includes('source_profile')));
});

test('no malformed shape echoes a value: a marker appears in no problem', async () => {
  const MARK = 'MARKER-9f8e7d6c5b4a';
  const shapes = [
    // a missing newline: the role ARN line swallows the external id
    `[default]\nrole_arn = arn:aws:iam::123456789012:role/app external_id = ${MARK}\ncredential_source = Ec2InstanceMetadata\n`,
    `[default]\nrole_arn = ${MARK}\nexternal_id = ${ID}\ncredential_source = Ec2InstanceMetadata\n`,
    `[default]\nrole_arn = arn:aws:iam::123456789012:role/app\nexternal_id = ${MARK} has spaces\ncredential_source = Ec2InstanceMetadata\n`,
    `[default]\nrole_arn = arn:aws:iam::123456789012:role/app\nexternal_id = ${ID}\ncredential_source = ${MARK}\n`,
    `[default]\nrole_arn = arn:aws:iam::123456789012:role/app\nexternal_id = ${ID}\nsource_profile = ${MARK}\n`,
    `[default]\nrole_arn = arn:aws:iam::123456789012:role/app\nexternal_id = ${ID}\ncredential_source = Ec2InstanceMetadata\nduration_seconds = ${MARK}\n`,
    `[default]\nrole_arn = arn:aws:iam::123456789012:role/app\nexternal_id = ${ID}\ncredential_source = Ec2InstanceMetadata\naws_secret_access_key = ${MARK}\n`,
    `[profile ${MARK}]\nrole_arn = x\n`,
    `${MARK}\n`,
  ];
  for (const text of shapes) {
    const r = await validateAwsConfig(text);
    assert.is(r.ok, false, text.slice(0, 30));
    const said = JSON.stringify(r);
    assert.ok(!said.includes(MARK) && !said.includes(MARK.slice(0, 12)), `a problem quoted a value: ${said.replace(new RegExp(MARK, 'g'), '<MARK>')}`);
  }
  const missingNewline = await validateAwsConfig(shapes[0] ?? '');
  assert.ok(!missingNewline.ok && missingNewline.problems.some((p) => p.startsWith('role_arn (line 2): is not an IAM role ARN')), 'the line is named');
});

test.run();
