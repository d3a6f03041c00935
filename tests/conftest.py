"""Shared fixtures: an isolated MEDIA_ROOT, the loopback Cloudinary emulator, users, images."""

from __future__ import annotations

import io
import os

import pytest
from PIL import Image

from tests.support.cloudinary_emulator import CloudinaryEmulator

os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test gets its own MEDIA_ROOT, an empty cache (closed circuit breakers) and
    starts with Cloudinary not configured."""
    from django.core.cache import cache

    from charts_app.storage import reset_remote_state

    cache.clear()
    reset_remote_state()
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    settings.CHARTS_CLOUDINARY = None
    settings.CHARTS_CLOUDINARY_SOURCE = "Cloudinary credentials not configured"
    return root


@pytest.fixture(scope="session")
def emulator_server():
    from django.conf import settings as django_settings

    emulator = CloudinaryEmulator().start()
    # django-cloudinary-storage reads CLOUDINARY_STORAGE at import and reloads itself (and
    # raises) whenever that setting changes, so it is set once, without a setting_changed.
    django_settings.CLOUDINARY_STORAGE = {
        "CLOUD_NAME": emulator.cloud_name,
        "API_KEY": emulator.api_key,
        "API_SECRET": emulator.api_secret,
    }
    yield emulator
    emulator.stop()


@pytest.fixture
def emulator(emulator_server):
    emulator_server.reset()
    yield emulator_server
    emulator_server.reset()


@pytest.fixture
def cloudinary(settings, emulator):
    """Configure the service for the emulator, as CLOUDINARY_URL would.

    Callers wait at least 0.3 s for an upload (production: 20 ms, or 4x the recent upload
    time): the loopback emulator answers in a few ms, so with the production floor one
    upload slowed by the other test worker would go to local storage and make the
    contract flaky. Tests of the hedge itself inject delays well past 0.3 s."""
    settings.CHARTS_CLOUDINARY = dict(emulator.sdk_options)
    settings.CHARTS_CLOUDINARY_SOURCE = "CLOUDINARY_URL"
    settings.CHARTS_CLOUDINARY_TIMEOUT = 1.0
    settings.CHARTS_UPLOAD_MIN_WAIT = 0.3
    return emulator


def make_png(width: int = 64, height: int = 48, color=(30, 120, 200)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), color).save(buffer, format="PNG")
    return buffer.getvalue()


def make_webp(width: int = 40, height: int = 30) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 60, 30)).save(buffer, format="WEBP")
    return buffer.getvalue()


@pytest.fixture
def png_bytes() -> bytes:
    return make_png()


@pytest.fixture
def user(django_user_model):
    return django_user_model.objects.create_user(username="alice", password="pw-alice-123")


@pytest.fixture
def other_user(django_user_model):
    return django_user_model.objects.create_user(username="bob", password="pw-bob-123")


@pytest.fixture
def staff_user(django_user_model):
    return django_user_model.objects.create_user(
        username="staff", password="pw-staff-123", is_staff=True, is_superuser=True
    )


def token_client(user):
    from rest_framework.test import APIClient

    from core.auth import token_issue

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    return client


@pytest.fixture
def api(user):
    return token_client(user)


@pytest.fixture
def other_api(other_user):
    return token_client(other_user)
