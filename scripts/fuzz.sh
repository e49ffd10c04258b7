#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan, coverage on the whole library) and runs each
# for SECONDS (default 60) on its seed corpus; new inputs go to build-fuzz/corpus/<name>/, crashes to
# build-fuzz/crashes/<name>/ (commit each as tests/fuzz/regressions/<name>/<file> with a test).
# Usage: scripts/fuzz.sh [SECONDS] [TARGET...]
set -euo pipefail
cd "$(dirname "$0")/.."
PTIO_WITH_FUZZ=1 ./scripts/install-deps.sh
seconds=${1:-60}
shift || true
CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \
  -DPTIO_BUILD_FUZZ=ON -DPTIO_SANITIZE=ON -DPTIO_BUILD_TOOLS=OFF >/dev/null
targets=("$@")
if ((${#targets[@]} == 0)); then
  for f in tests/fuzz/fuzz_*.cpp; do t=$(basename "$f" .cpp); targets+=("${t#fuzz_}"); done
fi
for t in "${targets[@]}"; do
  cmake --build build-fuzz --target "fuzz_$t" >/dev/null
  mkdir -p "build-fuzz/corpus/$t" "build-fuzz/crashes/$t"
  echo "== fuzz_$t for ${seconds}s"
  seeds=()
  [[ -d "tests/fuzz/corpus/$t" ]] && seeds+=("tests/fuzz/corpus/$t")
  "build-fuzz/tests/fuzz/fuzz_$t" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 \
    -print_final_stats=1 -artifact_prefix="build-fuzz/crashes/$t/" \
    "build-fuzz/corpus/$t" "${seeds[@]}" 2>&1 | grep -E '^(#[0-9]+.*DONE|stat::|cov:|==|SUMMARY|Done)' | tail -8 || true
done
