# The application's role: assumable only by the agent role, and only with the
# pre-shared external id; allowed only what binapp does with its bucket.

data "aws_iam_policy_document" "trust" {
  statement {
    sid     = "AgentWithExternalId"
    effect  = "Allow"
    actions = ["sts:AssumeRole"]

    principals {
      type        = "AWS"
      identifiers = [var.trusted_role_arn]
    }

    condition {
      test     = "StringEquals"
      variable = "sts:ExternalId"
      values   = [var.external_id]
    }
  }

  # sip agent (endpoint mode) names the session after the task, sets the app id
  # as SourceIdentity and tags the session with app and task (CloudTrail shows
  # them). These never grant the role by themselves: AssumeRole above still
  # needs the external id.
  statement {
    sid     = "AgentSessionTagsAndSourceIdentity"
    effect  = "Allow"
    actions = ["sts:TagSession", "sts:SetSourceIdentity"]

    principals {
      type        = "AWS"
      identifiers = [var.trusted_role_arn]
    }
  }
}

data "aws_iam_policy_document" "access" {
  statement {
    sid       = "ObjectsUnderPrefix"
    effect    = "Allow"
    actions   = ["s3:PutObject", "s3:GetObject", "s3:AbortMultipartUpload"]
    resources = ["${var.bucket_arn}/${var.object_prefix}/*"]
  }

  statement {
    sid       = "ListPrefix"
    effect    = "Allow"
    actions   = ["s3:ListBucket"]
    resources = [var.bucket_arn]

    condition {
      test     = "StringLike"
      variable = "s3:prefix"
      values   = ["${var.object_prefix}/", "${var.object_prefix}/*"]
    }
  }
}

resource "aws_iam_role" "this" {
  name                 = var.name
  path                 = var.path
  assume_role_policy   = data.aws_iam_policy_document.trust.json
  max_session_duration = var.session_duration_seconds
  tags                 = var.tags
}

resource "aws_iam_role_policy" "access" {
  name   = "${var.name}-bucket-access"
  role   = aws_iam_role.this.id
  policy = data.aws_iam_policy_document.access.json
}
