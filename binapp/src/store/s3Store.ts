import { GetObjectCommand, ListObjectsV2Command, NoSuchKey, S3Client } from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { Readable } from 'node:stream';
import type { BinStore, StoredBin } from './BinStore.js';
import { classifyAwsError } from './classifyAwsError.js';

/** User options of {@link createS3Store}. */
export interface S3StoreInit {
  client: S3Client;
  bucket: string;
  /** Key prefix without slashes; `ping` lists under it (the role may list nothing else). */
  prefix: string;
  /** Multipart part size in bytes. Default 5 MiB, S3's minimum (less memory per upload). */
  partSize?: number;
  /** Parts uploaded in parallel. Default 2: memory stays near partSize × (queueSize + 1). */
  queueSize?: number;
}

/**
 * An S3 store with its own client from the AWS SDK's default chain (no key:
 * AWS_CONFIG_FILE's role); `destroy` closes the client's sockets.
 */
export function openS3Store(init: Omit<S3StoreInit, 'client'>): { store: BinStore; destroy(): void } {
  const client = new S3Client({ maxAttempts: 3 });
  return { store: createS3Store({ ...init, client }), destroy: () => client.destroy() };
}

/**
 * The S3 adapter of {@link BinStore}: streams bodies with lib-storage's
 * `Upload` (one PutObject for small bodies, multipart beyond one part),
 * never buffering more than a few parts.
 *
 * Credentials are resolved first as their own step, so a failure says
 * whether assuming the role (`sts:AssumeRole`) or the S3 call was refused.
 */
export function createS3Store(init: S3StoreInit): BinStore {
  const { client, bucket } = init;

  const credentials = async (): Promise<void> => {
    try {
      const provider = client.config.credentials as unknown as () => Promise<unknown>;
      await provider();
    } catch (err) {
      throw classifyAwsError(credentialStep(err), err);
    }
  };

  return {
    async put(key: string, body: Readable, contentType: string) {
      await credentials().catch((err) => {
        body.destroy();
        throw err;
      });
      const upload = new Upload({
        client,
        params: { Bucket: bucket, Key: key, Body: body, ContentType: contentType },
        partSize: init.partSize ?? 5 * 1024 * 1024,
        queueSize: init.queueSize ?? 2,
        leavePartsOnError: false,
      });
      try {
        await upload.done();
      } catch (err) {
        body.destroy();
        // The body's own error (too large, client gone) is not an S3 failure.
        if (isBodyError(err)) throw err;
        throw classifyAwsError('s3:PutObject', err);
      }
    },

    async get(key: string): Promise<StoredBin | undefined> {
      await credentials();
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return {
          body: out.Body as Readable,
          contentType: out.ContentType ?? 'application/octet-stream',
          contentLength: out.ContentLength,
        };
      } catch (err) {
        if (err instanceof NoSuchKey || (err as { name?: string }).name === 'NoSuchKey') return undefined;
        throw classifyAwsError('s3:GetObject', err);
      }
    },

    async ping() {
      await credentials();
      try {
        await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: `${init.prefix}/`, MaxKeys: 1 }));
      } catch (err) {
        throw classifyAwsError('s3:ListBucket', err);
      }
    },
  };
}

/** Errors raised by the request body stream carry a `bodyError` marker. */
function isBodyError(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { bodyError?: unknown }).bodyError === true;
}

/** Which link of the credential chain failed: the STS call, or getting source credentials. */
function credentialStep(err: unknown): string {
  const e = err as { $metadata?: unknown; name?: string };
  return e && e.$metadata !== undefined ? 'sts:AssumeRole' : 'credentials';
}
