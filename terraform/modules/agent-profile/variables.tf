variable "name" {
  description = "Name of the agent role and its instance profile."
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
