"""The configurable chain with S3 as the shared tier, and the object stores' configuration."""

from __future__ import annotations

import pytest
import requests
from django.core.exceptions import ImproperlyConfigured

from charts_app.models import Chart
from charts_app.services import get_chart_storage_service
from charts_app.storage import get_chain
from tests.backends.conftest import AZURITE_KEY, S3_BUCKET, CloudinaryRemote
from tests.conftest import make_png

pytestmark = pytest.mark.django_db

PNG = make_png(24, 18)


def save(session_id="s1") -> Chart:
    result = get_chart_storage_service().save_chart(PNG, session_id, "line")
    return Chart.objects.get(pk=result["id"])


@pytest.fixture
def three_tiers(settings, cloudinary, s3):
    settings.CHARTS_BACKENDS = ["cloudinary", "s3", "local"]
    return CloudinaryRemote(settings, cloudinary), s3


def test_chain_follows_charts_backends(three_tiers):
    assert get_chain().names == ["cloudinary", "s3", "local"]


def test_cloudinary_outage_lands_on_the_shared_tier_not_local(three_tiers, media_root):
    cloud, s3 = three_tiers
    cloud.inject(status=503)

    chart = save()

    assert chart.backend == "s3"
    assert chart.meta["fallback"] == {"from": "cloudinary", "cause": "server_error"}
    assert s3.names() == {chart.path}
    assert requests.get(chart.url, timeout=5).content == PNG
    assert not any(media_root.rglob("*.png"))


def test_healthy_cloudinary_comes_first(three_tiers):
    cloud, s3 = three_tiers
    chart = save()
    assert chart.backend == "cloudinary"
    assert s3.names() == set()


def test_both_remotes_down_falls_back_to_local(three_tiers):
    cloud, s3 = three_tiers
    cloud.inject(status=500)
    s3.inject(status=500)
    chart = save()
    assert chart.backend == "local"
    assert chart.meta["fallback"]["from"] == "cloudinary"


@pytest.mark.django_db(transaction=True)
def test_session_delete_clears_every_tier(three_tiers):
    from charts_app.services import session_delete

    cloud, s3 = three_tiers
    on_cloud = save()
    cloud.inject(status=503)
    on_s3 = save()
    cloud.clear_faults()
    assert (on_cloud.backend, on_s3.backend) == ("cloudinary", "s3")

    result = session_delete(session_id="s1")

    assert (result.deleted, result.errors) == (2, 0)
    assert cloud.names() == set() and s3.names() == set()


def test_listed_backend_without_settings_is_left_out(settings):
    settings.CHARTS_BACKENDS = ["s3", "azure", "local"]
    settings.CHARTS_S3 = None
    settings.CHARTS_AZURE = None
    assert get_chain().names == ["local"]


# --- configuration ---------------------------------------------------------------------------


def test_s3_without_bucket_is_a_clear_error():
    from charts_app.storage.s3 import ChartS3Storage

    with pytest.raises(ImproperlyConfigured, match="CHARTS_S3_BUCKET"):
        ChartS3Storage(options={"bucket_name": ""})
    with pytest.raises(ImproperlyConfigured, match="AWS_SECRET_ACCESS_KEY"):
        ChartS3Storage(options={"bucket_name": S3_BUCKET, "access_key": "only-the-key"})


def test_azure_without_credentials_is_a_clear_error():
    from charts_app.storage.azure import ChartAzureStorage

    with pytest.raises(ImproperlyConfigured, match="CHARTS_AZURE_CONTAINER"):
        ChartAzureStorage(options={"connection_string": "x"})
    with pytest.raises(ImproperlyConfigured, match="CHARTS_AZURE_CONNECTION_STRING"):
        ChartAzureStorage(options={"container": "charts", "account_name": "acct"})


def test_s3_urls_are_presigned_unless_a_public_url_is_set(s3):
    from charts_app.storage.s3 import ChartS3Storage

    signed = ChartS3Storage(options=s3.config).url(f"{s3.prefix}/s1/chart_x.png")
    assert "X-Amz-Signature=" in signed and "X-Amz-Expires=" in signed
    public = ChartS3Storage(options={**s3.config, "public_url": "https://cdn.example/charts"})
    assert public.url("p/s1/chart x.png") == "https://cdn.example/charts/p/s1/chart%20x.png"


def test_azure_urls_carry_a_read_only_sas_unless_a_public_url_is_set():
    from charts_app.storage.azure import ChartAzureStorage

    options = {
        "container": "charts",
        "account_name": "devstoreaccount1",
        "account_key": AZURITE_KEY,
        "prefix": "p",
    }
    signed = ChartAzureStorage(options=options).url("p/s1/chart_x.png")
    assert signed.startswith("https://devstoreaccount1.blob.core.windows.net/charts/p/s1/")
    assert "sp=r" in signed and "sig=" in signed
    public = ChartAzureStorage(options={**options, "public_url": "https://cdn.example/c/"})
    assert public.url("p/s1/chart_x.png") == "https://cdn.example/c/p/s1/chart_x.png"


def test_s3_timeouts_fail_fast(s3):
    from charts_app.storage.s3 import ChartS3Storage

    backend = ChartS3Storage(options={**s3.config, "timeout": 2.5})
    config = backend.client.meta.config
    assert (config.connect_timeout, config.read_timeout, backend.timeout) == (2.5, 2.5, 2.5)
    assert config.retries["total_max_attempts"] == 1


def test_azure_timeouts_fail_fast(azure):
    from charts_app.storage.azure import ChartAzureStorage

    backend = ChartAzureStorage(options={**azure.config, "timeout": 2.5})
    assert backend.timeout == 2.5
    assert backend.client_options == {
        "connection_timeout": 2.5,
        "read_timeout": 2.5,
        "retry_total": 0,
    }


def test_start_up_prepares_each_backends_client_and_survives_one_that_fails(
    three_tiers, caplog, monkeypatch
):
    from charts_app.storage import registry

    s3_backend = get_chain().by_name["s3"]
    assert s3_backend._client is None  # made lazily, by the first upload...
    registry.warm_up()
    assert s3_backend._client is not None  # ...or at start-up, before any upload waits

    def broken():
        raise RuntimeError("no network yet")

    monkeypatch.setattr(get_chain().by_name["cloudinary"], "warm_up", broken)
    registry.warm_up()  # logged, not raised: the chain deals with a down backend later
    assert "Could not prepare the cloudinary backend" in caplog.text
