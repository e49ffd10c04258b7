// ptio::jit::save of a TorchScript module loaded from PTIO_BENCH_JIT_SAVE_IN (made by
// bench/jit_save_bench.py) to a file in PTIO_BENCH_JIT_SAVE_DIR, against write() of the same
// bytes (the archive ptio wrote, held in memory) to a file in the same folder: open, write,
// close, like the file target's temp file (ptio also renames it into place); and against
// write() of the module's storages from the mapping jit::save reads them from. Before each timed
// iteration (untimed) the output file is removed and sync() flushes dirty pages, so every writer
// starts from the same page-cache state (jit_save_bench.py does the same for PyTorch's savers).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <span>
#include <string>
#include <vector>

#include "ptio/jit/import.h"
#include "ptio/jit/save.h"

namespace {

// Untimed: remove the previous output and write back dirty pages.
void fresh_start(benchmark::State& state, const std::filesystem::path& out) {
  state.PauseTiming();
  std::error_code ec;
  std::filesystem::remove(out, ec);
  ::sync();
  state.ResumeTiming();
}

const char* env_or_skip(benchmark::State& state, const char* name) {
  const char* v = std::getenv(name);
  if (!v) state.SkipWithError((std::string(name) + " is not set").c_str());
  return v;
}

void jit_save(benchmark::State& state) {
  const char* in = env_or_skip(state, "PTIO_BENCH_JIT_SAVE_IN");
  const char* dir = env_or_skip(state, "PTIO_BENCH_JIT_SAVE_DIR");
  if (!in || !dir) return;
  // Loaded once for all repetitions (like the module PyTorch's savers hold in memory): the first
  // save pays the page faults of the mapping, the best repetition does not.
  static const ptio::jit::Module m = ptio::jit::load(in);
  const std::filesystem::path out = std::filesystem::path(dir) / "ptio_jit_save_out.pt";
  for (auto _ : state) {
    fresh_start(state, out);
    ptio::jit::save(m, out);
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(std::filesystem::file_size(out)));
}

void write_same_bytes(benchmark::State& state) {
  const char* dir = env_or_skip(state, "PTIO_BENCH_JIT_SAVE_DIR");
  if (!dir) return;
  const std::filesystem::path saved = std::filesystem::path(dir) / "ptio_jit_save_out.pt";
  std::ifstream f(saved, std::ios::binary);
  if (!f) {
    state.SkipWithError("run jit_save first (its output is the payload)");
    return;
  }
  std::vector<char> bytes(static_cast<std::size_t>(std::filesystem::file_size(saved)));
  f.read(bytes.data(), static_cast<std::streamsize>(bytes.size()));
  const std::string out = (std::filesystem::path(dir) / "ptio_write_out.bin").string();
  for (auto _ : state) {
    fresh_start(state, out);
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    std::size_t done = 0;
    while (fd >= 0 && done < bytes.size()) {
      const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    if (fd < 0 || done != bytes.size() || ::close(fd) != 0) {
      state.SkipWithError("write failed");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(bytes.size()));
  std::filesystem::remove(out);
}

// write() of the module's storages straight from where jit::save reads them (the mapping of the
// loaded file): the floor for saving a mapped module, without headers, pickles or CRC-32.
void write_from_mapping(benchmark::State& state) {
  const char* in = env_or_skip(state, "PTIO_BENCH_JIT_SAVE_IN");
  const char* dir = env_or_skip(state, "PTIO_BENCH_JIT_SAVE_DIR");
  if (!in || !dir) return;
  static const ptio::jit::Module m = ptio::jit::load(in);
  std::vector<std::span<const std::byte>> parts;
  std::size_t total = 0;
  for (const auto& [name, t] : m.state_dict().items()) {
    parts.push_back(t.storage().bytes());
    total += parts.back().size();
  }
  const std::filesystem::path out = std::filesystem::path(dir) / "ptio_write_map_out.bin";
  for (auto _ : state) {
    fresh_start(state, out);
    const int fd = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    bool ok = fd >= 0;
    for (const auto& p : parts) {
      std::size_t done = 0;
      while (ok && done < p.size()) {
        const ssize_t n = ::write(fd, p.data() + done, p.size() - done);
        ok = n > 0;
        done += ok ? static_cast<std::size_t>(n) : 0;
      }
    }
    if (!ok || ::close(fd) != 0) {
      state.SkipWithError("write failed");
      return;
    }
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) *
                          static_cast<std::int64_t>(total));
  std::filesystem::remove(out);
}

}  // namespace

BENCHMARK(jit_save)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(write_same_bytes)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(write_from_mapping)->Unit(benchmark::kMillisecond)->UseRealTime();

BENCHMARK_MAIN();
