"""The MCP server over Streamable HTTP: the SDK's ASGI app at /mcp, every request
authenticated with a REST API token (`Authorization: Bearer <token>`; 401 without)."""

from __future__ import annotations

from asgiref.sync import sync_to_async
from mcp.server.auth.provider import AccessToken, TokenVerifier
from mcp.server.auth.settings import AuthSettings
from mcp.server.transport_security import TransportSecuritySettings

from core.auth import user_for_token


class ApiTokenVerifier(TokenVerifier):
    """The REST API's tokens, checked the same way (hashed, expiry, active user)."""

    async def verify_token(self, token: str) -> AccessToken | None:
        user = await sync_to_async(user_for_token, thread_sensitive=False)(token)
        if user is None:
            return None
        return AccessToken(token=token, client_id=str(user.pk), scopes=[])


def _hosts(host: str, port: int, allowed_hosts) -> TransportSecuritySettings:
    """The Host headers to accept (DNS-rebinding protection): Django's ALLOWED_HOSTS and
    the address served; `*` in ALLOWED_HOSTS turns the check off."""
    names = {name.strip() for name in allowed_hosts if name.strip()} | {host}
    if "*" in names:
        return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    hosts = sorted({f"{name}:*" for name in names} | {f"{host}:{port}"})
    origins = sorted({f"{scheme}://{name}:*" for name in names for scheme in ("http", "https")})
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


def http_app(server, *, host: str, port: int, allowed_hosts=()):
    """The ASGI app (Starlette) serving `server` at /mcp; run it with its lifespan."""
    return server.streamable_http_app(
        streamable_http_path="/mcp",
        # Sessionless: any worker answers any request, nothing kept between them.
        stateless_http=True,
        host=host,
        transport_security=_hosts(host, port, allowed_hosts),
        token_verifier=ApiTokenVerifier(),
        # The SDK wants an issuer even for plain bearer tokens; no OAuth metadata is served.
        auth=AuthSettings(issuer_url=f"http://{host}:{port}", resource_server_url=None),
    )
