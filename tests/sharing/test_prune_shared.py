"""A chart with an active share outlives the age limit; it goes once the link is over."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from charts_app.models import Chart, ShareLink
from charts_app.services import charts_prune
from charts_app.sharing import share_create

# File deletions run after commit: these tests need real commits.
pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def aged(store):
    """Three charts two days old: one shared, one whose link was revoked, one never shared."""
    shared, revoked, plain = (store(session_id=f"s{i}") for i in range(3))
    share_create(chart=shared, expires_in_hours=72)
    link = share_create(chart=revoked).link
    ShareLink.objects.filter(pk=link.pk).update(revoked_at=timezone.now())
    Chart.objects.update(created_at=timezone.now() - timedelta(hours=48))
    return shared, revoked, plain


def test_prune_keeps_charts_with_an_active_share(aged, media_root):
    shared, revoked, plain = aged

    result = charts_prune(max_age_hours=24)

    assert result.due == 2 and result.deleted == 2
    assert list(Chart.objects.values_list("pk", flat=True)) == [shared.pk]
    assert (media_root / shared.path).exists()
    assert not (media_root / plain.path).exists()
    assert not (media_root / revoked.path).exists()


def test_dry_run_does_not_count_shared_charts(aged):
    listed = []
    result = charts_prune(max_age_hours=24, dry_run=True, on_due=listed.append)
    assert result.due == 2
    assert {chart.pk for chart in listed} == {aged[1].pk, aged[2].pk}


def test_shared_chart_goes_after_its_link_expires(aged, media_root, client):
    shared = aged[0]
    charts_prune(max_age_hours=24)
    ShareLink.objects.filter(chart=shared).update(expires_at=timezone.now() - timedelta(minutes=1))

    result = charts_prune(max_age_hours=24)

    assert result.deleted == 1
    assert not Chart.objects.exists()
    assert not ShareLink.objects.exists()
    assert not (media_root / shared.path).exists()


def test_young_shared_chart_is_not_touched(store):
    chart = store()
    share_create(chart=chart)
    assert charts_prune(max_age_hours=24).deleted == 0
    assert Chart.objects.filter(pk=chart.pk).exists()


def test_prune_command_keeps_shared_charts(aged, capsys):
    from django.core.management import call_command

    call_command("prune_charts", "--max-age-hours", "24")

    assert list(Chart.objects.values_list("pk", flat=True)) == [aged[0].pk]
