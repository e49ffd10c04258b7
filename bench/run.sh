#!/usr/bin/env bash
# Runs every benchmark driver against one Release build (PTIO_BUILD_BENCH=ON). Each driver makes its
# inputs with PyTorch, measures ptio and PyTorch on them in the same run and prints ratios.
# Usage: bench/run.sh BUILD_DIR [--small]
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
build=$(cd "${1:?usage: bench/run.sh BUILD_DIR [--small]}" && pwd)
small=0
[[ "${2:-}" == "--small" ]] && small=1
py=/usr/bin/python3
status=0
# libtorch's torch::pickle_load baseline, when built (-DPTIO_BENCH_LIBTORCH=ON).
lt=()
[[ -x "$build/bench/libtorch_load" ]] && lt=(--libtorch-exe "$build/bench/libtorch_load")
run() { echo "== $*"; "$@" || status=1; }
if ((small)); then
  run $py "$here/zip_bench.py" --bench-bin "$build/bench/bench_zip" --mb 64 --reps 1
  run $py "$here/unpickle_bench.py" "$build/bench/bench_unpickle" --tensors 2000 --repeats 3
  run $py "$here/serialization_bench.py" "$build/bench/bench_serialization" --big-mb 64 \
    --many-mb 20 --many-count 2000 --repeat 1 "${lt[@]}"
  run $py "$here/jit_load_bench.py" "$build/bench/bench_jit_load" --small
  run $py "$here/jit_save_bench.py" "$build/bench/bench_jit_save" --small
else
  run $py "$here/zip_bench.py" --bench-bin "$build/bench/bench_zip"
  run $py "$here/unpickle_bench.py" "$build/bench/bench_unpickle"
  run $py "$here/serialization_bench.py" "$build/bench/bench_serialization" "${lt[@]}"
  run $py "$here/jit_load_bench.py" "$build/bench/bench_jit_load"
  run $py "$here/jit_save_bench.py" "$build/bench/bench_jit_save"
fi
exit $status
