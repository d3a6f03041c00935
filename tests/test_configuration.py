"""Configuration from the environment, startup log lines, and no Cloudinary import when unused."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from aeris.settings import cloudinary_from_env
from charts_app import storage
from tests.support.env import clean_env

ROOT = Path(__file__).resolve().parent.parent


def test_cloudinary_url_with_upload_prefix_is_parsed():
    options, source = cloudinary_from_env(
        {"CLOUDINARY_URL": "cloudinary://key1:secret1@cloud1?upload_prefix=http://127.0.0.1:9"}
    )
    assert options == {
        "cloud_name": "cloud1",
        "api_key": "key1",
        "api_secret": "secret1",
        "upload_prefix": "http://127.0.0.1:9",
    }
    assert source == "CLOUDINARY_URL"


def test_three_variables_take_precedence_over_the_url():
    options, source = cloudinary_from_env(
        {
            "CLOUDINARY_URL": "cloudinary://k:s@url-cloud",
            "CLOUDINARY_CLOUD_NAME": "var-cloud",
            "CLOUDINARY_API_KEY": "var-key",
            "CLOUDINARY_API_SECRET": "var-secret",
            "CLOUDINARY_UPLOAD_PREFIX": "http://127.0.0.1:7",
        }
    )
    assert options == {
        "cloud_name": "var-cloud",
        "api_key": "var-key",
        "api_secret": "var-secret",
        "upload_prefix": "http://127.0.0.1:7",
    }


@pytest.mark.parametrize(
    "environ, reason",
    [
        ({}, "not configured"),
        (
            {"CLOUDINARY_CLOUD_NAME": "c", "CLOUDINARY_API_KEY": "k"},
            "CLOUDINARY_API_SECRET missing",
        ),
        ({"CLOUDINARY_URL": "https://k:s@c"}, "CLOUDINARY_URL is not"),
        ({"CLOUDINARY_URL": "cloudinary://c"}, "CLOUDINARY_URL is not"),
    ],
)
def test_missing_or_broken_configuration_means_local_only(environ, reason):
    options, why = cloudinary_from_env(environ)
    assert options is None
    assert reason in why


def test_startup_log_when_not_configured(caplog):
    caplog.set_level(logging.INFO, logger="charts_app")
    storage.log_configuration()
    assert "Cloudinary credentials not configured, using local storage only" in caplog.text


def test_startup_log_when_configured(cloudinary, caplog):
    caplog.set_level(logging.INFO, logger="charts_app")
    storage.log_configuration()
    assert "✓ Cloudinary storage initialized" in caplog.text
    assert cloudinary.api_secret not in caplog.text


def _run(code: str, env_extra: dict, tmp_path) -> subprocess.CompletedProcess:
    env = clean_env(
        {
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MEDIA_ROOT": str(tmp_path / "media"),
            "CHARTS_PRUNE_ON_STARTUP": "false",
            **env_extra,
        }
    )
    script = (
        "import django, sys, io\n"
        "django.setup()\n"
        "from django.core.management import call_command\n"
        "call_command('migrate', verbosity=0)\n"
        "from PIL import Image\n"
        "buf = io.BytesIO(); Image.new('RGB', (8, 8)).save(buf, 'PNG')\n"
        "from charts_app.services import get_chart_storage_service\n"
        "r = get_chart_storage_service().save_chart(buf.getvalue(), 'sub-1', 'line')\n" + code
    )
    return subprocess.run(
        [sys.executable, "-c", script],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


@pytest.mark.django_db
def test_unconfigured_process_never_imports_django_cloudinary_storage(tmp_path):
    proc = _run("print(r['backend'], 'cloudinary_storage' in sys.modules)\n", {}, tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["local", "False"]
    assert "Cloudinary credentials not configured, using local storage only" in proc.stderr


@pytest.mark.django_db
def test_cloudinary_url_from_the_environment_reaches_the_sdk(tmp_path, emulator):
    proc = _run(
        "print(r['backend'], r['path'])\n", {"CLOUDINARY_URL": emulator.cloudinary_url}, tmp_path
    )
    assert proc.returncode == 0, proc.stderr
    backend, path = proc.stdout.split()
    assert backend == "cloudinary"
    assert path in emulator.resources
    assert "✓ Cloudinary storage initialized" in proc.stderr


@pytest.mark.django_db
def test_three_variables_and_upload_prefix_reach_the_sdk(tmp_path, emulator):
    env = {
        "CLOUDINARY_CLOUD_NAME": emulator.cloud_name,
        "CLOUDINARY_API_KEY": emulator.api_key,
        "CLOUDINARY_API_SECRET": emulator.api_secret,
        "CLOUDINARY_UPLOAD_PREFIX": emulator.base_url,
    }
    proc = _run("print(r['backend'], r['path'])\n", env, tmp_path)
    assert proc.returncode == 0, proc.stderr
    backend, path = proc.stdout.split()
    assert backend == "cloudinary"
    assert path in emulator.resources


@pytest.mark.django_db
def test_dotenv_file_is_read_without_overriding_the_environment(tmp_path):
    """`.env` in the project folder fills unset variables only (python-dotenv)."""
    from dotenv import dotenv_values

    env_file = tmp_path / ".env"
    env_file.write_text("CHARTS_CLOUDINARY_FOLDER=from-dotenv\nDEBUG=true\n")
    assert dotenv_values(env_file)["CHARTS_CLOUDINARY_FOLDER"] == "from-dotenv"
    settings_source = (ROOT / "aeris" / "settings.py").read_text()
    assert 'load_dotenv(BASE_DIR / ".env", override=False)' in settings_source


def test_env_example_lists_every_setting_read_from_the_environment():
    import re

    from charts_app.conf import environment_variables

    settings_source = (ROOT / "aeris" / "settings.py").read_text()
    read = set(re.findall(r'(?:environ\.get|env_bool|env_number)\(\s*"([A-Z_]+)"', settings_source))
    read |= environment_variables()  # every CHARTS_* setting's variables (charts_app/conf.py)
    read |= {
        "CLOUDINARY_URL",
        "CLOUDINARY_CLOUD_NAME",
        "CLOUDINARY_API_KEY",
        "CLOUDINARY_API_SECRET",
        "CLOUDINARY_UPLOAD_PREFIX",
    }
    example = (ROOT / ".env.example").read_text()
    listed = set(re.findall(r"^#?\s*([A-Z0-9_]+)=", example, flags=re.M))
    assert read - listed == set()
