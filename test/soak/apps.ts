import { randomBytes } from 'node:crypto';
import { dirname, join } from 'node:path';
import { CreateRoleCommand, IAMClient, PutRolePolicyCommand } from '@aws-sdk/client-iam';
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import type { SoakCluster } from './cluster.js';

// What the soak runs: binapp twice behind EdgeLB (one app per delivery mode,
// each with its own role, external id and AWS config secret), a credential
// probe per agent (endpoint mode, asking every second as a task's SDK would
// on a fresh start), and a tenant that tries to read what is not its own.

/** One app the soak declares, and the secret holding its AWS config. */
export interface SoakApp {
  id: string;
  mode: 'file' | 'endpoint';
  /** EdgeLB host (binapp only). */
  host?: string;
  secret?: string;
  externalId?: string;
  instances: number;
}

/** The basic-auth user binapp is given. */
export const BIN_AUTH = `Basic ${Buffer.from('soak:soak-pass').toString('base64')}`;
export const PREFIX = 'soak';

/**
 * The credential probe: each second one fresh request; OK/FAIL lines with a timestamp. Its evidence is kept
 * off the state disk (which a fault fills) in `$PROBE_DIR`, a directory others may enter but not list, in
 * files only its own uid reads (root does): the last answer (`<task>.json`) and the log (`<task>.log`).
 */
const PROBE = [
  'umask 077',
  'log="$PROBE_DIR/$MESOS_TASK_ID.log"; out="$PROBE_DIR/$MESOS_TASK_ID.json"',
  'while :; do',
  '  t=$(date +%s%3N)',
  '  c=$(curl -s --max-time 5 -o "$out" -w "%{http_code}" -H "Authorization: $(cat "$AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE" 2>/dev/null)" "$AWS_CONTAINER_CREDENTIALS_FULL_URI")',
  '  if [ "$c" = 200 ]; then echo "OK $t" >> "$log"; else echo "FAIL $t $c" >> "$log"; fi',
  '  sleep 1',
  'done',
].join('\n');

/** The hostile tenant: every 5 s it reads whatever it can of other sandboxes, the state dir and the agents' endpoints, and prints it. */
const ATTACKER = (stateDir: string, credentialUrls: readonly string[]): string =>
  [
    'while :; do',
    `  for f in ${stateDir}/sandboxes/*/* ${stateDir}/*.json ${stateDir}/secrets/data/* /proc/*/environ; do cat "$f" 2>/dev/null | head -c 4096; done`,
    // Every agent's credentials endpoint, with no token and with a made-up one, for a role path of its own choosing.
    `  for u in ${credentialUrls.join(' ')}; do curl -s --max-time 2 "$u"; curl -s --max-time 2 -H 'Authorization: x' "$u/soak/endpoint"; done`,
    '  sleep 5',
    'done',
  ].join('\n');

/** Creates the bucket, both app roles and their secrets, and deploys the apps. */
export async function deploySoakApps(c: SoakCluster): Promise<{ apps: SoakApp[]; bucket: string; secrets: Map<string, string> }> {
  const info = c.info();
  const em = c.emulator;
  const bucket = `sip-soak-${randomBytes(4).toString('hex')}`;
  const s3 = new S3Client({ endpoint: em.endpoint, region: em.region, credentials: em.admin.credentials, forcePathStyle: true });
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  s3.destroy();
  const iam = new IAMClient({ endpoint: em.endpoint, region: em.region, credentials: em.admin.credentials });
  const secrets = new Map<string, string>();
  const apps: SoakApp[] = [];
  try {
    for (const mode of ['file', 'endpoint'] as const) {
      const externalId = `soak-${mode}-${randomBytes(12).toString('hex')}`;
      const trust = {
        Version: '2012-10-17',
        Statement: [
          { Effect: 'Allow', Principal: { AWS: info.agentRoleArn }, Action: 'sts:AssumeRole', Condition: { StringEquals: { 'sts:ExternalId': externalId } } },
          { Effect: 'Allow', Principal: { AWS: info.agentRoleArn }, Action: ['sts:TagSession', 'sts:SetSourceIdentity'] },
        ],
      };
      const name = `soak-${mode}`;
      const roleArn = (await iam.send(new CreateRoleCommand({ RoleName: name, Path: '/sip-apps/', AssumeRolePolicyDocument: JSON.stringify(trust) }))).Role!
        .Arn!;
      await iam.send(
        new PutRolePolicyCommand({
          RoleName: name,
          PolicyName: 'bucket',
          PolicyDocument: JSON.stringify({
            Version: '2012-10-17',
            Statement: [
              { Effect: 'Allow', Action: ['s3:PutObject', 's3:GetObject'], Resource: `arn:aws:s3:::${bucket}/${PREFIX}/${mode}/*` },
              { Effect: 'Allow', Action: ['s3:ListBucket', 's3:GetBucketLocation'], Resource: `arn:aws:s3:::${bucket}` },
            ],
          }),
        }),
      );
      const secret = `soak/${mode}/aws-config`;
      const value = `[default]\nrole_arn = ${roleArn}\nexternal_id = ${externalId}\ncredential_source = Ec2InstanceMetadata\n`;
      const created = await c.sip(['security', 'secrets', 'create', secret], value);
      if (created.code !== 0) throw new Error(`secrets create ${secret}: ${created.err.trim()}`);
      secrets.set(secret, value);
      apps.push({ id: `/soak/${mode}/bin`, mode, host: `${mode}.soak.local`, secret, externalId, instances: 2 });
    }
  } finally {
    iam.destroy();
  }
  apps.push({ id: '/soak/endpoint/probe', mode: 'endpoint', secret: 'soak/endpoint/aws-config', instances: 2 });
  apps.push({ id: '/soak/tenant', mode: 'file', instances: 1 });
  for (const app of apps) {
    const r = await c.marathon(
      'POST',
      '/v2/apps',
      definition(
        app,
        bucket,
        c.stateDir,
        0,
        info.agents.map((a) => a.credentialsUrl),
      ),
    );
    if (r.status !== 201) throw new Error(`app add ${app.id}: HTTP ${r.status} ${JSON.stringify(r.body)}`);
  }
  return { apps, bucket, secrets };
}

/** Where probes keep their evidence: beside the state dir, not on it. */
export const probeDir = (stateDir: string): string => join(dirname(stateDir), 'probe');

/** The Marathon definition of a soak app at deployment `version` (an env value, so each deploy is a new version). */
export function definition(app: SoakApp, bucket: string, stateDir: string, version: number, credentialUrls: readonly string[] = []): Record<string, unknown> {
  const labels: Record<string, string> = { 'sip.aws.credentials': app.mode };
  // Endpoint mode names the secret by label (sip agent reads it); file mode mounts it as DC/OS does, a file in the sandbox.
  if (app.secret && app.mode === 'endpoint') labels['sip.aws.config-secret'] = app.secret;
  const file =
    app.secret && app.mode === 'file'
      ? { secrets: { awsConfig: { source: app.secret } }, container: { type: 'MESOS', volumes: [{ containerPath: 'aws-config', secret: 'awsConfig' }] } }
      : {};
  if (app.id === '/soak/endpoint/probe')
    return {
      id: app.id,
      cmd: PROBE,
      cpus: 0.01,
      mem: 32,
      instances: app.instances,
      constraints: [['hostname', 'UNIQUE']],
      labels,
      env: { SOAK_VERSION: String(version), PROBE_DIR: probeDir(stateDir) },
    };
  if (app.id === '/soak/tenant')
    return { id: app.id, cmd: ATTACKER(stateDir, credentialUrls), cpus: 0.01, mem: 32, instances: app.instances, env: { SOAK_VERSION: String(version) } };
  return {
    id: app.id,
    cmd: app.mode === 'file' ? 'export AWS_CONFIG_FILE="$MESOS_SANDBOX/aws-config" && exec binapp' : 'exec binapp',
    ...file,
    cpus: 0.1,
    mem: 256,
    instances: app.instances,
    env: {
      BINAPP_BUCKET: bucket,
      BINAPP_USER: 'soak',
      BINAPP_PASS: 'soak-pass',
      BINAPP_PREFIX: `${PREFIX}/${app.mode}`,
      AWS_REGION: 'us-east-1',
      SOAK_VERSION: String(version),
    },
    portDefinitions: [{ port: 0, protocol: 'tcp', name: 'http' }],
    healthChecks: [
      {
        protocol: 'MESOS_HTTP',
        path: '/ping',
        portIndex: 0,
        gracePeriodSeconds: 30,
        intervalSeconds: 3,
        timeoutSeconds: 3,
        maxConsecutiveFailures: 3,
        delaySeconds: 1,
      },
    ],
    labels: { ...labels, 'edgelb.expose': 'true', 'edgelb.template': 'default', [`edgelb.${app.mode}.frontend.rules`]: `hostEq:${app.host}` },
    upgradeStrategy: { minimumHealthCapacity: 0.5, maximumOverCapacity: 0.5 },
    backoffSeconds: 1,
    backoffFactor: 1.15,
    maxLaunchDelaySeconds: 30,
  };
}
