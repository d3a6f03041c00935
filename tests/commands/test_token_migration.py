"""Tokens issued before hashing keep working: the migration stores their digests and
deletes the plain-text rows."""

from __future__ import annotations

import importlib

import pytest
from django.apps import apps
from django.db import connection
from rest_framework.test import APIClient

pytestmark = pytest.mark.django_db(transaction=True)

migration = importlib.import_module("charts_app.migrations.0008_hashed_api_tokens")
LEGACY_KEY = "0123456789abcdef0123456789abcdef01234567"  # a rest_framework.authtoken key


@pytest.fixture
def legacy_table(user):
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, user_id integer NOT NULL)"
            if connection.vendor == "postgresql"
            else "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created datetime NOT NULL, user_id integer NOT NULL)"
        )
        cursor.execute(
            "INSERT INTO authtoken_token (key, created, user_id) VALUES (%s, %s, %s)",
            [LEGACY_KEY, "2026-01-01 00:00:00+00:00", user.pk],
        )
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE authtoken_token")


def test_legacy_keys_keep_working_and_leave_no_plain_text(legacy_table, user):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {LEGACY_KEY}")
    assert api.get("/api/v1/sessions/").status_code == 401  # not migrated yet
    with connection.schema_editor() as editor:
        migration.hash_legacy_tokens(apps, editor)
    assert api.get("/api/v1/sessions/").status_code == 200
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM authtoken_token")
        assert cursor.fetchone()[0] == 0


def test_a_database_without_the_legacy_table_is_left_alone():
    with connection.schema_editor() as editor:
        migration.hash_legacy_tokens(apps, editor)  # no table: nothing to do, no error
