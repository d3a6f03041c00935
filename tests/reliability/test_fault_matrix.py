"""Fault matrix through a real server: each Cloudinary fault, during uploads and during deletes.

Every cell runs its own `runserver` process (fresh SQLite copy, MEDIA_ROOT, emulator),
creates and deletes charts over HTTP while the fault lasts, clears it, runs the cron
commands (prune_charts, sync_charts --rehome, sync_charts --fix) as separate processes,
and then requires rows and files on both backends to agree exactly, with no chart lost.

    .venv/bin/python -m pytest -s tests/reliability/test_fault_matrix.py
"""

from __future__ import annotations

import re
import threading
import time
import traceback
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest

from tests.reliability.server import (
    ApiClient,
    Deployment,
    Server,
    chart_key,
    fetch_image,
    keys_of,
)
from tests.support.cloudinary_emulator import CloudinaryEmulator

pytestmark = pytest.mark.server

HANG = 2.0  # an emulated hang; the server gives up after CHARTS_CLOUDINARY_TIMEOUT=1 s
SLOW = 0.6  # slower than the server waits (0.3 s), faster than its 1 s timeout: lands late

FAULTS = {
    "500": {"status": 500},
    "420": {"status": 420},
    "401": {"status": 401},
    "hang": {"delay": HANG},
    "drop": {"drop": True},
}
FAULT_NAMES = {
    "500": "HTTP 500",
    "420": "HTTP 420 rate limit",
    "401": "HTTP 401 bad credentials",
    "hang": f"hang {HANG:g} s > 1 s timeout",
    "drop": "dropped connection",
    "slow": f"slow {SLOW:g} s < timeout (lands late)",
}
PHASES = {
    "upload": ("upload",),
    "delete": ("destroy", "delete_by_ids", "delete_by_prefix"),
}
CELL_SPECS = [(phase, fault) for phase in PHASES for fault in FAULTS] + [("upload", "slow")]
CELLS = [pytest.param(phase, fault, id=f"{phase}-{fault}") for phase, fault in CELL_SPECS]

WORKERS = 4  # cells run side by side: each is mostly waiting on its own processes
SERVER_ENV = {
    # A caller waits for Cloudinary exactly 0.3 s (none while an upload is overdue): a healthy
    # loopback upload takes ~20 ms, ten times that on two busy cores, and the slow fault is
    # always late however the latency estimate moves.
    "CHARTS_UPLOAD_MIN_WAIT": "0.3",
    "CHARTS_UPLOAD_MAX_WAIT": "0.3",
}
_clone_lock = threading.Lock()


@pytest.fixture(scope="module")
def template(tmp_path_factory):
    """A migrated database with the agent's token, copied for every cell."""
    deployment = Deployment.sqlite(tmp_path_factory.mktemp("template"), extra_env=SERVER_ENV)
    deployment.migrate()
    deployment.make_tokens(["agent"])
    return deployment


@pytest.fixture(scope="module")
def matrix(template, tmp_path_factory):
    """Run every cell (side by side, each with its own server); {cell id: result}."""
    root = tmp_path_factory.mktemp("cells")
    started = time.monotonic()
    with ThreadPoolExecutor(WORKERS) as pool:
        futures = {
            f"{phase}-{fault}": pool.submit(
                run_cell, phase, fault, template, root / f"{phase}-{fault}"
            )
            for phase, fault in CELL_SPECS
        }
        results = {name: future.result() for name, future in futures.items()}
    elapsed = time.monotonic() - started
    print(f"\n\nFault matrix: {len(results)} cells in {elapsed:.1f} s ({WORKERS} at a time)")
    print(render_table(list(results.values())))
    return results


@contextmanager
def running_cell(template, root, extra_env=None):
    emulator = CloudinaryEmulator().start()
    with _clone_lock:
        deployment = template.clone(root, emulator=emulator, extra_env=extra_env)
    server = Server(deployment)
    try:
        yield deployment, server.start(), emulator
    finally:
        server.stop()
        emulator.stop()


def render_table(rows: list[dict]) -> str:
    head = (
        "| phase | fault | created (201) | fell back to local | slowest 201 during fault "
        "| servable | deletes answered "
        "| deletions kept → retried by prune | adopted late | re-homed | orphans removed "
        "| final rows = local + cloud files | pending | lost | result |"
    )
    lines = [head, "| " + " | ".join(["---"] * (head.count("|") - 1)) + " |"]
    for r in rows:
        if "created" not in r:
            lines.append(f"| {r['phase']} | {r['fault']} | " + "| " * 12 + "error |")
            continue
        lines.append(
            f"| {r['phase']} | {r['fault']} | {r['created']}/{r['attempted']} "
            f"| {r['fallbacks']} | {r['slowest']:.2f} s | {r['servable']}/{r['created']} "
            f"| {r['deletes']} "
            f"| {r['kept']} → {r['retried']} | {r['adopted']} | {r['rehomed']} | {r['orphans']} "
            f"| {r['rows']} = {r['local']} + {r['cloud']} | {r['pending']} | {r['lost']} "
            f"| {'consistent' if not r['problems'] else 'FAILED'} |"
        )
    return "\n".join(lines)


def _number(pattern: str, text: str) -> int:
    match = re.search(pattern, text)
    return int(match.group(1)) if match else -1


def _wait_for_hung_handlers(emulator, actions, delay: float) -> None:
    """A hung request still does its work when the hang ends (the client left long ago)."""
    with emulator.lock:
        started = [c.at for c in emulator.calls if c.action in actions]
    if started:
        time.sleep(max(0.0, max(started) + delay + 0.3 - time.time()))


def run_cell(phase: str, fault: str, template, root) -> dict:
    result = {"phase": phase, "fault": FAULT_NAMES[fault], "problems": []}
    try:
        with running_cell(template, root) as (deployment, server, emulator):
            _exercise(phase, fault, deployment, server, emulator, result)
    except Exception:
        result["problems"].append(traceback.format_exc())
    return result


def _exercise(phase, fault, deployment, server, emulator, result) -> None:
    problems = result["problems"]
    client = ApiClient(server.base_url, deployment.tokens["agent"])
    salt = f"{phase}-{fault}-"
    created: dict[str, dict] = {}
    statuses: Counter = Counter()
    unservable: list[str] = []

    timings: list[float] = []

    def create(session_id: str, seq: int) -> dict:
        started = time.monotonic()
        answer = client.create(session_id, seq, salt=salt)
        timings.append(time.monotonic() - started)
        statuses[answer.status_code] += 1
        assert answer.status_code == 201, answer.text
        body = answer.json()
        _, why = fetch_image(body["url"])
        if why:
            unservable.append(f"{body['url']}: {why}")
        created[body["id"]] = body
        return body

    # Healthy first: these charts go to Cloudinary (the deletes below go through the fault).
    before = [create("keep", 0), create("keep", 1), create("doomed", 2)]

    spec = FAULTS.get(fault, {"delay": SLOW})
    emulator.inject(actions=PHASES[phase], **spec)
    timings.clear()
    during = [create("keep", seq) for seq in (3, 4, 5)] + [create("doomed", 6), create("doomed", 7)]
    slowest = max(timings)
    fallbacks = sum(1 for c in during if c["backend"] == "local")

    # Delete one chart from before and one from during the fault, and a whole session,
    # at once: a hung Admin API DELETE is retried by urllib3 (four attempts of 1 s each).
    doomed = [c for c in created.values() if c["session_id"] == "doomed"]
    with ThreadPoolExecutor(3) as pool:
        answers = [
            pool.submit(client.delete_chart, before[0]["id"]),
            pool.submit(client.delete_chart, during[0]["id"]),
            pool.submit(client.delete_session, "doomed"),
        ]
        answers = [future.result() for future in answers]
    if [a.status_code for a in answers] != [204, 204, 200]:
        problems.append(f"deletes answered {[(a.status_code, a.text) for a in answers]}")
    elif answers[2].json()["deleted"] != len(doomed):
        problems.append(f"session delete answered {answers[2].json()}")
    deleted = [before[0], during[0], *doomed]

    emulator.clear_faults()
    if "delay" in spec:
        _wait_for_hung_handlers(emulator, PHASES[phase], spec["delay"])
    deployment.settle()
    kept = deployment.quick_pending()

    prune = deployment.cron("prune_charts", "--max-age-hours", "1000").stdout
    rehome = deployment.cron("sync_charts", "--rehome", "--no-orphans").stdout
    fix = deployment.cron("sync_charts", "--fix", "--grace-minutes", "0").stdout
    dump = deployment.dump()
    report = deployment.consistency(dump)

    rows = {c["id"]: c for c in dump["charts"]}
    survivors = set(created) - {c["id"] for c in deleted}
    lost = sorted(survivors - set(rows))
    remains = {chart_key(c["url"]) for c in deleted} & keys_of(deployment.files())
    end_unservable = []
    for chart_id in sorted(survivors & set(rows)):
        now = client.get_chart(chart_id)
        if now.status_code != 200:
            end_unservable.append(f"GET chart {chart_id}: {now.status_code}")
            continue
        for url in {now.json()["url"], created[chart_id]["url"]}:  # the old URL redirects
            _, why = fetch_image(url)
            if why:
                end_unservable.append(f"{url}: {why}")

    result.update(
        attempted=len(created),
        created=statuses[201],
        fallbacks=f"{fallbacks}/{len(during)}",
        slowest=slowest,
        servable=len(created) - len(unservable),
        deletes=" ".join(str(a.status_code) for a in answers),
        kept=kept,
        retried=_number(r"retried (\d+) pending", prune),
        adopted=sum(1 for c in dump["charts"] if c["adopted"]),
        rehomed=_number(r"re-homed (\d+) charts", rehome),
        orphans=_number(r"(\d+) orphan files", fix),
        rows=report["rows"],
        local=report["local_files"],
        cloud=report["cloud_files"],
        pending=len(report["pending"]),
        lost=len(lost),
        commands=[prune.strip(), rehome.strip(), fix.strip()],
    )
    checks = [
        (not unservable, f"not servable when created: {unservable}"),
        (not end_unservable, f"not servable at the end: {end_unservable}"),
        (not lost, f"charts answered 201 and never deleted are gone: {lost}"),
        (set(rows) <= set(created), f"rows no request created: {set(rows) - set(created)}"),
        (not remains, f"files of deleted charts are still stored: {remains}"),
        (not report["rows_without_file"], f"rows without file: {report['rows_without_file']}"),
        (not report["files_without_row"], f"files without row: {report['files_without_row']}"),
        (not report["pending"], f"pending deletions left: {report['pending']}"),
        ("0 rows without a file" in fix, f"sync --fix removed rows: {fix}"),
        (phase != "upload" or fallbacks >= 1, "the fault never made an upload fall back"),
        (phase != "delete" or kept >= 1, "the fault never made a deletion wait for a retry"),
        (fault != "slow" or result["adopted"] >= 1, "no late upload was adopted"),
    ]
    problems.extend(message for ok, message in checks if not ok)


@pytest.mark.parametrize(("phase", "fault"), CELLS)
def test_fault_cell_ends_consistent(phase, fault, matrix):
    result = matrix[f"{phase}-{fault}"]
    assert not result["problems"], "\n".join(result["problems"])


# --- a session id used again after its deletion ------------------------------------------------

# Fixed: deletion.delete_session_folder spares live charts, and a save that raced a
# folder deletion stores its chart again (services.heal_after_folder_deletion).


def test_prefix_retry_spares_charts_of_a_reused_session_id(template, tmp_path):
    """A refused session deletion is retried by prefix: it must not take newer charts."""
    with running_cell(template, tmp_path / "deployment") as (deployment, server, emulator):
        _reuse_after_refused_delete(deployment, server, emulator)


def _reuse_after_refused_delete(deployment, server, emulator):
    client = ApiClient(server.base_url, deployment.tokens["agent"])
    assert client.create("again", 0).json()["backend"] == "cloudinary"
    emulator.inject(status=500, actions=("delete_by_prefix",))
    answer = client.delete_session("again")
    assert answer.status_code == 200 and answer.json()["errors"] == 1
    emulator.clear_faults()

    newer = client.create("again", 1)  # the agent starts the conversation again
    assert newer.status_code == 201 and newer.json()["backend"] == "cloudinary"
    deployment.cron("prune_charts", "--max-age-hours", "1000")

    _, why = fetch_image(newer.json()["url"])
    assert why == "", f"chart answered 201 after the deletion is gone: {why}"
    assert deployment.consistency()["rows_without_file"] == []


def test_slow_session_deletion_spares_charts_saved_meanwhile(template, tmp_path):
    """A delete-by-prefix still in flight must not take a chart the session got meanwhile."""
    env = {**SERVER_ENV, "CHARTS_CLOUDINARY_TIMEOUT": "5"}
    with running_cell(template, tmp_path / "deployment", env) as (deployment, server, emulator):
        client = ApiClient(server.base_url, deployment.tokens["agent"])
        assert client.create("again", 0).json()["backend"] == "cloudinary"
        emulator.inject(delay=2.0, actions=("delete_by_prefix",), times=1)
        with ThreadPoolExecutor(1) as pool:
            deleting = pool.submit(client.delete_session, "again")
            deadline = time.monotonic() + 10
            while emulator.count("delete_by_prefix") == 0:  # the delete is under way
                assert time.monotonic() < deadline
                time.sleep(0.02)
            newer = client.create("again", 1)
            # Its Cloudinary copy went with the folder: the save noticed and stored the
            # chart again locally before answering (services.heal_after_folder_deletion).
            assert newer.status_code == 201
            assert deleting.result().status_code == 200
        _, why = fetch_image(newer.json()["url"])
        assert why == "", f"chart answered 201 during the deletion is gone: {why}"
