# A node's instance profile. The agents' without sip server, and sip server's
# (on the masters): the role may do exactly one thing, assume the application
# roles (which in turn demand the external id); sip server's may also read
# instances' addresses. The agents' with sip server: nothing at all (the
# instance profile only proves which node signs a node proof).

data "aws_partition" "current" {}
data "aws_caller_identity" "current" {}

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "Ec2Instances"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "Service"
      identifiers = ["ec2.amazonaws.com"]
    }

    dynamic "principals" {
      for_each = length(var.extra_trusted_principal_arns) > 0 ? [var.extra_trusted_principal_arns] : []
      content {
        type        = "AWS"
        identifiers = principals.value
      }
    }
  }
}

data "aws_iam_policy_document" "assume_app_roles" {
  statement {
    sid       = "AssumeAppRolesOnly"
    effect    = "Allow"
    actions   = ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
    resources = ["arn:${data.aws_partition.current.partition}:iam::${data.aws_caller_identity.current.account_id}:role${var.app_role_path}*"]
  }
}

resource "aws_iam_role" "agent" {
  name               = var.name
  assume_role_policy = data.aws_iam_policy_document.trust.json
  tags               = var.tags
}

data "aws_iam_policy_document" "describe_instances" {
  statement {
    sid       = "FindAgentsByInstance"
    effect    = "Allow"
    actions   = ["ec2:DescribeInstances"]
    resources = ["*"]
  }
}

resource "aws_iam_role_policy" "assume_app_roles" {
  count  = var.may_assume_app_roles ? 1 : 0
  name   = "${var.name}-assume-app-roles"
  role   = aws_iam_role.agent.id
  policy = data.aws_iam_policy_document.assume_app_roles.json
}

resource "aws_iam_role_policy" "describe_instances" {
  count  = var.may_describe_instances ? 1 : 0
  name   = "${var.name}-describe-instances"
  role   = aws_iam_role.agent.id
  policy = data.aws_iam_policy_document.describe_instances.json
}

resource "aws_iam_instance_profile" "agent" {
  name = var.name
  role = aws_iam_role.agent.name
  tags = var.tags
}
