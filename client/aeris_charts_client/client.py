"""ChartsClient and AsyncChartsClient: the service's in-process API, over its HTTP API.

Each call is described once (`_Call`: the request, whether it is safe to repeat, how to
read the answer); the two clients only differ in how they send it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import httpx

ENGINE = "matplotlib"
SESSION_ID_RE = re.compile(r"[A-Za-z0-9_-]{1,100}")
# A request that never reached the service can always be sent again.
_NOT_SENT = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)
# An answer that broke on the way back: only safe to repeat for idempotent calls.
_BROKEN = (httpx.ReadError, httpx.ReadTimeout, httpx.RemoteProtocolError, httpx.WriteError)
_RETRY_STATUSES = (429, 503)
_MAX_RETRY_AFTER = 30.0


class ChartsClientError(ValueError):
    """The service refused a call (or could not be reached): `status`, `code`, `fields`."""

    def __init__(self, message: str, *, status: int | None = None, code: str = "", fields=None):
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.fields = fields or {}


@dataclass
class _Call:
    method: str
    path: str
    idempotent: bool
    read: Callable[[httpx.Response], object]
    json: dict | None = None
    data: dict | None = None
    files: dict | None = None
    on_failure: Callable[[ChartsClientError], object] | None = None  # instead of raising
    params: dict = field(default_factory=dict)


def _error_of(response: httpx.Response) -> ChartsClientError:
    try:
        body = response.json()
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    message = body.get("error") or f"HTTP {response.status_code}"
    return ChartsClientError(
        str(message),
        status=response.status_code,
        code=str(body.get("code") or response.status_code),
        fields=body.get("fields") or {},
    )


def _checked(response: httpx.Response) -> dict:
    if response.status_code >= 400:
        raise _error_of(response)
    return response.json()


# --- answers in the in-process shapes ---------------------------------------------------


def _chart_answer(body: dict, session_id) -> dict:
    """The in-process generate_chart answer from the HTTP answer."""
    if "data_uri" in body:  # output base64: nothing stored
        return {
            **body,
            "success": True,
            "chart_data": body["data_uri"],
            "engine": ENGINE,
            "storage": "base64",
            "session_id": session_id,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "id": None,
            "url": None,
            "path": None,
        }
    return {
        **body,
        "success": True,
        "chart_id": body["id"],
        "chart_data": body["url"],
        "engine": ENGINE,
        "storage": body["backend"],
        "timestamp": body["created_at"],
    }


def _stored_answer(body: dict) -> dict:
    """The seed's save_chart answer from the HTTP chart answer."""
    keys = (
        "id url backend session_id chart_type format path bytes width height created_at "
        "markdown data_rows original_rows sampled air_quality"
    ).split()
    return {"chart_id": body["id"], **{key: body.get(key) for key in keys}}


def _chart_failure(chart_type) -> Callable[[ChartsClientError], dict]:
    def failure(error: ChartsClientError) -> dict:
        answer = {"success": False, "error": error.code or "error", "message": error.message}
        if error.fields:
            answer["field"] = next(iter(error.fields))
        answer["chart_type"] = chart_type if isinstance(chart_type, str) else None
        return answer

    return failure


def _records(data):
    to_dict = getattr(data, "to_dict", None)  # a pandas DataFrame
    if callable(to_dict) and not isinstance(data, dict):
        data = to_dict(orient="records")
    if isinstance(data, list):
        return [_json_row(row) if isinstance(row, dict) else row for row in data]
    return data


def _json_row(row: dict) -> dict:
    """NaN (a missing reading in a DataFrame) as null; dates as ISO 8601 text."""
    out = {}
    for key, value in row.items():
        if isinstance(value, float) and value != value:
            value = None
        elif isinstance(value, (dt.date, dt.datetime)):
            value = value.isoformat()
        elif hasattr(value, "item") and callable(value.item):  # numpy scalars
            value = value.item()
        out[key] = value
    return out


# --- the calls ----------------------------------------------------------------------------


def generate_chart_call(data, chart_type, names: dict, session_id, options: dict) -> _Call:
    body = {"data": _records(data), "chart_type": chart_type}
    body.update({key: value for key, value in names.items() if value is not None})
    for key in ("x", "y", "color", "value", "format", "output", "air_quality"):
        if options.get(key) is not None:
            body[key] = options[key]
    if session_id:
        body["session_id"] = session_id
    # Identical requests answer the chart made before: repeating one is safe.
    return _Call(
        "POST",
        "/api/v1/charts/",
        idempotent=True,
        json=body,
        read=lambda response: _chart_answer(_checked(response), session_id),
        on_failure=_chart_failure(chart_type),
    )


def build_generate_chart(
    data,
    chart_type="line",
    x_column=None,
    y_column=None,
    title=None,
    x_label=None,
    y_label=None,
    color_column=None,
    output_format="file",
    interactive=False,
    session_id=None,
    **options,
) -> _Call | dict:
    """The call for generate_chart's arguments (the in-process signature), or the failure
    answer when they cannot even be sent."""
    names = {
        "x_column": x_column,
        "y_column": y_column,
        "title": title,
        "x_label": x_label,
        "y_label": y_label,
        "color_column": color_column,
        "output_format": output_format,
        "interactive": interactive or None,
    }
    try:
        return generate_chart_call(data, chart_type, names, session_id, options)
    except (ChartsClientError, TypeError) as error:
        return _chart_failure(chart_type)(ChartsClientError(str(error), code="invalid"))


def save_chart_call(chart_bytes: bytes, session_id, chart_type: str) -> _Call:
    if not isinstance(chart_bytes, (bytes, bytearray, memoryview)):
        raise ChartsClientError(f"chart bytes must be bytes, not {type(chart_bytes).__name__}")
    form = {"chart_type": chart_type, "session_id": session_id or ""}
    return _Call(
        "POST",
        "/api/v1/charts/upload/",
        idempotent=False,
        data=form,
        files={"file": ("chart", bytes(chart_bytes), "application/octet-stream")},
        read=lambda response: _stored_answer(_checked(response)),
    )


def delete_session_call(session_id: str) -> _Call:
    if not isinstance(session_id, str) or not SESSION_ID_RE.fullmatch(session_id):
        raise ChartsClientError(
            "session id must be 1-100 characters: letters, digits, '_' or '-'", code="invalid"
        )

    def read(response: httpx.Response) -> dict:
        if response.status_code == 404:  # nothing of it is stored (or visible): done
            return {"deleted": 0, "errors": 0, "message": "Deleted 0 charts"}
        return _checked(response)

    return _Call("DELETE", f"/api/v1/sessions/{session_id}/", idempotent=True, read=read)


def cleanup_call(max_age_hours: float) -> _Call:
    return _Call(
        "POST",
        "/api/v1/charts/prune/",
        idempotent=True,
        json={"max_age_hours": max_age_hours},
        read=lambda response: int(_checked(response)["deleted"]),
    )


def _retry_delay(attempt: int, call: _Call, failure) -> float | None:
    """Seconds to wait before sending `call` again after `failure`, or None."""
    backoff = min(4.0, 0.25 * 2**attempt)
    if isinstance(failure, _NOT_SENT):
        return backoff
    if isinstance(failure, _BROKEN):
        return backoff if call.idempotent else None
    if isinstance(failure, httpx.Response) and failure.status_code in _RETRY_STATUSES:
        try:
            wait = float(failure.headers.get("Retry-After", backoff))
        except ValueError:
            wait = backoff
        return min(max(wait, 0.0), _MAX_RETRY_AFTER)
    return None


def _unreachable(base_url: str, exc: Exception) -> ChartsClientError:
    return ChartsClientError(
        f"the chart service at {base_url} could not be reached ({type(exc).__name__}: {exc})",
        code="unreachable",
    )


class _Base:
    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0, retries: int = 2):
        self.base_url = base_url.rstrip("/")
        self.retries = max(0, int(retries))
        self._headers = {
            "Authorization": f"Token {token}",
            "User-Agent": "aeris-charts-client/0.1",
            "Accept": "application/json",
        }
        self._timeout = httpx.Timeout(timeout, connect=min(timeout, 10.0))

    def _finish(self, call: _Call, outcome):
        """Read a final response, or turn a failure into the call's failure answer."""
        if isinstance(outcome, httpx.Response):
            try:
                return call.read(outcome)
            except ChartsClientError as error:
                if call.on_failure is None:
                    raise
                return call.on_failure(error)
        error = _unreachable(self.base_url, outcome)
        if call.on_failure is None:
            raise error from outcome
        return call.on_failure(error)


class ChartsClient(_Base):
    """The chart service's Python API over HTTP (blocking)."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0, retries: int = 2):
        super().__init__(base_url, token, timeout=timeout, retries=retries)
        self._http = httpx.Client(
            base_url=self.base_url, headers=self._headers, timeout=self._timeout
        )

    def _send(self, call: _Call):
        outcome = None
        for attempt in range(self.retries + 1):
            try:
                outcome = self._http.request(
                    call.method, call.path, json=call.json, data=call.data, files=call.files
                )
            except httpx.TransportError as exc:
                outcome = exc
            delay = _retry_delay(attempt, call, outcome) if attempt < self.retries else None
            if delay is None:
                break
            time.sleep(delay)
        return self._finish(call, outcome)

    def generate_chart(self, data, chart_type="line", *args, **kwargs) -> dict:
        """The in-process generate_chart's arguments and answer; never raises."""
        call = build_generate_chart(data, chart_type, *args, **kwargs)
        return call if isinstance(call, dict) else self._send(call)

    def save_chart(self, chart_bytes: bytes, session_id, chart_type: str = "chart") -> dict:
        return self._send(save_chart_call(chart_bytes, session_id, chart_type))

    def delete_session_charts(self, session_id: str) -> dict:
        return self._send(delete_session_call(session_id))

    def cleanup_old_charts(self, max_age_hours: float = 24) -> int:
        return self._send(cleanup_call(max_age_hours))

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ChartsClient:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class AsyncChartsClient(_Base):
    """The chart service's Python API over HTTP, for `async def` code."""

    def __init__(self, base_url: str, token: str, *, timeout: float = 30.0, retries: int = 2):
        super().__init__(base_url, token, timeout=timeout, retries=retries)
        self._http = httpx.AsyncClient(
            base_url=self.base_url, headers=self._headers, timeout=self._timeout
        )

    async def _send(self, call: _Call):
        outcome = None
        for attempt in range(self.retries + 1):
            try:
                outcome = await self._http.request(
                    call.method, call.path, json=call.json, data=call.data, files=call.files
                )
            except httpx.TransportError as exc:
                outcome = exc
            delay = _retry_delay(attempt, call, outcome) if attempt < self.retries else None
            if delay is None:
                break
            await asyncio.sleep(delay)
        return self._finish(call, outcome)

    async def generate_chart(self, data, chart_type="line", *args, **kwargs) -> dict:
        """The in-process generate_chart's arguments and answer; never raises."""
        call = build_generate_chart(data, chart_type, *args, **kwargs)
        return call if isinstance(call, dict) else await self._send(call)

    async def save_chart(self, chart_bytes: bytes, session_id, chart_type: str = "chart") -> dict:
        return await self._send(save_chart_call(chart_bytes, session_id, chart_type))

    async def delete_session_charts(self, session_id: str) -> dict:
        return await self._send(delete_session_call(session_id))

    async def cleanup_old_charts(self, max_age_hours: float = 24) -> int:
        return await self._send(cleanup_call(max_age_hours))

    # The in-process API's coroutine names.
    agenerate_chart = generate_chart
    asave_chart = save_chart
    adelete_session_charts = delete_session_charts
    acleanup_old_charts = cleanup_old_charts

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncChartsClient:
        return self

    async def __aexit__(self, *exc) -> None:
        await self.aclose()
