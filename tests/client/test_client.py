"""aeris_charts_client against a real server (runserver, its own database and MEDIA_ROOT):
the in-process API's calls and answer shapes over HTTP, sync and async, with retries."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest
from aeris_charts_client import AsyncChartsClient, ChartsClient, ChartsClientError

from tests.agent.calls import AGENT_KEYS, CALLS, SERVICE_KEYS, check_success, image_size, json_rows
from tests.conftest import make_png
from tests.support.env import run_manage
from tests.support.fault_proxy import FaultProxy
from tests.support.ports import closed_url
from tests.support.servers import ServerProcess

pytestmark = pytest.mark.server


def _token(env: dict, *args: str) -> str:
    proc = run_manage("agent_token", *args, env=env)
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("client")
    env = {
        "DATABASE_URL": f"sqlite:///{tmp / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp / "media"),
        "CHARTS_PRUNE_ON_STARTUP": "false",
        "LOG_LEVEL": "WARNING",
    }
    assert run_manage("migrate", "--noinput", "-v", "0", env=env).returncode == 0
    with ServerProcess("runserver", env, tmp / "server.log") as running:
        running.agent = _token(env, "aeris-agent")
        running.staff = _token(env, "ops", "--staff")
        yield running


def fetch(server, url: str) -> bytes:
    answer = httpx.get(server.base_url + url, timeout=30)
    assert answer.status_code == 200, url
    return answer.content


def http_args(args: dict) -> dict:
    return {**args, "data": json_rows(args["data"])}


@pytest.mark.parametrize("args", [args for _, args in CALLS], ids=[name for name, _ in CALLS])
def test_agent_calls_through_the_client(server, args):
    with ChartsClient(server.base_url, server.agent) as viz:
        answer = viz.generate_chart(**http_args(args), session_id="cli-1")
    check_success(answer, args["chart_type"])
    assert answer["storage"] == "local" and answer["session_id"] == "cli-1"
    assert image_size(fetch(server, answer["chart_data"])) == (answer["width"], answer["height"])


def test_answers_have_the_in_process_keys(server):
    from tests.agent.calls import hourly

    with ChartsClient(server.base_url, server.agent) as viz:
        stored = viz.generate_chart(json_rows(hourly()), "line", "time", "pm2_5")
        inline = viz.generate_chart(json_rows(hourly()), "bar", output_format="base64")
        failed = viz.generate_chart(json_rows(hourly()), "line", y_column="o3")
        plain = viz.generate_chart(json_rows(hourly()), "line", "time", "pm2_5", air_quality="off")
    assert AGENT_KEYS | SERVICE_KEYS <= set(stored) and AGENT_KEYS <= set(inline)
    assert inline["storage"] == "base64" and inline["chart_data"].startswith("data:image/png")
    assert (stored["data_rows"], stored["original_rows"]) == (21, 24)
    assert stored["air_quality"]["pollutant"] == "PM2.5" and plain["air_quality"] is None
    assert inline["air_quality"]["pollutant"] == "PM2.5"  # bars of the first column, pm2_5
    assert failed["success"] is False and failed["field"] == "y" and "'o3'" in failed["message"]
    assert failed["chart_type"] == "line"


def test_seed_calls_over_http(server):
    store = ChartsClient(server.base_url, server.agent)
    saved = store.save_chart(make_png(), "cli-seed", "line")
    assert saved["backend"] == "local" and saved["session_id"] == "cli-seed"
    image_size(fetch(server, saved["url"]))
    assert store.delete_session_charts("cli-seed") == {
        "deleted": 1,
        "errors": 0,
        "message": "Deleted 1 charts",
    }
    assert store.delete_session_charts("never-made")["deleted"] == 0
    with pytest.raises(ChartsClientError) as refused:
        store.save_chart(b"not an image", "cli-seed")
    assert refused.value.status == 400 and "file" in refused.value.fields
    with pytest.raises(ChartsClientError) as forbidden:
        store.cleanup_old_charts(24)
    assert forbidden.value.status == 403
    assert ChartsClient(server.base_url, server.staff).cleanup_old_charts(max_age_hours=24) == 0


def test_the_async_client_from_async_code(server):
    from tests.agent.calls import hourly

    async def agent_turn():
        async with AsyncChartsClient(server.base_url, server.agent) as viz:
            charts = await asyncio.gather(
                *(
                    viz.agenerate_chart(
                        json_rows(hourly()), "line", "time", "pm10", session_id=f"as-{i}"
                    )
                    for i in range(3)
                )
            )
            saved = await viz.asave_chart(make_png(), "as-0", "line")
            deleted = await viz.adelete_session_charts("as-1")
        async with AsyncChartsClient(server.base_url, server.staff) as ops:
            pruned = await ops.acleanup_old_charts(24)
        return charts, saved, deleted, pruned

    charts, saved, deleted, pruned = asyncio.run(agent_turn())
    for i, chart in enumerate(charts):
        check_success(chart, "line")
        assert chart["session_id"] == f"as-{i}"
    assert saved["session_id"] == "as-0" and deleted["deleted"] == 1 and pruned == 0


def test_idempotent_calls_are_retried_and_uploads_are_not(server):
    proxy = FaultProxy(("127.0.0.1", server.port)).start()
    try:
        viz = ChartsClient(proxy.base_url, server.agent, retries=2)
        proxy.inject(drop=True, ops=("other",), times=1)  # the answer never comes back
        body = {"data": [{"t": 1, "v": 2.0}, {"t": 2, "v": 3.0}], "chart_type": "bar"}
        answer = viz.generate_chart(**body, session_id="retry-1")
        assert answer["success"] is True and proxy.count() == 2
        proxy.inject(status=503, ops=("other",), times=1)
        assert viz.generate_chart(**body, session_id="retry-2")["success"] is True
        before = proxy.count()
        proxy.inject(drop=True, ops=("other",), times=1)
        with pytest.raises(ChartsClientError) as lost:
            viz.save_chart(make_png(), "retry-1")
        assert lost.value.code == "unreachable" and proxy.count() - before == 1
    finally:
        proxy.stop()


def test_an_unreachable_service_is_an_answer_not_an_exception():
    viz = ChartsClient(closed_url(), "no-token", retries=1, timeout=2)
    answer = viz.generate_chart([{"t": 1, "v": 1}], "line")
    assert answer["success"] is False and answer["error"] == "unreachable"
    assert json.dumps(answer)  # plain data an agent can log or forward
