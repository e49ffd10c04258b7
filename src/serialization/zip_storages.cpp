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

Storage ZipStorageLoader::load(const IValue& pid) {
  const StorageRef ref = parse_storage_pid(pid);
  const auto hit = loaded_.find(ref.key);
  if (hit != loaded_.end()) {
    PTIO_CHECK(hit->second.dtype() == ref.dtype || !ref.dtype || !hit->second.dtype(),
               ErrorCode::kBadPersistentId, "storage ", ref.key,
               " is referenced with two different dtypes");
    return hit->second;
  }
  const std::string file = ar_.file_name();
  const std::string prefix = ar_.prefix() + "/";
  const std::string name = dir_ + ref.key;
  const std::uint64_t nbytes = ref.nbytes();
  const ScalarType dt = ref.element_dtype();
  Storage s;
  if (!ar_.has_record(name)) {
    if (!(empty_without_record && nbytes == 0))
      throw Error(ErrorCode::kMissingRecord,
                  "storage " + ref.key + " has no record " + prefix + name, file, prefix + name);
    s = Storage::from_bytes({});
  } else {
    const zip::RecordInfo& info = ar_.record(name);
    if (info.size < nbytes)
      throw Error(ErrorCode::kBadStorage,
                  "record size (" + std::to_string(info.size) + " bytes) is smaller than the " +
                      "storage: " + std::to_string(ref.numel) + " elements * " +
                      std::to_string(element_size(dt)) + " bytes",
                  file, prefix + name, info.data_offset);
    const std::size_t align = element_size(dt) == 0 ? 1 : element_size(dt);
    if (allow_view_ && options_.mmap && !swap_ && info.is_stored() && ar_.can_view(name)) {
      io::ByteView v = ar_.view(name).subview(0, static_cast<std::size_t>(nbytes));
      if (reinterpret_cast<std::uintptr_t>(v.data()) % align == 0) {
        if (options_.verify_crc && info.crc_recorded && ar_.compute_crc32(info) != info.crc32)
          throw Error(ErrorCode::kZipCrcMismatch, "CRC-32 of the storage bytes does not match",
                      file, prefix + name, info.data_offset);
        s = Storage::from_view(std::move(v));
      }
    }
    if (!s.defined()) {
      std::vector<std::byte> buf;
      if (info.size == nbytes) {
        buf.resize(static_cast<std::size_t>(nbytes));
        ar_.read_into(info, buf);
      } else {
        buf = ar_.read(name);  // longer than needed (1.13 accepted it): keep the storage's part
        buf.resize(static_cast<std::size_t>(nbytes));
      }
      if (swap_) swap_bytes(buf, dt);
      s = Storage::from_bytes(std::move(buf));
    }
  }
  s.set_dtype(ref.dtype);
  s.set_key(ref.key);
  s.set_device(map_location_device(ref.location, options_.map_location));
  loaded_.emplace(ref.key, s);
  return s;
}

}  // namespace ptio::detail
