// Container writers for torch.save: the zip record layout and the legacy stacked-pickle stream.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "ptio/core/scalar_type.h"
#include "ptio/core/storage.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/save.h"

namespace ptio::detail {

/// One storage to write: its key, bytes and the dtype whose element count the legacy header holds.
struct StorageRecord {
  std::string key;
  Storage storage;
  ScalarType dtype = ScalarType::Byte;  ///< storage dtype (uint8 for UntypedStorage)
};

/// Writes the zip format: `data.pkl`, the `data/<key>` records and the other records of `layout`
/// (spec-torch-save.md sections 2.2, 12), then finalizes (commits `out`).
void write_zip_archive(io::Writer& out, const std::string& archive_name,
                       std::span<const std::byte> data_pkl,
                       const std::vector<StorageRecord>& storages, RecordLayout layout);

/// Writes the legacy format (spec section 6): magic, protocol and sys_info pickles, `object_pkl`,
/// the pickled key list (sorted as strings) and every storage as int64 LE numel + bytes. Does not
/// commit `out`; `storages` must stay alive until the caller has (their bytes are written stable).
void write_legacy_stream(io::Writer& out, std::span<const std::byte> object_pkl,
                         const std::vector<StorageRecord>& storages);

}  // namespace ptio::detail
