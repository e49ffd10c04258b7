// Fuzz target: opens bytes as a zip archive (lenient and strict), lists and reads every record
// (half of it, then whole; a small per-archive inflate budget in lenient mode, whose bookkeeping
// must stay within the budget and the declared sizes), and round-trips what it read through
// ArchiveWriter (twice: same bytes). Only ptio::Error may escape the library; anything else (or a
// crash) is a bug.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <span>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"

namespace {

std::vector<std::byte> rewrite(
    const std::vector<std::pair<std::string, std::vector<std::byte>>>& recs) {
  ptio::io::MemoryWriter mw;
  ptio::zip::ArchiveWriter w(mw, "archive");
  for (const auto& [name, data] : recs) {
    if (name.empty() || w.has_record(name)) continue;
    try {
      w.write_record(name, data.data(), data.size(), data.size() % 2 == 1);
    } catch (const ptio::Error& e) {
      if (e.code() != ptio::ErrorCode::kZipUnsafeName && e.code() != ptio::ErrorCode::kZipBadName)
        throw;
      return {};
    }
  }
  w.finalize();
  return mw.release();
}

void run(std::span<const std::byte> bytes, bool strict) {
  ptio::zip::ReaderOptions opt;
  opt.strict = strict;
  opt.max_inflated_size = 1 << 24;
  // Lenient: a small per-archive budget (4 MiB) so inputs reach it; strict: the derived default.
  if (!strict) opt.max_inflated_total = std::uint64_t{1} << 22;
  auto in = std::make_shared<ptio::io::MemoryReadAdapter>(bytes, "fuzz");
  ptio::zip::ArchiveReader reader(in, opt);
  std::vector<std::pair<std::string, std::vector<std::byte>>> recs;
  for (const ptio::zip::RecordInfo& r : reader.records()) {
    try {
      // Half a record first (charged for half), then all of it (charged for the rest).
      if (reader.read_prefix(r, r.size / 2).size() != r.size / 2) std::abort();
      auto data = reader.read(r);
      if (data.size() != r.size) std::abort();
      (void)reader.view(r.name);
      (void)reader.compute_crc32(r);
      // Duplicate names (lenient mode) keep the first, as lookups do.
      bool seen = false;
      for (const auto& rec : recs) seen = seen || rec.first == r.name;
      if (!seen && r.name.size() < 200 && data.size() < 4096)
        recs.emplace_back(r.name, std::move(data));
    } catch (const ptio::Error&) {
    }
  }
  // The budget holds: what was charged is within it, and at most the deflated bytes declared.
  std::uint64_t declared = 0;
  for (const ptio::zip::RecordInfo& r : reader.records())
    if (r.method != 0) declared += r.size;
  if (reader.inflated_total() > reader.inflate_budget() || reader.inflated_total() > declared)
    std::abort();
  // Round trip: our writer's output must read back to the same records, deterministically.
  const auto a = rewrite(recs);
  if (a.empty()) return;
  if (a != rewrite(recs)) std::abort();
  ptio::zip::ArchiveReader back(
      std::make_shared<ptio::io::MemoryReadAdapter>(std::span<const std::byte>(a), "roundtrip"));
  for (const auto& [name, data] : recs)
    if (back.has_record(name) && back.read(name) != data) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(data), size);
  for (bool strict : {false, true}) {
    try {
      run(bytes, strict);
    } catch (const ptio::Error&) {
    }
  }
  return 0;
}
