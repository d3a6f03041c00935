"""`make serve`'s server (gunicorn, WhiteNoise, DEBUG off) and nginx hand-off of chart files."""

from __future__ import annotations

import time

import pytest
import requests

from charts_app.models import Chart
from charts_app.services import get_chart_storage_service
from tests.support.env import run_manage
from tests.support.servers import ServerProcess


@pytest.mark.django_db
def test_x_accel_redirect_hands_tracked_files_to_nginx(client, settings, png_bytes, media_root):
    settings.CHARTS_X_ACCEL_REDIRECT = "/protected-charts/"
    saved = get_chart_storage_service().save_chart(png_bytes, "abc-123", "line")
    chart = Chart.objects.get(pk=saved["id"])

    response = client.get(chart.url)

    filename = chart.path.rsplit("/", 1)[1]
    assert response.status_code == 200
    assert response["X-Accel-Redirect"] == f"/protected-charts/abc-123/{filename}"
    assert response.content == b""
    assert response["Content-Type"] == "image/png"
    assert response["ETag"] == f'"{chart.sha256}"'
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    (media_root / chart.path).unlink()
    (media_root / chart.path).symlink_to(media_root / "elsewhere.png")
    assert client.get(chart.url).status_code == 404, "a symlink is never handed to nginx"


@pytest.mark.server
def test_make_serve_runs_gunicorn_with_static_files_and_one_startup_prune(tmp_path):
    env = {
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "MEDIA_ROOT": str(tmp_path / "media"),
        "STATIC_ROOT": str(tmp_path / "static"),
        "SECRET_KEY": "test-secret-key-for-the-production-server-test-0123456789",
        "GUNICORN_WORKERS": "2",
        "GUNICORN_THREADS": "2",
    }
    server = ServerProcess("serve", env, tmp_path / "serve.log")
    with server:
        base = server.base_url
        css = requests.get(f"{base}/static/admin/css/base.css", timeout=5)
        assert css.status_code == 200 and "text/css" in css.headers["Content-Type"]
        docs = requests.get(f"{base}/api/docs/", timeout=5)
        assert docs.status_code == 200
        missing = requests.get(f"{base}/no-such-page", timeout=5)
        assert missing.status_code == 404 and "Traceback" not in missing.text  # DEBUG is off
        token = run_manage("agent_token", "serve-agent", env=env).stdout.strip().splitlines()[-1]
        created = requests.post(
            f"{base}/api/v1/charts/",
            json={"chart_type": "bar", "data": [{"a": "x", "b": 1}, {"a": "y", "b": 3}]},
            headers={"Authorization": f"Token {token}"},
            timeout=30,
        )
        assert created.status_code == 201, created.text
        assert created.json()["url"].startswith("/charts/")  # relative, as documented
        image = requests.get(base + created.json()["url"], timeout=5)
        assert image.status_code == 200 and image.content[:8] == b"\x89PNG\r\n\x1a\n"
        time.sleep(1.0)  # let both workers finish their background start-up
    output = server.log()
    assert output.count("Booting worker") == 2, output
    assert output.count("Startup prune: deleted") == 1, output
