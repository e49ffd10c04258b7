// Storages of a zip archive's pickle read from `<dir><key>` records (zero-copy when possible).
#include "serialization/zip_storages.h"

#include "ptio/error.h"
#include "serialization/byte_order.h"

namespace ptio::detail {

bool big_endian_archive(const zip::ArchiveReader& ar) {
  if (!ar.has_record("byteorder")) return false;
  const auto& info = ar.record("byteorder");
  PTIO_CHECK(info.size <= 16, ErrorCode::kBadVersion, "record byteorder is ", info.size,
             " bytes long; expected at most 16");
  const auto b = ar.read("byteorder");
  const std::string v(reinterpret_cast<const char*>(b.data()), b.size());
  PTIO_CHECK(v == "little" || v == "big", ErrorCode::kBadVersion, "unknown endianness type '", v,
             "' in the byteorder record");
  return v == "big";
}

ZipStorageLoader::ZipStorageLoader(const zip::ArchiveReader& ar, std::string dir,
                                   const LoadOptions& options, bool allow_view, bool swap)
    : ar_(ar), dir_(std::move(dir)), options_(options), allow_view_(allow_view), swap_(swap) {}

namespace {
// The value of a canonical decimal key ("0", "17", no sign or leading zero) below `bound`.
std::optional<std::size_t> small_number(const std::string& key, std::size_t bound) {
  if (key.empty() || key.size() > 9 || (key[0] == '0' && key.size() > 1)) return std::nullopt;
  std::size_t v = 0;
  for (const char c : key) {
    if (c < '0' || c > '9') return std::nullopt;
    v = v * 10 + static_cast<std::size_t>(c - '0');
  }
  if (v >= bound) return std::nullopt;
  return v;
}
}  // namespace

Storage* ZipStorageLoader::find_loaded(const std::string& key) {
  if (const auto n = small_number(key, ar_.records().size())) {
    if (loaded_by_number_.empty()) loaded_by_number_.resize(ar_.records().size());
    return &loaded_by_number_[*n];
  }
  return &loaded_[key];
}

const Device& ZipStorageLoader::device_for(const std::string& location) {
  // Every storage of a file usually has the same location tag ("cpu"): parse it once.
  if (!last_device_ || location != last_location_) {
    last_device_ = torchscript ? torchscript_location_device(location, map_device)
                               : map_location_device(location, options_.map_location);
    last_location_ = location;
  }
  return *last_device_;
}

Storage ZipStorageLoader::load(const IValue& pid) {
  // torch::jit::Unpickler reads the key with toStringRef(): an int key (torch.load's legacy
  // form) is an error there.
  if (torchscript && pid.is_tuple() && pid.as_tuple().size() >= 3 &&
      !pid.as_tuple().elements()[2].is_string())
    throw Error(ErrorCode::kBadPersistentId,
                "storage persistent id: the key of a TorchScript storage must be a str, got " +
                    std::string(pid.as_tuple().elements()[2].kind_name()));
  StorageRef ref = parse_storage_pid(pid, &class_memo_);
  // TorchScript's unpickler parses the location of every persistent id; torch.load restores the
  // location of a key's first one only.
  if (torchscript) (void)device_for(ref.location);
  Storage* slot = find_loaded(ref.key);
  if (slot->defined()) {
    PTIO_CHECK(slot->dtype() == ref.dtype || !ref.dtype || !slot->dtype(),
               ErrorCode::kBadPersistentId, "storage ", ref.key,
               " is referenced with two different dtypes");
    return *slot;
  }
  // One lookup per storage; the file and full record names are built only for errors.
  const std::string name = dir_ + ref.key;
  auto full_name = [&] { return ar_.prefix() + "/" + name; };
  const std::uint64_t nbytes = ref.nbytes();
  const ScalarType dt = ref.element_dtype();
  Storage s;
  const zip::RecordInfo* info = ar_.find_record(name);
  if (!info) {
    if (!(empty_without_record && nbytes == 0))
      throw Error(ErrorCode::kMissingRecord, "storage " + ref.key + " has no record " + full_name(),
                  ar_.file_name(), full_name());
    s = Storage::from_bytes({});
  } else {
    if (info->size < nbytes)
      throw Error(ErrorCode::kBadStorage,
                  "record size (" + std::to_string(info->size) + " bytes) is smaller than the " +
                      "storage: " + std::to_string(ref.numel) + " elements * " +
                      std::to_string(element_size(dt)) + " bytes",
                  ar_.file_name(), full_name(), info->data_offset);
    const std::size_t align = element_size(dt) == 0 ? 1 : element_size(dt);
    if (allow_view_ && options_.mmap && !swap_ && ar_.can_view(*info)) {
      io::ByteView v = ar_.view(*info);
      const bool whole_record = v.size() == nbytes;
      if (!whole_record) v = v.subview(0, static_cast<std::size_t>(nbytes));
      if (reinterpret_cast<std::uintptr_t>(v.data()) % align == 0) {
        if (options_.verify_crc && info->crc_recorded && ar_.compute_crc32(*info) != info->crc32)
          throw Error(ErrorCode::kZipCrcMismatch, "CRC-32 of the storage bytes does not match",
                      ar_.file_name(), full_name(), info->data_offset);
        // The record's CRC-32 travels with the bytes: saving them again needs no checksum pass.
        s = whole_record && info->crc_recorded && nbytes > 0
                ? Storage::from_record_view(std::move(v), info->crc32)
                : Storage::from_view(std::move(v));
      }
    }
    if (!s.defined() && !info->is_stored()) {
      // Deflated (PyTorch never deflates storages): inflated only as far as the storage needs,
      // with Limits::zip checked for those bytes before anything is allocated, so a small
      // record that declares gigabytes costs nothing beyond the storage the pickle declares.
      std::vector<std::byte> buf =
          info->size == nbytes ? ar_.read(*info) : ar_.read_prefix(*info, nbytes);
      if (swap_) swap_bytes(buf, dt);
      s = Storage::from_bytes(std::move(buf));
      if (!swap_ && info->crc_recorded && info->size == nbytes) s.set_source_crc32(info->crc32);
    }
    if (!s.defined() && info->size == nbytes && nbytes > 0) {
      // Uninitialised arena memory: no zero-fill before the read overwrites it.
      StorageArena::Slice slice = arena_.allocate(static_cast<std::size_t>(nbytes));
      if (batch_reads && info->is_stored() && nbytes <= kBatchedReadMax) {
        pending_.push_back({info, slice.bytes});
        pending_dtype_.push_back(dt);
        if (pending_.size() == kBatchSize) read_pending();
      } else {
        ar_.read_into(*info, slice.bytes);
        if (swap_) swap_bytes(slice.bytes, dt);
      }
      s = Storage::from_block(slice.bytes, std::move(slice.block));
      // A whole, unswapped copy of the record: its CRC-32 travels with the bytes as a mapped
      // view's does (forgotten when they are written to through mutable_data()).
      if (!swap_ && info->crc_recorded) s.set_source_crc32(info->crc32);
    }
    if (!s.defined()) {
      std::vector<std::byte> buf;
      if (info->size == nbytes) {
        buf.resize(static_cast<std::size_t>(nbytes));
        ar_.read_into(*info, buf);
      } else {
        buf = ar_.read(*info);  // longer than needed (1.13 accepted it): keep the storage's part
        buf.resize(static_cast<std::size_t>(nbytes));
      }
      if (swap_) swap_bytes(buf, dt);
      s = Storage::from_bytes(std::move(buf));
    }
  }
  s.set_dtype(ref.dtype);
  s.set_key(ref.key);
  s.set_device(device_for(ref.location));
  *slot = s;
  return s;
}

void ZipStorageLoader::read_pending() {
  ar_.read_many_into(pending_);
  if (swap_)
    for (std::size_t i = 0; i < pending_.size(); ++i)
      swap_bytes(pending_[i].out, pending_dtype_[i]);
  pending_.clear();
  pending_dtype_.clear();
}

void ZipStorageLoader::finish() {
  if (!pending_.empty()) read_pending();
}

}  // namespace ptio::detail
