#!/usr/bin/env bash
# Sets up and runs the crampwatch test suite on a fresh machine.
# Browser tests need Debian's chromium; PostgreSQL tests need a server at CRAMPWATCH_TEST_DATABASE_URL
# (default postgresql+psycopg://postgres@127.0.0.1:5432/test), the Redis Streams tests Debian's redis-server
# (each test starts its own). Without them those tests skip locally
# (and fail under CI=true, where .ci/run provides both).
set -euo pipefail
cd "$(dirname "$0")/.."
python3 -m pip install --quiet --disable-pip-version-check -e '.[test]'
if ! command -v chromium >/dev/null 2>&1 && [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) \
        || echo "chromium could not be installed: browser tests will be skipped" >&2
fi
exec python3 -m pytest -n 2 -p no:cacheprovider "$@"
