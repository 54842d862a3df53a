locals {
  emulated = var.aws_endpoint != null
}

provider "aws" {
  region = var.region

  # Null (the default) = the provider's usual credential chain. Set only for
  # an emulator, e.g. by the local cluster's local.auto.tfvars.json.
  access_key = var.aws_access_key
  secret_key = var.aws_secret_key

  # Against an emulator: no account lookups, path-style bucket URLs.
  s3_use_path_style           = local.emulated
  skip_credentials_validation = local.emulated
  skip_requesting_account_id  = local.emulated
  skip_metadata_api_check     = local.emulated

  dynamic "endpoints" {
    for_each = local.emulated ? [var.aws_endpoint] : []
    content {
      s3  = endpoints.value
      iam = endpoints.value
      sts = endpoints.value
    }
  }
}
