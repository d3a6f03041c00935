"""Path traversal and malformed names against /charts/ over real HTTP, to a real runserver.

Targets go on the wire byte for byte (http.client, or a raw socket for what
http.client refuses), so no client normalizes them. Every answer: never a 5xx,
never the secret's bytes, never a 200 except for the tracked chart itself.
"""

from __future__ import annotations

from collections import Counter

import pytest

pytestmark = pytest.mark.server

# (target, may_be_the_chart): `may_be_the_chart` targets name the tracked chart in a form
# a server may legitimately resolve to it (percent-encoded letters, a query string);
# they may answer 200, but only with the chart's own bytes. Everything else must be 4xx.
# Placeholders: {T} tracked file, {stem} without ".png", {U} untracked regular file,
# {L} untracked symlink to the secret, {S} tracked row whose file became a symlink,
# {K} tracked row inside a symlinked session folder, {port} the server's port.
CORPUS: list[tuple[str, str, bool]] = [
    # the real thing, and harmless decorations of it
    ("GET", "/charts/abc-123/{T}", True),
    ("HEAD", "/charts/abc-123/{T}", True),
    ("GET", "/charts/abc-123/{T}?x=../../secret.txt", True),
    ("GET", "/charts/abc-123/{T}?%2e%2e%2f%2e%2e%2fsecret.txt", True),
    ("GET", "/charts/abc-123/%63hart_{T_rest}", True),
    ("GET", "//charts/abc-123/{T}", True),
    # files that exist under the charts root but are not tracked (or not safely)
    ("GET", "/charts/abc-123/{U}", False),
    ("HEAD", "/charts/abc-123/{U}", False),
    ("GET", "/charts/abc-123/{L}", False),
    ("GET", "/charts/abc-123/{S}", False),
    ("GET", "/charts/linked/{K}", False),
    ("GET", "/charts/abc-123/../linked/{K}", False),
    ("GET", "/charts/abc-123/%63hart_{U_rest}", False),
    ("GET", "/charts/secret.txt", False),
    ("GET", "/charts/abc-123/secret.txt", False),
    ("POST", "/charts/abc-123/{T}", False),
    ("OPTIONS", "/charts/abc-123/{T}", False),
    # plain and encoded dot segments
    ("GET", "/charts/../secret.txt", False),
    ("GET", "/charts/abc-123/../../secret.txt", False),
    ("GET", "/charts/abc-123/../../../secret.txt", False),
    ("GET", "/charts/%2e%2e/secret.txt", False),
    ("GET", "/charts/%2e%2e/%2e%2e/secret.txt", False),
    ("GET", "/charts/abc-123/%2e%2e/%2e%2e/secret.txt", False),
    ("GET", "/charts/abc-123/%2e%2e%2f%2e%2e%2fsecret.txt", False),
    ("GET", "/charts/abc-123/%2E%2E%2F%2E%2E%2Fsecret.txt", False),
    ("GET", "/charts/abc-123/..%2f..%2fsecret.txt", False),
    ("GET", "/charts/..%2f..%2fsecret.txt", False),
    ("GET", "/charts/abc-123/.%2e/.%2e/secret.txt", False),
    ("GET", "/charts/abc-123/./{T}", False),
    ("GET", "/charts/./abc-123/{T}", False),
    ("GET", "/charts/abc-123/{T}/.", False),
    ("GET", "/charts/abc-123/{T}/..", False),
    ("GET", "/charts/abc-123/{T}/", False),
    ("GET", "/charts/default/../abc-123/{T}", False),
    ("GET", "/charts/abc-123/.", False),
    ("GET", "/charts/abc-123/..", False),
    ("GET", "/charts/..", False),
    # double encoding
    ("GET", "/charts/abc-123/%252e%252e%252fsecret.txt", False),
    ("GET", "/charts/abc-123/%252e%252e%252f%252e%252e%252fsecret.txt", False),
    ("GET", "/charts/%252e%252e/secret.txt", False),
    ("GET", "/charts/abc-123/%25%32%65%25%32%65%25%32%66secret.txt", False),
    # backslashes
    ("GET", "/charts/abc-123/..\\..\\secret.txt", False),
    ("GET", "/charts/abc-123\\..\\..\\secret.txt", False),
    ("GET", "/charts/abc-123/..%5c..%5csecret.txt", False),
    ("GET", "/charts/abc-123%5c{T}", False),
    # NUL and other control characters
    ("GET", "/charts/abc-123/{T}%00", False),
    ("GET", "/charts/abc-123/secret.txt%00.png", False),
    ("GET", "/charts/abc-123/{U}%00.png", False),
    ("GET", "/charts/abc-123%00/{T}", False),
    ("GET", "/charts/abc-123%0a/{T}", False),
    ("GET", "/charts/abc-123/{T}%0a", False),
    ("GET", "/charts/abc-123/{T}%0d%0aSet-Cookie:%20hostile=1", False),
    ("GET", "/charts/abc-123/{T}%09", False),
    # overlong UTF-8 and invalid bytes
    ("GET", "/charts/abc-123/..%c0%af..%c0%afsecret.txt", False),
    ("GET", "/charts/abc-123/%c0%ae%c0%ae/%c0%ae%c0%ae/secret.txt", False),
    ("GET", "/charts/abc-123/%e0%80%ae%e0%80%ae%e0%80%afsecret.txt", False),
    ("GET", "/charts/abc-123/%c1%9c..%c1%9csecret.txt", False),
    ("GET", "/charts/abc-123/%ff%fe{T}", False),
    # unicode look-alikes of dots, slashes and letters
    ("GET", "/charts/abc-123/%ef%bc%8e%ef%bc%8e%ef%bc%8fsecret.txt", False),
    ("GET", "/charts/abc-123/%e2%80%a4%e2%80%a4%2fsecret.txt", False),
    ("GET", "/charts/abc-123/%e2%80%a5%e2%88%95secret.txt", False),
    ("GET", "/charts/abc-123/{stem}%ef%bc%8epng", False),
    ("GET", "/charts/%ef%bd%81bc-123/{T}", False),
    ("GET", "/charts/abc%e2%80%90123/{T}", False),
    # very long names
    ("GET", "/charts/abc-123/" + "a" * 5000 + ".png", False),
    ("GET", "/charts/" + "a" * 65 + "/{T}", False),
    ("GET", "/charts/abc-123/{stem}" + "0" * 300 + ".png", False),
    ("GET", "/charts/abc-123/" + "../" * 2000 + "secret.txt", False),
    ("GET", "/charts/abc-123/" + "x" * 70_000, False),
    # `;` parameters, trailing dots and spaces, alternate data streams
    ("GET", "/charts/abc-123/{T};.png", False),
    ("GET", "/charts/abc-123;x=1/{T}", False),
    ("GET", "/charts/abc-123/..;/..;/secret.txt", False),
    ("GET", "/charts/abc-123/{U};jsessionid=1", False),
    ("GET", "/charts/abc-123/{T}.", False),
    ("GET", "/charts/abc-123/{T}%2e", False),
    ("GET", "/charts/abc-123/{T}%20", False),
    ("GET", "/charts/abc-123/{U}.", False),
    ("GET", "/charts/abc-123/{T}::$DATA", False),
    # case variants and other names for the same file
    ("GET", "/charts/ABC-123/{T}", False),
    ("GET", "/charts/abc-123/{upper}", False),
    ("GET", "/charts/abc-123/{stem}.PNG", False),
    ("GET", "/CHARTS/abc-123/{T}", False),
    ("GET", "/charts/abc-123/{stem}.svg", False),
    ("GET", "/charts/abc-123/{stem}.webp", False),
    ("GET", "/charts/abc-123/{stem}", False),
    ("GET", "/charts/abc-123/{T}.png", False),
    ("GET", "/charts/abc-123/.{T}", False),
    # absolute paths, `//`, drive letters, home folders
    ("GET", "/charts//etc/passwd", False),
    ("GET", "/charts/abc-123//etc/passwd", False),
    ("GET", "/charts/abc-123/%2fetc%2fpasswd", False),
    ("GET", "/charts/%2fetc/passwd", False),
    ("GET", "/charts//abc-123/{T}", False),
    ("GET", "/charts/abc-123//{T}", False),
    ("GET", "/charts/abc-123/C:%5cwindows%5cwin.ini", False),
    ("GET", "/charts/abc-123/file:%2f%2f%2fetc%2fpasswd", False),
    ("GET", "/charts/abc-123/~%2f.bashrc", False),
    ("GET", "http://127.0.0.1:{port}/charts/../secret.txt", False),
    ("GET", "http://127.0.0.1:{port}/charts/abc-123/{U}", False),
    # query strings and fragments that try to smuggle a path
    ("GET", "/charts/abc-123/secret.txt?{T}", False),
    ("GET", "/charts/abc-123/{U}?{T}", False),
    ("GET", "/charts/abc-123/%3f{T}", False),
    ("GET", "/charts/abc-123/{U}%23.png", False),
    ("GET", "/charts/abc-123/{U}#{T}", False),
    # places where other servers serve files from
    ("GET", "/media/secret.txt", False),
    ("GET", "/media/charts/abc-123/{T}", False),
    ("GET", "/static/../secret.txt", False),
    ("GET", "/charts/", False),
    ("GET", "/charts/abc-123", False),
    ("GET", "/charts/abc-123/", False),
]

# Bytes that http.client will not put on the wire; sent over a raw socket.
RAW_CORPUS: list[bytes] = [
    b"GET /charts/abc-123/\xef\xbc\x8e\xef\xbc\x8e\xef\xbc\x8fsecret.txt HTTP/1.1",
    b"GET /charts/abc-123/\xc0\xae\xc0\xae/\xc0\xae\xc0\xae/secret.txt HTTP/1.1",
    b"GET /charts/abc-123/{T}\x00 HTTP/1.1",
    b"GET /charts/abc-123/{T} .png HTTP/1.1",
    b"GET /charts/abc-123/../../secret.txt\tHTTP/1.1",
    b"GET /charts/abc-123/{U}\rX-Injected: 1 HTTP/1.1",
    b"GET /charts/abc-123/\xe2\x80\xa4\xe2\x80\xa4/secret.txt HTTP/1.1",
    b"GET ../../secret.txt HTTP/1.1",
    b"GET /charts/abc-123/%2e%2e/%2e%2e/secret.txt HTTP/1.0",
]

STATUS: Counter = Counter()


def _fill(template, server):
    name = server.tracked
    values = {
        "T": name,
        "T_rest": name.removeprefix("chart_"),
        "U_rest": server.untracked.removeprefix("chart_"),
        "stem": name.removesuffix(".png"),
        "upper": name.upper(),
        "U": server.untracked,
        "L": server.symlink,
        "S": server.swapped,
        "K": server.linked,
        "port": str(server.port),
    }
    if isinstance(template, bytes):
        for key, value in values.items():
            template = template.replace(b"{" + key.encode() + b"}", value.encode())
        return template
    for key, value in values.items():
        template = template.replace("{" + key + "}", value)
    return template


def _assert_no_leak(server, answer, label):
    assert answer.status < 500, f"{label}: {answer.status}"
    assert server.secret not in answer.body, f"{label}: the secret's bytes came back"
    for name, value in answer.headers:
        assert server.secret.decode() not in value, f"{label}: the secret is in {name}"
        assert "hostile" not in name.lower() and "x-injected" not in name.lower(), label
    assert answer.header("Set-Cookie") is None, f"{label}: {answer.header('Set-Cookie')}"


def test_corpus_is_large_and_distinct():
    targets = [(method, target) for method, target, _ in CORPUS] + RAW_CORPUS
    assert len(set(targets)) == len(targets)
    assert len(targets) >= 50


@pytest.mark.parametrize(
    ("method", "template", "may_be_the_chart"),
    CORPUS,
    ids=[f"{method} {target[:60]}" for method, target, _ in CORPUS],
)
def test_corpus_request(runserver, method, template, may_be_the_chart):
    target = _fill(template, runserver)
    answer = runserver.request(method, target)
    STATUS[(runserver.database, answer.status)] += 1
    label = f"{method} {target[:120]}"
    _assert_no_leak(runserver, answer, label)
    if may_be_the_chart and answer.status == 200:
        expected = b"" if method == "HEAD" else runserver.chart_bytes
        assert answer.body == expected, label
        assert answer.header("Content-Type") == "image/png"
        assert answer.header("X-Content-Type-Options") == "nosniff"
    elif may_be_the_chart:
        assert 400 <= answer.status < 500, label
    else:
        assert 400 <= answer.status < 500, f"{label}: {answer.status}"


@pytest.mark.parametrize("template", RAW_CORPUS, ids=[t[:60].decode("latin-1") for t in RAW_CORPUS])
def test_raw_corpus_request(runserver, template):
    request_line = _fill(template, runserver)
    answer = runserver.raw(request_line)
    STATUS[(runserver.database, answer.status)] += 1
    label = request_line[:120].decode("latin-1")
    _assert_no_leak(runserver, answer, label)
    assert 400 <= answer.status < 500, f"{label}: {answer.status}"


def test_the_tracked_chart_is_served(runserver):
    """The control: the same server does serve the chart the corpus tries to get around."""
    answer = runserver.request("GET", f"/charts/abc-123/{runserver.tracked}")
    assert answer.status == 200
    assert answer.body == runserver.chart_bytes
    assert answer.header("Cache-Control") == "public, max-age=31536000, immutable"
    etag = answer.header("ETag")
    again = runserver.request(
        "GET", f"/charts/abc-123/{runserver.tracked}", headers={"If-None-Match": etag}
    )
    assert again.status == 304 and again.body == b""


def test_the_traps_are_still_in_place(runserver):
    """The secrets were reachable on disk the whole time: the 404s above were not luck."""
    session = runserver.media_root / "charts" / "abc-123"
    assert (session / runserver.untracked).read_bytes() == runserver.secret
    assert (session / runserver.symlink).read_bytes() == runserver.secret
    assert (session / runserver.swapped).read_bytes() == runserver.secret
    linked = runserver.media_root / "charts" / "linked" / runserver.linked
    assert linked.read_bytes() == runserver.secret
    assert (runserver.media_root / "secret.txt").read_bytes() == runserver.secret


def test_status_histogram(runserver):
    """Prints what the corpus got back (run with -s to see it)."""
    seen = {status: n for (database, status), n in STATUS.items() if database == runserver.database}
    total = sum(seen.values())
    print(f"\n{runserver.database}: {total} corpus requests, statuses {sorted(seen.items())}")
    assert not any(status >= 500 for status in seen)
