"""Start moto's server with two IAM trust-policy checks corrected to behave like AWS.

moto 5.x differs from AWS in two ways that matter for role chaining with an
external id (see shared/docs/ENVIRONMENT.md):

1. A trust-policy ``StringEquals`` condition whose key is missing from the
   request (``AssumeRole`` without ``ExternalId``) is skipped, so the call
   passes. AWS denies it.
2. A trust-policy principal that is a role ARN (``arn:aws:iam::A:role/agent``)
   is compared as a plain string with the caller, so that role's own sessions
   (``arn:aws:sts::A:assumed-role/agent/<session>``) never match. AWS matches
   them. moto also does a substring test when the principal is a single string.

3. In server mode the query string reaches the signature check re-encoded by
   the web framework (``prefix=bin/`` instead of the ``prefix=bin%2F`` that
   the client signed), so any signed request with a ``/`` in a query value
   (e.g. ``ListObjectsV2`` with ``Prefix=bin/``) fails with
   ``SignatureDoesNotMatch``. AWS canonicalises the query with RFC 3986
   encoding; the check here now does the same.

4. In server mode an S3 ``PutObject``/``UploadPart`` whose Content-Type is
   ``application/x-www-form-urlencoded`` (curl's default for
   ``--data-binary``) is parsed as an HTML form and stored **empty**. S3 never
   parses object bodies; the web framework is told not to for S3 requests.

5. moto's admin API (``/moto-api/...``: the data dump with every trust
   policy and its external id, ``reset-auth`` that switches IAM enforcement
   off) answers any caller. When ``SIP_MOTO_ADMIN_TOKEN`` is set, it answers
   only requests carrying that token in ``X-Sip-Emulator-Admin`` (the
   cluster); everyone else gets 403. The AWS APIs themselves are unchanged.

The fixes patch ``IAMPolicyStatement`` and ``IAMRequestBase`` before
``moto.server.main`` runs; every other behaviour is stock moto. Arguments are
passed through unchanged.
"""

import hmac
import os
import re
import sys
from urllib.parse import parse_qsl, quote

from flask import current_app
from werkzeug.wrappers import Request as WerkzeugRequest

from moto.iam import access_control
from moto.moto_server.werkzeug_app import DomainDispatcherApplication
from moto.iam.policy_conditions import TrustRelationShipConditions
from moto.server import main

_ASSUMED_ROLE = re.compile(r"^arn:(?P<part>[^:]+):sts::(?P<acct>\d+):assumed-role/(?P<name>[^/]+)/[^/]+$")
_ROLE = re.compile(r"^arn:(?P<part>[^:]+):iam::(?P<acct>\d+):role/(?:.*/)?(?P<name>[^/]+)$")


def _as_list(value):
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    return list(value)


def _principal_matches(expected: str, principal: str) -> bool:
    if expected == "*" or expected == principal:
        return True
    session = _ASSUMED_ROLE.match(principal)
    role = _ROLE.match(expected)
    return bool(
        session
        and role
        and session["part"] == role["part"]
        and session["acct"] == role["acct"]
        and session["name"] == role["name"]
    )


def _check_principal(self, principal: str) -> bool:
    expected_principals = self._statement.get("Principal")
    if not expected_principals:
        return True
    if expected_principals == "*":
        return True
    aws = _as_list(expected_principals.get("AWS") if isinstance(expected_principals, dict) else None)
    return any(_principal_matches(expected, principal) for expected in aws)


_original_check_conditions = access_control.IAMPolicyStatement._check_conditions


def _check_conditions(self, incoming_condition_values):
    expected_conditions = self._statement.get("Condition")
    if expected_conditions and incoming_condition_values is not None:
        # Trust-policy path: AWS treats a StringEquals key absent from the
        # request as not matching.
        for condition in TrustRelationShipConditions(expected_conditions):
            if condition._condition != "StringEquals":
                continue
            for key in condition.context_keys:
                if key not in incoming_condition_values:
                    return False
    return _original_check_conditions(self, incoming_condition_values)


def _canonical_query(path: str) -> str:
    base, sep, query = path.partition("?")
    if not sep:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    encoded = "&".join(f"{quote(k, safe='-_.~')}={quote(v, safe='-_.~')}" for k, v in pairs)
    return f"{base}?{encoded}"


_original_request_init = access_control.IAMRequestBase.__init__


def _request_init(self, account_id, method, path, *args, **kwargs):
    _original_request_init(self, account_id, method, _canonical_query(path), *args, **kwargs)


_original_want_form = WerkzeugRequest.want_form_data_parsed


def _want_form_data_parsed(self) -> bool:
    if self.mimetype == "application/x-www-form-urlencoded":
        try:
            if getattr(current_app, "service", None) == "s3":
                return False
        except RuntimeError:  # outside an application context
            pass
    return _original_want_form.fget(self)


_ADMIN_TOKEN = os.environ.pop("SIP_MOTO_ADMIN_TOKEN", "")
_original_dispatch = DomainDispatcherApplication.__call__


def _guarded_dispatch(self, environ, start_response):
    if _ADMIN_TOKEN and environ.get("PATH_INFO", "").startswith("/moto-api"):
        given = environ.get("HTTP_X_SIP_EMULATOR_ADMIN", "")
        if not hmac.compare_digest(given.encode(), _ADMIN_TOKEN.encode()):
            start_response("403 Forbidden", [("Content-Type", "text/plain")])
            return [b"the emulator's admin API answers only the cluster\n"]
    return _original_dispatch(self, environ, start_response)


DomainDispatcherApplication.__call__ = _guarded_dispatch
WerkzeugRequest.want_form_data_parsed = property(_want_form_data_parsed)
access_control.IAMRequestBase.__init__ = _request_init
access_control.IAMPolicyStatement._check_principal = _check_principal
access_control.IAMPolicyStatement._check_conditions = _check_conditions

if __name__ == "__main__":
    print("sip-moto: fixes applied (missing ExternalId, role-ARN principal, query signing, form-typed S3 bodies, admin API locked)" if _ADMIN_TOKEN else "sip-moto: fixes applied (missing ExternalId, role-ARN principal, query signing, form-typed S3 bodies)", file=sys.stderr, flush=True)
    main(sys.argv[1:])
