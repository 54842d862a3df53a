locals {
  emulated = var.aws_endpoint != null
}

provider "aws" {
  region = var.region

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
