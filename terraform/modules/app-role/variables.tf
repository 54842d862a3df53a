variable "name" {
  description = "Name of the application's IAM role."
  type        = string
}

variable "path" {
  description = "IAM path of the role. The agent may assume only roles under this path."
  type        = string
  default     = "/sip-apps/"

  validation {
    condition     = can(regex("^/([\\w+=,.@-]+/)*$", var.path))
    error_message = "path must start and end with '/', e.g. /sip-apps/."
  }
}

variable "trusted_role_arn" {
  description = "ARN of the role allowed to assume this role, and only with the external id: the agents' instance-profile role, or sip server's role when servers decide (then only the servers can)."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[\\w-]*:iam::\\d{12}:role/", var.trusted_role_arn))
    error_message = "trusted_role_arn must be an IAM role ARN (arn:aws:iam::<account>:role/<name>)."
  }
}

variable "external_id" {
  description = "Pre-shared external id the agent must present (sts:ExternalId). 2-1224 characters of [A-Za-z0-9_+=,.@:/-]."
  type        = string
  sensitive   = true

  validation {
    condition     = length(var.external_id) >= 2 && length(var.external_id) <= 1224 && can(regex("^[\\w+=,.@:/-]+$", var.external_id))
    error_message = "external_id must be 2-1224 characters of letters, digits and _+=,.@:/- (the STS ExternalId rule)."
  }
}

variable "bucket_arn" {
  description = "ARN of the bucket the application writes to."
  type        = string
}

variable "object_prefix" {
  description = "Key prefix (without slashes) the application may read and write."
  type        = string
  default     = "bin"

  validation {
    condition     = can(regex("^[A-Za-z0-9!_.*'()-]+(/[A-Za-z0-9!_.*'()-]+)*$", var.object_prefix))
    error_message = "object_prefix must be a key prefix without leading or trailing '/', e.g. bin."
  }
}

variable "region" {
  description = "Region written into the rendered AWS config."
  type        = string
}

variable "session_duration_seconds" {
  description = "Maximum session length of the role, 3600-43200 seconds."
  type        = number
  default     = 3600

  validation {
    condition     = var.session_duration_seconds >= 3600 && var.session_duration_seconds <= 43200
    error_message = "session_duration_seconds must be between 3600 and 43200."
  }
}

variable "tags" {
  description = "Tags for the role."
  type        = map(string)
  default     = {}
}
