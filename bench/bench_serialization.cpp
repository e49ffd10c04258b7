// Load/save benchmarks on torch.save files made by bench/serialization_bench.py (paths from env):
// PTIO_BENCH_BIG (few large tensors) and PTIO_BENCH_MANY (many small tensors).
// `bench_serialization --rss FILE` instead prints the peak RSS growth (KiB) of one mmap load.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "io/huge_pages.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "ptio/serialization/state_dict.h"

namespace {

const char* path_of(const char* env) {
  const char* p = std::getenv(env);
  return p && *p ? p : nullptr;
}

std::string out_path() {
  const char* d = std::getenv("PTIO_BENCH_OUT");
  return std::string(d && *d ? d : "/tmp") + "/ptio_bench_out.pt";
}

void read_file(benchmark::State& st, const char* env) {
  const char* p = path_of(env);
  if (!p) return st.SkipWithError("path not set");
  for (auto _ : st) {
    const int fd = ::open(p, O_RDONLY);
    const auto size = std::filesystem::file_size(p);
    // Into fresh memory allocated the way the copying load allocates large storages (uninitialised,
    // 2 MiB aligned, huge pages advised): a zero-filled std::vector pays one page fault per 4 KiB
    // (~44 us each in this VM), which made the baseline 40x slower than the load it measures.
    constexpr std::size_t kAlign = 2u << 20;
    const std::size_t cap = (size + kAlign - 1) / kAlign * kAlign;
    std::unique_ptr<char, decltype(&std::free)> buf(
        static_cast<char*>(std::aligned_alloc(kAlign, cap ? cap : kAlign)), &std::free);
    ::madvise(buf.get(), cap, MADV_HUGEPAGE);
    std::size_t done = 0;
    while (done < size) {
      const auto n = ::read(fd, buf.get() + done, size - done);
      if (n <= 0) break;
      done += static_cast<std::size_t>(n);
    }
    ::close(fd);
    benchmark::DoNotOptimize(buf.get());
  }
}

void load_file(benchmark::State& st, const char* env, bool mmap) {
  const char* p = path_of(env);
  if (!p) return st.SkipWithError("path not set");
  ptio::LoadOptions o;
  o.mmap = mmap;
  for (auto _ : st) {
    ptio::IValue v = ptio::load(std::filesystem::path(p), o);
    benchmark::DoNotOptimize(v);
  }
}

// Before each timed save or write: the previous output is removed and dirty pages are written back,
// outside the timing, so every contestant starts from the same page-cache state (otherwise the
// kernel's writeback of the previous iteration's gigabyte lands on whichever run comes next, and
// a rename over an existing file makes ext4 start writing the new file back). The bytes to write
// are then touched, one read per 4 KiB page, so both contestants start with their input resident
// and mapped: this VM's memory reclaim (DAMON, kdamond) unmaps and drops idle page cache between
// iterations, and re-faulting a mapped input then dominated whichever run met it (5x swings).
void settle(benchmark::State& st, const std::string& out,
            const std::vector<std::span<const std::byte>>& inputs) {
  st.PauseTiming();
  std::error_code ec;
  std::filesystem::remove(out, ec);
  ::sync();
  unsigned sum = 0;
  for (const auto& in : inputs)
    for (std::size_t i = 0; i < in.size(); i += 4096) sum += static_cast<unsigned>(in[i]);
  benchmark::DoNotOptimize(sum);
  st.ResumeTiming();
}

// The storages' bytes of a loaded state_dict (what a save reads).
std::vector<std::span<const std::byte>> storage_bytes(const ptio::IValue& v) {
  std::vector<std::span<const std::byte>> out;
  for (const auto& [name, t] : ptio::StateDict(v).items()) out.push_back(t.storage().bytes());
  return out;
}

// Saves what was loaded from the file. kMapped: the storages are mapped views of their records
// (saved with the CRC-32s those records declare). kCopies: a copying load's storages (whole-record
// copies carry their records' CRC-32s too). kFresh: the copies after mutable_data() (which forgets
// the CRC-32, as for tensors a program made): checksummed on a second thread while the records are
// written.
enum class SaveInput { kMapped, kCopies, kFresh };
void save_file(benchmark::State& st, const char* env, SaveInput kind) {
  const char* p = path_of(env);
  if (!p) return st.SkipWithError("path not set");
  ptio::LoadOptions o;
  o.mmap = kind == SaveInput::kMapped;
  const ptio::IValue v = ptio::load(std::filesystem::path(p), o);
  if (kind == SaveInput::kFresh)
    for (const auto& [name, t] : ptio::StateDict(v).items()) {
      ptio::Storage s = t.storage();
      benchmark::DoNotOptimize(s.mutable_data());
    }
  const auto inputs = storage_bytes(v);
  const std::string out = out_path();
  for (auto _ : st) {
    settle(st, out, inputs);
    ptio::save(v, std::filesystem::path(out));
  }
  std::filesystem::remove(out);
}

// ptio::save into memory (io::MemoryWriter, the role of torch.save into an io.BytesIO), from a
// mapped load; the buffer is freed inside the timing, as a caller's would be.
void save_memory(benchmark::State& st, const char* env) {
  const char* p = path_of(env);
  if (!p) return st.SkipWithError("path not set");
  const ptio::IValue v = ptio::load(std::filesystem::path(p));
  const auto inputs = storage_bytes(v);
  for (auto _ : st) {
    settle(st, out_path(), inputs);
    ptio::io::MemoryWriter w;
    ptio::save(v, w);
    benchmark::DoNotOptimize(w.bytes().data());
  }
}

// write() of the bytes of the same file (what save cannot beat), through a temp file + rename as
// ptio::save does, in 1 MiB pieces from a mapping.
void write_raw(benchmark::State& st, const char* env) {
  const char* p = path_of(env);
  if (!p) return st.SkipWithError("path not set");
  ptio::io::MmapReadAdapter in{std::filesystem::path(p)};
  const auto view = in.view(0, static_cast<std::size_t>(in.size()));
  const std::string out = out_path();
  for (auto _ : st) {
    settle(st, out, {view.span()});
    ptio::io::FileWriter w(out);
    w.write(view.span());
    w.commit();
  }
  std::filesystem::remove(out);
}

// write() of the same bytes from anonymous memory (a copy of the file read first, in huge pages as
// a copying load allocates its storages): the baseline of the saves whose storages are in memory
// (copies, fresh), which do not read the page cache. With `preallocate`, after
// FileWriter::expect(size), which allocates the file's blocks first (fallocate(2)) as ptio::save
// does: not the target's baseline (that is plain write()), shown so the report says how much of a
// save's lead over write() is the preallocation.
void write_raw_memory(benchmark::State& st, const char* env, bool preallocate) {
  const char* p = path_of(env);
  if (!p) return st.SkipWithError("path not set");
  const ptio::io::MmapReadAdapter in{std::filesystem::path(p)};
  std::vector<std::byte, ptio::io::detail::HugePageAllocator<std::byte>> bytes(
      static_cast<std::size_t>(in.size()));
  in.read(0, bytes.data(), bytes.size());
  const std::string out = out_path();
  for (auto _ : st) {
    settle(st, out, {std::span<const std::byte>(bytes)});
    ptio::io::FileWriter w(out);
    if (preallocate) w.expect(bytes.size());
    w.write(std::span<const std::byte>(bytes));
    w.commit();
  }
  std::filesystem::remove(out);
}

BENCHMARK_CAPTURE(read_file, big, "PTIO_BENCH_BIG")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(load_file, big_mmap, "PTIO_BENCH_BIG", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(load_file, big_copy, "PTIO_BENCH_BIG", false)->Unit(benchmark::kMillisecond);
// Process CPU time: the CRC-32 thread of a save counts too.
BENCHMARK_CAPTURE(save_file, big, "PTIO_BENCH_BIG", SaveInput::kMapped)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(save_file, big_copied, "PTIO_BENCH_BIG", SaveInput::kCopies)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(save_file, big_fresh, "PTIO_BENCH_BIG", SaveInput::kFresh)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(write_raw, big, "PTIO_BENCH_BIG")
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(write_raw_memory, big, "PTIO_BENCH_BIG", false)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(write_raw_memory, big_preallocated, "PTIO_BENCH_BIG", true)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(read_file, many, "PTIO_BENCH_MANY")->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(load_file, many_mmap, "PTIO_BENCH_MANY", true)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(load_file, many_copy, "PTIO_BENCH_MANY", false)->Unit(benchmark::kMillisecond);
BENCHMARK_CAPTURE(save_file, many, "PTIO_BENCH_MANY", SaveInput::kMapped)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(save_file, many_copied, "PTIO_BENCH_MANY", SaveInput::kCopies)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(save_file, many_fresh, "PTIO_BENCH_MANY", SaveInput::kFresh)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(save_memory, many, "PTIO_BENCH_MANY")
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(write_raw, many, "PTIO_BENCH_MANY")
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(write_raw_memory, many, "PTIO_BENCH_MANY", false)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();
BENCHMARK_CAPTURE(write_raw_memory, many_preallocated, "PTIO_BENCH_MANY", true)
    ->Unit(benchmark::kMillisecond)
    ->MeasureProcessCPUTime();

long peak_rss_kib() {
  std::ifstream f("/proc/self/status");
  std::string line;
  while (std::getline(f, line))
    if (line.rfind("VmHWM:", 0) == 0) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc == 3 && std::strcmp(argv[1], "--rss") == 0) {
    const long before = peak_rss_kib();
    ptio::IValue v = ptio::load(std::filesystem::path(argv[2]));
    const long after = peak_rss_kib();
    std::printf("%ld\n", after - before);
    return 0;
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
