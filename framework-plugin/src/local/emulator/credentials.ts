/** Long-term or temporary AWS credentials as the SDK takes them. */
export interface AwsCredentials {
  readonly accessKeyId: string;
  readonly secretAccessKey: string;
  readonly sessionToken?: string;
  readonly expiration?: Date;
}

/** An IAM identity the harness created, with its credentials and ARN. */
export interface EmulatorIdentity {
  readonly arn: string;
  readonly credentials: AwsCredentials;
}
