# Demo root: a private bucket, the agent's instance profile (or an existing
# agent role), binapp's role that trusts it only with the external id, and the
# rendered secret and Marathon app definition.

resource "terraform_data" "suffix" {
  input = substr(replace(uuid(), "-", ""), 0, 8)

  lifecycle {
    ignore_changes = [input]
  }
}

resource "terraform_data" "external_id" {
  # 32 hex characters from uuid(): inside STS's ExternalId alphabet.
  input = replace(uuid(), "-", "")

  lifecycle {
    ignore_changes = [input]
  }
}

locals {
  bucket_name = coalesce(var.bucket_name, "${var.name_prefix}-bin-${terraform_data.suffix.output}")
  external_id = var.external_id != null ? var.external_id : terraform_data.external_id.output
  app_name    = trimprefix(var.app_id, "/")
  secret_path = "${local.app_name}/aws-config"
  app_file    = coalesce(var.app_definition_file, "${path.module}/../marathon/binapp.json")
}

resource "aws_s3_bucket" "bin" {
  bucket        = local.bucket_name
  force_destroy = var.bucket_force_destroy
  tags          = var.tags
}

resource "aws_s3_bucket_public_access_block" "bin" {
  bucket                  = aws_s3_bucket.bin.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_server_side_encryption_configuration" "bin" {
  bucket = aws_s3_bucket.bin.id

  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

locals {
  # sip server decides (an existing server role, or one created here): only its role may assume app roles.
  with_server = var.server_role_arn != null || var.create_server_role
}

module "agent_profile" {
  source = "./modules/agent-profile"
  count  = var.agent_role_arn == null ? 1 : 0

  name                         = "${var.name_prefix}-agent"
  may_assume_app_roles         = !local.with_server
  extra_trusted_principal_arns = var.agent_trusted_principal_arns
  tags                         = var.tags
}

module "server_profile" {
  source = "./modules/agent-profile"
  count  = var.server_role_arn == null && var.create_server_role ? 1 : 0

  name                         = "${var.name_prefix}-server"
  may_describe_instances       = true
  extra_trusted_principal_arns = var.agent_trusted_principal_arns
  tags                         = var.tags
}

locals {
  agent_role_arn  = var.agent_role_arn != null ? var.agent_role_arn : module.agent_profile[0].role_arn
  server_role_arn = var.server_role_arn != null ? var.server_role_arn : (var.create_server_role ? module.server_profile[0].role_arn : null)
  # Who the app role trusts: sip server's role when servers decide, else the agents'.
  trusted_role_arn = local.with_server ? local.server_role_arn : local.agent_role_arn
}

module "app_role" {
  source = "./modules/app-role"

  name             = "${var.name_prefix}-${replace(local.app_name, "/", "-")}"
  trusted_role_arn = local.trusted_role_arn
  external_id      = local.external_id
  bucket_arn       = aws_s3_bucket.bin.arn
  object_prefix    = "bin"
  region           = var.region
  tags             = var.tags
}

locals {
  app_template = jsondecode(file(local.app_file))
  app_definition = merge(local.app_template, {
    id      = var.app_id
    env     = merge(lookup(local.app_template, "env", {}), { BINAPP_BUCKET = aws_s3_bucket.bin.bucket, AWS_REGION = var.region })
    secrets = { for name, s in lookup(local.app_template, "secrets", {}) : name => merge(s, { source = local.secret_path }) }
    # Endpoint mode names the AWS config by label (sip agent reads it; the task never receives it).
    labels = merge(lookup(local.app_template, "labels", {}), contains(keys(lookup(local.app_template, "labels", {})), "sip.aws.config-secret") ? { "sip.aws.config-secret" = local.secret_path } : {})
  })
}
