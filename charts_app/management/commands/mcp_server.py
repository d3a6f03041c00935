import logging

import anyio
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

logger = logging.getLogger("charts_app.mcp")


def _host_port(value: str) -> tuple[str, int]:
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise CommandError(f"--http takes HOST:PORT, e.g. 127.0.0.1:8001 (got {value!r})")
    return host.strip("[]"), int(port)


class Command(BaseCommand):
    help = (
        "Serve the chart tools (generate_chart, list_session_charts, delete_session_charts) "
        "over the Model Context Protocol: on stdio (what desktop clients start), or with "
        "--http HOST:PORT as Streamable HTTP at /mcp, where every request needs "
        "'Authorization: Bearer <API token>' (the REST API's tokens)."
    )
    # The system checks import the URLconf; stdio must stay quiet on stdout anyway.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("--http", metavar="HOST:PORT", help="serve Streamable HTTP at /mcp")
        parser.add_argument(
            "--user",
            default="mcp",
            help="stdio: the user the charts belong to (default: an 'mcp' service user, "
            "created on first use)",
        )

    def handle(self, *args, **options):
        from charts_app.tools.mcp_server import build_server

        if options["http"]:
            host, port = _host_port(options["http"])
            self._serve_http(build_server(), host, port, options["verbosity"])
            return
        user = self._stdio_user(options["user"])
        server = build_server(stdio_user_id=user.pk)
        # Only the protocol goes to stdout; logs go to stderr.
        logger.info("MCP server on stdio, charts belong to %r", user.get_username())
        anyio.run(self._serve_stdio, server)

    def _stdio_user(self, name: str):
        user_model = get_user_model()
        field = user_model._meta.get_field(user_model.USERNAME_FIELD)
        try:
            field.run_validators(name)
        except Exception as exc:
            raise CommandError(f"invalid --user {name!r}: {exc}") from None
        user, created = user_model.objects.get_or_create(**{user_model.USERNAME_FIELD: name})
        if created:
            user.set_unusable_password()
            user.save()
        if not user.is_active:
            raise CommandError(f"user {name!r} is not active")
        return user

    @staticmethod
    async def _serve_stdio(server) -> None:
        from mcp.server.stdio import stdio_server

        async with stdio_server() as (read, write):
            await server.run(read, write, server.create_initialization_options())

    def _serve_http(self, server, host: str, port: int, verbosity: int) -> None:
        import uvicorn

        from charts_app.tools.mcp_http import http_app

        app = http_app(server, host=host, port=port, allowed_hosts=settings.ALLOWED_HOSTS)
        self.stderr.write(f"MCP server at http://{host}:{port}/mcp (Bearer API tokens)")
        level = "info" if verbosity > 1 else "warning"
        config = uvicorn.Config(app, host=host, port=port, lifespan="on", log_level=level)
        uvicorn.Server(config).run()
