#!/usr/bin/env bash
# Install the Debian packages listed in scripts/system-packages.txt that are missing.
# As root it runs apt-get; otherwise it uses sudo when available, else it says what to run.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
mapfile -t wanted < <(grep -v '^\s*#' "$here/system-packages.txt" | sed '/^\s*$/d')
if ! python3 -c 'import ensurepip' 2>/dev/null; then wanted+=(python3-venv); fi
# the maps' front-end libraries come from the npm registry: Debian's npm only where the machine has none
if ! command -v npm >/dev/null; then wanted+=(npm); fi
missing=()
for pkg in "${wanted[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if [ ${#missing[@]} -eq 0 ]; then echo "    all present"; exit 0; fi
if ! command -v apt-get >/dev/null; then
  echo "missing system packages: ${missing[*]} (install them with your package manager)" >&2
  exit 1
fi
if [ "$(id -u)" -eq 0 ]; then sudo=(); elif command -v sudo >/dev/null; then sudo=(sudo); else
  echo "missing system packages; run as root: apt-get install -y ${missing[*]}" >&2
  exit 1
fi
echo "    installing ${missing[*]}: package lists, then apt's own progress" >&2
export DEBIAN_FRONTEND=noninteractive
"${sudo[@]}" apt-get update -q >/dev/null
"${sudo[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
