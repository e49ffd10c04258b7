// Storage persistent ids of torch.save pickles and their location tags: parse_storage_pid,
// torch.load's default_restore_location, the tags ptio writes, map_location, and the TorchScript
// rule for tags (spec sections 3, 5.2).
#include <map>
#include <optional>
#include <string>

#include "ptio/error.h"
#include "serialization/torch_globals.h"

namespace ptio::detail {

std::uint64_t StorageRef::nbytes() const {
  std::uint64_t r;
  PTIO_CHECK(numel >= 0, ErrorCode::kBadPersistentId, "storage ", key, " has negative numel ",
             numel);
  PTIO_CHECK(!__builtin_mul_overflow(static_cast<std::uint64_t>(numel),
                                     static_cast<std::uint64_t>(element_size(element_dtype())), &r),
             ErrorCode::kOverflow, "storage ", key, ": numel ", numel, " overflows");
  return r;
}

StorageRef parse_storage_pid(const IValue& pid, StorageClassMemo* memo) {
  PTIO_CHECK(pid.is_tuple(), ErrorCode::kBadPersistentId, "persistent id must be a tuple, got ",
             pid.kind_name());
  const auto& e = pid.as_tuple().elements();
  PTIO_CHECK(!e.empty(), ErrorCode::kBadPersistentId, "persistent id is an empty tuple");
  // Borrowed from `pid`'s payloads (the ids are short: no copies but the kept key and location).
  auto text = [](const IValue& v) -> std::optional<std::string_view> {
    if (v.is_string()) return std::string_view(v.as_string());
    if (v.is_bytes()) return v.as_bytes();
    return std::nullopt;
  };
  const auto type = text(e[0]);
  PTIO_CHECK(type && *type == "storage", ErrorCode::kBadPersistentId,
             "persistent id must start with 'storage'");
  PTIO_CHECK(e.size() == 5 || e.size() == 6, ErrorCode::kBadPersistentId,
             "storage persistent id must have 5 or 6 items, has ", e.size());
  StorageRef r;
  // The class global (an Opaque) or string never changes: the same payload, the same answer.
  if (memo && e[1].is_heap() && e[1].is_same(memo->cls)) {
    r.dtype = memo->dtype;
  } else {
    r.dtype = storage_class_dtype(e[1]);
    if (memo && e[1].is_heap()) {
      memo->cls = e[1];
      memo->dtype = r.dtype;
    }
  }
  std::string int_key;
  if (e[2].is_int()) int_key = std::to_string(e[2].as_int());
  const auto key = e[2].is_int() ? std::optional<std::string_view>(int_key) : text(e[2]);
  const auto loc = text(e[3]);
  PTIO_CHECK(key && loc, ErrorCode::kBadPersistentId,
             "storage persistent id: key and location must be strings");
  PTIO_CHECK(e[4].is_int(), ErrorCode::kBadPersistentId,
             "storage persistent id: numel must be an int64, got ", int_mismatch_name(e[4]));
  r.key = *key;
  r.location = *loc;
  r.numel = e[4].as_int();
  (void)r.nbytes();
  if (e.size() == 6 && !e[5].is_none()) {
    PTIO_CHECK(e[5].is_tuple() && e[5].as_tuple().size() == 3, ErrorCode::kBadPersistentId,
               "view_metadata must be (view_key, offset, size)");
    const auto& v = e[5].as_tuple().elements();
    const auto vk = text(v[0]);
    PTIO_CHECK(vk && v[1].is_int() && v[2].is_int(), ErrorCode::kBadPersistentId,
               "view_metadata must be (str, int, int)");
    r.view = std::make_tuple(std::string(*vk), v[1].as_int(), v[2].as_int());
  }
  return r;
}

Device restore_location(const std::string& tag) {
  // default_restore_location tries the registered deserializers in turn: _cpu_deserialize
  // (`== 'cpu'`), _cuda_deserialize (`startswith('cuda')`, then torch.device(location)),
  // _mps_deserialize, _meta_deserialize (`== 'meta'`); later versions add hpu and xpu the way
  // cuda is. Nothing else is restored.
  if (tag == "cpu") return Device(DeviceType::kCPU);
  if (tag == "meta") return Device(DeviceType::kMeta);
  for (std::string_view prefix : {"cuda", "mps", "hpu", "xpu"}) {
    if (!std::string_view(tag).starts_with(prefix)) continue;
    const Device d = Device::parse(tag);
    if (d.type_name() == prefix) return d;
  }
  throw Error(ErrorCode::kBadDevice,
              "don't know how to restore data location of a storage (tagged with '" + tag +
                  "'): torch.load restores only cpu, cuda, mps and meta storages (hpu and xpu in "
                  "later PyTorch); give a map_location for it");
}

std::string saved_location(const Device& d) {
  std::string tag = d.str();
  try {
    (void)restore_location(tag);
  } catch (const Error& e) {
    throw Error(ErrorCode::kBadDevice, "a storage on device '" + tag +
                                           "' cannot be saved: torch.load could not read its "
                                           "location tag back (" +
                                           e.message() + ")");
  }
  return tag;
}

namespace {
Device parse_target(const std::string& s) {
  try {
    return restore_location(s);
  } catch (const Error& e) {
    throw Error(
        ErrorCode::kBadMapLocation,
        "map_location '" + s + "' is not a device torch.load can restore to: " + e.message());
  }
}
}  // namespace

void validate_map_location(const MapLocation& m) {
  if (const auto* s = std::get_if<std::string>(&m)) (void)parse_target(*s);
  if (const auto* mm = std::get_if<std::map<std::string, std::string>>(&m))
    for (const auto& [from, to] : *mm) (void)parse_target(to);
}

Device map_location_device(const std::string& tag, const MapLocation& m) {
  if (const auto* s = std::get_if<std::string>(&m)) return parse_target(*s);
  if (const auto* mm = std::get_if<std::map<std::string, std::string>>(&m)) {
    const auto it = mm->find(tag);
    if (it != mm->end()) return parse_target(it->second);
  }
  return restore_location(tag);
}

void check_torchscript_device(const Device& d) {
  const DeviceType t = d.type();
  if (t == DeviceType::kCPU || t == DeviceType::kCUDA || t == DeviceType::kXPU ||
      t == DeviceType::kMeta || t == DeviceType::kHPU)
    return;
  std::string name = d.type_name();
  for (char& c : name) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  throw Error(ErrorCode::kBadDevice,
              "supported devices include CPU, CUDA and HPU, however got " + name +
                  " (a TorchScript archive's storages load on cpu, cuda, xpu, meta or hpu)");
}

Device torchscript_location_device(const std::string& tag, const std::optional<Device>& device) {
  // torch::jit::Unpickler (BINPERSID of a storage): `at::Device device(location)` always, then
  // the map_location device if one was given; tensors go .to() cuda/xpu/meta/hpu, and anything
  // but the CPU else is an error.
  Device d = Device::parse(tag);
  if (device) d = *device;
  check_torchscript_device(d);
  return d;
}

}  // namespace ptio::detail
