"""sync_charts: re-home local fallbacks to Cloudinary; find and fix orphans on both backends."""

from __future__ import annotations

import os
import time
from datetime import timedelta

import pytest
import requests
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from charts_app.models import Chart
from charts_app.services import get_chart_storage_service
from tests.conftest import make_png
from tests.lifecycle.helpers import make_charts

pytestmark = pytest.mark.django_db(transaction=True)


def fallback_charts(settings, cloudinary, n=3):
    """Charts saved while Cloudinary was down: they live on the local backend."""
    settings.CHARTS_CLOUDINARY_TIMEOUT = 0.5
    cloudinary.inject(status=503, actions=("upload",), times=n)
    saved = [
        get_chart_storage_service().save_chart(make_png(20 + i, 20), "s1", "line") for i in range(n)
    ]
    assert {s["backend"] for s in saved} == {"local"}
    return [Chart.objects.get(pk=s["id"]) for s in saved]


def test_rehome_moves_local_fallbacks_to_cloudinary(
    cloudinary, settings, media_root, client, capsys
):
    charts = fallback_charts(settings, cloudinary)
    originals = {c.pk: (media_root / c.path).read_bytes() for c in charts}

    call_command("sync_charts", "--rehome", "--no-orphans")

    assert "re-homed 3 charts to Cloudinary (0 failed)" in capsys.readouterr().out
    for chart in charts:
        moved = Chart.objects.get(pk=chart.pk)
        assert moved.backend == "cloudinary"
        assert moved.previous_path == chart.path
        assert cloudinary.resources[moved.path].content == originals[chart.pk]
        assert requests.get(moved.url, timeout=5).content == originals[chart.pk]
        assert not (media_root / chart.path).exists()
        # The old local URL (already pasted into a chat) still leads to the chart.
        old = client.get(chart.url)
        assert old.status_code == 302 and old["Location"] == moved.url


def test_rehome_during_an_outage_keeps_charts_local_and_servable(
    cloudinary, settings, media_root, client
):
    charts = fallback_charts(settings, cloudinary)
    cloudinary.inject(status=500, actions=("upload",))
    with pytest.raises(CommandError) as failed:
        call_command("sync_charts", "--rehome", "--no-orphans")
    assert failed.value.returncode == 2
    for chart in charts:
        assert Chart.objects.get(pk=chart.pk).backend == "local"
        assert client.get(chart.url).status_code == 200


def test_rehome_after_a_crash_between_upload_and_row_update(cloudinary, settings, media_root):
    (chart,) = fallback_charts(settings, cloudinary, n=1)
    # A previous run uploaded the bytes, then died before it updated the row.
    public_id = f"aeris-aq/charts/s1/{chart.path.rsplit('/', 1)[1][:-4]}"
    cloudinary.put(public_id, (media_root / chart.path).read_bytes())
    call_command("sync_charts", "--rehome", "--no-orphans")
    assert Chart.objects.get(pk=chart.pk).path == public_id


def test_rehome_needs_cloudinary():
    with pytest.raises(CommandError, match="Cloudinary is not configured"):
        call_command("sync_charts", "--rehome")


def _age(path, minutes):
    old = time.time() - minutes * 60
    os.utime(path, (old, old))


def test_orphans_are_listed_and_fixed(cloudinary, settings, media_root, capsys):
    tracked_local = make_charts(2, session_id="ok", backend="local")
    tracked_cloud = make_charts(2, session_id="ok", backend="cloudinary", emulator=cloudinary)
    for chart in tracked_local:
        _age(media_root / chart.path, 60)
    # Orphan files: no row references them.
    orphan_local = media_root / "charts" / "lost" / "chart_20260101_000000_00aa11bb22cc33dd44ee.png"
    orphan_local.parent.mkdir(parents=True)
    orphan_local.write_bytes(make_png())
    _age(orphan_local, 60)
    stray = media_root / "charts" / "lost" / "notes.txt"
    stray.write_text("not a chart")
    _age(stray, 60)
    fresh = media_root / "charts" / "lost" / "chart_20261128_000000_ffeeddccbbaa99887766.png"
    fresh.write_bytes(make_png())  # a save in progress: inside the grace period
    orphan_cloud = "aeris-aq/charts/lost/chart_20260101_000000_0011223344556677aabb"
    cloudinary.put(orphan_cloud, make_png())
    cloudinary.resources[orphan_cloud].created_at = timezone.now() - timedelta(hours=2)
    for public_id in (c.path for c in tracked_cloud):
        cloudinary.resources[public_id].created_at = timezone.now() - timedelta(hours=2)
    # Rows whose file is gone.
    (media_root / tracked_local[0].path).unlink()
    del cloudinary.resources[tracked_cloud[0].path]

    call_command("sync_charts")
    report = capsys.readouterr().out
    assert f"orphan file: local:{orphan_local.relative_to(media_root)}" in report
    assert "orphan file: local:charts/lost/notes.txt" in report
    assert f"orphan file: cloudinary:{orphan_cloud}" in report
    assert f"row without file: local:{tracked_local[0].path}" in report
    assert f"row without file: cloudinary:{tracked_cloud[0].path}" in report
    assert "3 orphan files, 2 rows without a file" in report
    assert fresh.name not in report
    assert Chart.objects.count() == 4  # a report changes nothing

    call_command("sync_charts", "--fix")
    assert "deleted 3 files and 2 rows" in capsys.readouterr().out
    assert not orphan_local.exists() and not stray.exists()
    assert fresh.exists()
    assert orphan_cloud not in cloudinary.resources
    assert set(Chart.objects.values_list("pk", flat=True)) == {
        tracked_local[1].pk,
        tracked_cloud[1].pk,
    }
    assert tracked_cloud[1].path in cloudinary.resources

    call_command("sync_charts")
    assert "0 orphan files, 0 rows without a file" in capsys.readouterr().out
