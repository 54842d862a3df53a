output "role_arn" {
  description = "ARN of the role (the principal app roles trust, unless it is the agents' with sip server)."
  value       = aws_iam_role.agent.arn
}

output "role_name" {
  description = "Name of the role."
  value       = aws_iam_role.agent.name
}

output "instance_profile_name" {
  description = "Instance profile to attach to the nodes (agents, or masters for sip server)."
  value       = aws_iam_instance_profile.agent.name
}

output "instance_profile_arn" {
  description = "ARN of the instance profile."
  value       = aws_iam_instance_profile.agent.arn
}
