"""The Aeris-AQ agent's calls against the in-process API: its names, its answer keys, real
sensor data (gaps, ISO timestamps), from plain code and from `async def` code."""

from __future__ import annotations

import asyncio
import base64
from datetime import timedelta

import pandas as pd
import pytest
from django.utils import timezone

from charts_app import services
from charts_app.models import Chart
from charts_app.services import get_chart_storage_service, get_visualization_service
from sessions_app.models import ChatSession
from tests.agent.calls import CALLS, SESSION_69, check_success, hourly, image_size
from tests.conftest import make_png

pytestmark = pytest.mark.django_db(transaction=True)


def served(client, url: str) -> bytes:
    response = client.get(url)
    assert response.status_code == 200, url
    return b"".join(response.streaming_content)


@pytest.mark.parametrize("args", [args for _, args in CALLS], ids=[name for name, _ in CALLS])
def test_agent_calls_draw_store_and_serve(args, client):
    viz = get_visualization_service()
    answer = viz.generate_chart(**args, output_format="file", interactive=False, session_id="kla-1")
    check_success(answer, args["chart_type"])
    assert answer["storage"] == "local" and answer["session_id"] == "kla-1"
    assert answer["chart_data"].startswith("/charts/kla-1/chart_")  # relative, as documented
    content = served(client, answer["chart_data"])
    assert image_size(content) == (answer["width"], answer["height"])
    assert Chart.objects.get(pk=answer["id"]).path == answer["path"]


def test_sensor_gaps_are_drawn_as_gaps_and_counted():
    rows = hourly(24, gaps=(5, 6, 17))
    answer = services.generate_chart(rows, "line", x_column="time", y_column="pm2_5")
    assert answer["success"] is True
    assert (answer["data_rows"], answer["original_rows"]) == (21, 24)
    assert answer["columns_used"] == {"x": "time", "y": "pm2_5", "color": None}
    assert answer["data_sampled"] is False and answer["sampling_notice"] is None


def test_1500_rows_are_all_drawn_and_5000_are_thinned_keeping_the_peak():
    def series(n):
        rows = [
            {"time": f"2026-{1 + i // 720:02d}-{1 + i // 24 % 30:02d}T{i % 24:02d}:00Z", "v": 20.0}
            for i in range(n)
        ]
        rows[n // 3]["v"] = 480.0  # one hazardous hour
        return rows

    full = services.generate_chart(series(1500), "line", x_column="time", y_column="v")
    assert (full["data_rows"], full["original_rows"], full["data_sampled"]) == (1500, 1500, False)
    thinned = services.generate_chart(series(5000), "line", x_column="time", y_column="v")
    assert thinned["data_sampled"] is True
    assert thinned["data_rows"] <= 2000 < thinned["original_rows"] == 5000
    notice = thinned["sampling_notice"]
    assert f"{thinned['data_rows']:,} of 5,000 points" in notice and "peaks" in notice


def test_no_session_goes_to_default_and_a_69_character_id_is_kept(client):
    unnamed = services.generate_chart(hourly(), "line", x_column="time", y_column="pm10")
    assert unnamed["session_id"] == "default"
    long = services.generate_chart(
        hourly(), "line", x_column="time", y_column="pm10", session_id=SESSION_69
    )
    assert long["success"] and long["session_id"] == SESSION_69
    assert long["path"] == f"charts/{SESSION_69}/{long['path'].rsplit('/', 1)[1]}"
    assert ChatSession.objects.filter(pk=SESSION_69).exists()
    image_size(served(client, long["chart_data"]))
    assert services.delete_session_charts(SESSION_69)["deleted"] == 1
    assert client.get(long["chart_data"]).status_code == 404


def test_todays_names_keep_working_and_a_conflict_is_an_answer():
    rows = hourly()
    old = services.generate_chart(rows, "scatter", x="pm10", y="pm2_5", color="red", format="svg")
    assert old["success"] and old["format"] == "svg"
    assert old["columns_used"] == {"x": "pm10", "y": "pm2_5", "color": None}
    clash = services.generate_chart(rows, "line", x_column="time", x="pm10")
    assert clash["success"] is False and clash["field"] == "x_column"
    assert "disagree" in clash["message"]


@pytest.mark.parametrize(
    "kwargs, field, words",
    [
        ({"data": [], "chart_type": "line"}, "data", "empty"),
        ({"data": "pm2_5 was 40", "chart_type": "bar"}, "data", "list"),
        ({"data": hourly(), "chart_type": "radar"}, "chart_type", "radar"),
        ({"data": hourly(), "chart_type": "line", "y_column": "o3"}, "y", "'o3'"),
        ({"data": hourly(), "chart_type": "line", "output_format": "gif"}, "output_format", "gif"),
        ({"data": hourly(), "chart_type": "line", "session_id": "../etc"}, "session_id", "1-100"),
        ({"data": hourly(), "chart_type": "line", "bins": 30}, "bins", "unknown"),
        ({"data": [{"t": 1, "v": None}], "chart_type": "line"}, "y", "no values"),
    ],
)
def test_bad_input_is_an_answer_naming_what_to_change(kwargs, field, words, media_root):
    answer = services.generate_chart(**kwargs)
    assert answer["success"] is False
    assert set(answer) == {"success", "error", "message", "chart_type", "field"}
    assert answer["field"] == field and words in answer["message"]
    assert not list(media_root.rglob("*.png")) and Chart.objects.count() == 0


def test_interactive_and_plotly_json_answer_the_static_chart_with_a_notice():
    for extra in ({"interactive": True}, {"output_format": "plotly_json"}):
        answer = services.generate_chart(
            hourly(), "line", x_column="time", y_column="pm2_5", **extra
        )
        assert answer["success"] and answer["format"] == "png"
        assert "static" in answer["notice"]


def test_base64_answers_a_data_uri_and_stores_nothing(media_root):
    answer = services.generate_chart(hourly(), "bar", x_column="time", output_format="base64")
    check_success(answer, "bar")
    assert answer["storage"] == "base64" and answer["id"] is None
    header, encoded = answer["chart_data"].split(",", 1)
    assert header == "data:image/png;base64"
    assert image_size(base64.b64decode(encoded)) == (answer["width"], answer["height"])
    assert Chart.objects.count() == 0


def test_a_pandas_dataframe_with_nan_and_timestamps_is_drawn():
    frame = pd.DataFrame(hourly(24))
    frame["time"] = pd.to_datetime(frame["time"])
    frame["pm2_5"] = pd.to_numeric(frame["pm2_5"])  # None, NaN and "" become NaN
    assert frame["pm2_5"].isna().sum() == 3
    answer = services.generate_chart(frame, "line", x_column="time", y_column="pm2_5,pm10")
    assert answer["success"], answer
    # Hour 5 has neither reading (pm10 missing there too); the other gaps have pm10.
    assert (answer["data_rows"], answer["original_rows"]) == (23, 24)


def test_seed_calls_keep_their_shapes(media_root):
    store = get_chart_storage_service()
    saved = store.save_chart(make_png(), "s-1", "line")
    assert {"url", "backend", "session_id", "id", "path"} <= set(saved)
    assert store.delete_session_charts("s-1") == {
        "deleted": 1,
        "errors": 0,
        "message": "Deleted 1 charts",
    }
    Chart.objects.filter(pk=store.save_chart(make_png(), "s-2")["id"]).update(
        created_at=timezone.now() - timedelta(hours=30)
    )
    assert store.cleanup_old_charts(max_age_hours=24) == 1


def test_every_call_works_inside_a_running_event_loop(client):
    """Aeris-AQ's Ollama path calls the sync API from `async def` code."""

    async def agent_turn():
        viz, store = get_visualization_service(), get_chart_storage_service()
        chart = viz.generate_chart(hourly(), "line", x_column="time", y_column="pm2_5")
        saved = store.save_chart(make_png(), "loop-1", "line")
        deleted = store.delete_session_charts("loop-1")
        pruned = store.cleanup_old_charts(max_age_hours=24)
        return chart, saved, deleted, pruned

    chart, saved, deleted, pruned = asyncio.run(agent_turn())
    check_success(chart, "line")
    assert saved["session_id"] == "loop-1" and deleted["deleted"] == 1 and pruned == 0
    image_size(served(client, chart["chart_data"]))


def test_coroutine_twins_run_concurrently_and_answer_alike(client):
    async def agent_turns():
        answers = await asyncio.gather(
            *(
                services.agenerate_chart(
                    hourly(), "line", x_column="time", y_column="pm2_5", session_id=f"a-{i}"
                )
                for i in range(3)
            )
        )
        saved = await get_chart_storage_service().asave_chart(make_png(), "a-0", "line")
        deleted = await services.adelete_session_charts("a-1")
        pruned = await services.acleanup_old_charts(max_age_hours=24)
        return answers, saved, deleted, pruned

    answers, saved, deleted, pruned = asyncio.run(agent_turns())
    for i, answer in enumerate(answers):
        check_success(answer, "line")
        assert answer["session_id"] == f"a-{i}"
        if i != 1:  # a-1 was deleted
            image_size(served(client, answer["chart_data"]))
    assert client.get(answers[1]["chart_data"]).status_code == 404
    assert saved["session_id"] == "a-0" and deleted["deleted"] == 1 and pruned == 0
    assert Chart.objects.count() == 3  # a-0 twice, a-2; a-1 deleted
