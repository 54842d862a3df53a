variable "region" {
  description = "AWS region."
  type        = string
  default     = "us-east-1"
}

variable "aws_endpoint" {
  description = "Send S3, IAM and STS calls to this endpoint (an emulator such as moto or LocalStack, e.g. http://127.0.0.1:4566). Null = real AWS."
  type        = string
  default     = null
}

variable "aws_access_key" {
  description = "Access key for aws_endpoint (an emulator's administrator). Null = the provider's default credential chain; never set it for real AWS."
  type        = string
  default     = null
  sensitive   = true
}

variable "aws_secret_key" {
  description = "Secret key matching aws_access_key. Null = the provider's default credential chain."
  type        = string
  default     = null
  sensitive   = true
}

variable "name_prefix" {
  description = "Prefix of every created name."
  type        = string
  default     = "sip-demo"

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,30}$", var.name_prefix))
    error_message = "name_prefix must be 2-31 characters of lower-case letters, digits and '-'."
  }
}

variable "bucket_name" {
  description = "Bucket for binapp. Null = <name_prefix>-bin-<generated suffix>."
  type        = string
  default     = null
}

variable "bucket_force_destroy" {
  description = "Let terraform destroy delete a bucket that still holds objects (the demo's default)."
  type        = bool
  default     = true
}

variable "external_id" {
  description = "Pre-shared external id between the agent and the app role. Null = generated once and kept in state."
  type        = string
  default     = null
  sensitive   = true
}

variable "agent_role_arn" {
  description = "Existing agent instance-profile role ARN (e.g. from your DC/OS cluster). Null = create one with the agent-profile module."
  type        = string
  default     = null
}

variable "server_role_arn" {
  description = "sip server's role (the masters' instance profile). Set: the app role trusts only it, and a created agent role may not assume app roles (root on an agent gets no app role). Null = the agents decide (file mode, or sip agent without --server), unless create_server_role."
  type        = string
  default     = null

  validation {
    condition     = var.server_role_arn == null || can(regex("^arn:aws[\\w-]*:iam::\\d{12}:role/", var.server_role_arn))
    error_message = "server_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "create_server_role" {
  description = "Create sip server's role and instance profile (<name_prefix>-server, for the masters) and let only it assume the app role. Ignored when server_role_arn is set."
  type        = bool
  default     = false
}

variable "agent_trusted_principal_arns" {
  description = "Extra principals allowed to assume a created agent role. Empty on AWS; the emulator's EC2 stand-in for local runs."
  type        = list(string)
  default     = []
}

variable "app_id" {
  description = "Marathon id of the application; its secret lives at <app_id without leading '/'>/aws-config."
  type        = string
  default     = "/instance-profile-app"

  validation {
    condition     = can(regex("^(/[a-z0-9]([a-z0-9-]*[a-z0-9])?)+$", var.app_id))
    error_message = "app_id must be an absolute Marathon id such as /instance-profile-app."
  }
}

variable "app_definition_file" {
  description = "Marathon app definition to render. Null = ../marathon/binapp.json."
  type        = string
  default     = null
}

variable "public_agents_loadbalancer" {
  description = "Address of the public agents' load balancer (EdgeLB). The local cluster's default is 127.0.0.1:10080."
  type        = string
  default     = "127.0.0.1:10080"
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = { project = "secure-instance-profiles" }
}
