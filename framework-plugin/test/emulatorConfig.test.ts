import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { emulatorConfig } from '../src/local/emulator/openEmulator.js';
import { isSipError } from '../src/core/errors/SipError.js';

const config = suite('emulator configuration (SIP_EMULATOR)');

config('moto by default; endpoint and localstack by name, with their settings', () => {
  assert.is(emulatorConfig({}).kind, 'moto');
  assert.equal(emulatorConfig({ SIP_EMULATOR: 'endpoint', AWS_ENDPOINT_URL: 'http://127.0.0.1:4566', SIP_EMULATOR_ENFORCES_IAM: '1' }), {
    kind: 'endpoint',
    endpoint: 'http://127.0.0.1:4566',
    localstackImage: 'localstack/localstack:4',
    enforcesIam: true,
  });
  assert.is(emulatorConfig({ SIP_EMULATOR: 'localstack', SIP_LOCALSTACK_IMAGE: 'my/localstack:3' }).localstackImage, 'my/localstack:3');
});

config('a wrong choice or a missing endpoint is a typed error naming the fix', () => {
  for (const [env, text] of [
    [{ SIP_EMULATOR: 'aws' }, 'SIP_EMULATOR must be moto, endpoint or localstack, not "aws"'],
    [{ SIP_EMULATOR: 'endpoint' }, 'SIP_EMULATOR=endpoint needs AWS_ENDPOINT_URL'],
  ] as const) {
    try {
      emulatorConfig(env);
      assert.unreachable('accepted');
    } catch (err) {
      assert.ok(isSipError(err, 'SIP_EMULATOR_CONFIG_INVALID'));
      assert.match((err as Error).message, text);
    }
  }
});

config.run();
