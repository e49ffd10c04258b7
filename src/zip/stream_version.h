// PyTorchStreamReader's file format version record (spec-torch-save.md 2.6), shared by torch.load's
// zip branch and the TorchScript importers.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "ptio/error.h"
#include "ptio/zip/archive_reader.h"

namespace ptio::zip::detail {

/// What `std::stoull(text)` gives, as PyTorchStreamReader parses the version: leading whitespace
/// skipped, an optional sign, then the leading decimal digits (anything after them ignored; "-1"
/// wraps to 2^64 - 1 as stoull does). nullopt when there are no digits or the value does not fit
/// 64 bits (stoull throws for both).
std::optional<std::uint64_t> stoull_prefix(std::string_view text);

/// The version an archive declares: its `.data/version` record if present, else `version`,
/// (`record`: the name read), parsed by stoull_prefix(), checked to lie in PyTorch's supported
/// range 1..10 (kMinSupportedFileFormatVersion..kMaxSupportedFileFormatVersion). Errors, with
/// `code` (kBadVersion for torch.save files, kJitVersion for TorchScript) naming the file, record
/// and offset and quoting the record's text: no version record; a record longer than 64 bytes;
/// text stoull cannot parse; a version outside 1..10. Read errors of the record as ArchiveReader's.
struct StreamVersion {
  std::uint64_t value = 0;
  std::string record;
};
StreamVersion read_stream_version(const ArchiveReader& ar, ErrorCode code);

}  // namespace ptio::zip::detail
