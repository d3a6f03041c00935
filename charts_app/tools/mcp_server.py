"""The chart tools as a Model Context Protocol server (the official `mcp` SDK, low level:
the tools' schemas come from our serializers, not from Python signatures).

Tools: generate_chart, list_session_charts, delete_session_charts. Charts made here are
ordinary charts: the same checks and limits as the HTTP API, the same storage chain and
session lifecycle. A bad call is a tool result with `isError: true` and a sentence naming
the argument, never a protocol error.
"""

from __future__ import annotations

import base64
import functools
import logging

import anyio
import mcp.types as types
from django.contrib.auth import get_user_model
from django.db import close_old_connections
from mcp.server import Server
from mcp.server.auth.middleware.auth_context import get_access_token

from charts_app.chart_kinds import AIR_QUALITY_SCHEMA
from charts_app.services import air_quality_notice

from . import calls
from .definitions import (
    DELETE_SESSION_CHARTS,
    DESCRIPTIONS,
    GENERATE_CHART,
    LIST_SESSION_CHARTS,
    input_schema,
)

logger = logging.getLogger(__name__)

SERVER_NAME = "aeris-charts"
INSTRUCTIONS = (
    "Air-quality charts for a chat: draw one with generate_chart from rows of readings and "
    "show its `markdown` to the user; list or delete a chat session's charts."
)
_INCLUDE_IMAGE = {
    "include_image": {
        "type": "boolean",
        "description": "Also return the image itself (for clients that show MCP images).",
    }
}


def json_schema(openapi: dict) -> dict:
    """An OpenAPI 3.0 schema as JSON Schema: `nullable: true` becomes a "null" type."""
    out = {key: value for key, value in openapi.items() if key != "nullable"}
    if openapi.get("nullable"):
        out["type"] = [openapi["type"], "null"]
    if "properties" in out:
        out["properties"] = {name: json_schema(sub) for name, sub in out["properties"].items()}
    if "items" in out:
        out["items"] = json_schema(out["items"])
    return out


_NUMBER_OR_NULL = {"type": ["integer", "null"]}
_TEXT_OR_NULL = {"type": ["string", "null"]}
CHART_ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "success": {"type": "boolean"},
        "chart_data": {"type": "string", "description": "The chart's URL (or data URI)."},
        "markdown": {"type": "string"},
        "url": _TEXT_OR_NULL,
        "id": _TEXT_OR_NULL,
        "format": {"type": "string"},
        "storage": {"type": "string"},
        "session_id": _TEXT_OR_NULL,
        "chart_type": {"type": "string"},
        "data_rows": _NUMBER_OR_NULL,
        "original_rows": _NUMBER_OR_NULL,
        "data_sampled": {"type": "boolean"},
        "sampling_notice": _TEXT_OR_NULL,
        "columns_used": {"type": ["object", "null"]},
        "air_quality": json_schema(AIR_QUALITY_SCHEMA),
    },
    "required": ["success", "chart_data", "markdown", "format", "chart_type", "data_sampled"],
}
LIST_ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "session_id": {"type": "string"},
        "count": {"type": "integer"},
        "charts": {"type": "array", "items": {"type": "object"}},
    },
    "required": ["session_id", "count", "charts"],
}
DELETE_ANSWER_SCHEMA = {
    "type": "object",
    "properties": {
        "deleted": {"type": "integer"},
        "errors": {"type": "integer"},
        "message": {"type": "string"},
    },
    "required": ["deleted", "errors", "message"],
}


def tools() -> list[types.Tool]:
    annotations = types.ToolAnnotations
    return [
        types.Tool(
            name=GENERATE_CHART,
            title="Generate chart",
            description=DESCRIPTIONS[GENERATE_CHART],
            input_schema=input_schema(GENERATE_CHART, session=True, extra=_INCLUDE_IMAGE),
            output_schema=CHART_ANSWER_SCHEMA,
            # An identical call in the same session answers the chart it made before.
            annotations=annotations(
                read_only_hint=False,
                destructive_hint=False,
                idempotent_hint=True,
                open_world_hint=False,
            ),
        ),
        types.Tool(
            name=LIST_SESSION_CHARTS,
            title="List a session's charts",
            description=DESCRIPTIONS[LIST_SESSION_CHARTS],
            input_schema=input_schema(LIST_SESSION_CHARTS),
            output_schema=LIST_ANSWER_SCHEMA,
            annotations=annotations(read_only_hint=True, open_world_hint=False),
        ),
        types.Tool(
            name=DELETE_SESSION_CHARTS,
            title="Delete a session's charts",
            description=DESCRIPTIONS[DELETE_SESSION_CHARTS],
            input_schema=input_schema(LIST_SESSION_CHARTS),
            output_schema=DELETE_ANSWER_SCHEMA,
            annotations=annotations(
                read_only_hint=False,
                destructive_hint=True,
                idempotent_hint=True,
                open_world_hint=False,
            ),
        ),
    ]


def _with_connections(fn, *args, **kwargs):
    """Django work in an anyio worker thread: no request signals close its connections."""
    close_old_connections()
    try:
        return fn(*args, **kwargs)
    finally:
        close_old_connections()


def _error(message: str) -> types.CallToolResult:
    return types.CallToolResult(
        is_error=True, content=[types.TextContent(type="text", text=message)]
    )


def run_tool(user_id: int, name: str, arguments: dict) -> types.CallToolResult:
    """One tool call for the user, synchronously (in a worker thread)."""
    user = get_user_model().objects.filter(pk=user_id, is_active=True).first()
    if user is None:
        return _error("The account this server acts for is not active.")
    arguments = dict(arguments or {})
    if name == GENERATE_CHART:
        include_image = bool(arguments.pop("include_image", False))
        answer, image, error = calls.generate_chart(
            arguments, user=user, include_image=include_image
        )
        if error:
            return _error(f"The chart was not drawn. {error}")
        content = [types.TextContent(type="text", text=_chart_text(answer))]
        if image is not None:
            encoded = base64.b64encode(image).decode("ascii")
            mime = f"image/{'svg+xml' if answer['format'] == 'svg' else answer['format']}"
            content.append(types.ImageContent(type="image", data=encoded, mime_type=mime))
        return types.CallToolResult(content=content, structured_content=answer)
    if name == LIST_SESSION_CHARTS:
        answer, error = calls.list_session_charts(arguments, user=user)
        text = error or "\n".join(
            [f"{answer['count']} charts in session {answer['session_id']}."]
            + [chart["markdown"] for chart in answer["charts"]]
        )
    elif name == DELETE_SESSION_CHARTS:
        answer, error = calls.delete_session_charts(arguments, user=user)
        text = error or answer["message"]
    else:
        return _error(f"Unknown tool {name!r}; the tools are {[t.name for t in tools()]}.")
    if error:
        return _error(error)
    return types.CallToolResult(
        content=[types.TextContent(type="text", text=text)], structured_content=answer
    )


def _chart_text(answer: dict) -> str:
    lines = [answer["markdown"]]
    for notice in (answer.get("sampling_notice"), air_quality_notice(answer.get("air_quality"))):
        if notice:
            lines.append(notice)
    if answer.get("notice"):
        lines.append(answer["notice"])
    return "\n\n".join(lines)


def build_server(*, stdio_user_id: int | None = None) -> Server:
    """The server; over HTTP the caller's token names the user, over stdio `stdio_user_id`."""

    async def list_tools(ctx, params) -> types.ListToolsResult:
        return types.ListToolsResult(tools=tools())

    async def call_tool(ctx, params: types.CallToolRequestParams) -> types.CallToolResult:
        token = get_access_token()
        user_id = int(token.client_id) if token is not None else stdio_user_id
        if user_id is None:
            return _error("Not authenticated.")
        work = functools.partial(
            _with_connections, run_tool, user_id, params.name, params.arguments or {}
        )
        try:
            return await anyio.to_thread.run_sync(work)
        except Exception:  # a bug must not reach the model as a traceback
            logger.exception("MCP tool %s failed", params.name)
            return _error("The chart service failed on this call; try again.")

    return Server(
        SERVER_NAME,
        version="1.0.0",
        instructions=INSTRUCTIONS,
        on_list_tools=list_tools,
        on_call_tool=call_tool,
    )
