// CRC-32 checks of the zip records the inspecting commands read (see crc_check.h).
#include "crc_check.h"

#include <algorithm>
#include <utility>

#include "common.h"
#include "ptio/error.h"
#include "ptio/io/magic.h"
#include "ptio/io/read_adapter.h"
#include "ptio/zip/crc32.h"

namespace ptio::cli {

void add_verify_crc_flags(CLI::App& sub, bool& on, const std::string& what) {
  // Two flags rather than CLI11's "!--no-..." form, whose help shows the default as "{false}".
  sub.add_flag_callback(
      "--verify-crc", [&on] { on = true; },
      "check the CRC-32 of the zip records read (the pickle, the storages " + what +
          ") (the default)");
  sub.add_flag_callback("--no-verify-crc", [&on] { on = false; },
                        "skip that check: read damaged bytes as they are");
}

RecordCrcCheck::RecordCrcCheck(std::string file, bool enabled)
    : file_(std::move(file)), enabled_(enabled) {
  if (!enabled_) return;
  try {
    const io::FileMagic m = io::identify_magic(io::MmapReadAdapter(file_));
    enabled_ = m == io::FileMagic::kZip || m == io::FileMagic::kZipWithPrefix;
  } catch (const Error&) {
    enabled_ = false;  // the loader says why the file cannot be read
  }
}

const zip::ArchiveReader* RecordCrcCheck::reader() {
  if (!reader_tried_) {
    reader_tried_ = true;
    zip::ReaderOptions ro;
    static_cast<zip::Limits&>(ro) = zip_limits();
    ro.strict = false;  // offsets as `verify` gives them; the loader applies PyTorch's rules
    try {
      reader_.emplace(std::make_shared<io::MmapReadAdapter>(file_), ro);
    } catch (const Error&) {
      // Not readable as a zip: the loader gives the diagnosis (truncated, damaged...).
    }
  }
  return reader_ ? &*reader_ : nullptr;
}

void RecordCrcCheck::mismatch(const zip::RecordInfo& r, std::uint32_t actual) const {
  throw Error(ErrorCode::kZipCrcMismatch,
              "CRC-32 of the data is " + zip::crc_hex(actual) + " but the archive records " +
                  zip::crc_hex(r.crc32) +
                  ": the record's bytes are damaged (a bad download or disk?); `ptio verify " +
                  file_ + "` checks every record, --no-verify-crc reads them as they are",
              file_, r.full_name, r.data_offset);
}

void RecordCrcCheck::check_pickles() {
  if (!enabled_) return;
  const zip::ArchiveReader* ar = reader();
  if (ar == nullptr) return;
  for (const char* name :
       {"data.pkl", "constants.pkl", "bytecode.pkl", "version", ".data/version", "byteorder"}) {
    const zip::RecordInfo* r = ar->find_record(name);
    if (r == nullptr || r->damage || !r->crc_recorded || r->size == 0) continue;
    std::uint32_t actual;
    if (ar->can_view(*r)) {  // stored and mapped: over the mapped bytes
      const io::ByteView v = ar->view(*r);
      actual = zip::crc32(0, v.data(), v.size());
    } else {
      actual = ar->compute_crc32(*r);  // deflated: inflated piecewise, constant memory
    }
    if (actual != r->crc32) mismatch(*r, actual);
  }
}

void RecordCrcCheck::check_storage(const Tensor& t) {
  if (!enabled_ || !t.defined() || t.is_sparse() || t.is_meta()) return;
  const Storage& s = t.storage();
  if (!s.defined() || s.nbytes() == 0 || !checked_.insert(s.id()).second) return;
  // The records a storage of this key can come from: torch.save and TorchScript `data/`,
  // TorchScript constants `constants/`.
  const zip::ArchiveReader* ar = nullptr;
  auto records = [&] {
    std::vector<const zip::RecordInfo*> out;
    ar = reader();
    if (ar == nullptr || s.key().empty()) return out;
    for (const char* dir : {"data/", "constants/"})
      if (const zip::RecordInfo* r = ar->find_record(dir + s.key()); r && !r->damage)
        out.push_back(r);
    return out;
  };
  if (const std::optional<std::uint32_t> recorded = s.source_crc32()) {
    // The bytes are the whole record, as loaded (mapped or copied once): checked where they lie,
    // in pieces whose mapped pages are dropped after use, so a large tensor does not stay
    // resident (as the sha256 and --stats stream it).
    constexpr std::size_t kPiece = std::size_t{16} << 20;
    std::uint32_t actual = 0;
    for (std::size_t at = 0; at < s.nbytes(); at += kPiece) {
      const std::size_t n = std::min(kPiece, s.nbytes() - at);
      actual = zip::crc32(actual, s.data() + at, n);
      s.release_pages(at, n);
    }
    if (actual == *recorded) return;
    const auto rs = records();
    for (const zip::RecordInfo* r : rs)
      if (r->crc32 == *recorded) mismatch(*r, actual);
    if (!rs.empty()) mismatch(*rs.front(), actual);
    throw Error(ErrorCode::kZipCrcMismatch,
                "CRC-32 of storage " + s.key() + " is " + zip::crc_hex(actual) +
                    " but the archive records " + zip::crc_hex(*recorded) +
                    ": its bytes are damaged; --no-verify-crc reads them as they are",
                file_);
  }
  // No CRC-32 kept with the bytes (swapped from big-endian, or part of a longer record): the
  // record itself, through the reader (mapped bytes, or inflated piecewise).
  for (const zip::RecordInfo* r : records()) {
    // Only a record that is the storage's bytes: of a longer one the loader read (or inflated)
    // just the storage's part, and its CRC-32 covers bytes the command does not read.
    if (!r->crc_recorded || r->size == 0 || r->size != s.nbytes()) continue;
    std::uint32_t actual;
    if (ar->can_view(*r)) {
      const io::ByteView v = ar->view(*r);
      actual = zip::crc32(0, v.data(), v.size());
    } else {
      actual = ar->compute_crc32(*r);
    }
    if (actual != r->crc32) mismatch(*r, actual);
  }
}

}  // namespace ptio::cli
