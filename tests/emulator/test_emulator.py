"""The Cloudinary emulator against the real ``cloudinary`` SDK (never patched).

Every SDK call gets ``**emu.sdk_options`` (credentials and ``upload_prefix``),
so the process-global ``cloudinary.config()`` plays no part.
"""

from __future__ import annotations

import hashlib
import io
import json
import socket
import subprocess
import sys
import time
from pathlib import Path

import cloudinary.api
import cloudinary.exceptions
import cloudinary.uploader
import cloudinary.utils
import pytest
import requests
from PIL import Image

from tests.support.cloudinary_emulator import CloudinaryEmulator, parse_context, string_to_sign

EMULATOR_FILE = Path(__file__).resolve().parents[1] / "support" / "cloudinary_emulator.py"


def make_png(width=7, height=5, color="red") -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buf, "PNG")
    return buf.getvalue()


PNG = make_png()


@pytest.fixture(scope="module")
def emu_server():
    with CloudinaryEmulator() as emu:
        yield emu


@pytest.fixture
def emu(emu_server):
    emu_server.reset()
    yield emu_server
    emu_server.reset()


def upload(emu, file=PNG, **options):
    options.setdefault("timeout", 5)
    return cloudinary.uploader.upload(file, **options, **emu.sdk_options)


def signed_fields(emu, **params):
    params.setdefault("timestamp", str(int(time.time())))
    params["signature"] = cloudinary.utils.api_sign_request(params, emu.api_secret)
    params["api_key"] = emu.api_key
    return params


# ---------------------------------------------------------------- Upload API


def test_upload_answer_fields(emu):
    result = upload(
        emu,
        folder="charts",
        public_id="abc",
        tags=["aqi", "daily"],
        context={"title": "PM2.5 = high | today", "lang": "en"},
        overwrite=False,
        timeout=2,
    )
    assert result["public_id"] == "charts/abc"
    assert isinstance(result["version"], int) and result["version"] > 1_600_000_000
    assert (result["width"], result["height"], result["format"]) == (7, 5, "png")
    assert result["resource_type"] == "image" and result["type"] == "upload"
    assert result["tags"] == ["aqi", "daily"]
    assert result["bytes"] == len(PNG)
    assert result["etag"] == hashlib.md5(PNG).hexdigest()
    assert result["created_at"].endswith("Z") and "T" in result["created_at"]
    assert result["placeholder"] is False
    assert "existing" not in result
    for key in ("signature", "version_id", "asset_id", "original_filename"):
        assert result[key]
    expected_url = emu.delivery_url("charts/abc", "png", result["version"])
    assert result["url"] == result["secure_url"] == expected_url
    assert expected_url.startswith(emu.base_url + "/aeris-test/image/upload/v")

    stored = emu.resources["charts/abc"]
    assert stored.content == PNG
    assert stored.context == {"title": "PM2.5 = high | today", "lang": "en"}
    assert stored.tags == ["aqi", "daily"]
    assert result["context"] == {"custom": stored.context}
    assert emu.count("upload") == 1
    assert emu.calls[0].status == 200


def test_upload_without_public_id_gets_random_id_in_folder(emu):
    first = upload(emu, folder="charts/")
    second = upload(emu, folder="charts")
    assert first["public_id"].startswith("charts/")
    assert len(first["public_id"]) == len("charts/") + 20
    assert first["public_id"] != second["public_id"]


def test_folder_is_prepended_even_to_a_public_id_with_slashes(emu):
    assert upload(emu, folder="a", public_id="b/c")["public_id"] == "a/b/c"


def test_overwrite_false_returns_existing_and_overwrite_true_replaces(emu):
    first = upload(emu, public_id="charts/x")
    other = make_png(3, 3, "blue")
    again = upload(emu, file=other, public_id="charts/x", overwrite=False)
    assert again["existing"] is True
    assert again["version"] == first["version"]
    assert emu.resources["charts/x"].content == PNG

    replaced = upload(emu, file=other, public_id="charts/x", overwrite=True)
    assert "existing" not in replaced
    assert replaced["version"] > first["version"]
    assert (replaced["width"], replaced["height"]) == (3, 3)
    assert emu.resources["charts/x"].content == other


def test_other_image_formats_and_svg(emu):
    for fmt, pil_fmt in (("jpg", "JPEG"), ("webp", "WEBP"), ("gif", "GIF")):
        buf = io.BytesIO()
        Image.new("RGB", (4, 6), "green").save(buf, pil_fmt)
        result = upload(emu, file=buf.getvalue(), public_id=f"f/{fmt}")
        assert (result["format"], result["width"], result["height"]) == (fmt, 4, 6)
    svg = b'<svg xmlns="http://www.w3.org/2000/svg" width="120" height="80px"></svg>'
    result = upload(emu, file=svg, public_id="f/svg")
    assert (result["format"], result["width"], result["height"]) == ("svg", 120, 80)
    response = requests.get(result["url"], timeout=2)
    assert response.headers["Content-Type"] == "image/svg+xml"


def test_non_image_upload_is_bad_request(emu):
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Invalid image file"):
        upload(emu, file=b"just some text, not an image")
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Invalid image file"):
        upload(emu, file=PNG[:30])  # truncated PNG
    assert emu.resources == {}


def test_delivery_get_and_head(emu):
    result = upload(emu, public_id="charts/deliver")
    got = requests.get(result["secure_url"], timeout=2)
    assert got.status_code == 200
    assert got.content == PNG
    assert got.headers["Content-Type"] == "image/png"

    head = requests.head(result["url"], timeout=2)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(PNG)
    assert head.content == b""

    no_version = f"{emu.base_url}/{emu.cloud_name}/image/upload/charts/deliver.png"
    assert requests.get(no_version, timeout=2).content == PNG

    missing = emu.delivery_url("charts/none", "png", 1)
    assert requests.get(missing, timeout=2).status_code == 404
    assert requests.head(missing, timeout=2).status_code == 404
    assert emu.count("deliver") == 5


def test_bad_secret_is_authorization_required(emu):
    options = dict(emu.sdk_options, api_secret="wrong-secret")
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid Signature"):
        cloudinary.uploader.upload(PNG, timeout=2, **options)
    assert emu.resources == {}
    assert emu.calls[-1].status == 401


def test_wrong_api_key_and_cloud_name_are_rejected(emu):
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid Signature"):
        cloudinary.uploader.upload(PNG, timeout=2, **dict(emu.sdk_options, api_key="123"))
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid cloud_name"):
        cloudinary.uploader.upload(PNG, timeout=2, **dict(emu.sdk_options, cloud_name="other"))


def test_sha256_signature_is_accepted(emu):
    result = upload(emu, public_id="sha", signature_algorithm="sha256")
    assert result["public_id"] == "sha"


def test_signature_covers_ampersands_like_the_sdk(emu):
    # signature_version 2 encodes "&" as "%26" in each k=v before signing.
    result = upload(emu, public_id="a&b", tags=["x&y"], context={"k": "v&w"})
    assert result["public_id"] == "a&b"
    assert emu.resources["a&b"].context == {"k": "v&w"}


def test_stale_timestamp_is_bad_request(emu):
    # The SDK always signs utils.now(), so send a stale request by hand.
    stale = str(int(time.time()) - 2 * 3600)
    fields = signed_fields(emu, timestamp=stale, public_id="stale")
    url = f"{emu.base_url}/v1_1/{emu.cloud_name}/image/upload"
    response = requests.post(url, data=fields, files={"file": ("c.png", PNG)}, timeout=2)
    assert response.status_code == 400
    assert response.json()["error"]["message"].startswith("Stale request - reported time is")
    assert "more than 1 hour ago" in response.json()["error"]["message"]


def test_raw_upload_with_bracketed_tags_and_form_encoding(emu):
    url = f"{emu.base_url}/v1_1/{emu.cloud_name}/image/upload"
    fields = signed_fields(emu, public_id="raw", tags=["one", "two"])
    multipart = [(k, (None, v)) for k, v in fields.items() if k != "tags"]
    multipart += [("tags[]", (None, t)) for t in fields["tags"]]
    multipart.append(("file", ("chart.png", PNG, "image/png")))
    response = requests.post(url, files=multipart, timeout=2)
    assert response.status_code == 200, response.text
    assert response.json()["tags"] == ["one", "two"]
    assert response.json()["original_filename"] == "chart"

    import base64

    data_uri = "data:image/png;base64," + base64.b64encode(PNG).decode()
    form = signed_fields(emu, public_id="form")
    form["file"] = data_uri
    response = requests.post(url, data=form, timeout=2)
    assert response.status_code == 200, response.text
    assert emu.resources["form"].content == PNG


def test_missing_signature_is_401(emu):
    url = f"{emu.base_url}/v1_1/{emu.cloud_name}/image/upload"
    response = requests.post(
        url,
        data={"timestamp": str(int(time.time())), "api_key": emu.api_key},
        files={"file": ("c.png", PNG)},
        timeout=2,
    )
    assert response.status_code == 401
    assert response.json()["error"]["message"].startswith("Invalid Signature")


def test_string_to_sign_and_context_parsing_helpers():
    params = {"b": "2", "a": "x&y", "tags": ["t1", "t2"], "empty": "", "file": "f", "api_key": "k"}
    assert string_to_sign(params) == "a=x%26y&b=2&tags=t1,t2"
    sdk = cloudinary.utils.api_sign_request({"b": "2", "a": "x&y", "tags": ["t1", "t2"]}, "s")
    assert hashlib.sha1((string_to_sign(params) + "s").encode()).hexdigest() == sdk
    encoded = cloudinary.utils.encode_context({"k": "a=b|c", "n": 3, "l": ["x", "y"]})
    assert parse_context(encoded) == {"k": "a=b|c", "n": "3", "l": '["x","y"]'}


# ---------------------------------------------------------------- destroy


def test_destroy_ok_and_not_found(emu):
    upload(emu, public_id="charts/gone")
    options = dict(emu.sdk_options, timeout=2)
    assert cloudinary.uploader.destroy("charts/gone", invalidate=True, **options)["result"] == "ok"
    assert "charts/gone" not in emu.resources
    result = cloudinary.uploader.destroy("charts/gone", invalidate=True, **options)
    assert result["result"] == "not found"
    assert emu.count("destroy") == 2


def test_destroy_with_bad_secret(emu):
    emu.put("keep", PNG)
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired):
        cloudinary.uploader.destroy("keep", timeout=2, **dict(emu.sdk_options, api_secret="no"))
    assert "keep" in emu.resources


# ---------------------------------------------------------------- Admin API


def test_wrong_basic_auth_is_authorization_required(emu):
    emu.put("keep", PNG)
    bad = dict(emu.sdk_options, api_secret="wrong")
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Invalid credentials"):
        cloudinary.api.delete_resources_by_prefix("keep", timeout=2, **bad)
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired):
        cloudinary.api.resources(timeout=2, **dict(emu.sdk_options, api_key="1"))
    assert "keep" in emu.resources


def test_delete_by_ids(emu):
    emu.put("charts/a", PNG)
    emu.put("charts/b", PNG)
    result = cloudinary.api.delete_resources(
        ["charts/a", "charts/missing"], timeout=2, **emu.sdk_options
    )
    assert result["deleted"] == {"charts/a": "deleted", "charts/missing": "not_found"}
    assert result["partial"] is False
    assert set(emu.resources) == {"charts/b"}
    # Idempotent: the same DELETE again is fine.
    again = cloudinary.api.delete_resources(["charts/a"], timeout=2, **emu.sdk_options)
    assert again["deleted"] == {"charts/a": "not_found"}
    assert emu.count("delete_by_ids") == 2


def test_delete_by_ids_rejects_more_than_100(emu):
    ids = [f"p/{i}" for i in range(101)]
    with pytest.raises(cloudinary.exceptions.BadRequest, match="Too many public_ids"):
        cloudinary.api.delete_resources(ids, timeout=2, **emu.sdk_options)
    result = cloudinary.api.delete_resources(ids[:100], timeout=2, **emu.sdk_options)
    assert len(result["deleted"]) == 100


def test_delete_by_prefix_pages_by_1000(emu):
    for i in range(2500):
        emu.put(f"orphans/{i:05d}", PNG)
    emu.put("orphansX", PNG)  # matches the prefix "orphans" too
    emu.put("kept/1", PNG)

    answers, cursor = [], None
    while True:
        extra = {"next_cursor": cursor} if cursor else {}
        answer = cloudinary.api.delete_resources_by_prefix(
            "orphans/", timeout=5, **extra, **emu.sdk_options
        )
        answers.append(answer)
        if not answer["partial"]:
            break
        cursor = answer["next_cursor"]

    assert emu.count("delete_by_prefix") == 3
    assert [len(a["deleted"]) for a in answers] == [1000, 1000, 500]
    assert [a["partial"] for a in answers] == [True, True, False]
    assert "next_cursor" in answers[0] and "next_cursor" not in answers[2]
    assert set(emu.resources) == {"orphansX", "kept/1"}


def test_delete_by_prefix_without_cursor_also_progresses(emu):
    for i in range(1200):
        emu.put(f"x/{i:04d}", PNG)
    first = cloudinary.api.delete_resources_by_prefix("x/", timeout=5, **emu.sdk_options)
    second = cloudinary.api.delete_resources_by_prefix("x/", timeout=5, **emu.sdk_options)
    assert (first["partial"], second["partial"]) == (True, False)
    assert len(second["deleted"]) == 200
    assert emu.resources == {}


def test_delete_by_tag(emu):
    emu.put("t/1", PNG, tags=["session-1"])
    emu.put("t/2", PNG, tags=["session-1", "other"])
    emu.put("t/3", PNG, tags=["other"])
    result = cloudinary.api.delete_resources_by_tag("session-1", timeout=2, **emu.sdk_options)
    assert result["deleted"] == {"t/1": "deleted", "t/2": "deleted"}
    assert result["partial"] is False
    assert set(emu.resources) == {"t/3"}
    assert emu.count("delete_by_tag") == 1


def test_delete_params_in_query_string_and_form_body(emu):
    for pid in ("q/1", "q/2", "f/1", "f/2"):
        emu.put(pid, PNG)
    url = f"{emu.base_url}/v1_1/{emu.cloud_name}/resources/image/upload"
    auth = (emu.api_key, emu.api_secret)
    by_query = requests.delete(url, params={"public_ids[]": ["q/1", "q/2"]}, auth=auth, timeout=2)
    assert by_query.json()["deleted"] == {"q/1": "deleted", "q/2": "deleted"}
    by_form = requests.delete(url, data={"prefix": "f/"}, auth=auth, timeout=2)
    assert by_form.json()["deleted"] == {"f/1": "deleted", "f/2": "deleted"}
    assert emu.resources == {}
    assert emu.count("delete_by_ids") == 1 and emu.count("delete_by_prefix") == 1
    no_params = requests.delete(url, auth=auth, timeout=2)
    assert no_params.status_code == 400
    assert set(no_params.json()) == {"error"}


def test_listing_pages(emu):
    for i in range(25):
        emu.put(f"list/{i:02d}", PNG, tags=["t"])
    emu.put("zzz", PNG)
    seen, cursor, pages = [], None, 0
    while True:
        extra = {"next_cursor": cursor} if cursor else {}
        page = cloudinary.api.resources(
            type="upload", prefix="list/", tags=True, timeout=2, **extra, **emu.sdk_options
        )
        pages += 1
        seen += [r["public_id"] for r in page["resources"]]
        assert all(r["tags"] == ["t"] for r in page["resources"])
        cursor = page.get("next_cursor")
        if not cursor:
            break
    assert pages == 3
    assert seen == [f"list/{i:02d}" for i in range(25)]

    everything = cloudinary.api.resources(max_results=500, timeout=2, **emu.sdk_options)
    assert len(everything["resources"]) == 26 and "next_cursor" not in everything
    item = everything["resources"][0]
    for key in (
        "public_id",
        "format",
        "version",
        "resource_type",
        "type",
        "created_at",
        "bytes",
        "width",
        "height",
        "url",
        "secure_url",
    ):
        assert key in item
    assert "tags" not in item
    with pytest.raises(cloudinary.exceptions.BadRequest):
        cloudinary.api.resources(max_results=501, timeout=2, **emu.sdk_options)
    assert emu.count("list") == 5


def test_single_resource_and_unknown_paths(emu):
    emu.put("one/x", PNG, tags=["a"])
    found = cloudinary.api.resource("one/x", timeout=2, **emu.sdk_options)
    assert found["public_id"] == "one/x" and found["tags"] == ["a"]
    with pytest.raises(cloudinary.exceptions.NotFound):
        cloudinary.api.resource("one/none", timeout=2, **emu.sdk_options)
    response = requests.get(f"{emu.base_url}/nothing/here", timeout=2)
    assert response.status_code == 404
    assert "message" in response.json()["error"]


# ---------------------------------------------------------------- faults


def test_fault_500_is_general_error(emu):
    emu.inject(status=500)
    with pytest.raises(cloudinary.exceptions.GeneralError):
        upload(emu)
    emu.clear_faults()
    emu.inject(status=503, actions=("delete_by_prefix",))
    with pytest.raises(cloudinary.exceptions.GeneralError, match="^Error 503 - "):
        cloudinary.api.delete_resources_by_prefix("p", timeout=2, **emu.sdk_options)


def test_fault_420_is_rate_limited_with_headers(emu):
    emu.inject(status=420, times=2)
    with pytest.raises(cloudinary.exceptions.RateLimited):
        upload(emu)
    url = f"{emu.base_url}/v1_1/{emu.cloud_name}/image/upload"
    raw = requests.post(url, data={}, timeout=2)
    assert raw.status_code == 420
    assert raw.headers["X-FeatureRateLimit-Limit"].isdigit()
    assert raw.headers["X-FeatureRateLimit-Remaining"] == "0"
    assert raw.headers["X-FeatureRateLimit-Reset"].endswith("GMT")
    assert set(raw.json()) == {"error"}
    # The two faults are used up: the next upload succeeds.
    assert upload(emu)["public_id"]

    emu.inject(status=429, actions=("list",), times=1)
    with pytest.raises(cloudinary.exceptions.RateLimited):
        cloudinary.api.resources(timeout=2, **emu.sdk_options)


def test_fault_401_and_custom_body(emu):
    emu.inject(status=401, body={"error": {"message": "Custom denial"}}, times=1)
    with pytest.raises(cloudinary.exceptions.AuthorizationRequired, match="Custom denial"):
        upload(emu)


def test_fault_delay_makes_the_sdk_time_out(emu):
    emu.inject(delay=3)
    started = time.monotonic()
    with pytest.raises(cloudinary.exceptions.Error, match="^Unexpected error - ReadTimeoutError"):
        upload(emu, timeout=0.3)
    assert time.monotonic() - started < 2
    assert emu.count("upload") == 1  # the Upload POST is not retried


def test_fault_delay_on_admin_delete_is_retried_by_urllib3(emu):
    emu.put("d/1", PNG)
    emu.inject(delay=3, actions=("delete_by_prefix",), times=1)
    result = cloudinary.api.delete_resources_by_prefix("d/", timeout=0.3, **emu.sdk_options)
    assert result["deleted"] == {"d/1": "deleted"}
    assert emu.count("delete_by_prefix") == 2


def test_fault_drop(emu):
    emu.inject(drop=True)
    with pytest.raises(cloudinary.exceptions.Error, match="^Unexpected error - ProtocolError"):
        upload(emu)
    assert emu.count("upload") == 1  # not retried
    assert emu.calls[0].status is None

    emu.inject(drop=True, actions=("delete_by_prefix",))
    with pytest.raises(cloudinary.exceptions.GeneralError, match="Max retries exceeded"):
        cloudinary.api.delete_resources_by_prefix("p", timeout=2, **emu.sdk_options)
    assert emu.count("delete_by_prefix") == 4  # urllib3 retried the DELETE 3 times


def test_fault_malformed(emu):
    emu.inject(malformed=True)
    with pytest.raises(cloudinary.exceptions.Error, match="^Error parsing server response"):
        upload(emu)
    emu.inject(malformed=True, actions=("list",))
    with pytest.raises(cloudinary.exceptions.GeneralError, match="^Error parsing server response"):
        cloudinary.api.resources(timeout=2, **emu.sdk_options)


def test_fault_times_one_then_success(emu):
    emu.inject(status=500, times=1)
    with pytest.raises(cloudinary.exceptions.GeneralError):
        upload(emu, public_id="retry")
    assert upload(emu, public_id="retry")["public_id"] == "retry"
    assert [c.status for c in emu.calls] == [500, 200]


def test_faults_match_only_their_actions_and_queue_in_order(emu):
    emu.inject(status=500, actions=("destroy",))
    emu.inject(status=420, actions=("upload",), times=1)
    emu.inject(status=503, actions=("upload",), times=1)
    with pytest.raises(cloudinary.exceptions.RateLimited):
        upload(emu)
    with pytest.raises(cloudinary.exceptions.GeneralError):
        upload(emu)
    assert upload(emu)["public_id"]
    with pytest.raises(cloudinary.exceptions.GeneralError):
        cloudinary.uploader.destroy("x", timeout=2, **emu.sdk_options)
    emu.clear_faults()
    assert cloudinary.uploader.destroy("x", timeout=2, **emu.sdk_options)["result"] == "not found"
    with pytest.raises(ValueError):
        emu.inject(actions=("upload",))


# ---------------------------------------------------------------- lifecycle


def test_stop_refuses_connections():
    emu = CloudinaryEmulator()
    assert emu.start() is emu.start()  # idempotent
    assert upload(emu)["public_id"]
    emu.stop()
    with pytest.raises(cloudinary.exceptions.Error, match="Connection refused|NewConnectionError"):
        upload(emu)
    with pytest.raises(requests.ConnectionError):
        requests.get(emu.base_url + "/", timeout=2)
    with socket.socket() as sock, pytest.raises(ConnectionRefusedError):
        sock.connect((emu.host, emu.port))
    emu.stop()  # idempotent


def test_cloudinary_url_and_standalone_main():
    proc = subprocess.Popen(
        [sys.executable, str(EMULATOR_FILE), "--port", "0", "--cloud-name", "standalone"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline().strip()
        assert line.startswith("cloudinary://614335564976464:emulator-secret@standalone")
        prefix = line.split("upload_prefix=", 1)[1]
        response = requests.get(
            f"{prefix}/v1_1/standalone/resources/image",
            auth=("614335564976464", "emulator-secret"),
            timeout=2,
        )
        assert response.json() == {"resources": []}
    finally:
        proc.terminate()
        proc.wait(timeout=5)
    assert proc.returncode == 0


def test_put_and_state_helpers(emu):
    resource = emu.put("seed/1", PNG, tags=("a",), context={"k": "v"})
    assert (resource.width, resource.height, resource.format) == (7, 5, "png")
    assert resource.etag == hashlib.md5(PNG).hexdigest()
    assert resource.resource_type == "image" and resource.type == "upload"
    assert resource.created_at.tzinfo is not None
    body = requests.get(emu.delivery_url("seed/1", "png", resource.version), timeout=2)
    assert body.content == PNG
    assert emu.count() == 1 and emu.count("deliver") == 1 and emu.count("upload") == 0
    options = emu.sdk_options
    assert set(options) == {"cloud_name", "api_key", "api_secret", "upload_prefix"}
    assert emu.cloudinary_url == (
        f"cloudinary://{emu.api_key}:{emu.api_secret}@{emu.cloud_name}?upload_prefix={emu.base_url}"
    )
    json.dumps([c.action for c in emu.calls])


def test_concurrent_uploads_are_thread_safe(emu):
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda i: upload(emu, public_id=f"c/{i:02d}"), range(24)))
    assert sorted(r["public_id"] for r in results) == [f"c/{i:02d}" for i in range(24)]
    assert len(emu.resources) == 24 and emu.count("upload") == 24
    assert all(c.status == 200 for c in emu.calls)
