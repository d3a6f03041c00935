"""Session deletion removes every file on every backend, cheaply and durably."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from charts_app.models import Chart, PendingDeletion
from charts_app.services import get_chart_storage_service
from sessions_app.models import ChatSession
from tests.lifecycle.helpers import make_charts

pytestmark = pytest.mark.django_db(transaction=True)

CHART = {"chart_type": "bar", "data": [{"a": "x", "b": 1}, {"a": "y", "b": 2}]}


def test_session_with_both_backends_deleted_through_the_api_leaves_nothing(
    api, cloudinary, settings, media_root
):
    for i in range(3):
        api.post(
            "/api/v1/charts/", {**CHART, "session_id": "mixed", "title": f"c{i}"}, format="json"
        )
    settings.CHARTS_CLOUDINARY = None
    for i in range(2):
        api.post(
            "/api/v1/charts/", {**CHART, "session_id": "mixed", "title": f"l{i}"}, format="json"
        )
    settings.CHARTS_CLOUDINARY = dict(cloudinary.sdk_options)
    backends = sorted(Chart.objects.values_list("backend", flat=True))
    assert backends == ["cloudinary"] * 3 + ["local"] * 2

    response = api.delete("/api/v1/sessions/mixed/")

    assert response.json() == {"deleted": 5, "errors": 0, "message": "Deleted 5 charts"}
    assert not [r for r in cloudinary.resources if "/mixed/" in r]
    assert not (media_root / "charts" / "mixed").exists()
    assert Chart.objects.count() == 0
    assert PendingDeletion.objects.count() == 0


@pytest.mark.parametrize("count, max_calls", [(1000, 3), (2500, 3)])
def test_big_session_costs_few_admin_api_calls(cloudinary, settings, count, max_calls):
    make_charts(count, session_id="big", backend="cloudinary", emulator=cloudinary)
    assert len(cloudinary.resources) == count
    before = cloudinary.count()

    result = get_chart_storage_service().delete_session_charts("big")

    calls = cloudinary.count() - before
    print(f"\n{count}-chart session: {calls} Admin API calls")
    assert result["deleted"] == count
    assert calls <= max_calls
    assert cloudinary.count("destroy") == 0
    assert cloudinary.resources == {}


def test_orm_and_admin_style_deletes_also_clear_files(cloudinary, media_root, settings):
    make_charts(3, session_id="orm", backend="cloudinary", emulator=cloudinary)
    make_charts(2, session_id="orm", backend="local", media_root=media_root)
    ChatSession.objects.filter(pk="orm").delete()  # a queryset delete, as the admin does
    assert cloudinary.resources == {}
    assert not (media_root / "charts" / "orm").exists()


def test_deletion_during_outage_is_retried_by_prune_charts(cloudinary, settings, capsys):
    settings.CHARTS_CLOUDINARY_TIMEOUT = 0.5
    make_charts(4, session_id="outage", backend="cloudinary", emulator=cloudinary)
    cloudinary.inject(status=503, actions=("delete_by_prefix", "delete_by_ids", "destroy"))

    result = get_chart_storage_service().delete_session_charts("outage")

    assert result == {"deleted": 4, "errors": 1, "message": "Deleted 4 charts"}
    assert len(cloudinary.resources) == 4
    with pytest.raises(CommandError) as failed:
        call_command("prune_charts")
    assert failed.value.returncode == 2
    assert "1 still failing" in capsys.readouterr().out

    cloudinary.clear_faults()
    call_command("prune_charts")

    assert "(0 still failing)" in capsys.readouterr().out
    assert cloudinary.resources == {}
    assert PendingDeletion.objects.count() == 0
