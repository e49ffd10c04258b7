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
  /// Largest uncompressed size inflate() may allocate for one deflated record, in bytes:
  /// Error(kLimitExceeded). A deflated record must also declare at most 1032x its compressed size
  /// (deflate's maximum ratio), so a small file cannot claim a huge record.
  std::uint64_t max_inflated_size = std::uint64_t{16} << 30;
};

}  // namespace ptio::zip
