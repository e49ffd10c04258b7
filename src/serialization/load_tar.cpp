// torch.load's tar branch (0.1.x files): `storages`, `tensors` and `pickle` members (spec section
// 7).
#include <map>

#include "ptio/error.h"
#include "serialization/loaders.h"
#include "serialization/tar_container.h"
#include "serialization/torch_globals.h"
#include "serialization/unpickle.h"

namespace ptio::detail {

namespace {

std::string key_text(const IValue& v) {
  if (v.is_string()) return v.as_string();
  if (v.is_bytes()) return std::string(v.as_bytes());
  if (v.is_int()) return std::to_string(v.as_int());
  throw Error(ErrorCode::kTarFormat, "a storage or tensor key must be an int or a string, got " +
                                         std::string(v.kind_name()));
}

const std::vector<IValue>& tuple_of(const IValue& v, std::size_t n, const char* what) {
  PTIO_CHECK(v.is_tuple() && v.as_tuple().size() == n, ErrorCode::kTarFormat, what, " must be a ",
             n, "-tuple");
  return v.as_tuple().elements();
}

}  // namespace

IValue load_tar(const io::ReadAdapter& in, const LoadOptions& options) {
  const auto members = read_tar_members(in);
  auto member = [&](const char* name) -> const TarMember& {
    const auto it = members.find(name);
    if (it == members.end())
      throw Error(ErrorCode::kTarFormat,
                  std::string("the tar archive has no `") + name + "` member", in.name());
    return it->second;
  };
  const auto resolver = make_torch_resolver(options);
  const PersistentLoad no_pid = [](const IValue&) -> IValue {
    throw Error(ErrorCode::kBadPersistentId, "unexpected persistent id");
  };
  std::map<std::string, IValue, std::less<>> objects;  // storages and tensors by key

  // storages: count, then per storage (key, location, storage_type) + int64 numel + bytes, then
  // the list of views (target_key, root_key, offset, numel).
  const TarMember& sm = member("storages");
  const std::uint64_t send = sm.offset + sm.size;
  Unpickled count = unpickle(in, sm.offset, send, resolver, no_pid, options, "storages");
  const CycleGuard drop_count{count.value};  // header values: cycles freed even on errors
  PTIO_CHECK(count.value.is_int() && count.value.as_int() >= 0, ErrorCode::kTarFormat,
             "storage count must be a non-negative int");
  std::uint64_t pos = count.end;
  for (std::int64_t i = 0; i < count.value.as_int(); ++i) {
    Unpickled head = unpickle(in, pos, send, resolver, no_pid, options, "storages");
    const CycleGuard drop_head{head.value};
    const auto& h = tuple_of(head.value, 3, "storage header");
    const std::string key = key_text(h[0]);
    const auto dtype = storage_class_dtype(h[2]);
    pos = head.end;
    std::int64_t numel = 0;
    PTIO_CHECK(pos + 8 <= send, ErrorCode::kTarFormat, "storage ", key, " is truncated");
    in.read(pos, &numel, 8);
    pos += 8;
    const std::uint64_t es = element_size(dtype.value_or(ScalarType::Byte));
    PTIO_CHECK(numel >= 0 && static_cast<std::uint64_t>(numel) <= (send - pos) / es,
               ErrorCode::kTarFormat, "storage ", key, " declares ", numel,
               " elements, more than the member holds");
    Storage s = Storage::from_bytes(in.read_vector(pos, static_cast<std::size_t>(numel * es)));
    pos += static_cast<std::uint64_t>(numel) * es;
    s.set_dtype(dtype);
    s.set_key(key);
    s.set_device(map_location_device(key_text(h[1]), options.map_location));
    objects[key] = s;
  }
  // PyTorch needs the view list; some third-party writers (burn's test files) omit it, which
  // torch.load reports as "Ran out of input". ptio accepts its absence at the member's end.
  Unpickled views;
  if (pos < send) views = unpickle(in, pos, send, resolver, no_pid, options, "storages");
  const CycleGuard drop_views{views.value};
  if (views.value.is_list()) {
    for (const IValue& v : views.value.as_list().elements) {
      const auto& e = tuple_of(v, 4, "storage view");
      const auto root = objects.find(key_text(e[1]));
      PTIO_CHECK(root != objects.end() && root->second.is_storage(), ErrorCode::kTarFormat,
                 "storage view refers to unknown storage ", key_text(e[1]));
      const Storage& r = root->second.as_storage();
      const std::uint64_t es = element_size(r.dtype().value_or(ScalarType::Byte));
      const std::int64_t off = e[2].as_int(), n = e[3].as_int();
      // Checked without overflow: offset and size are any int64 the pickle holds.
      PTIO_CHECK(element_range_fits(off, n, es, r.nbytes()), ErrorCode::kTarFormat,
                 "storage view leaves its root storage");
      const std::size_t begin = static_cast<std::size_t>(static_cast<std::uint64_t>(off) * es);
      const std::size_t end = begin + static_cast<std::size_t>(static_cast<std::uint64_t>(n) * es);
      Storage s = Storage::from_bytes({r.data() + begin, r.data() + end});
      s.set_dtype(r.dtype());
      s.set_device(r.device());
      objects[key_text(e[0])] = s;
    }
  }

  // tensors: count, then per tensor (key, storage_id, type) + int32 ndim, 4 pad bytes, sizes,
  // strides, storage_offset (all int64 LE).
  if (members.count("tensors")) {
    const TarMember& tm = member("tensors");
    const std::uint64_t tend = tm.offset + tm.size;
    Unpickled tc = unpickle(in, tm.offset, tend, resolver, no_pid, options, "tensors");
    const CycleGuard drop_tc{tc.value};
    PTIO_CHECK(tc.value.is_int() && tc.value.as_int() >= 0, ErrorCode::kTarFormat,
               "tensor count must be a non-negative int");
    pos = tc.end;
    for (std::int64_t i = 0; i < tc.value.as_int(); ++i) {
      Unpickled head = unpickle(in, pos, tend, resolver, no_pid, options, "tensors");
      const CycleGuard drop_head{head.value};
      const auto& h = tuple_of(head.value, 3, "tensor header");
      pos = head.end;
      const auto st = objects.find(key_text(h[1]));
      PTIO_CHECK(st != objects.end() && st->second.is_storage(), ErrorCode::kTarFormat,
                 "tensor refers to unknown storage ", key_text(h[1]));
      std::int32_t ndim = 0;
      PTIO_CHECK(pos + 8 <= tend, ErrorCode::kTarFormat, "tensor header truncated");
      in.read(pos, &ndim, 4);
      pos += 8;
      PTIO_CHECK(ndim >= 0 && static_cast<std::uint64_t>(ndim) * 16 + 8 <= tend - pos,
                 ErrorCode::kTarFormat, "tensor ndim ", ndim, " does not fit the member");
      std::vector<std::int64_t> sizes(static_cast<std::size_t>(ndim)), strides(sizes.size());
      in.read(pos, sizes.data(), sizes.size() * 8);
      pos += sizes.size() * 8;
      in.read(pos, strides.data(), strides.size() * 8);
      pos += strides.size() * 8;
      std::int64_t offset = 0;
      in.read(pos, &offset, 8);
      pos += 8;
      const Storage& s = st->second.as_storage();
      objects[key_text(h[0])] = Tensor::make(s, s.dtype().value_or(ScalarType::Byte),
                                             std::move(sizes), std::move(strides), offset);
    }
  }

  // pickle: the object; persistent ids are keys (or ('module', ...) tuples). Files that use the
  // zip-style storage tuples instead are accepted too.
  const TarMember& pm = member("pickle");
  const PersistentLoad persistent_load = [&](const IValue& pid) -> IValue {
    if (pid.is_tuple() && pid.as_tuple().size() >= 1) {
      const IValue& t = pid.as_tuple().elements()[0];
      if (t.is_string() && t.as_string() == "storage") {
        const StorageRef ref = parse_storage_pid(pid);
        const auto it = objects.find(ref.key);
        PTIO_CHECK(it != objects.end(), ErrorCode::kMissingRecord, "unknown storage key ", ref.key);
        return it->second;
      }
      return t;
    }
    const auto it = objects.find(key_text(pid));
    PTIO_CHECK(it != objects.end(), ErrorCode::kMissingRecord, "persistent id ", key_text(pid),
               " names no storage or tensor of the archive");
    return it->second;
  };
  SparseValidation sparse("pickle");
  IValue value =
      unpickle(in, pm.offset, pm.offset + pm.size, resolver, persistent_load, options, "pickle")
          .value;
  CycleGuard drop{value};
  sparse.finish();  // torch._utils._validate_loaded_sparse_tensors()
  drop.keep = true;
  return value;
}

}  // namespace ptio::detail
