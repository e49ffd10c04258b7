// zip::Limits: bounds the archive reader enforces on untrusted zip directories and records.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ptio::zip {

/// The zip layer's part of ptio::Limits (see ptio/limits.h). Exceeding one throws the code named on
/// the field, naming the file, the entry and the byte offset.
struct Limits {
  /// Most central-directory entries accepted: Error(kZipTooManyEntries). Real archives hold one
  /// record per storage plus a handful (the corpus maximum is a few thousand).
  std::size_t max_entries = std::size_t{1} << 20;
  /// Longest entry name, in bytes: Error(kLimitExceeded). PyTorch writes `<folder>/data/<key>`
  /// and `code/<qualified path>.py` names far below this.
  std::size_t max_name_length = 4096;
  /// Most bytes one deflated record may be inflated to, in bytes (read(), read_into(), view(),
  /// read_prefix() of a deflated record, which hold them in memory; read_chunks() and
  /// compute_crc32(), which stream in constant memory, for the work): Error(kLimitExceeded),
  /// raised before anything is allocated or inflated. A deflated record must also declare at
  /// most 1032x its compressed size (deflate's maximum ratio) or be Error(kZipSizeMismatch).
  std::uint64_t max_inflated_size = std::uint64_t{16} << 30;
  /// Compression-ratio sanity check: beyond kInflateRatioFloor bytes, a deflated record may be
  /// inflated (into memory, or streamed) only up to `max_inflate_ratio` times its compressed
  /// size (its bytes in the file): Error(kLimitExceeded). PyTorch stores tensors uncompressed and
  /// deflates only code and debug records (ratios ~3-20), so a record of zeros deflated 1000:1 (a
  /// "decompression bomb": a 3 MB file demanding 3 GiB) is refused unless the caller raises
  /// this. 0 turns the check off (max_inflated_size alone applies).
  std::uint32_t max_inflate_ratio = 100;
  /// Records inflating to at most this many bytes (64 MiB) are not ratio-checked.
  static constexpr std::uint64_t kInflateRatioFloor = std::uint64_t{64} << 20;
  /// Per-archive budget: most bytes all the deflated records of one ArchiveReader may inflate
  /// into memory together (read(), read_into(), view() and read_prefix() of deflated records),
  /// in bytes: Error(kLimitExceeded) naming the file, the record, its offset and the budget,
  /// raised before the record is allocated or inflated. Each record is charged once, for the
  /// most of it ever inflated (reading a record again costs nothing); streaming reads that hold
  /// constant memory (read_chunks(), compute_crc32()) are not charged, and stored records never.
  /// Without it, many deflated records each under the per-record bounds (a 64 KiB record of
  /// zeros declaring 64 MiB passes both) could make one load inflate without bound.
  /// 0 (the default) derives the budget from the archive: `max_inflate_ratio` times the
  /// compressed bytes of all its deflated records, at least kInflateTotalFloor (1 GiB) -- the
  /// per-record ratio rule applied to the archive as a whole; with `max_inflate_ratio` 0 (the
  /// caller trusts the file) the derived budget is off. Any other value is the budget in bytes.
  std::uint64_t max_inflated_total = 0;
  /// Least derived per-archive budget (1 GiB): archives whose deflated records together inflate
  /// to at most this are never refused for their total.
  static constexpr std::uint64_t kInflateTotalFloor = std::uint64_t{1} << 30;
};

}  // namespace ptio::zip
