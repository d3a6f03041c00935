"""The MCP server driven by the official `mcp` SDK's client: over stdio (a subprocess, as a
desktop client starts it) and over Streamable HTTP (a real server with Bearer tokens).

One deployment (database, MEDIA_ROOT) is shared by both MCP servers and a runserver that
serves the chart files, so a chart made through MCP is checked the way a user sees it.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import sqlite3
import subprocess
import sys
import time

import httpx
import httpx2
import pytest
from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.client.streamable_http import streamable_http_client

from tests.agent.calls import hourly as sensor_rows
from tests.agent.calls import image_size, json_rows
from tests.support.env import PYTHON, ROOT, clean_env, run_manage
from tests.support.ports import free_port
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.server

CHART_CALL = {
    "data": json_rows(sensor_rows(24)),
    "chart_type": "line",
    "x_column": "time",
    "y_column": "pm2_5,pm10",
    "title": "Kampala PM",
}


@pytest.fixture(scope="module")
def deployment(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("mcp")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "CHARTS_PRUNE_ON_STARTUP": "false",
        "LOG_LEVEL": "WARNING",
    }
    assert run_manage("migrate", "--noinput", "-v", "0", env=env).returncode == 0
    token = run_manage("agent_token", "mcp-agent", env=env).stdout.strip().splitlines()[-1]
    with ServerProcess("runserver", env, tmp / "web.log") as web:
        yield {"env": env, "tmp": tmp, "token": token, "web": web}


@pytest.fixture(scope="module")
def http_server(deployment):
    port = free_port()
    log = open(deployment["tmp"] / "mcp-http.log", "w")  # closed below
    proc = subprocess.Popen(
        [PYTHON, "manage.py", "mcp_server", "--http", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=clean_env(deployment["env"]),
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    url = f"http://127.0.0.1:{port}/mcp"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.post(url, json={}, timeout=2).status_code == 401:
                break
        assert proc.poll() is None, (deployment["tmp"] / "mcp-http.log").read_text()
        time.sleep(0.1)
    yield url
    proc.terminate()
    proc.wait(timeout=20)
    log.close()


def rows(deployment, query: str, *args) -> list[tuple]:
    db = sqlite3.connect(deployment["tmp"] / "db.sqlite3", timeout=20)
    try:
        return db.execute(query, args).fetchall()
    finally:
        db.close()


async def _stdio_session(deployment, work, *extra_args):
    params = StdioServerParameters(
        command=PYTHON,
        args=["manage.py", "mcp_server", *extra_args],
        env=clean_env(deployment["env"]),
        cwd=str(ROOT),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as session:
        return await work(session)


async def _http_session(url: str, token: str | None, work):
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with httpx2.AsyncClient(headers=headers, timeout=60) as http:
        async with streamable_http_client(url, http_client=http) as (read, write):
            async with ClientSession(read, write) as session:
                return await work(session)


def full_round(web_base_url: str):
    async def work(session) -> dict:
        """initialize, list tools, make a chart (with its image) and fetch it, list, bad
        calls, delete the session and fetch again."""
        seen = {"init": await session.initialize()}
        seen["tools"] = {tool.name: tool for tool in (await session.list_tools()).tools}
        call = {**CHART_CALL, "session_id": "mcp-s1", "include_image": True}
        seen["chart"] = await session.call_tool("generate_chart", call)
        url = web_base_url + (seen["chart"].structured_content or {}).get("url", "/")
        async with httpx.AsyncClient(timeout=30) as web:
            seen["served"] = await web.get(url)
            seen.update(await _the_rest(session))
            seen["served_after"] = await web.get(url)
        return seen

    return work


async def _the_rest(session) -> dict:
    seen = {}
    seen["listed"] = await session.call_tool("list_session_charts", {"session_id": "mcp-s1"})
    seen["bad"] = await session.call_tool("generate_chart", {**CHART_CALL, "y_column": "o3"})
    seen["typo"] = await session.call_tool("generate_chart", {**CHART_CALL, "colour": "red"})
    pm25 = {**CHART_CALL, "y_column": "pm2_5"}  # the default session
    seen["air_quality"] = await session.call_tool("generate_chart", pm25)
    seen["deleted"] = await session.call_tool("delete_session_charts", {"session_id": "mcp-s1"})
    return seen


def check_round(seen: dict, deployment) -> None:
    assert seen["init"].server_info.name == "aeris-charts"
    tools = seen["tools"]
    assert set(tools) == {"generate_chart", "list_session_charts", "delete_session_charts"}
    generate = tools["generate_chart"]
    assert {"session_id", "include_image", "data", "y_column"} <= set(
        generate.input_schema["properties"]
    )
    assert generate.output_schema["type"] == "object"
    assert generate.annotations.idempotent_hint and not generate.annotations.destructive_hint
    assert tools["delete_session_charts"].annotations.destructive_hint is True
    assert tools["list_session_charts"].annotations.read_only_hint is True

    chart = seen["chart"]
    assert chart.is_error is False, chart.content
    answer = chart.structured_content
    assert answer["success"] and answer["session_id"] == "mcp-s1"
    assert chart.content[0].type == "text" and answer["markdown"] in chart.content[0].text
    image = base64.b64decode(chart.content[1].data)
    assert chart.content[1].mime_type == "image/png"
    assert image_size(image) == (answer["width"], answer["height"])
    served = seen["served"]
    assert served.status_code == 200 and served.content == image  # the same file, served

    listed = seen["listed"].structured_content
    assert listed["count"] == 1 and listed["charts"][0]["id"] == answer["id"]
    assert seen["bad"].is_error and "y: Column 'o3'" in seen["bad"].content[0].text
    assert seen["typo"].is_error and "colour: unknown field" in seen["typo"].content[0].text
    assert answer["air_quality"] is None  # PM2.5 and PM10 together: no one scale to show
    banded = seen["air_quality"]
    assert banded.structured_content["air_quality"]["pollutant"] == "PM2.5"
    assert "Background colours: US EPA 24-hour PM2.5" in banded.content[0].text
    assert seen["deleted"].structured_content["deleted"] == 1
    assert seen["served_after"].status_code == 404  # files gone with the session
    assert not rows(deployment, "SELECT id FROM charts_app_chart WHERE session_id = 'mcp-s1'")


def test_stdio_round_trip_with_the_sdk_client(deployment):
    seen = asyncio.run(_stdio_session(deployment, full_round(deployment["web"].base_url)))
    check_round(seen, deployment)
    # The charts belonged to the `mcp` service user, created on first use.
    assert rows(deployment, "SELECT username FROM auth_user WHERE username = 'mcp'")


def test_stdio_charts_are_ordinary_charts_of_the_named_user(deployment):
    async def work(session):
        await session.initialize()
        return await session.call_tool("generate_chart", {**CHART_CALL, "session_id": "mcp-u"})

    result = asyncio.run(_stdio_session(deployment, work, "--user", "desk-app"))
    assert result.is_error is False
    owner = rows(
        deployment,
        "SELECT u.username FROM sessions_app_chatsession s JOIN auth_user u ON u.id = s.owner_id "
        "WHERE s.id = 'mcp-u'",
    )
    made_by = rows(
        deployment,
        "SELECT u.username FROM charts_app_chart c JOIN auth_user u ON u.id = c.created_by_id "
        "WHERE c.session_id = 'mcp-u'",
    )
    assert owner == made_by == [("desk-app",)]


def test_http_round_trip_with_a_bearer_token(deployment, http_server):
    work = full_round(deployment["web"].base_url)
    seen = asyncio.run(_http_session(http_server, deployment["token"], work))
    check_round(seen, deployment)


def test_http_without_a_valid_token_is_401(http_server):
    for headers in ({}, {"Authorization": "Bearer not-a-token"}, {"Authorization": "Token x"}):
        answer = httpx.post(http_server, json={"jsonrpc": "2.0", "id": 1}, headers=headers)
        assert answer.status_code == 401, headers
        assert answer.headers["WWW-Authenticate"].startswith("Bearer")

    async def work(session):
        await session.initialize()

    # The SDK client gives up on a 401 (its task group re-raises the MCPError).
    with pytest.raises(ExceptionGroup) as refused:
        asyncio.run(_http_session(http_server, None, work))
    assert "Server returned an error response" in repr(refused.value)


def test_a_bad_command_line_says_what_to_fix():
    done = subprocess.run(
        [PYTHON, "manage.py", "mcp_server", "--http", "8001"],
        cwd=ROOT,
        env=clean_env({}),
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode != 0 and "HOST:PORT" in done.stderr
    assert sys.executable  # the same interpreter runs the servers
