output "role_arn" {
  description = "ARN of the application role."
  value       = aws_iam_role.this.arn
}

output "role_name" {
  description = "Name of the application role."
  value       = aws_iam_role.this.name
}

output "aws_config" {
  description = "AWS shared config text for the application: assume this role from the instance profile with the external id. Store it as the app's secret."
  sensitive   = true
  value = templatefile("${path.module}/templates/aws-config.tftpl", {
    region      = var.region
    role_arn    = aws_iam_role.this.arn
    external_id = var.external_id
  })
}
