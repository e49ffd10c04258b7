// torch.load's legacy branch: magic, protocol and sys_info pickles, the object, keys, storage
// blobs.
#include <cstring>
#include <map>
#include <memory>

#include "ptio/error.h"
#include "serialization/loaders.h"
#include "serialization/torch_globals.h"
#include "serialization/unpickle.h"

namespace ptio::detail {

namespace {

// A root storage of the legacy format: allocated when first referenced, filled after the object
// pickle (spec 6.1). The buffer is shared so views (`view_metadata`) can keep it alive.
struct Root {
  std::shared_ptr<std::vector<std::byte>> buffer;
  Storage storage;
  ScalarType dtype = ScalarType::Byte;
};

bool is_legacy_magic(const IValue& v) {
  // 0x1950a86a20f9469cfc6c does not fit int64: the pickle layer gives a BigInt.
  static const std::vector<std::uint8_t> kMagic = {0x6c, 0xfc, 0x9c, 0x46, 0xf9,
                                                   0x20, 0x6a, 0xa8, 0x50, 0x19};
  return v.is_big_int() && v.as_big_int().bytes() == kMagic;
}

}  // namespace

IValue load_legacy(const io::ReadAdapter& in, const LoadOptions& options) {
  const std::uint64_t size = in.size();
  const std::string file = in.name();
  const auto resolver = make_torch_resolver(options);
  const PersistentLoad no_pid = [](const IValue&) -> IValue {
    throw Error(ErrorCode::kBadPersistentId, "unexpected persistent id in a header pickle");
  };
  // The header pickles are read and dropped; whatever cycles they built are freed even when a
  // check below throws (IValue cycles are only freed by break_cycles). So are the object
  // pickle's when a later check (key list, storage sizes) throws.
  Unpickled magic = unpickle(in, 0, size, resolver, no_pid, options, "legacy magic pickle");
  const CycleGuard drop_magic{magic.value};
  PTIO_CHECK(is_legacy_magic(magic.value), ErrorCode::kLegacyFormat,
             "invalid magic number; this pickle is not a legacy torch.save stream (corrupt file?)");
  Unpickled proto = unpickle(in, magic.end, size, resolver, no_pid, options, "protocol pickle");
  const CycleGuard drop_proto{proto.value};
  PTIO_CHECK(proto.value.is_int() && proto.value.as_int() == 1001, ErrorCode::kLegacyFormat,
             "invalid protocol version: expected 1001");
  Unpickled sys_info = unpickle(in, proto.end, size, resolver, no_pid, options, "sys_info pickle");
  const CycleGuard drop_sys_info{sys_info.value};
  // sys_info is ignored, as torch.load ignores it: its little_endian only records the writer's
  // host. Storage bytes are little-endian whatever it says (spec 6.1): every PyTorch writer
  // (THPStorage_writeFileRaw) swaps 2/4/8-byte elements to little-endian on big-endian hosts.
  std::map<std::string, Root, std::less<>> roots;
  std::map<std::string, Storage, std::less<>> views;
  std::uint64_t allocated = 0;
  const PersistentLoad persistent_load = [&](const IValue& pid) -> IValue {
    if (pid.is_tuple() && !pid.as_tuple().elements().empty()) {
      const IValue& t = pid.as_tuple().elements()[0];
      if ((t.is_string() && t.as_string() == "module") ||
          (t.is_bytes() && t.as_bytes() == "module")) {
        // ('module', cls, source_file, source) from torch.save(model): the class itself.
        PTIO_CHECK(pid.as_tuple().size() >= 2, ErrorCode::kBadPersistentId,
                   "module persistent id without a class");
        return pid.as_tuple().elements()[1];
      }
    }
    const StorageRef ref = parse_storage_pid(pid);
    auto it = roots.find(ref.key);
    if (it == roots.end()) {
      const std::uint64_t nbytes = ref.nbytes();
      // Every root's bytes follow in the file: never allocate more than the file can hold.
      PTIO_CHECK(nbytes <= size && allocated + nbytes <= size, ErrorCode::kBadStorage, "storage ",
                 ref.key, " claims ", ref.numel, " elements (", nbytes,
                 " bytes) but the file has only ", size, " bytes");
      allocated += nbytes;
      Root r;
      r.dtype = ref.element_dtype();
      r.buffer = std::make_shared<std::vector<std::byte>>(static_cast<std::size_t>(nbytes));
      r.storage = Storage::from_view(io::ByteView(*r.buffer, r.buffer));
      r.storage.set_dtype(ref.dtype);
      r.storage.set_key(ref.key);
      r.storage.set_device(map_location_device(ref.location, options.map_location));
      it = roots.emplace(ref.key, std::move(r)).first;
    }
    if (!ref.view) return it->second.storage;
    const auto& [view_key, offset, view_size] = *ref.view;
    auto v = views.find(view_key);
    if (v == views.end()) {
      const std::uint64_t es = element_size(it->second.dtype);
      // Checked without overflow: offset and size are any int64 the pickle holds.
      PTIO_CHECK(element_range_fits(offset, view_size, es, it->second.buffer->size()),
                 ErrorCode::kBadPersistentId, "view ", view_key, " [", offset, ", +", view_size,
                 ") leaves storage ", ref.key);
      Storage s = Storage::from_view(io::ByteView(
          std::span<const std::byte>(*it->second.buffer)
              .subspan(static_cast<std::size_t>(static_cast<std::uint64_t>(offset) * es),
                       static_cast<std::size_t>(static_cast<std::uint64_t>(view_size) * es)),
          it->second.buffer));
      s.set_dtype(ref.dtype);
      s.set_key(view_key);
      s.set_device(it->second.storage.device());
      v = views.emplace(view_key, s).first;
    }
    return v->second;
  };
  SparseValidation sparse("object pickle");
  Unpickled obj =
      unpickle(in, sys_info.end, size, resolver, persistent_load, options, "object pickle");
  CycleGuard drop_obj{obj.value};
  Unpickled keys = unpickle(in, obj.end, size, resolver, no_pid, options, "storage key list");
  const CycleGuard drop_keys{keys.value};
  PTIO_CHECK(keys.value.is_list(), ErrorCode::kLegacyFormat,
             "the storage key list must be a list, got ", keys.value.kind_name());
  std::uint64_t pos = keys.end;
  for (const IValue& k : keys.value.as_list().elements) {
    std::string key = k.is_string() ? k.as_string() : k.is_int() ? std::to_string(k.as_int()) : "";
    const auto it = roots.find(key);
    if (it == roots.end())
      throw Error(ErrorCode::kMissingRecord,
                  "the key list names storage '" + key + "' that no tensor referenced", file,
                  "storage blobs", pos);
    std::int64_t numel = 0;
    PTIO_CHECK(pos + 8 <= size, ErrorCode::kBadStorage, "storage ", key,
               ": the file ends before its element count");
    in.read(pos, &numel, 8);
    const std::uint64_t es = element_size(it->second.dtype);
    const std::uint64_t expected = it->second.buffer->size() / es;
    if (numel < 0 || static_cast<std::uint64_t>(numel) != expected) {
      // PyTorch: "storage has wrong byte size"; both counts in elements and in bytes.
      std::uint64_t got_bytes = 0;
      const bool fits =
          numel >= 0 && !__builtin_mul_overflow(static_cast<std::uint64_t>(numel), es, &got_bytes);
      throw Error(ErrorCode::kBadStorage,
                  "storage has wrong size: the object pickle declares " + std::to_string(expected) +
                      " elements (" + std::to_string(it->second.buffer->size()) + " bytes of " +
                      std::string(scalar_type_name(it->second.dtype)) +
                      ") but the element count before its bytes says " + std::to_string(numel) +
                      " elements" + (fits ? " (" + std::to_string(got_bytes) + " bytes)" : ""),
                  file, "storage " + key, pos);
    }
    pos += 8;
    const std::size_t n = it->second.buffer->size();
    if (n > size - pos)
      throw Error(ErrorCode::kBadStorage,
                  "storage " + key + " needs " + std::to_string(n) + " bytes but only " +
                      std::to_string(size - pos) + " remain (truncated file?)",
                  file, "storage " + key, pos);
    in.read(pos, it->second.buffer->data(), n);
    pos += n;
  }
  sparse.finish();  // torch._utils._validate_loaded_sparse_tensors(), once storages are read
  drop_obj.keep = true;
  return obj.value;
}

}  // namespace ptio::detail
