"""prune_charts: exactly the expired charts, both backends; dry run; batches; bounded memory."""

from __future__ import annotations

import tracemalloc

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from charts_app.models import Chart
from charts_app.services import charts_prune
from tests.lifecycle.helpers import make_charts

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def aged(cloudinary, media_root):
    return {
        "old_cloud": make_charts(
            3, session_id="s1", backend="cloudinary", emulator=cloudinary, age_hours=24.2
        ),
        "old_local": make_charts(2, session_id="s2", backend="local", age_hours=30),
        "young_cloud": make_charts(
            2, session_id="s1", backend="cloudinary", emulator=cloudinary, age_hours=23.8
        ),
        "young_local": make_charts(1, session_id="s2", backend="local", age_hours=1),
    }


def test_prune_deletes_exactly_the_expired_charts(aged, cloudinary, media_root, capsys):
    call_command("prune_charts", "--max-age-hours", "24", "--batch-size", "2")
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        "Pruned 5 charts older than 24 h; 0 file deletions failed; "
        "retried 0 pending deletions (0 still failing)."
    ]
    left = set(Chart.objects.values_list("pk", flat=True))
    assert left == {c.pk for c in aged["young_cloud"] + aged["young_local"]}
    assert set(cloudinary.resources) == {c.path for c in aged["young_cloud"]}
    local_files = {str(p.relative_to(media_root)) for p in media_root.rglob("*.png")}
    assert local_files == {c.path for c in aged["young_local"]}


def test_dry_run_lists_and_deletes_nothing(aged, cloudinary, capsys):
    call_command("prune_charts", "--dry-run")
    out = capsys.readouterr().out.strip().splitlines()
    assert out[-1].startswith("Dry run: 5 charts older than 24 h would be deleted")
    assert len([line for line in out if line.startswith("would delete")]) == 5
    assert Chart.objects.count() == 8
    assert len(cloudinary.resources) == 5


def test_default_age_comes_from_settings(aged, settings, capsys):
    settings.CHARTS_MAX_AGE_HOURS = 26
    call_command("prune_charts", verbosity=0)
    gone = {c.pk for c in aged["old_local"]}  # 30 h old; the 24.2 h ones stay
    assert Chart.objects.count() == 6
    assert not Chart.objects.filter(pk__in=gone).exists()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-age-hours", "-1"], "--max-age-hours"),
        (["--batch-size", "0"], "--batch-size"),
    ],
)
def test_bad_options_are_clear_errors(args, message):
    with pytest.raises(CommandError, match=message):
        call_command("prune_charts", *args)


def _peak_bytes(n: int) -> int:
    make_charts(n, session_id=f"mem{n}", backend="local", age_hours=48)
    tracemalloc.start()
    try:
        result = charts_prune(max_age_hours=24, batch_size=200)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
        assert result.deleted == n


def test_prune_memory_does_not_grow_with_the_number_of_charts():
    small = _peak_bytes(1000)
    large = _peak_bytes(5000)
    print(f"\npeak while pruning 1000: {small / 1e6:.2f} MB, 5000: {large / 1e6:.2f} MB")
    assert large < small * 1.5
