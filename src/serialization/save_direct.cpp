// torch.save's data.pkl in one pass: tensors' reduces and persistent ids written straight into the
// pickle, with the memo ids CPython's pickler gives the temporaries (spec-torch-save.md 3-5).
#include "serialization/save_direct.h"

#include <cstdint>
#include <cstring>
#include <functional>
#include <string>
#include <utility>

#include "ptio/error.h"
#include "ptio/io/writer.h"
#include "ptio/pickle/pickler.h"
#include "serialization/torch_globals.h"

namespace ptio::detail {

namespace {

using pickle::OpCode;
using pickle::Pickler;

// Appends to a caller's vector reserved up front (io::MemoryWriter grows by doubling).
class VectorWriter final : public io::Writer {
 public:
  using Bytes = decltype(SavePickle::data_pkl);
  VectorWriter(Bytes& out, std::size_t reserve) : out_(out) { out_.reserve(reserve); }

 private:
  void do_write(const void* data, std::size_t n) override {
    // resize + memcpy: a range insert into a vector with a custom allocator copies byte by byte.
    const std::size_t at = out_.size();
    out_.resize(at + n);
    std::memcpy(out_.data() + at, data, n);
  }
  Bytes& out_;
};

constexpr int kMaxDirectDepth = 900;  // below the Pickler's limit: deeper values take the old path

// Whether the direct writer gives the same bytes as reduce_for_save + pickle_for_save for `v`:
// only values the Reducer copies one-to-one (containers keep their sharing; atomic values are
// returned as they are) and dense tensors, each tensor under one IValue payload (the Reducer
// shares by tensor, the Pickler's memo by payload).
class Scan {
 public:
  std::size_t tensors = 0;  // distinct tensors
  std::size_t items = 0;    // container items (list/tuple elements, dict entries)
  // Values and storages more than one handle refers to: the only ones the Pickler's memo and the
  // TensorWriter's storage table hold (the others are met once).
  std::size_t shared_values = 0, shared_storages = 0;
  // Storages without a CRC-32, keyed as the TensorWriter keys them when it meets the tensors in
  // the order the scan does (a storage keyed otherwise only has its CRC-32 computed inline).
  std::vector<PendingCrc32> to_checksum;
  bool ok(const IValue& v, int depth) {
    if (depth > kMaxDirectDepth) return false;
    switch (v.kind()) {
      case IValue::Kind::None:
      case IValue::Kind::Bool:
      case IValue::Kind::Int:
      case IValue::Kind::Double:
      case IValue::Kind::String:
      case IValue::Kind::Bytes:
      case IValue::Kind::ByteArray:
      case IValue::Kind::BigInt:
      case IValue::Kind::Complex:
        if (v.use_count() > 1) ++shared_values;
        return true;
      case IValue::Kind::Tensor: {
        const Tensor& t = v.as_tensor();
        if (!t.defined() || t.is_sparse() || t.is_meta() || t.is_quantized() || t.quantizer())
          return false;
        // A subclass or a tensor with attributes: _rebuild_from_type_v2 (the Reducer's path).
        if (!t.python_type().empty() || !t.python_state().is_none()) return false;
        check_saved_requires_grad(t);                    // before any byte is written
        if (v.use_count() == 1 && t.use_count() == 1) {  // met once: no table entry needed
          ++tensors;
          note_storage(t.storage());
          return true;
        }
        ++shared_values;
        bool found = false;
        std::uint32_t& slot = tensor_payload_.at(t.id(), found);
        if (!found) {
          ++tensors;
          note_storage(t.storage());
          payloads_.push_back(v.identity());
          slot = static_cast<std::uint32_t>(payloads_.size() - 1);
          return true;
        }
        return payloads_[slot] == v.identity();
      }
      case IValue::Kind::List:
      case IValue::Kind::Dict:
      case IValue::Kind::Tuple: {
        // A container only one IValue refers to is met once and cannot contain itself.
        if (v.use_count() == 1) return items_ok(v, depth);
        ++shared_values;
        bool found = false;
        std::uint32_t& state = visited_.at(v.identity(), found);
        // A tuple reached again while its items are being visited: CPython writes its items
        // twice and the Reducer copies it twice; leave that to the general path.
        if (found) return !(state == kOpen && v.is_tuple());
        state = kOpen;
        const bool good = items_ok(v, depth);
        // `state` may have moved when the map grew.
        visited_.at(v.identity(), found) = kDone;
        return good;
      }
      default:
        return false;
    }
  }

 private:
  static constexpr std::uint32_t kOpen = 1, kDone = 2;
  void note_storage(const Storage& s) {
    if (s.use_count() > 1) {
      ++shared_storages;
      bool found = false;
      storage_seen_.at(s.id(), found);
      if (found) return;
    }
    if (needs_crc32(s))
      to_checksum.push_back({std::to_string(storage_count_), s.bytes()});
    ++storage_count_;
  }
  // The table slots an item a few ahead will look up start loading now: a large state_dict's
  // tables exceed the cache, and one miss after another was most of the scan's time.
  static constexpr std::size_t kPrefetchAhead = 8;
  void prefetch(const IValue& x) const noexcept {
    if (x.is_tensor()) {
      const Tensor& t = x.as_tensor();
      if (x.use_count() > 1 || t.use_count() > 1) tensor_payload_.prefetch(t.id());
      if (t.storage().use_count() > 1) storage_seen_.prefetch(t.storage().id());
    } else if (x.use_count() > 1) {
      visited_.prefetch(x.identity());
    }
  }
  static bool atomic_key(const IValue& k) {
    return !k.is_heap() || k.is_string() || k.is_bytes() || k.is_big_int() || k.is_complex();
  }
  bool items_ok(const IValue& v, int depth) {
    items += v.is_list()    ? v.as_list().size()
             : v.is_tuple() ? v.as_tuple().size()
                            : v.as_dict().size();
    if (v.is_list()) {
      const auto& xs = v.as_list().elements;
      for (std::size_t i = 0; i < xs.size(); ++i) {
        if (i + kPrefetchAhead < xs.size()) prefetch(xs[i + kPrefetchAhead]);
        if (!ok(xs[i], depth + 1)) return false;
      }
      return true;
    }
    if (v.is_tuple()) {
      for (const IValue& x : v.as_tuple().elements())
        if (!ok(x, depth + 1)) return false;
      return true;
    }
    const auto& entries = v.as_dict().items();
    for (std::size_t i = 0; i < entries.size(); ++i) {
      if (i + kPrefetchAhead < entries.size()) prefetch(entries[i + kPrefetchAhead].second);
      if (!atomic_key(entries[i].first) || !ok(entries[i].second, depth + 1)) return false;
    }
    const auto& d = v.as_dict();
    return ok(d.build_state, depth + 1);
  }
  pickle::IdentityMap visited_;
  pickle::IdentityMap tensor_payload_;  // tensor id -> index in payloads_
  pickle::IdentityMap storage_seen_;    // storage ids met so far
  std::size_t storage_count_ = 0;
  std::vector<const void*> payloads_;
};

// Writes what the Pickler would write for the Reducer's `_rebuild_*` call of a tensor (minus the
// BINPUT of the result, which the Pickler adds after write_tensor).
class TensorWriter {
 public:
  std::vector<StorageRecord> storages;

  // Sizes the tables for `n` storages, `shared` of them referred to by more than one handle
  // (rehashing a growing table cost as much as filling it).
  void reserve(std::size_t n, std::size_t shared) {
    storages.reserve(n);
    key_memo_.reserve(n);
    storage_index_.reserve(shared);
  }

  void write(Pickler& p, const Tensor& t) {
    if (!t.is_parameter()) return write_dense(p, t, t.requires_grad());
    // Parameter.__reduce_ex__: (_rebuild_parameter, (self.data, requires_grad, OrderedDict()))
    global(p, rebuild_parameter_, "torch._utils", "_rebuild_parameter");
    write_dense(p, t, false);
    p.push_next_binput();  // the rebuilt data tensor
    p.push_bool(t.requires_grad());
    empty_ordered_dict(p);
    p.push_opcode(OpCode::TUPLE3);
    p.push_next_binput();
    p.push_opcode(OpCode::REDUCE);
  }

 private:
  void write_dense(Pickler& p, const Tensor& t, bool requires_grad) {
    const ScalarType dt = t.dtype();
    const bool v3 = scalar_type_info(dt).storage_name.empty();
    if (v3)
      global(p, rebuild_v3_, "torch._utils", "_rebuild_tensor_v3");
    else
      global(p, rebuild_v2_, "torch._utils", "_rebuild_tensor_v2");
    p.push_opcode(OpCode::MARK);
    persistent_id(p, t.storage(), v3 ? std::nullopt : std::optional<ScalarType>(dt));
    p.push_int(t.storage_offset());
    int_tuple(p, t.sizes());
    int_tuple(p, t.strides());
    p.push_bool(requires_grad);
    empty_ordered_dict(p);
    if (v3) global(p, dtype_memo(dtype_global_, dt), "torch", scalar_type_name(dt));
    p.push_opcode(OpCode::TUPLE);
    p.push_next_binput();
    p.push_opcode(OpCode::REDUCE);
  }

  // (storage, storage class, key, location, numel) BINPERSID, with the key, 'storage' and the
  // location strings shared as the Reducer shares them.
  void persistent_id(Pickler& p, const Storage& s, std::optional<ScalarType> dtype) {
    // A storage only one handle refers to is met once: no table entry (Scan::note_storage).
    bool found = false;
    std::uint32_t unique_slot = 0;
    std::uint32_t& slot = s.use_count() == 1 ? unique_slot : storage_index_.at(s.id(), found);
    if (!found) {
      slot = static_cast<std::uint32_t>(storages.size());
      StorageRecord r;
      r.key = std::to_string(storages.size());
      r.storage = s;
      r.dtype = dtype.value_or(ScalarType::Byte);
      storages.push_back(std::move(r));
      key_memo_.push_back(kNoMemo);
    } else if (s.nbytes() > 0) {
      const ScalarType prev = storages[slot].dtype;
      PTIO_CHECK(prev == dtype.value_or(ScalarType::Byte), ErrorCode::kBadStorage,
                 "cannot save multiple tensors or storages that view the same data as different "
                 "types (",
                 scalar_type_name(prev), " and ",
                 scalar_type_name(dtype.value_or(ScalarType::Byte)), ")");
    }
    const std::size_t index = slot;
    const bool untyped = !dtype || scalar_type_info(*dtype).storage_name.empty();
    const ScalarType dt = untyped ? ScalarType::Byte : *dtype;
    const std::size_t es = element_size(dt);
    p.push_opcode(OpCode::MARK);
    shared_string(p, storage_memo_, "storage");
    if (untyped)
      global(p, untyped_storage_, "torch.storage", "UntypedStorage");
    else
      global(p, dtype_memo(storage_class_, dt), "torch", scalar_type_info(dt).storage_name);
    shared_string(p, key_memo_[index], storages[index].key);
    // One str per location ("cpu"), found by device (printing it for every tensor was 3% here).
    std::size_t li = 0;
    while (li < location_memo_.size() && !(location_memo_[li].device == s.device())) ++li;
    if (li == location_memo_.size())
      location_memo_.push_back({s.device(), saved_location(s.device()), kNoMemo});
    shared_string(p, location_memo_[li].memo, location_memo_[li].str);
    p.push_int(static_cast<std::int64_t>(s.nbytes() / (es ? es : 1)));
    p.push_opcode(OpCode::TUPLE);
    p.push_next_binput();
    p.push_opcode(OpCode::BINPERSID);
  }

  static constexpr std::uint32_t kNoMemo = UINT32_MAX;

  // One str object: BINUNICODE + BINPUT the first time, BINGET after.
  static void shared_string(Pickler& p, std::uint32_t& memo, std::string_view s) {
    if (memo != kNoMemo) return p.push_binget(memo);
    p.push_opcode(OpCode::BINUNICODE);
    const auto n = static_cast<std::uint32_t>(s.size());
    const char len[4] = {static_cast<char>(n & 0xFF), static_cast<char>((n >> 8) & 0xFF),
                         static_cast<char>((n >> 16) & 0xFF), static_cast<char>(n >> 24)};
    p.write_raw({len, 4});
    p.write_raw(s);
    memo = p.push_next_binput();
  }

  // The Reducer's int_tuple: EMPTY_TUPLE, TUPLE1-3 or MARK ... TUPLE, memoized unless empty.
  static void int_tuple(Pickler& p, const std::vector<std::int64_t>& v) {
    if (v.empty()) return p.push_opcode(OpCode::EMPTY_TUPLE);
    if (v.size() > 3) p.push_opcode(OpCode::MARK);
    for (const std::int64_t x : v) p.push_int(x);
    p.push_opcode(v.size() == 1   ? OpCode::TUPLE1
                  : v.size() == 2 ? OpCode::TUPLE2
                  : v.size() == 3 ? OpCode::TUPLE3
                                  : OpCode::TUPLE);
    p.push_next_binput();
  }

  // A global written again and again: Pickler::push_global the first time (GLOBAL + BINPUT, or
  // BINGET when the pickle already holds it), BINGET of the remembered memo id after that, without
  // building and hashing its name for every tensor.
  static void global(Pickler& p, std::uint32_t& memo, std::string_view module,
                     std::string_view name) {
    if (memo != kNoMemo) return p.push_binget(memo);
    memo = p.push_global(module, name);
  }
  static std::uint32_t& dtype_memo(std::vector<std::pair<ScalarType, std::uint32_t>>& memos,
                                   ScalarType dt) {
    for (auto& [t, memo] : memos)
      if (t == dt) return memo;
    return memos.emplace_back(dt, kNoMemo).second;
  }

  void empty_ordered_dict(Pickler& p) {
    global(p, ordered_dict_, "collections", "OrderedDict");
    p.push_opcode(OpCode::EMPTY_TUPLE);
    p.push_opcode(OpCode::REDUCE);
    p.push_next_binput();
  }

  pickle::IdentityMap storage_index_;     // storage id -> index in storages
  std::vector<std::uint32_t> key_memo_;   // by storage index: memo id of its key str
  std::uint32_t storage_memo_ = kNoMemo;  // the one 'storage' str
  struct Location {
    Device device;
    std::string str;  // "cpu"
    std::uint32_t memo;
  };
  std::vector<Location> location_memo_;
  // Memo ids of the globals written so far (kNoMemo before the first).
  std::uint32_t rebuild_v2_ = kNoMemo, rebuild_v3_ = kNoMemo, rebuild_parameter_ = kNoMemo;
  std::uint32_t ordered_dict_ = kNoMemo, untyped_storage_ = kNoMemo;
  std::vector<std::pair<ScalarType, std::uint32_t>> storage_class_;  // FloatStorage, ...
  std::vector<std::pair<ScalarType, std::uint32_t>> dtype_global_;   // torch.float8_e4m3fn, ...
};

}  // namespace

std::optional<SavePickle> pickle_for_save_direct(
    const IValue& obj, const std::function<void(std::vector<PendingCrc32>)>& before_pickling) {
  std::size_t tensors = 0, items = 0, shared_values = 0, shared_storages = 0;
  {
    Scan scan;
    if (!scan.ok(obj, 0)) return std::nullopt;
    tensors = scan.tensors;
    items = scan.items;
    shared_values = scan.shared_values;
    shared_storages = scan.shared_storages;
    if (before_pickling) before_pickling(std::move(scan.to_checksum));
  }
  // Sized up front from the scan (a tensor takes ~100-200 pickle bytes and two memo entries:
  // itself and its key): fresh pages cost page faults, and regrowing copies.
  SavePickle out;
  VectorWriter w(out.data_pkl, 4096 + 192 * tensors + 16 * items);
  TensorWriter tw;
  tw.reserve(tensors, shared_storages);
  pickle::PicklerOptions o;
  o.dialect = pickle::Dialect::kPython;
  o.write_tensor = [&tw](Pickler& p, const Tensor& t) { tw.write(p, t); };
  // Every value written is part of `obj` (the tensor writer makes no IValues), which outlives
  // the pickle: no references need holding.
  o.keep_memoized = false;
  Pickler p(w, std::move(o));
  p.reserve_memo(shared_values + 16);
  p.dump(obj);
  w.commit();
  out.storages = std::move(tw.storages);
  return out;
}

}  // namespace ptio::detail
