"""S3 and Azure Blob under faults: every failure kind falls back to local with its cause;
deletes, listings and paging behave as the chain and the maintenance commands expect."""

from __future__ import annotations

import logging
import uuid

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from charts_app.models import Chart
from charts_app.services import get_chart_storage_service
from charts_app.storage import ChartStorageError, get_chain
from charts_app.storage.azure import ChartAzureStorage
from charts_app.storage.s3 import ChartS3Storage
from tests.conftest import make_png

pytestmark = pytest.mark.django_db

PNG = make_png(24, 18)

FAULTS = {
    "server_error_500": (dict(status=500), "server_error"),
    "server_error_503": (dict(status=503), "server_error"),
    "rate_limited_429": (dict(status=429), "rate_limited"),
    "forbidden_403": (dict(status=403), "forbidden"),
    "hang": (dict(hang=3.0), "timeout"),  # the backends time out after 1 s
    "dropped_connection": (dict(drop=True), "dropped"),
}


def save(session_id="s1") -> Chart:
    result = get_chart_storage_service().save_chart(PNG, session_id, "line")
    return Chart.objects.get(pk=result["id"])


@pytest.mark.parametrize("fault", list(FAULTS))
def test_each_failure_falls_back_to_local_with_its_cause(fault, object_store, media_root, caplog):
    kwargs, cause = FAULTS[fault]
    object_store.inject(**kwargs)
    caplog.set_level(logging.WARNING, logger="charts_app")

    chart = save()

    assert chart.backend == "local"
    assert (media_root / chart.path).read_bytes() == PNG
    assert chart.meta["fallback"] == {"from": object_store.name, "cause": cause}
    lines = [r.getMessage() for r in caplog.records if "falling back" in r.getMessage()]
    assert len(lines) == 1 and cause in lines[0]
    assert object_store.names() == set()


def test_rejected_credentials_are_an_auth_failure(object_store):
    object_store.reject_credentials()
    chart = save()
    assert chart.backend == "local"
    assert chart.meta["fallback"]["cause"] == "auth"


def test_recovered_backend_is_used_again(object_store):
    object_store.inject(status=503, times=1)
    assert save().backend == "local"
    assert save().backend == object_store.name


def test_backend_errors_carry_the_cause(object_store):
    backend = get_chain().backend(object_store.name)
    object_store.inject(status=500, ops=("delete",))
    with pytest.raises(ChartStorageError) as caught:
        backend.delete(object_store.expected_name("s1", "chart_20260101_000000_0011.png"))
    assert (caught.value.cause, caught.value.backend) == ("server_error", object_store.name)

    object_store.inject(drop=True, ops=("list",))
    with pytest.raises(ChartStorageError) as caught:
        backend.delete_session("s1")
    assert caught.value.cause == "dropped"


def test_delete_many_reports_only_the_failures(object_store):
    backend = get_chain().backend(object_store.name)
    names = [object_store.put("s1", f"chart_20260101_000000_{i:024x}.png", b"x") for i in range(3)]
    missing = object_store.expected_name("s1", "chart_20260101_000000_00aa00aa00aa00aa.png")

    assert backend.delete_many([*names, missing, names[0]]) == {}
    assert object_store.names() == set()

    again = object_store.put("s1", "chart_20260101_000000_00bb00bb00bb00bb.png", b"x")
    object_store.inject(status=500, ops=("batch_delete",))
    errors = backend.delete_many([again])
    assert list(errors) == [again]
    assert object_store.names() == {again}


def test_listing_and_deleting_page_through_large_prefixes(object_store, monkeypatch):
    # Small pages instead of thousands of objects: the same code path.
    for backend_class in (ChartS3Storage, ChartAzureStorage):
        monkeypatch.setattr(backend_class, "list_page_size", 2)
        monkeypatch.setattr(backend_class, "delete_chunk_size", 2)
    backend = get_chain().backend(object_store.name)
    names = {object_store.put("big", f"chart_20260101_000000_{i:024x}.png", b"x") for i in range(5)}

    listed = dict(backend.list_resources(page_size=2))
    assert set(listed) == names
    assert all(created_at is not None for created_at in listed.values())
    before = object_store.requests()
    calls = backend.delete_session("big")

    assert object_store.names() == set()
    assert calls == object_store.requests() - before == 6  # 3 listings, 3 batch deletes


def test_a_failed_listing_is_reported_and_judges_no_row(object_store, capsys):
    save()
    object_store.inject(status=500, ops=("list",))
    with pytest.raises(CommandError):
        call_command("sync_charts", "--grace-minutes", "0", "--fix")
    captured = capsys.readouterr()
    assert f"{object_store.name} listing failed" in captured.err
    assert "0 rows without a file" in captured.out
    assert Chart.objects.count() == 1


def test_without_a_prefix_listings_see_only_chart_names(object_store):
    # A bucket shared with other data: the orphan check must never see (and delete) it.
    object_store.apply(prefix="")
    backend = get_chain().backend(object_store.name)
    token = uuid.uuid4().hex
    chart = object_store.put_raw(f"s-{token[:8]}/chart_20260101_000000_{token}.png", b"x")
    others = [
        object_store.put_raw(f"other-app-{token}/report.pdf", b"x"),
        object_store.put_raw(f"s-{token[:8]}/notes-{token}.txt", b"x"),
    ]
    try:
        assert backend.session_prefix("s1") == "s1/"
        listed = {name for name, _ in backend.list_resources()}
        assert chart in listed
        assert not set(others) & listed
    finally:
        for name in [chart, *others]:
            object_store.remove(name)
