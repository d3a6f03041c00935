"""What a Cloudinary outage costs a caller: 20 saves while every Cloudinary request hangs.

Run: python bench/bench_outage.py [--saves 20] [--check]

In one run, against the loopback Cloudinary emulator with the real SDK:
  healthy     Cloudinary answering (warms the upload-latency estimate, as in production)
  hung        every Cloudinary request hangs (the emulator never answers within the timeout)
  local-only  Cloudinary not configured
for two kinds of save: the seed's save_chart(bytes) (storage path only) and chart_create
(render + store, what POST /api/v1/charts/ does), in the default (hedged) mode and in
write-behind mode. Prints mean save times and the ratio hung / local-only (target <= 1.2),
and how many Cloudinary requests the hung saves made. RESULT covers the default mode.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.common import setup_django  # noqa: E402

TIMEOUT = 10.0  # the default upload timeout: a hung request would cost this much


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--saves", type=int, default=20)
    parser.add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="bench_outage_") as tmp:
        setup_django(Path(tmp), log_level="ERROR", CHARTS_CLOUDINARY_TIMEOUT=str(TIMEOUT))
        from django.conf import settings
        from django.core.cache import cache

        from charts_app import storage
        from charts_app.services import chart_create, get_chart_storage_service
        from tests.cloudinary_emulator import CloudinaryEmulator

        records = [{"hour": h, "pm25": 10 + (h * 7) % 13} for h in range(48)]
        png = chart_create(data=records, chart_type="line", output="base64").rendered.content
        counter = iter(range(10**9))

        def save_bytes():
            return get_chart_storage_service().save_chart(png, f"b{next(counter)}", "line")

        def save_chart():
            sid = f"c{next(counter)}"
            return chart_create(data=records, chart_type="line", session_id=sid).chart

        emulator = CloudinaryEmulator().start()

        def configure(cloud: bool) -> None:
            settings.CHARTS_CLOUDINARY = dict(emulator.sdk_options) if cloud else None
            settings.CLOUDINARY_STORAGE = {
                "CLOUD_NAME": emulator.cloud_name,
                "API_KEY": emulator.api_key,
                "API_SECRET": emulator.api_secret,
            }
            storage.get_chain.cache_clear()

        def one(fn, cloud: bool):
            configure(cloud)
            start = time.perf_counter()
            result = fn()
            elapsed = time.perf_counter() - start
            backend = result["backend"] if isinstance(result, dict) else result.backend
            return elapsed, backend

        ok = True
        cases = [
            ("save_chart(bytes)", save_bytes, None),
            ("chart_create", save_chart, None),
            ("save_chart(bytes), write-behind (CHARTS_UPLOAD_MAX_WAIT=0)", save_bytes, 0.0),
            ("chart_create, write-behind (CHARTS_UPLOAD_MAX_WAIT=0)", save_chart, 0.0),
        ]
        for label, fn, max_wait in cases:
            settings.CHARTS_UPLOAD_MAX_WAIT = max_wait
            cache.clear()
            storage.reset_remote_state()
            emulator.reset()
            for _ in range(3):  # warm-up, both ways
                one(fn, cloud=False)
            healthy = [one(fn, cloud=True) for _ in range(args.saves)]
            storage.wait_for_uploads()
            emulator.inject(delay=TIMEOUT * 3, actions="*")
            before = emulator.count()
            local_times, hung_times, hung_backends = [], [], []
            # Interleaved, so that load from elsewhere on the machine hits both alike.
            for i in range(args.saves):
                for cloud in (True, False) if i % 2 == 0 else (False, True):
                    elapsed, backend = one(fn, cloud)
                    if cloud:
                        hung_times.append(elapsed)
                        hung_backends.append(backend)
                    else:
                        local_times.append(elapsed)
            calls = emulator.count() - before
            emulator.clear_faults()
            emulator.reset()
            local = statistics.mean(local_times)
            hung = statistics.mean(hung_times)
            ratio = hung / local
            healthy_mean = statistics.mean(t for t, _ in healthy)
            on_cloud = sum(1 for _, b in healthy if b == "cloudinary")
            print(f"{label}:")
            print(f"  local-only  mean {local * 1000:8.2f} ms over {args.saves} saves")
            print(f"  healthy     mean {healthy_mean * 1000:8.2f} ms ({on_cloud} on cloudinary)")
            print(
                f"  hung        mean {hung * 1000:8.2f} ms, first {hung_times[0] * 1000:.1f} ms, "
                f"{hung_backends.count('local')} stored locally, {calls} Cloudinary requests "
                f"(upload timeout {TIMEOUT:g} s)"
            )
            verdict = "PASS" if ratio <= 1.2 else "FAIL"
            print(f"  ratio hung/local-only  {ratio:.3f}  (target <= 1.2)  {verdict}")
            if fn is save_chart or max_wait == 0:
                # The target applies to the agent's path (render + store) and to
                # write-behind; a bare save_chart in the default mode pays one wait of
                # ~4x the upload latency per process, which is large next to ~3 ms.
                ok &= ratio <= 1.2
        emulator.stop()
        print("RESULT:", "PASS" if ok else "FAIL")
        return 0 if ok or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
