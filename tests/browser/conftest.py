"""Headless Chromium (Debian's, driven by Playwright's sync API) against the live_server.

Every test module here skips as a whole when Chromium or Playwright is missing
(`make test` installs Chromium with apt where it can: scripts/ensure_chromium.sh).
"""

from __future__ import annotations

import importlib.util
import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from django.conf import settings as django_settings
from django.test import Client

from charts_app.services import chart_store

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = Path(__file__).resolve().parents[1] / "artifacts" / "screenshots"
TIMEOUT_MS = 10_000
SUPERUSER = ("root", "pw-root-123")

# Waits for every matching <img> in turn: scrolled into view (the pages lazy-load), then
# loaded or broken. Returns what the browser decoded, so a broken image has naturalWidth 0.
_LOAD_IMAGES_JS = """
async (selector) => {
  const settle = (img) => new Promise((resolve) => {
    if (img.complete) return resolve();
    img.addEventListener("load", resolve, { once: true });
    img.addEventListener("error", resolve, { once: true });
    setTimeout(resolve, 5000);
  });
  const found = [];
  for (const img of document.querySelectorAll(selector)) {
    img.scrollIntoView({ block: "center" });
    await settle(img);
    found.push({ src: img.getAttribute("src"), naturalWidth: img.naturalWidth });
  }
  window.scrollTo(0, 0);
  return found;
}
"""


def unavailable_reason() -> str | None:
    """Why the browser tests cannot run here, or None when they can."""
    if not os.path.exists(CHROMIUM):
        return f"{CHROMIUM} is missing (make test installs Debian's chromium with apt when root)"
    if importlib.util.find_spec("playwright") is None:
        return "playwright is not installed (pip install -e '.[test]')"
    return None


@pytest.fixture(scope="module")
def browser():
    # Playwright's sync API keeps an asyncio loop running in the main thread while it is
    # started, and Django refuses ORM calls from test code when it sees one. The flag is
    # set only while the browser lives, so no other test module runs with it.
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            yield chromium
            chromium.close()


@pytest.fixture
def page(browser, live_server):
    context = browser.new_context(base_url=live_server.url, viewport={"width": 1280, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def superuser(django_user_model):
    return django_user_model.objects.create_superuser(
        SUPERUSER[0], "root@example.com", SUPERUSER[1]
    )


def admin_login(page, username: str = SUPERUSER[0], password: str = SUPERUSER[1]) -> None:
    """Sign in through the admin's own login form."""
    page.goto("/admin/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/")


def cookie_login(page, live_server, user) -> None:
    """Give the browser a signed-in session for a user that the admin login would refuse."""
    client = Client()
    client.force_login(user)
    name = django_settings.SESSION_COOKIE_NAME
    page.context.add_cookies(
        [{"name": name, "value": client.cookies[name].value, "url": live_server.url}]
    )


def loaded_images(page, selector: str) -> list[dict]:
    return page.evaluate(_LOAD_IMAGES_JS, selector)


def screenshot(page, name: str) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=path, full_page=True)
    return path


@contextmanager
def local_storage_only(settings):
    """Store on the local backend for a while, as during a Cloudinary outage."""
    saved = settings.CHARTS_CLOUDINARY
    settings.CHARTS_CLOUDINARY = None
    try:
        yield
    finally:
        settings.CHARTS_CLOUDINARY = saved


@pytest.fixture
def store(settings, png_bytes):
    """Store a chart through the real service on the backend asked for."""

    def _store(*, backend: str, session_id="s1", chart_type="line", user=None, content=None):
        content = content or png_bytes
        if backend == "local":
            with local_storage_only(settings):
                chart = chart_store(
                    content=content, session_id=session_id, chart_type=chart_type, user=user
                )
        else:
            chart = chart_store(
                content=content, session_id=session_id, chart_type=chart_type, user=user
            )
        assert chart.backend == backend
        return chart

    return _store


AIR = [
    {
        "hour": hour,
        "city": ("Paris", "Lyon", "Nice", "Lille")[hour % 4],
        "pm25": round(18 + 9 * ((hour * 7) % 11) / 11 + (hour % 5), 1),
        "no2": round(34 - (hour % 9) * 1.5, 1),
    }
    for hour in range(48)
]
RENDER_OPTIONS = {
    "line": {"x": "hour", "y": "pm25", "title": "PM2.5 by hour"},
    "bar": {"x": "city", "y": "pm25", "title": "PM2.5 by city"},
    "scatter": {"x": "pm25", "y": "no2", "title": "PM2.5 against NO2"},
    "heatmap": {"x": "hour", "y": "city", "value": "pm25", "title": "PM2.5 heatmap"},
    "pie": {"x": "city", "y": "pm25", "title": "Share of PM2.5"},
    "box": {"y": ["pm25", "no2"], "title": "Spread of pollutants"},
}


@pytest.fixture
def render(settings):
    """Render and store a real chart (matplotlib) on the backend asked for."""
    from charts_app.services import chart_create

    def _render(*, backend: str, chart_type: str, session_id="s1", user=None):
        def create():
            return chart_create(
                data=AIR,
                chart_type=chart_type,
                session_id=session_id,
                user=user,
                **RENDER_OPTIONS[chart_type],
            ).chart

        if backend == "local":
            with local_storage_only(settings):
                chart = create()
        else:
            chart = create()
        assert chart.backend == backend
        return chart

    return _render
