"""`manage.py check --deploy` is clean with the production settings docs/DEPLOY.md lists."""

from __future__ import annotations

import re

from tests.support.env import ROOT, run_manage

PRODUCTION = {
    "SECRET_KEY": "p7Xk2-9qLm_4vR8sT1wZ6yB3nH5jD0fGcE-aQ9uI2oP7lK4xS8dV1bN6mJ3hF5gY",
    "DEBUG": "false",
    "ALLOWED_HOSTS": "charts.example.org",
    "SECURE_HSTS_SECONDS": "31536000",
    "SECURE_HSTS_INCLUDE_SUBDOMAINS": "true",
    "SECURE_HSTS_PRELOAD": "true",
    "SECURE_SSL_REDIRECT": "true",
    "SESSION_COOKIE_SECURE": "true",
    "CSRF_COOKIE_SECURE": "true",
    "SECURE_PROXY_SSL_HEADER": "HTTP_X_FORWARDED_PROTO,https",
    "CSRF_TRUSTED_ORIGINS": "https://charts.example.org",
}


def check_deploy(env: dict):
    return run_manage("check", "--deploy", "--fail-level", "WARNING", env=env)


def test_production_settings_from_the_environment_pass_check_deploy():
    done = check_deploy(PRODUCTION)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "System check identified no issues" in done.stdout


def test_every_documented_setting_is_needed():
    # The check is not vacuous: dropping any one of them brings a warning back.
    for name in ("SECURE_HSTS_SECONDS", "SECURE_SSL_REDIRECT", "SESSION_COOKIE_SECURE"):
        done = check_deploy({k: v for k, v in PRODUCTION.items() if k != name})
        assert done.returncode != 0 and "security.W0" in done.stderr, name


def test_deploy_doc_lists_every_setting():
    doc = (ROOT / "docs" / "DEPLOY.md").read_text()
    missing = [name for name in PRODUCTION if not re.search(rf"\b{name}\b", doc)]
    assert missing == []
