#!/usr/bin/env bash
# The lock files: every dependency pinned with its hashes, one file per install set, for Python 3.10-3.12
# on x86-64 and aarch64 alike (a universal resolution). `make` and the Dockerfile install from them;
# pyproject.toml keeps the floors for people who use the appliance as a library.
#   scripts/lock.sh            refresh after changing dependencies in pyproject.toml (keeps other pins)
#   scripts/lock.sh --upgrade  take the newest releases allowed
#   OUT=DIR scripts/lock.sh    write elsewhere (the staleness test)
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-.venv/bin/uv}
OUT=${OUT:-requirements}
mkdir -p "$OUT"
for set in "lite:lite" "lite-tf:lite,tf" "dev:tf,lite,dev"; do
  name=${set%%:*} extras=${set#*:}
  args=()
  for extra in ${extras//,/ }; do args+=(--extra "$extra"); done
  "$UV" pip compile pyproject.toml "${args[@]}" --constraint requirements/constraints.in --generate-hashes --universal \
    --no-header --quiet "$@" -o "$OUT/$name.txt"
done
