import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { GetCallerIdentityCommand, STSClient } from '@aws-sdk/client-sts';

// A tiny AWS client run as its own process with an app's or an agent's
// environment, so the SDK's default credential chain decides who it is:
//   awsProbe whoami             → the caller's ARN
//   awsProbe put BUCKET KEY     → "stored" (writes a few bytes)
// Exit 0 allowed, 3 denied ("denied: <error name>"), 1 anything else.
// Only error names are printed: never a message, never a credential.

const [command, bucket, key] = process.argv.slice(2);
const config = { region: process.env.AWS_REGION ?? 'us-east-1', maxAttempts: 1 };
try {
  if (command === 'whoami') {
    const sts = new STSClient(config);
    process.stdout.write(`${(await sts.send(new GetCallerIdentityCommand({}))).Arn}\n`);
  } else if (command === 'put' && bucket && key) {
    const s3 = new S3Client({ ...config, forcePathStyle: true });
    await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: 'probe' }));
    process.stdout.write('stored\n');
  } else {
    process.stderr.write('usage: awsProbe whoami | put BUCKET KEY\n');
    process.exit(2);
  }
} catch (err) {
  const name = (err as Error).name;
  process.stdout.write(`denied: ${name}\n`);
  process.exit(/AccessDenied|Forbidden|InvalidClientTokenId|CredentialsProviderError/.test(name) ? 3 : 1);
}
