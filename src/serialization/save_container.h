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
#include "ptio/zip/archive_writer.h"

namespace ptio::detail {

/// One storage to write: its key, bytes and the dtype whose element count the legacy header holds.
struct StorageRecord {
  std::string key;
  Storage storage;
  ScalarType dtype = ScalarType::Byte;  ///< storage dtype (uint8 for UntypedStorage)
};

/// A storage whose CRC-32 the save computes (it carries none): its key and bytes (borrowed).
struct PendingCrc32 {
  std::string key;
  std::span<const std::byte> bytes;
};

/// Whether a save computes the CRC-32 of `s`: it has bytes and no source_crc32().
inline bool needs_crc32(const Storage& s) { return !s.source_crc32() && s.nbytes() > 0; }

/// The storages of `storages` that need their CRC-32 computed (needs_crc32()).
std::vector<PendingCrc32> storages_to_checksum(const std::vector<StorageRecord>& storages);

/// Starts `zw`'s background CRC-32s (zip::ArchiveWriter::prefetch_crc32) of `pending`, ordered
/// as write_zip_archive() writes the storage records for `layout`. Called before data.pkl is
/// pickled, so the checksums of fresh tensors overlap the pickling on a second core. The bytes
/// must stay alive and unchanged until `zw` is finalized or destroyed. Throws nothing.
void prefetch_storage_crc32(zip::ArchiveWriter& zw, std::vector<PendingCrc32> pending,
                            RecordLayout layout);

/// An upper bound of the bytes the archive or legacy stream for `data_pkl_size` bytes of pickle and
/// `storages` takes (their bytes plus a per-record allowance for headers, alignment padding and
/// the central directory): the size hint given to the io::Writer (Writer::expect()).
std::uint64_t archive_size_bound(std::size_t data_pkl_size,
                                 const std::vector<StorageRecord>& storages);

/// Writes the zip format into the empty `zw`: `data.pkl`, the `data/<key>` records and the other
/// records of `layout` (spec-torch-save.md sections 2.2, 12), then finalizes it (commits the
/// io::Writer). Storages without a source CRC-32 are checksummed by the prefetch_storage_crc32()
/// the caller started, or here when it did not. Throws zw's and the io::Writer's errors.
void write_zip_archive(zip::ArchiveWriter& zw, std::span<const std::byte> data_pkl,
                       const std::vector<StorageRecord>& storages, RecordLayout layout);

/// Writes the legacy format (spec section 6): magic, protocol and sys_info pickles, `object_pkl`,
/// the pickled key list (sorted as strings) and every storage as int64 LE numel + bytes. Does not
/// commit `out`; `storages` must stay alive until the caller has (their bytes are written stable).
void write_legacy_stream(io::Writer& out, std::span<const std::byte> object_pkl,
                         const std::vector<StorageRecord>& storages);

}  // namespace ptio::detail
