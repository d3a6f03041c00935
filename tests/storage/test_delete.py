"""Deleting charts and sessions: files go after commit, rollbacks keep them, failures retry."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import transaction
from django.utils import timezone

from charts_app import services
from charts_app.deletion import retry_pending
from charts_app.models import Chart, PendingDeletion
from charts_app.services import get_chart_storage_service
from sessions_app.models import ChatSession


def save(png, session_id="s1", chart_type="line"):
    result = get_chart_storage_service().save_chart(png, session_id, chart_type)
    return Chart.objects.get(pk=result["id"])


@pytest.mark.django_db
def test_local_file_is_deleted_only_after_commit(
    media_root, png_bytes, django_capture_on_commit_callbacks
):
    chart = save(png_bytes)
    path = media_root / chart.path
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.chart_delete(chart=chart)
    assert path.exists(), "the file must survive until the transaction commits"
    assert len(callbacks) == 1
    callbacks[0]()
    assert not path.exists()
    assert not path.parent.exists(), "an emptied session folder is removed too"


@pytest.mark.django_db
def test_cloudinary_file_is_deleted_after_commit(
    cloudinary, png_bytes, django_capture_on_commit_callbacks
):
    chart = save(png_bytes)
    assert chart.backend == "cloudinary"
    with django_capture_on_commit_callbacks(execute=True):
        services.chart_delete(chart=chart)
    assert chart.path not in cloudinary.resources
    assert PendingDeletion.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_rolled_back_delete_keeps_file_and_row(media_root, cloudinary, png_bytes, settings):
    cloud_chart = save(png_bytes, "s1")
    settings.CHARTS_CLOUDINARY = None
    local_chart = save(png_bytes, "s1")
    assert local_chart.backend == "local"
    pks = [local_chart.pk, cloud_chart.pk]

    with pytest.raises(RuntimeError), transaction.atomic():
        services.chart_delete(chart=local_chart)
        Chart.objects.filter(pk=cloud_chart.pk).delete()
        raise RuntimeError("abort")

    assert Chart.objects.filter(pk__in=pks).count() == 2
    assert (media_root / local_chart.path).exists()
    assert cloud_chart.path in cloudinary.resources


@pytest.mark.django_db(transaction=True)
def test_orm_delete_removes_files_on_both_backends(media_root, cloudinary, png_bytes, settings):
    cloud_chart = save(png_bytes)
    settings.CHARTS_CLOUDINARY = None
    local_chart = save(png_bytes)
    settings.CHARTS_CLOUDINARY = dict(cloudinary.sdk_options)  # delete needs it configured

    Chart.objects.filter(pk__in=[cloud_chart.pk, local_chart.pk]).delete()

    assert not (media_root / local_chart.path).exists()
    assert cloud_chart.path not in cloudinary.resources


@pytest.mark.django_db(transaction=True)
def test_missing_local_file_is_ignored_on_delete(media_root, png_bytes):
    chart = save(png_bytes)
    (media_root / chart.path).unlink()
    services.chart_delete(chart=chart)
    assert not Chart.objects.filter(pk=chart.pk).exists()
    assert PendingDeletion.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_failing_local_delete_is_recorded_for_retry(media_root, png_bytes):
    chart = save(png_bytes)
    path = media_root / chart.path
    path.unlink()
    path.mkdir()  # unlink() of a directory fails with an OSError, even for root
    (path / "x").write_text("x")

    services.chart_delete(chart=chart)

    pending = PendingDeletion.objects.get()
    assert (pending.backend, pending.name, pending.kind) == ("local", chart.path, "file")
    assert retry_pending() == (0, 1)
    (path / "x").unlink()
    path.rmdir()
    assert retry_pending() == (1, 0)
    assert PendingDeletion.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_missing_cloudinary_asset_is_ignored_on_delete(cloudinary, png_bytes):
    chart = save(png_bytes)
    del cloudinary.resources[chart.path]
    services.chart_delete(chart=chart)
    assert PendingDeletion.objects.count() == 0


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("fault", [dict(status=500), dict(status=420), dict(drop=True)])
def test_failed_cloudinary_delete_is_recorded_and_retried(cloudinary, png_bytes, fault, settings):
    settings.CHARTS_CLOUDINARY_TIMEOUT = 0.5
    chart = save(png_bytes)
    cloudinary.inject(actions=("destroy", "delete_by_ids", "delete_by_prefix"), **fault)

    services.chart_delete(chart=chart)

    assert not Chart.objects.filter(pk=chart.pk).exists()
    assert chart.path in cloudinary.resources
    pending = PendingDeletion.objects.get()
    assert (pending.backend, pending.name, pending.session_id) == ("cloudinary", chart.path, "s1")
    assert retry_pending() == (0, 1)
    assert PendingDeletion.objects.get().attempts == 2

    cloudinary.clear_faults()
    assert retry_pending() == (1, 0)
    assert chart.path not in cloudinary.resources
    assert PendingDeletion.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_delete_session_charts_removes_both_backends(media_root, cloudinary, png_bytes, settings):
    cloud = [save(png_bytes, "sess-1") for _ in range(3)]
    settings.CHARTS_CLOUDINARY = None
    local = [save(png_bytes, "sess-1") for _ in range(2)]
    keep = save(png_bytes, "sess-2")
    settings.CHARTS_CLOUDINARY = dict(cloudinary.sdk_options)
    calls_before = cloudinary.count()

    result = get_chart_storage_service().delete_session_charts("sess-1")

    assert result == {"deleted": 5, "errors": 0, "message": "Deleted 5 charts"}
    assert not ChatSession.objects.filter(pk="sess-1").exists()
    assert not (media_root / "charts" / "sess-1").exists()
    assert all(c.path not in cloudinary.resources for c in cloud)
    assert all(not (media_root / c.path).exists() for c in local)
    assert (media_root / keep.path).exists()
    # One delete-by-prefix call, no destroy per chart.
    assert cloudinary.count() - calls_before == 1
    assert cloudinary.count("delete_by_prefix") == 1
    assert cloudinary.count("destroy") == 0


@pytest.mark.django_db(transaction=True)
def test_delete_session_during_outage_counts_errors_and_retries(cloudinary, png_bytes, settings):
    settings.CHARTS_CLOUDINARY_TIMEOUT = 0.5
    charts = [save(png_bytes, "sess-1") for _ in range(2)]
    cloudinary.inject(status=503, actions=("delete_by_prefix",))

    result = get_chart_storage_service().delete_session_charts("sess-1")

    assert result["deleted"] == 2 and result["errors"] == 1
    assert PendingDeletion.objects.get().kind == "prefix"
    cloudinary.clear_faults()
    assert retry_pending() == (1, 0)
    assert all(c.path not in cloudinary.resources for c in charts)


@pytest.mark.django_db(transaction=True)
def test_delete_default_session_keeps_the_session_row(media_root, png_bytes):
    chart = save(png_bytes, None)
    result = get_chart_storage_service().delete_session_charts("default")
    assert result["deleted"] == 1
    assert ChatSession.objects.filter(pk="default").exists()
    assert not (media_root / chart.path).exists()


@pytest.mark.django_db
def test_delete_unknown_session_deletes_nothing():
    result = get_chart_storage_service().delete_session_charts("nobody")
    assert result == {"deleted": 0, "errors": 0, "message": "Deleted 0 charts"}


@pytest.mark.django_db
def test_delete_session_charts_refuses_bad_ids():
    with pytest.raises(ValueError):
        get_chart_storage_service().delete_session_charts("../x")


@pytest.mark.django_db(transaction=True)
def test_cleanup_old_charts_deletes_only_expired(media_root, cloudinary, png_bytes, settings):
    old_cloud = save(png_bytes)
    settings.CHARTS_CLOUDINARY = None
    old_local = save(png_bytes)
    fresh = save(png_bytes)
    settings.CHARTS_CLOUDINARY = dict(cloudinary.sdk_options)
    Chart.objects.filter(pk__in=[old_cloud.pk, old_local.pk]).update(
        created_at=timezone.now() - timedelta(hours=25)
    )

    assert get_chart_storage_service().cleanup_old_charts(max_age_hours=24) == 2

    assert list(Chart.objects.values_list("pk", flat=True)) == [fresh.pk]
    assert old_cloud.path not in cloudinary.resources
    assert not (media_root / old_local.path).exists()
    assert (media_root / fresh.path).exists()
