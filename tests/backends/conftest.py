"""Remote backends for the contract tests: Cloudinary (loopback emulator), S3 (moto's
server, real boto3 over HTTP) and Azure Blob (Azurite, real azure-storage-blob).

S3 and Azure sit behind a `FaultProxy` that counts requests and injects faults, as the
emulator does for Cloudinary. Every test gets its own key prefix, so the servers start
once per session. Azurite is skipped, with the reason, when it is not installed
(`bash scripts/ensure_azurite.sh`) or does not start.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from tests.support.fault_proxy import FaultProxy
from tests.support.ports import closed_url, free_port

ROOT = Path(__file__).resolve().parents[2]
AZURITE_BIN = ROOT / ".cache" / "azurite" / "node_modules" / ".bin" / "azurite-blob"
AZURITE_ACCOUNT = "devstoreaccount1"
# Azurite's well-known development key (public, in Microsoft's docs).
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)
S3_BUCKET = "aeris-charts-test"
AZURE_CONTAINER = "charts"
S3_KEYS = {"access_key": "testing-key", "secret_key": "testing-secret"}
# The breaker, hedging and the chain only need a short timeout to show an outage.
TIMEOUT = 1.0


@pytest.fixture(autouse=True)
def patient_uploads(settings):
    """Callers wait for an upload up to the timeout: on a loaded machine a 20 ms hedge
    would send healthy uploads to local storage and make the contract flaky."""
    settings.CHARTS_UPLOAD_MIN_WAIT = TIMEOUT


def unique_prefix() -> str:
    return f"t-{uuid.uuid4().hex[:10]}/charts"


# --- S3 (moto) ------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def moto_server():
    """moto's S3 on loopback in this process (ThreadedMotoServer), behind a FaultProxy."""
    import boto3
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    proxy = FaultProxy((host, port)).start()
    client = boto3.client(
        "s3",
        endpoint_url=f"http://{host}:{port}",
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["access_key"],
        aws_secret_access_key=S3_KEYS["secret_key"],
    )
    client.create_bucket(Bucket=S3_BUCKET)
    # The backends' shared boto3 session reads its service models here, as a server's
    # start-up does (storage.registry.warm_up), not inside the first test's 1 s upload.
    from charts_app.storage.s3 import ChartS3Storage

    options = {"bucket_name": S3_BUCKET, "endpoint_url": proxy.base_url, **S3_KEYS}
    ChartS3Storage(options=options | {"region_name": "us-east-1"}).warm_up()
    yield proxy, client
    proxy.stop()
    server.stop()


class S3Remote:
    """What a test needs to see and break on the S3 side (direct boto3, not our backend)."""

    name = "s3"
    session_delete_calls = 2  # one listing, one DeleteObjects

    def __init__(self, settings, proxy: FaultProxy, client):
        self.settings, self.proxy, self.client = settings, proxy, client
        self.prefix = unique_prefix()
        self.config = {
            "bucket_name": S3_BUCKET,
            "endpoint_url": proxy.base_url,
            "region_name": "us-east-1",
            **S3_KEYS,
            "prefix": self.prefix,
            "public_url": None,
            "timeout": TIMEOUT,
        }
        self.apply()

    def apply(self, **changes) -> None:
        self.settings.CHARTS_S3 = {**self.config, **changes}

    def refuse(self) -> None:
        self.apply(endpoint_url=closed_url())

    def expected_name(self, session_id: str, filename: str) -> str:
        return f"{self.prefix}/{session_id}/{filename}"

    def names(self) -> set[str]:
        pages = self.client.get_paginator("list_objects_v2").paginate(
            Bucket=S3_BUCKET, Prefix=f"{self.prefix}/"
        )
        return {item["Key"] for page in pages for item in page.get("Contents", [])}

    def content(self, name: str) -> bytes:
        return self.client.get_object(Bucket=S3_BUCKET, Key=name)["Body"].read()

    def metadata(self, name: str) -> dict:
        head = self.client.head_object(Bucket=S3_BUCKET, Key=name)
        return {
            **head["Metadata"],
            "content_type": head["ContentType"],
            "cache_control": head.get("CacheControl"),
        }

    def put(self, session_id: str, filename: str, content: bytes) -> str:
        return self.put_raw(self.expected_name(session_id, filename), content)

    def put_raw(self, key: str, content: bytes) -> str:
        self.client.put_object(Bucket=S3_BUCKET, Key=key, Body=content)
        return key

    def remove(self, name: str) -> None:
        self.client.delete_object(Bucket=S3_BUCKET, Key=name)

    def inject(self, *, status=None, hang=None, drop=False, ops=("put",), times=None):
        self.proxy.inject(status=status, hang=hang, drop=drop, ops=ops, times=times)

    def reject_credentials(self) -> None:
        """What AWS answers a wrong access key (moto does not check signatures)."""
        self.proxy.inject(status=403, code="InvalidAccessKeyId", ops=None)

    def clear_faults(self) -> None:
        self.proxy.clear_faults()

    def uploads(self) -> int:
        return self.proxy.count("put")

    def requests(self) -> int:
        return self.proxy.count()


@pytest.fixture
def s3(settings, moto_server):
    """S3 configured through moto (a fresh prefix), chain ["s3", "local"]."""
    proxy, client = moto_server
    proxy.reset()
    settings.CHARTS_BACKENDS = ["s3", "local"]
    remote = S3Remote(settings, proxy, client)
    yield remote
    proxy.reset()


# --- Azure (Azurite) -----------------------------------------------------------------------


def _wait_for_port(port: int, proc: subprocess.Popen, deadline: float) -> bool:
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def connection_string(endpoint: str) -> str:
    return (
        f"DefaultEndpointsProtocol=http;AccountName={AZURITE_ACCOUNT};AccountKey={AZURITE_KEY};"
        f"BlobEndpoint={endpoint}/{AZURITE_ACCOUNT};"
    )


_azurite_unavailable: list[str] = []  # why Azurite cannot run, found once per session


@pytest.fixture(scope="session")
def azurite_server():
    """Azurite's blob service on a free loopback port (in memory), behind a FaultProxy."""
    if _azurite_unavailable:
        pytest.skip(_azurite_unavailable[0])
    if not AZURITE_BIN.exists():
        _azurite_unavailable.append(
            f"Azurite is not installed ({AZURITE_BIN.relative_to(ROOT)} missing); "
            "run `bash scripts/ensure_azurite.sh` (needs npm)"
        )
    elif shutil.which("node") is None:
        _azurite_unavailable.append("Azurite needs node, which is not on PATH")
    if _azurite_unavailable:
        pytest.skip(_azurite_unavailable[0])
    from azure.storage.blob import BlobServiceClient

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="azurite-")
    log = open(os.path.join(workdir, "azurite.log"), "wb")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(
        [
            str(AZURITE_BIN),
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            str(port),
            "--inMemoryPersistence",
            "--silent",
            "--skipApiVersionCheck",
            "--loose",
            "--disableTelemetry",
        ],
        stdout=log,
        stderr=subprocess.STDOUT,
        cwd=workdir,
    )
    try:
        if not _wait_for_port(port, proc, time.monotonic() + 30):
            proc.kill()
            proc.wait(5)
            log.close()
            output = Path(workdir, "azurite.log").read_text(errors="replace")[-500:]
            _azurite_unavailable.append(f"Azurite did not start: {output.strip() or 'no output'}")
            pytest.skip(_azurite_unavailable[0])
        proxy = FaultProxy(("127.0.0.1", port)).start()
        service = BlobServiceClient.from_connection_string(
            connection_string(f"http://127.0.0.1:{port}")
        )
        container = service.get_container_client(AZURE_CONTAINER)
        container.create_container()
        yield proxy, container
        proxy.stop()
    finally:
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(5)
        log.close()
        shutil.rmtree(workdir, ignore_errors=True)


class AzureRemote:
    """What a test needs to see and break on the Azure side (direct SDK, not our backend)."""

    name = "azure"
    session_delete_calls = 2  # one listing, one Blob Batch

    def __init__(self, settings, proxy: FaultProxy, container):
        self.settings, self.proxy, self.container = settings, proxy, container
        self.prefix = unique_prefix()
        self.config = {
            "container": AZURE_CONTAINER,
            "connection_string": connection_string(proxy.base_url),
            "account_name": None,
            "account_key": None,
            "prefix": self.prefix,
            "public_url": None,
            "timeout": TIMEOUT,
        }
        self.apply()

    def apply(self, **changes) -> None:
        self.settings.CHARTS_AZURE = {**self.config, **changes}

    def refuse(self) -> None:
        self.apply(connection_string=connection_string(closed_url()))

    def expected_name(self, session_id: str, filename: str) -> str:
        return f"{self.prefix}/{session_id}/{filename}"

    def names(self) -> set[str]:
        return {blob.name for blob in self.container.list_blobs(name_starts_with=f"{self.prefix}/")}

    def content(self, name: str) -> bytes:
        return self.container.get_blob_client(name).download_blob().readall()

    def metadata(self, name: str) -> dict:
        props = self.container.get_blob_client(name).get_blob_properties()
        return {
            **props.metadata,
            "content_type": props.content_settings.content_type,
            "cache_control": props.content_settings.cache_control,
        }

    def put(self, session_id: str, filename: str, content: bytes) -> str:
        return self.put_raw(self.expected_name(session_id, filename), content)

    def put_raw(self, name: str, content: bytes) -> str:
        self.container.upload_blob(name, content)
        return name

    def remove(self, name: str) -> None:
        self.container.delete_blob(name)

    def inject(self, *, status=None, hang=None, drop=False, ops=("put",), times=None):
        self.proxy.inject(status=status, hang=hang, drop=drop, ops=ops, times=times)

    def reject_credentials(self) -> None:
        """A wrong account key: Azurite checks the SharedKey signature itself."""
        wrong = AZURITE_KEY[:-6] + "AAAAA="
        self.apply(
            connection_string=connection_string(self.proxy.base_url).replace(AZURITE_KEY, wrong)
        )

    def clear_faults(self) -> None:
        self.proxy.clear_faults()

    def uploads(self) -> int:
        return self.proxy.count("put")

    def requests(self) -> int:
        return self.proxy.count()


@pytest.fixture
def azure(settings, azurite_server):
    """Azure Blob configured through Azurite (a fresh prefix), chain ["azure", "local"]."""
    proxy, container = azurite_server
    proxy.reset()
    settings.CHARTS_BACKENDS = ["azure", "local"]
    remote = AzureRemote(settings, proxy, container)
    yield remote
    proxy.reset()


# --- Cloudinary (the emulator) -------------------------------------------------------------

_EMULATOR_OPS = {
    "put": ("upload",),
    "delete": ("destroy",),
    "batch_delete": ("delete_by_ids", "delete_by_prefix"),
    "list": ("list",),
}


class CloudinaryRemote:
    """The same view of the Cloudinary emulator."""

    name = "cloudinary"
    session_delete_calls = 1  # one delete-by-prefix (the Admin API lists nothing first)

    def __init__(self, settings, emulator):
        self.settings, self.emulator = settings, emulator
        self.prefix = settings.CHARTS_CLOUDINARY_FOLDER
        settings.CHARTS_CLOUDINARY_TIMEOUT = TIMEOUT

    def refuse(self) -> None:
        self.settings.CHARTS_CLOUDINARY = {
            **self.emulator.sdk_options,
            "upload_prefix": closed_url(),
        }

    def expected_name(self, session_id: str, filename: str) -> str:
        return f"{self.prefix}/{session_id}/{filename.rsplit('.', 1)[0]}"

    def names(self) -> set[str]:
        return set(self.emulator.resources)

    def content(self, name: str) -> bytes:
        return self.emulator.resources[name].content

    def metadata(self, name: str) -> dict:
        resource = self.emulator.resources[name]
        return {**resource.context, "tags": sorted(resource.tags)}

    def put(self, session_id: str, filename: str, content: bytes) -> str:
        name = self.expected_name(session_id, filename)
        self.emulator.put(name, content, tags=[session_id, "line", "aeris-aq-chart"])
        return name

    def remove(self, name: str) -> None:
        del self.emulator.resources[name]

    def inject(self, *, status=None, hang=None, drop=False, ops=("put",), times=None):
        actions = tuple(a for op in ops for a in _EMULATOR_OPS[op])
        kwargs = {"status": status, "drop": drop, "actions": actions, "times": times}
        if hang is not None:
            kwargs["delay"] = hang
        self.emulator.inject(**kwargs)

    def clear_faults(self) -> None:
        self.emulator.clear_faults()

    def uploads(self) -> int:
        return self.emulator.count("upload")

    def requests(self) -> int:
        return sum(self.emulator.count(action) for action in ("upload", "destroy")) + sum(
            self.emulator.count(action) for action in ("delete_by_ids", "delete_by_prefix", "list")
        )


@pytest.fixture
def cloudinary_remote(settings, cloudinary):
    settings.CHARTS_BACKENDS = ["cloudinary", "local"]
    return CloudinaryRemote(settings, cloudinary)


_FIXTURES = {"cloudinary": "cloudinary_remote", "s3": "s3", "azure": "azure"}


@pytest.fixture(params=["cloudinary", "s3", "azure"])
def remote(request):
    """Each remote backend in turn, configured as the chain's only remote tier."""
    return request.getfixturevalue(_FIXTURES[request.param])


@pytest.fixture(params=["s3", "azure"])
def object_store(request):
    """The django-storages object stores (S3, Azure Blob) in turn."""
    return request.getfixturevalue(_FIXTURES[request.param])
