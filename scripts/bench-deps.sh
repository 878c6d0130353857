#!/usr/bin/env bash
# What the benchmarks need beyond the project: wrk and nginx (Debian; nginx serves the same bytes from files as the
# physical limit of bench.tiles_load) and TiPg, the peer server, in a venv of its own so that its pins never touch the
# project's environment.
set -euo pipefail
cd "$(dirname "$0")/.."
if ! command -v wrk >/dev/null; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y -q wrk
fi
# /usr/sbin is not on every user's PATH; the bench looks there too
if ! command -v nginx >/dev/null && [ ! -x /usr/sbin/nginx ]; then
    SUDO=""; [ "$(id -u)" -ne 0 ] && SUDO="sudo"
    $SUDO apt-get install -y -q nginx
fi
if [ ! -x bench/.venv-tipg/bin/uvicorn ]; then
    python3 -m venv bench/.venv-tipg
    bench/.venv-tipg/bin/pip install --quiet --disable-pip-version-check "tipg==1.6.*" uvicorn
fi
