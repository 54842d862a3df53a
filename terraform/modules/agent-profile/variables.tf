variable "name" {
  description = "Name of the role and its instance profile (the agents', or with sip server the masters')."
  type        = string
}

variable "app_role_path" {
  description = "IAM path of the application roles the agent may assume (the app-role module's path)."
  type        = string
  default     = "/sip-apps/"
}

variable "extra_trusted_principal_arns" {
  description = "Principals besides the EC2 service allowed to assume the agent role. Empty on AWS; the local emulator's EC2 stand-in otherwise."
  type        = list(string)
  default     = []
}

variable "tags" {
  description = "Tags for the role and instance profile."
  type        = map(string)
  default     = {}
}

variable "may_assume_app_roles" {
  description = "Whether the role may assume the application roles. True for the agents without sip server (and always for sip server's role); false for the agents when sip server holds the app roles: root on an agent then gets no app role from the instance profile."
  type        = bool
  default     = true
}

variable "may_describe_instances" {
  description = "Whether the role may call ec2:DescribeInstances (sip server maps a node proof's instance to its private IP, then to a Mesos agent)."
  type        = bool
  default     = false
}
