"""API tokens: the one authentication class of the REST API, and the same check for
other front doors (the MCP server's Bearer tokens)."""

from __future__ import annotations

from rest_framework import exceptions
from rest_framework.authentication import TokenAuthentication


class ApiTokenAuthentication(TokenAuthentication):
    """`Authorization: Token <key>`."""


def user_for_token(key: str):
    """The active user a raw API token belongs to, or None."""
    if not isinstance(key, str) or not key.strip():
        return None
    try:
        user, _token = ApiTokenAuthentication().authenticate_credentials(key.strip())
    except exceptions.AuthenticationFailed:
        return None
    return user
