"""agent_token: issues hashed API tokens (printed once), rotates, revokes, expires them."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.utils import timezone
from knox.models import AuthToken
from rest_framework.test import APIClient

from core.auth import user_for_token

pytestmark = pytest.mark.django_db


def run(*args) -> list[str]:
    out = StringIO()
    call_command("agent_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def authenticates(token: str) -> bool:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return api.get("/api/v1/sessions/").status_code == 200


def test_prints_a_new_token_alone_on_the_last_line(django_user_model):
    lines = run("aeris-agent")
    token = lines[-1]
    assert len(token) == 64 and int(token, 16) >= 0  # 256 random bits, hex
    assert authenticates(token)
    assert user_for_token(token).username == "aeris-agent"
    assert not django_user_model.objects.get(username="aeris-agent").has_usable_password()


def test_only_a_digest_is_stored():
    token = run("aeris-agent")[-1]
    row = AuthToken.objects.get(user__username="aeris-agent")
    assert token not in (row.digest, row.token_key) and len(row.digest) == 128
    stored = [str(value) for value in AuthToken.objects.values_list(flat=False).get()]
    assert not any(token in value for value in stored)


@pytest.mark.django_db(transaction=True)
def test_a_copy_of_the_database_holds_no_usable_token(tmp_path):
    token = run("aeris-agent")[-1]
    if connection.vendor != "sqlite":
        pytest.skip(
            "the file copy is a SQLite check (PostgreSQL: see test_only_a_digest_is_stored)"
        )
    copy = tmp_path / "copy.sqlite3"
    source = sqlite3.connect(connection.settings_dict["NAME"], uri=True)
    with sqlite3.connect(copy) as target:
        source.backup(target)
    source.close()
    assert token.encode() not in copy.read_bytes()
    assert token[:15].encode() in copy.read_bytes()  # the lookup prefix is, on its own, useless


def test_each_run_issues_another_token_and_rotate_revokes_the_others(django_user_model):
    first = run("aeris-agent")[-1]
    second = run("aeris-agent")[-1]
    assert first != second and authenticates(first) and authenticates(second)
    assert django_user_model.objects.filter(username="aeris-agent").count() == 1
    third = run("aeris-agent", "--rotate")[-1]
    assert not authenticates(first) and not authenticates(second) and authenticates(third)


def test_revoke_revokes_every_token_and_issues_none():
    token = run("aeris-agent")[-1]
    assert run("aeris-agent", "--revoke") == ["revoked 1 tokens of 'aeris-agent'"]
    assert not authenticates(token)
    with pytest.raises(CommandError, match="no user"):
        run("nobody", "--revoke")


def test_tokens_may_carry_an_expiry():
    token = run("aeris-agent", "--expires-in-days", "2")[-1]
    row = AuthToken.objects.get(user__username="aeris-agent")
    assert timedelta(days=1.99) < row.expiry - timezone.now() <= timedelta(days=2)
    assert authenticates(token)
    AuthToken.objects.filter(pk=row.pk).update(expiry=timezone.now() - timedelta(seconds=1))
    assert not authenticates(token)
    with pytest.raises(CommandError, match="expires-in-days"):
        run("aeris-agent", "--expires-in-days", "0")


def test_invalid_name_is_a_clear_error():
    with pytest.raises(CommandError, match="invalid agent name"):
        run("bad name!")
