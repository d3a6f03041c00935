"""API tokens, stored hashed (django-rest-knox: a SHA-512 digest of a 256-bit random token;
a copy of the database holds no usable token). The REST API authenticates with
`Authorization: Token <key>`, the MCP server with `Bearer <key>`: the same tokens."""

from __future__ import annotations

from datetime import timedelta

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from knox.auth import TokenAuthentication
from knox.models import AuthToken
from rest_framework import exceptions


class ApiTokenAuthentication(TokenAuthentication):
    """knox's check, with a token that is not UTF-8 refused (401) instead of a 500."""

    def authenticate_credentials(self, token: bytes):
        try:
            token.decode("utf-8")
        except UnicodeDecodeError:
            raise exceptions.AuthenticationFailed("Invalid token.") from None
        return super().authenticate_credentials(token)


class ApiTokenScheme(OpenApiAuthenticationExtension):
    """How the OpenAPI schema describes the token (registered on import)."""

    target_class = "core.auth.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {
            "type": "apiKey",
            "in": "header",
            "name": "Authorization",
            "description": "`Token <key>` (manage.py agent_token NAME issues a key)",
        }


def token_issue(*, user, expires_in: timedelta | None = None) -> str:
    """A new API token for the user; the raw key is returned once and never stored."""
    _instance, key = AuthToken.objects.create(user=user, expiry=expires_in)
    return key


def tokens_revoke(*, user) -> int:
    """Revoke every API token of the user; the number revoked."""
    deleted, _ = AuthToken.objects.filter(user=user).delete()
    return deleted


def user_for_token(key: str):
    """The active user a raw API token belongs to (not expired), or None."""
    if not isinstance(key, str) or not key.strip():
        return None
    try:
        user, _token = ApiTokenAuthentication().authenticate_credentials(key.strip().encode())
    except exceptions.AuthenticationFailed:
        return None
    return user
