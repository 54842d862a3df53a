output "secret_aws_conf" {
  description = "AWS config text for the app's secret (role_arn, external_id, credential_source). Store it with: sip security secrets create /<app>/aws-config -v \"$(terraform output -raw secret_aws_conf)\""
  value       = module.app_role.aws_config
  sensitive   = true
}

output "secret_path" {
  description = "Secret path the app definition references; only apps under its namespace may read it."
  value       = local.secret_path
}

output "marathon_app_definition" {
  description = "binapp's Marathon app definition with this bucket and secret path filled in."
  value       = jsonencode(local.app_definition)
}

output "s3_bucket_name" {
  description = "The bucket binapp stores bins in."
  value       = aws_s3_bucket.bin.bucket
}

output "app_role_arn" {
  description = "The application's role."
  value       = module.app_role.role_arn
}

output "agent_role_arn" {
  description = "The agents' (instance-profile) role: the one the app role trusts unless sip server decides."
  value       = local.agent_role_arn
}

output "server_role_arn" {
  description = "sip server's role, the only one the app role trusts when servers decide (null: the agents decide)."
  value       = local.server_role_arn
}

output "server_instance_profile_name" {
  description = "Instance profile to attach to the masters running sip server (null unless create_server_role created it)."
  value       = length(module.server_profile) > 0 ? module.server_profile[0].instance_profile_name : null
}

output "agent_instance_profile_name" {
  description = "Instance profile to attach to agents (null when an existing agent role was given)."
  value       = var.agent_role_arn == null ? module.agent_profile[0].instance_profile_name : null
}

output "public_agents_loadbalancer" {
  description = "Where to send requests for binapp (Host: binapp.mesosphere.com)."
  value       = var.public_agents_loadbalancer
}

# The original walk-through's name for the same value (Terraform < 0.12 style).
output "public-agents-loadbalancer" {
  description = "Same as public_agents_loadbalancer, under the original post's name."
  value       = var.public_agents_loadbalancer
}
