// Minimal POSIX/PAX tar directory reader for the 0.1.x-era torch.save tar format (spec section 7).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include "ptio/io/read_adapter.h"

namespace ptio::detail {

/// One regular-file member of a tar archive: where its bytes are in the source.
struct TarMember {
  std::uint64_t offset = 0;  ///< absolute byte offset of the member's data
  std::uint64_t size = 0;    ///< bytes
};

/// Reads the member table of a ustar/PAX/GNU tar archive (names from PAX `path` records and GNU
/// long names are honoured; directories, links and other entries are skipped). Throws
/// Error(kTarFormat) naming the header offset when a header is malformed or a member leaves the
/// file.
std::map<std::string, TarMember> read_tar_members(const io::ReadAdapter& in);

}  // namespace ptio::detail
