#!/usr/bin/env bash
# Production-style server for `make serve`: gunicorn, DEBUG off, WhiteNoise static files.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=.venv/bin/python

"$PY" manage.py migrate --noinput
"$PY" manage.py collectstatic --noinput -v 0

# SECRET_KEY: the environment, else .env, else one made once and kept in .secret_key.
if [ -z "${SECRET_KEY:-}" ] && ! grep -qs '^SECRET_KEY=.' .env; then
  if [ ! -s .secret_key ]; then
    "$PY" -c 'import secrets; print(secrets.token_urlsafe(50))' > .secret_key
    chmod 600 .secret_key
  fi
  SECRET_KEY="$(cat .secret_key)"
  export SECRET_KEY
fi
export DEBUG="${DEBUG:-false}"
exec .venv/bin/gunicorn aeris.wsgi:application -c aeris/gunicorn.conf.py
