#!/usr/bin/env bash
# Runs every benchmark driver (bench/*_bench.py) against one Release build, each measuring ptio and
# PyTorch on the same files in the same run and printing ratios.
# Usage: bench/run.sh BUILD_DIR [--small]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: bench/run.sh BUILD_DIR [--small]}" && pwd)
shift
export PTIO_BUILD_DIR="$build"
export PTIO_BIN="$build/tools/ptio/ptio"
export PTIO_BENCH_DIR="$build/bench"
status=0
for driver in "$here"/*_bench.py; do
  [[ -e "$driver" ]] || continue
  echo "== $(basename "$driver")"
  /usr/bin/python3 "$driver" "$@" || status=1
done
exit $status
