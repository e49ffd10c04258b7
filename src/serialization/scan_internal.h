// Internals of ptio::scan: the symbolic pickle VM shared by the container walkers.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ptio/serialization/scan.h"

namespace ptio::detail {

/// How one symbolic run over a pickle ended.
/// In the message of every finding where the scan stopped at a Limits bound (`more than 1000
/// open MARKs (Limits::pickle.max_depth)`): Python would have read on, so such a stop never makes
/// a file "not a pickle".
inline constexpr std::string_view kLimitFindingMarker = "(Limits::";

struct PickleScan {
  bool completed = false;    ///< reached STOP
  std::uint64_t end = 0;     ///< index just past the STOP (or where it stopped)
  bool empty_input = false;  ///< there was no byte to read at `start`
};

/// Walks the pickle starting at `bytes[start]` symbolically (no values are built), appending the
/// globals it references and its findings to `report`. `base_offset` is the absolute offset of
/// bytes[0]. `stored_size`: the record's compressed size when `bytes` were inflated from a
/// deflated record, else 0; the walk is held to the Unpickler's allocation budget
/// (pickle::Limits::alloc_*, capped by alloc_inflate_ratio x stored_size), and a pickle that
/// exceeds it is a suspicious finding (`Limits::pickle.alloc_*`) where the walk stops. Never
/// throws.
PickleScan scan_one_pickle(std::span<const std::byte> bytes, std::size_t start,
                           std::uint64_t base_offset, const std::string& record,
                           const ScanOptions& options, ScanReport& report,
                           std::uint64_t stored_size = 0);

/// Recomputes report.verdict from its globals and findings.
void finish_verdict(ScanReport& report);

}  // namespace ptio::detail
