// ptio::jit::load on TorchScript archives written by PyTorch (paths from the environment, made by
// bench/jit_load_bench.py): PTIO_BENCH_JIT_BIG (a large scripted model) and PTIO_BENCH_JIT_DEEP
// (a model with many submodules). `--zero-copy FILE` prints how many state_dict tensors are views
// into the mapping, out of how many.
#include <benchmark/benchmark.h>

#include <cstdlib>
#include <cstring>
#include <iostream>
#include <string>

#include "ptio/jit/import.h"

namespace {

void jit_load(benchmark::State& state, const char* env) {
  const char* path = std::getenv(env);
  if (!path) {
    state.SkipWithError((std::string(env) + " is not set").c_str());
    return;
  }
  std::size_t tensors = 0;
  for (auto _ : state) {
    const ptio::jit::Module m = ptio::jit::load(path);
    const auto sd = m.state_dict();
    tensors = sd.size();
    benchmark::DoNotOptimize(tensors);
  }
  state.counters["tensors"] = static_cast<double>(tensors);
}

}  // namespace

BENCHMARK_CAPTURE(jit_load, big, "PTIO_BENCH_JIT_BIG")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(jit_load, deep, "PTIO_BENCH_JIT_DEEP")->Unit(benchmark::kMillisecond);

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--zero-copy") == 0) {
    const ptio::jit::Module m = ptio::jit::load(argv[2]);
    std::size_t views = 0, all = 0;
    for (const auto& [n, t] : m.state_dict().items()) {
      ++all;
      views += t.storage().is_view();
    }
    std::cout << views << " " << all << "\n";
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
