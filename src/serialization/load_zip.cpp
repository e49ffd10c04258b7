// torch.load's zip branch: version/byteorder checks, data.pkl, storages from data/<key> records.
#include <bit>
#include <map>
#include <optional>

#include "ptio/error.h"
#include "ptio/zip/archive_reader.h"
#include "serialization/byte_order.h"
#include "serialization/loaders.h"
#include "serialization/torch_globals.h"
#include "serialization/unpickle.h"

namespace ptio::detail {

namespace {

std::string record_text(const zip::ArchiveReader& ar, std::string_view name, std::size_t max) {
  const auto& info = ar.record(name);
  PTIO_CHECK(info.size <= max, ErrorCode::kBadVersion, "record ", name, " is ", info.size,
             " bytes long; expected at most ", max);
  const auto b = ar.read(name);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

// PyTorchStreamReader's version rule (spec 2.6): `.data/version` or `version`, 1 <= v <= 10.
void check_version(const zip::ArchiveReader& ar) {
  const char* name = ar.has_record(".data/version") ? ".data/version" : "version";
  PTIO_CHECK(ar.has_record(name), ErrorCode::kBadVersion,
             "the archive has no `version` record (torch.save always writes one)");
  const std::string v = record_text(ar, name, 64);
  std::uint64_t n = 0;
  std::size_t digits = 0;
  while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9' && digits < 18)
    n = n * 10 + static_cast<std::uint64_t>(v[digits++] - '0');
  PTIO_CHECK(digits > 0, ErrorCode::kBadVersion, "couldn't parse the version '", v, "'");
  PTIO_CHECK(n >= 1 && n <= 10, ErrorCode::kBadVersion, "file format version ", n,
             " is outside what PyTorch reads (1..10)");
}

bool big_endian_file(const zip::ArchiveReader& ar) {
  if (!ar.has_record("byteorder")) return false;  // absent: little (PyTorch >= 2.1's default)
  const std::string v = record_text(ar, "byteorder", 16);
  PTIO_CHECK(v == "little" || v == "big", ErrorCode::kBadVersion, "unknown endianness type '", v,
             "' in the byteorder record");
  return v == "big";
}

}  // namespace

IValue load_zip(const std::shared_ptr<const io::ReadAdapter>& in, const LoadOptions& options,
                bool allow_view) {
  zip::ReaderOptions ro;
  static_cast<zip::Limits&>(ro) = options.limits.zip;
  ro.verify_crc = options.verify_crc;
  std::optional<zip::ArchiveReader> reader;
  try {
    reader.emplace(in, ro);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kZipNotAnArchive || e.code() == ErrorCode::kZipBadEocd)
      throw Error(ErrorCode::kZipTruncated,
                  "the file starts like a zip archive but its directory cannot be read (a "
                  "truncated or damaged download?): " +
                      e.message(),
                  in->name());
    throw;
  }
  const zip::ArchiveReader& ar = *reader;
  PTIO_CHECK(!ar.has_record("bytecode.pkl"), ErrorCode::kMobileArchive,
             "this is a mobile (lite interpreter, .ptl) module with bytecode.pkl, not a "
             "torch.save checkpoint; load it with ptio::jit::load");
  PTIO_CHECK(!ar.has_record("constants.pkl"), ErrorCode::kTorchScriptArchive,
             "this is a TorchScript archive (torch.jit.save, it has constants.pkl), not a "
             "torch.save checkpoint; load it with ptio::jit::load");
  check_version(ar);
  const bool swap = big_endian_file(ar);
  PTIO_CHECK(ar.has_record("data.pkl"), ErrorCode::kMissingRecord,
             "the archive has no data.pkl record");
  const std::string file = in->name();
  const std::string prefix = ar.prefix() + "/";

  std::map<std::string, Storage, std::less<>> loaded;
  const PersistentLoad persistent_load = [&](const IValue& pid) -> IValue {
    const StorageRef ref = parse_storage_pid(pid);
    const auto hit = loaded.find(ref.key);
    if (hit != loaded.end()) {
      PTIO_CHECK(hit->second.dtype() == ref.dtype || !ref.dtype || !hit->second.dtype(),
                 ErrorCode::kBadPersistentId, "storage ", ref.key,
                 " is referenced with two different dtypes");
      return hit->second;
    }
    const std::string name = "data/" + ref.key;
    if (!ar.has_record(name))
      throw Error(ErrorCode::kMissingRecord,
                  "storage " + ref.key + " has no record " + prefix + name, file, prefix + name);
    const zip::RecordInfo& info = ar.record(name);
    const std::uint64_t nbytes = ref.nbytes();
    const ScalarType dt = ref.element_dtype();
    if (info.size < nbytes)
      throw Error(ErrorCode::kBadStorage,
                  "record size (" + std::to_string(info.size) + " bytes) is smaller than the " +
                      "storage: " + std::to_string(ref.numel) + " elements * " +
                      std::to_string(element_size(dt)) + " bytes",
                  file, prefix + name, info.data_offset);
    Storage s;
    const std::size_t align = element_size(dt) == 0 ? 1 : element_size(dt);
    if (allow_view && options.mmap && !swap && info.is_stored() && ar.can_view(name)) {
      io::ByteView v = ar.view(name).subview(0, static_cast<std::size_t>(nbytes));
      if (reinterpret_cast<std::uintptr_t>(v.data()) % align == 0) {
        if (options.verify_crc && info.crc_recorded && ar.compute_crc32(info) != info.crc32)
          throw Error(ErrorCode::kZipCrcMismatch, "CRC-32 of the storage bytes does not match",
                      file, prefix + name, info.data_offset);
        s = Storage::from_view(std::move(v));
      }
    }
    if (!s.defined()) {
      std::vector<std::byte> buf;
      if (info.size == nbytes) {
        buf.resize(static_cast<std::size_t>(nbytes));
        ar.read_into(info, buf);
      } else {
        buf = ar.read(name);  // longer than needed (1.13 accepted it): keep the storage's part
        buf.resize(static_cast<std::size_t>(nbytes));
      }
      if (swap) swap_bytes(buf, dt);
      s = Storage::from_bytes(std::move(buf));
    }
    s.set_dtype(ref.dtype);
    s.set_key(ref.key);
    s.set_device(map_location_device(ref.location, options.map_location));
    loaded.emplace(ref.key, s);
    return s;
  };
  const auto resolver = make_torch_resolver(options);
  const auto pkl = ar.read("data.pkl");
  return unpickle(pkl, ar.data_offset("data.pkl"), resolver, persistent_load, options, file,
                  prefix + "data.pkl")
      .value;
}

}  // namespace ptio::detail
