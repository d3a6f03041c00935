"""One contract for every remote backend (Cloudinary, S3, Azure Blob): save, serve, delete,
delete a session, prune, re-home, orphans, fallback on an outage, circuit breaker.

Each backend runs against a real server on loopback with its real SDK: the Cloudinary
emulator, moto's S3 server and Azurite.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.utils import timezone

from charts_app import services
from charts_app.models import Chart, PendingDeletion
from charts_app.services import get_chart_storage_service
from charts_app.storage import ChartStorageError, chart_filename, get_chain
from sessions_app.models import ChatSession
from tests.conftest import make_png, make_webp

pytestmark = pytest.mark.django_db(transaction=True)

PNG = make_png(24, 18)


def save(session_id="s1", content=PNG, chart_type="line") -> Chart:
    result = get_chart_storage_service().save_chart(content, session_id, chart_type)
    return Chart.objects.get(pk=result["id"])


def seed(remote, n, *, session_id="s1", age_hours=0.0) -> list[Chart]:
    """n tracked charts stored on the remote through its backend, `age_hours` old."""
    session, _ = ChatSession.objects.get_or_create(pk=session_id)
    created_at = timezone.now() - timedelta(hours=age_hours)
    backend = get_chain().backend(remote.name)
    rows = []
    for i in range(n):
        content = make_png(10 + i, 10)
        stored = backend.store(
            content=content,
            session_id=session_id,
            filename=chart_filename("png", created_at),
            chart_type="line",
            created_at=created_at,
        )
        rows.append(
            Chart(
                session=session,
                backend=remote.name,
                path=stored.name,
                url=stored.url,
                chart_type="line",
                format="png",
                bytes=len(content),
                width=10 + i,
                height=10,
                sha256=hashlib.sha256(content).hexdigest(),
                created_at=created_at,
            )
        )
    return Chart.objects.bulk_create(rows)


def local_files(media_root) -> set[str]:
    return {str(p.relative_to(media_root)) for p in media_root.rglob("*") if p.is_file()}


# --- save and serve --------------------------------------------------------------------------


def test_save_lands_on_the_backend_with_our_naming(remote, media_root):
    chart = save("abc-123", chart_type="scatter")

    assert chart.backend == remote.name
    filename = chart_filename("png", chart.created_at)  # same shape, different token
    assert chart.path.startswith(f"{remote.prefix}/abc-123/chart_")
    assert len(chart.path) == len(remote.expected_name("abc-123", filename))
    assert remote.names() == {chart.path}
    assert remote.content(chart.path) == PNG
    meta = remote.metadata(chart.path)
    assert meta["session_id"] == "abc-123"
    assert meta["chart_type"] == "scatter"
    assert "created_at" in meta
    assert local_files(media_root) == set()


def test_stored_url_serves_the_same_bytes(remote):
    webp = make_webp()
    chart = save("s1", content=webp)

    response = requests.get(chart.url, timeout=5)

    assert response.status_code == 200
    assert response.content == webp
    assert response.headers["Content-Type"] == "image/webp"


def test_objects_carry_type_and_immutable_cache_control(object_store):
    chart = save()
    meta = object_store.metadata(chart.path)
    assert meta["content_type"] == "image/png"
    assert meta["cache_control"] == "public, max-age=31536000, immutable"
    assert requests.get(chart.url, timeout=5).headers["Cache-Control"] == meta["cache_control"]


def test_upload_never_overwrites_an_existing_object(remote):
    backend = get_chain().backend(remote.name)
    filename = "chart_20260101_000000_00112233445566778899aabb.png"
    first = backend.store(content=PNG, session_id="s1", filename=filename)
    other = make_png(24, 18, color=(0, 0, 0))

    with pytest.raises(ChartStorageError) as caught:
        backend.store(content=other, session_id="s1", filename=filename)

    assert caught.value.cause == "conflict"
    assert remote.content(first.name) == PNG
    # A re-run of an interrupted re-home finds its own earlier upload: accepted.
    again = backend.store(content=PNG, session_id="s1", filename=filename, allow_existing=True)
    assert again.name == first.name


def test_backend_reads_back_what_it_stored(object_store):
    backend = get_chain().backend(object_store.name)
    chart = save()
    assert backend.exists(chart.path)
    assert backend.size(chart.path) == len(PNG)
    with backend.open(chart.path) as handle:
        assert handle.read() == PNG
    assert backend.url(chart.path).startswith("http://127.0.0.1:")
    missing = chart.path.replace("chart_", "chart_0", 1)
    assert not backend.exists(missing)
    with pytest.raises(FileNotFoundError):
        backend.open(missing)


# --- deleting --------------------------------------------------------------------------------


def test_chart_delete_removes_the_file_after_commit(remote):
    keep, gone = save(), save()

    with transaction.atomic():
        services.chart_delete(chart=gone)
        assert gone.path in remote.names(), "the file stays until the transaction commits"

    assert remote.names() == {keep.path}
    assert PendingDeletion.objects.count() == 0


def test_rolled_back_delete_keeps_the_file(remote):
    chart = save()
    pk = chart.pk
    with pytest.raises(RuntimeError), transaction.atomic():
        services.chart_delete(chart=chart)
        raise RuntimeError("abort")
    assert Chart.objects.filter(pk=pk).exists()
    assert remote.names() == {chart.path}


def test_deleting_a_missing_file_is_success(remote):
    chart = save()
    remote.remove(chart.path)
    get_chain().backend(remote.name).delete(chart.path)
    services.chart_delete(chart=chart)
    assert PendingDeletion.objects.count() == 0


def test_a_refused_delete_is_recorded_and_retried_by_prune(remote):
    chart = save()
    remote.inject(status=500, ops=("delete", "batch_delete"))

    services.chart_delete(chart=chart)

    pending = PendingDeletion.objects.get()
    assert (pending.backend, pending.name) == (remote.name, chart.path)
    assert chart.path in remote.names()
    remote.clear_faults()
    call_command("prune_charts", verbosity=0)
    assert remote.names() == set()
    assert PendingDeletion.objects.count() == 0


def test_session_delete_removes_its_prefix_in_one_listing_and_batch(remote):
    charts = [save("s1") for _ in range(3)]
    other = save("s2")
    before = remote.requests()

    result = services.session_delete(session_id="s1")

    assert (result.deleted, result.errors) == (3, 0)
    assert remote.requests() - before == remote.session_delete_calls
    assert remote.names() == {other.path}
    assert not Chart.objects.filter(pk__in=[c.pk for c in charts]).exists()


def test_backend_delete_session_is_one_listing_and_one_batch(object_store):
    backend = get_chain().backend(object_store.name)
    for i in range(5):
        object_store.put("big", f"chart_20260101_000000_{i:024x}.png", b"x")
    object_store.put("big-other", "chart_20260101_000000_00112233445566778899aabb.png", b"x")

    assert backend.delete_session("big") == 2

    assert {name.split("/")[-2] for name in object_store.names()} == {"big-other"}
    assert backend.delete_session("big") == 1, "an empty session costs one listing"


# --- prune, re-home, orphans -----------------------------------------------------------------


def test_prune_deletes_exactly_the_expired_charts(remote, capsys):
    old = seed(remote, 3, session_id="s1", age_hours=24.2)
    young = seed(remote, 2, session_id="s1", age_hours=23.8)

    call_command("prune_charts", "--max-age-hours", "24", "--batch-size", "2")

    assert capsys.readouterr().out.startswith("Pruned 3 charts older than 24 h; 0 file deletions")
    assert set(Chart.objects.values_list("pk", flat=True)) == {c.pk for c in young}
    assert remote.names() == {c.path for c in young}
    assert not {c.path for c in old} & remote.names()


def test_rehome_moves_fallbacks_to_the_backend(remote, media_root, client):
    remote.inject(status=503, times=3)
    charts = [save("s1", content=make_png(20 + i, 20)) for i in range(3)]
    assert {c.backend for c in charts} == {"local"}
    originals = {c.pk: (media_root / c.path).read_bytes() for c in charts}

    call_command("sync_charts", "--rehome", "--no-orphans")

    for chart in charts:
        moved = Chart.objects.get(pk=chart.pk)
        assert moved.backend == remote.name
        assert moved.previous_path == chart.path
        assert moved.path == remote.expected_name("s1", chart.path.rsplit("/", 1)[1])
        assert remote.content(moved.path) == originals[chart.pk]
        assert requests.get(moved.url, timeout=5).content == originals[chart.pk]
        assert not (media_root / chart.path).exists()
        old = client.get(chart.url)  # the old local URL, already pasted into a chat
        assert old.status_code == 302 and old["Location"] == moved.url


def test_rehome_during_an_outage_keeps_charts_local(remote, client):
    remote.inject(status=503)
    charts = [save() for _ in range(2)]
    with pytest.raises(CommandError) as failed:
        call_command("sync_charts", "--rehome", "--no-orphans")
    assert failed.value.returncode == 2
    for chart in charts:
        assert Chart.objects.get(pk=chart.pk).backend == "local"
        assert client.get(chart.url).status_code == 200


def test_orphans_are_listed_and_fixed(remote, capsys):
    tracked = seed(remote, 2, session_id="ok")
    orphan = remote.put("lost", "chart_20260101_000000_0011223344556677aabb.png", PNG)
    remote.remove(tracked[0].path)  # a row whose file is gone

    call_command("sync_charts", "--grace-minutes", "0")
    report = capsys.readouterr().out
    assert f"orphan file: {remote.name}:{orphan}" in report
    assert f"row without file: {remote.name}:{tracked[0].path}" in report
    assert "1 orphan files, 1 rows without a file" in report
    assert Chart.objects.count() == 2, "a report changes nothing"

    call_command("sync_charts", "--grace-minutes", "0", "--fix")
    assert "deleted 1 files and 1 rows" in capsys.readouterr().out
    assert remote.names() == {tracked[1].path}
    assert list(Chart.objects.values_list("pk", flat=True)) == [tracked[1].pk]

    call_command("sync_charts", "--grace-minutes", "0")
    assert "0 orphan files, 0 rows without a file" in capsys.readouterr().out


def test_young_files_without_a_row_are_left_alone(remote, capsys):
    remote.put("busy", "chart_20260101_000000_0011223344556677aabb.png", PNG)
    call_command("sync_charts", "--fix")
    assert "0 orphan files" in capsys.readouterr().out
    assert len(remote.names()) == 1


# --- outages ---------------------------------------------------------------------------------


def test_an_outage_falls_back_to_local_with_the_cause_logged(remote, media_root, caplog):
    remote.inject(status=503)
    caplog.set_level(logging.WARNING, logger="charts_app")

    chart = save()

    assert chart.backend == "local"
    assert (media_root / chart.path).read_bytes() == PNG
    assert chart.meta["fallback"] == {"from": remote.name, "cause": "server_error"}
    lines = [r.getMessage() for r in caplog.records if "falling back" in r.getMessage()]
    assert len(lines) == 1 and "server_error" in lines[0] and "\n" not in lines[0]
    assert remote.names() == set()


def test_an_unreachable_backend_falls_back_as_refused(remote, media_root):
    remote.refuse()
    chart = save()
    assert chart.backend == "local"
    assert chart.meta["fallback"] == {"from": remote.name, "cause": "refused"}


def test_three_failures_open_the_circuit_breaker(remote, client):
    remote.inject(status=500)
    assert [save().backend for _ in range(3)] == ["local"] * 3
    assert remote.uploads() == 3

    fourth = save()

    assert fourth.backend == "local"
    assert fourth.meta["fallback"]["cause"] == "circuit_open"
    assert remote.uploads() == 3, "an open breaker sends nothing to the backend"
    health = client.get("/api/v1/health/").json()["storage"]["circuit_breakers"][remote.name]
    assert health["state"] == "open"
    assert health["last_failure"]["cause"] == "server_error"
