// The jit unit tests' archive edits: tests/data/jit/small.pt (written by PyTorch 1.13) read into
// (record name without folder, bytes) pairs, changed, and written back into an archive in memory.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"
#include "test_support.h"

namespace ptio::jit::test_archive {

using Records = std::vector<std::pair<std::string, std::string>>;

inline std::filesystem::path small_path() {
  return test::source_dir() / "tests/data/jit/small.pt";
}

// The records of `ar`, in archive order.
inline Records records_of(const zip::ArchiveReader& ar) {
  Records out;
  for (const auto& n : ar.record_names()) out.emplace_back(n, test::string_of(ar.read(n)));
  return out;
}

inline Records records_of(const std::vector<std::byte>& archive) {
  return records_of(zip::ArchiveReader(std::make_shared<io::MemoryReadAdapter>(
      io::MemoryReadAdapter::copy_of(test::string_of(archive)))));
}

inline Records small_records() {
  return records_of(zip::ArchiveReader(small_path()));
}

// small.pt rewritten by `edit` (which may change, drop or add records) into a memory archive.
inline std::vector<std::byte> small_edited(const std::function<void(Records&)>& edit) {
  Records recs = small_records();
  edit(recs);
  io::MemoryWriter mw;
  {
    zip::ArchiveWriter w(mw, "small");
    for (const auto& [n, b] : recs) w.write_record(n, b.data(), b.size());
    w.finalize();
  }
  mw.commit();
  return mw.release();
}

// The bytes of record `name`; std::runtime_error when there is none.
inline std::string& record(Records& recs, const std::string& name) {
  for (auto& r : recs)
    if (r.first == name) return r.second;
  throw std::runtime_error("no record " + name);
}
inline const std::string& record(const Records& recs, const std::string& name) {
  return record(const_cast<Records&>(recs), name);
}

}  // namespace ptio::jit::test_archive
