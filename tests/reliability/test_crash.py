"""SIGKILL the server while it saves charts, several times; nothing answered 201 is lost and,
after one `sync_charts --fix`, rows and files agree exactly on both backends.

    .venv/bin/python -m pytest -s tests/reliability/test_crash.py
    AERIS_CRASH_ROUNDS=10 AERIS_CRASH_SEED=7 \
        .venv/bin/python -m pytest -s tests/reliability/test_crash.py

The seed fixes the kill moments and the Cloudinary behaviour of each round; which request
a kill interrupts still depends on timing, which is the point.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter

import pytest
import requests

from tests.reliability.server import ApiClient, Deployment, Server, fetch_image
from tests.support.cloudinary_emulator import CloudinaryEmulator

pytestmark = pytest.mark.server

ROUNDS = int(os.environ.get("AERIS_CRASH_ROUNDS", "3"))
SEED = int(os.environ.get("AERIS_CRASH_SEED", "6"))
SLOW = 0.4  # uploads that land after the answer: a kill can fall between the two


class Hammer(threading.Thread):
    """POST charts (`create`) or PNG uploads (`upload`) until the server dies or we stop."""

    def __init__(self, server: Server, token: str, kind: str, round_no: int, answered: dict):
        super().__init__(name=f"hammer-{kind}", daemon=True)
        self.client = ApiClient(server.base_url, token)
        self.kind, self.round_no, self.answered = kind, round_no, answered
        self.stopped = threading.Event()
        self.statuses: Counter = Counter()

    def run(self) -> None:
        seq = 0
        while not self.stopped.is_set():
            session_id = f"r{self.round_no}-{self.kind}-{seq // 4}"
            try:
                if self.kind == "create":
                    answer = self.client.create(session_id, seq, salt=f"r{self.round_no}")
                else:
                    answer = self.client.upload(session_id, seq + 1000 * self.round_no)
            except requests.RequestException:
                self.statuses["cut off"] += 1  # the kill: no answer
                return
            self.statuses[answer.status_code] += 1
            if answer.status_code == 201:
                body = answer.json()
                self.answered[body["id"]] = body
            seq += 1


def test_sigkill_while_saving_loses_no_chart(tmp_path):
    rng = random.Random(SEED)
    emulator = CloudinaryEmulator().start()
    deployment = Deployment.sqlite(tmp_path, emulator=emulator)
    server = Server(deployment)
    answered: dict[str, dict] = {}
    rounds = []
    try:
        deployment.migrate()
        token = deployment.make_tokens(["agent"])["agent"]
        for round_no in range(1, ROUNDS + 1):
            mode = rng.choice(["healthy", "slow", "http500"])
            after = rng.uniform(0.3, 1.5)
            server.start()
            if mode == "slow":
                emulator.inject(delay=SLOW, actions=("upload",))
            elif mode == "http500":
                emulator.inject(status=500, actions=("upload",))
            hammers = [
                Hammer(server, token, kind, round_no, answered) for kind in ("create", "upload")
            ]
            for hammer in hammers:
                hammer.start()
            time.sleep(after)
            server.kill()
            for hammer in hammers:
                hammer.stopped.set()
                hammer.join(30)
            emulator.clear_faults()
            statuses = sum((h.statuses for h in hammers), Counter())
            rounds.append(
                {"round": round_no, "cloudinary": mode, "killed after": after, **statuses}
            )

        server.start()  # the last restart
        time.sleep(SLOW + 0.3)  # uploads the emulator was still holding finish (for nobody)
        deployment.settle()
        before_fix = deployment.consistency()
        fix = deployment.cron("sync_charts", "--fix", "--grace-minutes", "0").stdout
        dump = deployment.dump()
        after_fix = deployment.consistency(dump)
        rows = {c["id"] for c in dump["charts"]}
        lost = sorted(set(answered) - rows)
        client = ApiClient(server.base_url, token)
        unservable = []
        for chart_id in sorted(set(answered) & rows):
            _, why = fetch_image(client.get_chart(chart_id).json()["url"])
            if why:
                unservable.append(f"{chart_id}: {why}")
        healthy = client.create("after-crashes", 0)
    finally:
        server.stop()
        emulator.stop()

    print(f"\n\nCrash rounds (seed {SEED}):")
    for r in rounds:
        print(
            f"  round {r['round']}: Cloudinary {r['cloudinary']}, SIGKILL after "
            f"{r['killed after']:.2f} s; 201: {r.get(201, 0)}, cut off: {r.get('cut off', 0)}, "
            f"other: { {k: v for k, v in r.items() if isinstance(k, int) and k != 201} }"
        )
    print(
        f"  before sync --fix: {len(before_fix['rows_without_file'])} rows without file, "
        f"{len(before_fix['files_without_row'])} files without row (crash leftovers)"
        f"\n  {fix.strip()}"
        f"\n  after: {after_fix['rows']} rows = {after_fix['local_files']} local + "
        f"{after_fix['cloud_files']} Cloudinary files; charts answered 201: {len(answered)}; "
        f"charts lost: {len(lost)}"
    )
    assert all(r.get(201, 0) for r in rounds), "a round made no chart before the kill"
    assert not [k for r in rounds for k in r if isinstance(k, int) and k >= 500], rounds
    assert before_fix["rows_without_file"] == [], "a committed row lost its file to a crash"
    assert after_fix["rows_without_file"] == [], after_fix
    assert after_fix["files_without_row"] == [], after_fix
    assert not lost, f"charts answered 201 are gone: {lost}"
    assert not unservable, unservable
    assert healthy.status_code == 201, healthy.text
