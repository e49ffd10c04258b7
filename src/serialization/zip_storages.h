// Storages of a zip archive's pickle: persistent ids `('storage', cls, key, location, numel)` read
// from `<dir><key>` records (torch.load's data/, TorchScript's data/ and constants/).
#pragma once

#include <optional>
#include <string>
#include <unordered_map>

#include "ptio/core/ivalue.h"
#include "ptio/serialization/load.h"
#include "ptio/zip/archive_reader.h"
#include "serialization/storage_arena.h"
#include "serialization/torch_globals.h"

namespace ptio::detail {

/// True when the archive's `byteorder` record says `big` (absent: little, PyTorch >= 2.1's
/// default). Throws Error(kBadVersion) for any other value.
bool big_endian_archive(const zip::ArchiveReader& ar);

/// Loads the storages one pickle of a zip archive references, once per key (every tensor that
/// names a key shares one Storage, as in the file). Mirrors `torch.load`'s `load_tensor` and the
/// C++ unpickler's BINPERSID handling (`readArchiveAndTensors`). The reader must outlive it.
///
/// A record that is stored, little-endian and aligned to its element size becomes a zero-copy
/// view (keeping the mapping alive) when `allow_view` and `options.mmap` are set; anything else
/// is copied (and byte-swapped when `swap`) into slices of a StorageArena (several storages then
/// share one allocation, freed with the last of them). Errors: kMissingRecord, kBadStorage
/// (record shorter than numel * element size), kBadPersistentId, kBadDtype, kZipCrcMismatch,
/// zip/io errors.
class ZipStorageLoader {
 public:
  ZipStorageLoader(const zip::ArchiveReader& ar, std::string dir, const LoadOptions& options,
                   bool allow_view, bool swap);
  /// PyTorch's C++ unpickler reads no record for a storage of 0 elements; with this set, a
  /// missing record for such a storage gives an empty storage instead of kMissingRecord.
  bool empty_without_record = false;
  /// With this set, location tags follow TorchScript's rule (torchscript_location_device, every
  /// persistent id's tag checked, `map_device` being jit::load's map_location) instead of
  /// torch.load's (map_location_device with `options.map_location`, a key's first tag only), and
  /// keys must be str (kBadPersistentId for torch.load's int keys). Errors: kBadDevice,
  /// kBadMapLocation, kBadPersistentId.
  bool torchscript = false;
  std::optional<Device> map_device;
  /// With this set, the copies of small stored records (up to kBatchedReadMax bytes) are read in
  /// batches of kBatchSize (zip::ArchiveReader::read_many_into) instead of one read each: the
  /// storages load() returns then hold their bytes only after the batch is read, at the latest
  /// when finish() returns. Only for callers that read no storage bytes before finish().
  bool batch_reads = false;
  static constexpr std::size_t kBatchedReadMax = std::size_t{1} << 20;
  static constexpr std::size_t kBatchSize = 512;
  /// The storage `pid` names (see class comment).
  Storage load(const IValue& pid);
  /// Reads the batched copies not read yet (batch_reads), byte-swapping them when `swap`.
  /// Errors as load()'s reads.
  void finish();

 private:
  const zip::ArchiveReader& ar_;
  std::string dir_;
  const LoadOptions& options_;
  bool allow_view_;
  bool swap_;
  // Storages loaded so far. torch.save's keys are the decimals "0", "1", ...: those below the
  // archive's record count (the only ones that can name a record) go in a flat table indexed by
  // their value (sized once by that count, so a file cannot make it larger than its directory);
  // any other key in the map.
  Storage* find_loaded(const std::string& key);
  std::unordered_map<std::string, Storage> loaded_;
  std::vector<Storage> loaded_by_number_;
  // Copies waiting for their batch read (batch_reads), with the element size to swap.
  void read_pending();
  std::vector<zip::ArchiveReader::RecordRead> pending_;
  std::vector<ScalarType> pending_dtype_;
  StorageArena arena_;           // memory of copied storages
  StorageClassMemo class_memo_;  // the storage class of the last persistent id
  const Device& device_for(const std::string& location);  // last_device_, updated
  std::string last_location_;                             // location tag last mapped to a device
  std::optional<Device> last_device_;                     // ... and the device it mapped to
};

}  // namespace ptio::detail
