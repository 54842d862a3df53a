output "role_arn" {
  description = "ARN of the agent role (the principal app roles trust)."
  value       = aws_iam_role.agent.arn
}

output "role_name" {
  description = "Name of the agent role."
  value       = aws_iam_role.agent.name
}

output "instance_profile_name" {
  description = "Instance profile to attach to the agents."
  value       = aws_iam_instance_profile.agent.name
}

output "instance_profile_arn" {
  description = "ARN of the instance profile."
  value       = aws_iam_instance_profile.agent.arn
}
