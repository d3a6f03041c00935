from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


def run(*args) -> list[str]:
    out = StringIO()
    call_command("agent_token", *args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_prints_the_token_alone_on_the_last_line(django_user_model):
    lines = run("aeris-agent")
    token = Token.objects.get(user__username="aeris-agent")
    assert lines[-1] == token.key
    assert not django_user_model.objects.get(username="aeris-agent").has_usable_password()


def test_reuses_user_and_token(django_user_model):
    first = run("aeris-agent")[-1]
    second = run("aeris-agent")[-1]
    assert first == second
    assert django_user_model.objects.filter(username="aeris-agent").count() == 1


def test_rotate_replaces_the_token():
    first = run("aeris-agent")[-1]
    assert run("aeris-agent", "--rotate")[-1] != first


def test_token_authenticates_against_the_api(client):
    token = run("aeris-agent")[-1]
    from rest_framework.test import APIClient

    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    assert api.get("/api/v1/health/").status_code == 200


def test_invalid_name_is_a_clear_error():
    with pytest.raises(CommandError, match="invalid agent name"):
        run("bad name!")
