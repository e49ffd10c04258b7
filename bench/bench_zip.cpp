// Zip layer benchmarks over one torch.save file (path in $PTIO_BENCH_ZIP, made by zip_bench.py):
// listing, CRC-checked copying reads, zero-copy views, memcpy baselines, and writing the same
// records with ArchiveWriter vs plain write(2). bench/zip_bench.py runs it next to PyTorch.
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <memory>
#include <string>
#include <vector>

#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"

namespace {

std::string input_path() {
  const char* p = std::getenv("PTIO_BENCH_ZIP");
  return p ? p : "bench.pt";
}

std::filesystem::path out_dir() {
  const char* p = std::getenv("PTIO_BENCH_OUT");
  return p ? p : std::filesystem::temp_directory_path();
}

std::uint64_t total_bytes(const ptio::zip::ArchiveReader& r) {
  std::uint64_t n = 0;
  for (const auto& info : r.records()) n += info.size;
  return n;
}

void BM_List(benchmark::State& state) {
  for (auto _ : state) {
    ptio::zip::ArchiveReader r{std::filesystem::path(input_path())};
    benchmark::DoNotOptimize(r.records().data());
  }
}

// read(): a new vector per record, CRC-checked.
void BM_ReadAllCrc(benchmark::State& state) {
  ptio::zip::ArchiveReader r{std::filesystem::path(input_path())};
  for (auto _ : state)
    for (const auto& info : r.records()) benchmark::DoNotOptimize(r.read(info.name).data());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(r)));
}

// read_into() a reused buffer, CRC-checked: the copy + CRC cost without allocation/page faults.
void BM_ReadIntoCrc(benchmark::State& state) {
  ptio::zip::ArchiveReader r{std::filesystem::path(input_path())};
  std::vector<std::byte> buf;
  for (const auto& info : r.records()) buf.resize(std::max<std::size_t>(buf.size(), info.size));
  for (auto _ : state)
    for (const auto& info : r.records())
      r.read_into(info, std::span<std::byte>(buf.data(), static_cast<std::size_t>(info.size)));
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(r)));
}

void BM_ViewAll(benchmark::State& state) {
  ptio::zip::ArchiveReader r{std::filesystem::path(input_path())};
  for (auto _ : state)
    for (const auto& info : r.records()) benchmark::DoNotOptimize(r.view(info.name).data());
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(r)));
}

// Baselines: memcpy of the same record bytes out of the same mapping.
void BM_MemcpyFresh(benchmark::State& state) {
  ptio::zip::ArchiveReader r{std::filesystem::path(input_path())};
  for (auto _ : state)
    for (const auto& info : r.records()) {
      const auto v = r.view(info.name);
      std::vector<std::byte> out(v.size());
      std::memcpy(out.data(), v.data(), v.size());
      benchmark::DoNotOptimize(out.data());
    }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(r)));
}

void BM_MemcpyReused(benchmark::State& state) {
  ptio::zip::ArchiveReader r{std::filesystem::path(input_path())};
  std::vector<std::byte> buf;
  for (const auto& info : r.records()) buf.resize(std::max<std::size_t>(buf.size(), info.size));
  for (auto _ : state)
    for (const auto& info : r.records()) {
      const auto v = r.view(info.name);
      std::memcpy(buf.data(), v.data(), v.size());
      benchmark::ClobberMemory();
    }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * total_bytes(r)));
}

// Writing: the same records from memory with ArchiveWriter (FileWriter) vs write(2) of the bytes.
struct Records {
  std::vector<std::pair<std::string, std::vector<std::byte>>> recs;
  std::uint64_t bytes = 0;
  static const Records& get() {
    static Records r = [] {
      Records out;
      ptio::zip::ArchiveReader a{std::filesystem::path(input_path())};
      for (const auto& info : a.records()) {
        out.recs.emplace_back(info.name, a.read(info.name));
        out.bytes += info.size;
      }
      return out;
    }();
    return r;
  }
};

void BM_WriteArchive(benchmark::State& state) {
  const Records& recs = Records::get();
  const auto path = out_dir() / "ptio_bench_write.pt";
  for (auto _ : state) {
    ptio::io::FileWriter fw(path);
    ptio::zip::ArchiveWriter w(fw, "archive");
    for (const auto& [name, data] : recs.recs) w.write_record(name, data.data(), data.size());
    w.finalize();
  }
  std::filesystem::remove(path);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * recs.bytes));
}

// ArchiveWriter over write(2) to a truncated file, as PyTorchFileWriter and BM_WritePlain do.
// (FileWriter's temp + rename makes ext4 flush the data at rename time: auto_da_alloc.)
void BM_WriteArchiveFd(benchmark::State& state) {
  const Records& recs = Records::get();
  const auto path = out_dir() / "ptio_bench_write_fd.pt";
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) std::abort();
    ptio::io::CallbackWriter cw([fd](const void* p, std::size_t n) {
      std::size_t done = 0;
      while (done < n) {
        const ssize_t k = ::write(fd, static_cast<const char*>(p) + done, n - done);
        if (k <= 0) return done;
        done += static_cast<std::size_t>(k);
      }
      return done;
    });
    ptio::zip::ArchiveWriter w(cw, "archive");
    for (const auto& [name, data] : recs.recs) w.write_record(name, data.data(), data.size());
    w.finalize();
    ::close(fd);
  }
  std::filesystem::remove(path);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * recs.bytes));
}

void BM_WritePlain(benchmark::State& state) {
  const Records& recs = Records::get();
  const auto path = out_dir() / "ptio_bench_plain.bin";
  for (auto _ : state) {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) std::abort();
    for (const auto& rec : recs.recs) {
      const auto& data = rec.second;
      for (std::size_t done = 0; done < data.size();) {
        const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
        if (n <= 0) std::abort();
        done += static_cast<std::size_t>(n);
      }
    }
    ::close(fd);
  }
  std::filesystem::remove(path);
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations() * recs.bytes));
}

BENCHMARK(BM_List)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_ReadAllCrc)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ReadIntoCrc)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MemcpyFresh)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_MemcpyReused)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_ViewAll)->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WriteArchive)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_WriteArchiveFd)->Unit(benchmark::kMillisecond)->UseRealTime();
BENCHMARK(BM_WritePlain)->Unit(benchmark::kMillisecond)->UseRealTime();

}  // namespace

BENCHMARK_MAIN();
