"""gunicorn settings for `make serve` (override with environment variables)."""

import os
import sys

bind = f"{os.environ.get('HOST', '127.0.0.1')}:{os.environ.get('PORT', '8000')}"
workers = int(os.environ.get("GUNICORN_WORKERS", "2"))
# Threads overlap I/O (uploads, database); renders are serialized per process by
# matplotlib's draw lock, so CPU throughput comes from workers. 16, not 4 or 8: refused
# uploads are read slowly (CHARTS_REFUSED_BODY_RATE) and each holds a thread meanwhile, and
# a client's keep-alive connections stay on one worker; with 4, a client sending 12 at once
# left health checks waiting for a thread, with 8 it still did when most of its
# connections landed on one worker (bench_abuse: 4 of 5 runs within every target with 16,
# 2 of 5 with 8). A waiting thread costs little; drawing is bounded by the render slots.
threads = int(os.environ.get("GUNICORN_THREADS", "16"))
worker_class = "gthread"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "60"))
graceful_timeout = 30
keepalive = 5
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = "-"
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
# Each worker imports aeris.wsgi itself (no preload): background threads start in the
# worker, and the startup prune's database lease lets only the first worker prune.
preload_app = False
raw_env = ["MPLBACKEND=Agg"]


def post_fork(server, worker):
    # Threads hand the GIL over every 1 ms instead of 5: a health check or a small chart
    # sharing a worker with a long render waits less for its turn.
    sys.setswitchinterval(0.001)
