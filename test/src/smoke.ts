import { startStack } from './fixtures/stack.js';
import { startBinapp } from './fixtures/binappProcess.js';
const stack = await startStack();
try {
  const cfg = await stack.writeConfig('aws-config', stack.awsConfig);
  const app = await startBinapp({ env: { ...stack.awsEnv(cfg), BINAPP_BUCKET: stack.bucket, BINAPP_USER: 'testuser', BINAPP_PASS: 'password' } });
  const auth = 'Basic ' + Buffer.from('testuser:password').toString('base64');
  let r = await fetch(app.url + '/ping'); console.log('ping', r.status, await r.text());
  r = await fetch(app.url + '/bin', { method: 'POST', body: 'hello', headers: { authorization: auth } }); const t = await r.text(); console.log('post', r.status, r.headers.get('location'), t);
  r = await fetch(app.url + r.headers.get('location'), { headers: { authorization: auth } }); console.log('get', r.status, await r.text());
  await app.stop(); console.log(app.output());
} finally { await stack.stop(); }
