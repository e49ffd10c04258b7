// torch.save's object reduction: Tensor.__reduce_ex__, Parameter.__reduce_ex__, persistent_id.
#include "serialization/save_reduce.h"

#include <map>
#include <set>
#include <unordered_map>

#include "ptio/error.h"
#include "serialization/torch_globals.h"

namespace ptio::detail {

namespace {

class Reducer {
 public:
  explicit Reducer(bool legacy) : legacy_(legacy) {}

  IValue reduce(const IValue& v, int depth);
  std::vector<StorageRecord> storages;
  // The reduced containers, for SaveReduction::created.
  std::vector<IValue> created() const {
    std::vector<IValue> out;
    out.reserve(done_.size());
    for (const auto& [id, v] : done_) out.push_back(v);
    return out;
  }

 private:
  IValue global(std::string_view module, std::string_view name) {
    // One shared value per global (the key is built in a reused buffer: no allocation per call).
    global_key_.assign(module).append(".").append(name);
    auto it = globals_.find(global_key_);
    if (it == globals_.end())
      it = globals_.emplace(global_key_, IValue::opaque(std::string(module), std::string(name)))
               .first;
    return it->second;
  }
  // A call `module.name(*args)`: CPython's save_reduce of a callable global.
  IValue call(const std::string& module, const std::string& name, std::vector<IValue> args) {
    IValue o = IValue::opaque(module, name);
    o.as_opaque().applied.push_back({ivalue::Op::kReduce, IValue::tuple(std::move(args))});
    return o;
  }
  IValue shared_string(const std::string& s) { return shared_string(s, s); }
  IValue shared_string(const std::string& slot_name, const std::string& s) {
    auto& slot = strings_[slot_name];
    if (slot.is_none()) slot = IValue(s);
    return slot;
  }
  static IValue int_tuple(const std::vector<std::int64_t>& v) {
    std::vector<IValue> items;
    items.reserve(v.size());
    for (auto x : v) items.emplace_back(x);
    return IValue::tuple(std::move(items));
  }
  static IValue empty_ordered_dict() {
    IValue d = IValue::dict();
    d.as_dict().ordered_dict = true;
    return d;
  }
  IValue persistent_id(const Storage& s, std::optional<ScalarType> dtype);
  // The shared str of a storage's location tag ("cpu"); the last one is cached.
  IValue location_string(const Storage& s) {
    std::string loc = s.device().str();
    if (last_location_value_.is_none() || loc != last_location_) {
      last_location_value_ = shared_string(saved_location(s.device()));
      last_location_ = std::move(loc);
    }
    return last_location_value_;
  }
  // `depth`: the nesting of the value holding `t` (a tensor's python_state can hold tensors).
  IValue reduce_tensor(const Tensor& t, int depth = 0);
  IValue reduce_dense(const Tensor& t, bool requires_grad);
  IValue wrap_python_type(const Tensor& t, IValue reduced, int depth);

  bool legacy_;
  std::unordered_map<const void*, std::size_t> storage_index_;
  std::unordered_map<const void*, IValue> done_;  // container / tensor identity -> reduced value
  std::set<const void*> in_progress_;             // tensors whose reduction has begun
  std::unordered_map<std::string, IValue> globals_;
  std::string global_key_;
  std::unordered_map<std::string, IValue> strings_;
  std::set<std::string> used_keys_;  // legacy only: zip keys are the counter 0, 1, 2...
  std::vector<IValue> key_strings_;  // zip: the one str object per storage key, by storage index
  std::string last_location_;        // s.device().str() of the last storage, and its shared str
  IValue last_location_value_;
};

IValue Reducer::persistent_id(const Storage& s, std::optional<ScalarType> dtype) {
  auto it = storage_index_.find(s.id());
  if (it == storage_index_.end()) {
    StorageRecord r;
    if (!legacy_) {
      r.key = std::to_string(storages.size());  // every earlier key is a smaller counter value
    } else if (!s.key().empty() && used_keys_.insert(s.key()).second) {
      r.key = s.key();  // a legacy file's own key (a pointer value): a re-save reproduces it
    } else {
      std::size_t n = storages.size();
      while (!used_keys_.insert(std::to_string(n)).second) ++n;
      r.key = std::to_string(n);
    }
    r.storage = s;
    r.dtype = dtype.value_or(ScalarType::Byte);
    it = storage_index_.emplace(s.id(), storages.size()).first;
    if (!legacy_) key_strings_.emplace_back(r.key);
    storages.push_back(std::move(r));
  } else if (s.nbytes() > 0) {
    const ScalarType prev = storages[it->second].dtype;
    PTIO_CHECK(prev == dtype.value_or(ScalarType::Byte), ErrorCode::kBadStorage,
               "cannot save multiple tensors or storages that view the same data as different "
               "types (",
               scalar_type_name(prev), " and ", scalar_type_name(dtype.value_or(ScalarType::Byte)),
               ")");
  }
  const StorageRecord& r = storages[it->second];
  const bool untyped = !dtype || scalar_type_info(*dtype).storage_name.empty();
  const ScalarType dt = untyped ? ScalarType::Byte : *dtype;
  const std::size_t es = element_size(dt);
  std::vector<IValue> pid = {
      shared_string("storage"),
      untyped ? global("torch.storage", "UntypedStorage")
              : global("torch", std::string(scalar_type_info(dt).storage_name)),
      // zip: one str object per storage (`id_map.setdefault`), so later references are BINGETs;
      // legacy: `str(storage._cdata)` makes a new str object on every reference.
      legacy_ ? IValue(r.key) : key_strings_[it->second], location_string(s),
      IValue(static_cast<std::int64_t>(s.nbytes() / (es ? es : 1)))};
  if (legacy_) pid.emplace_back();
  return IValue::persistent_id(IValue::tuple(std::move(pid)));
}

IValue Reducer::reduce_dense(const Tensor& t, bool requires_grad) {
  const ScalarType dt = t.dtype();
  const bool v3 = scalar_type_info(dt).storage_name.empty();
  if (t.is_meta()) {
    return call("torch._utils", "_rebuild_meta_tensor_no_storage",
                {global("torch", std::string(scalar_type_name(dt))), int_tuple(t.sizes()),
                 int_tuple(t.strides()), IValue(requires_grad)});
  }
  IValue pid = persistent_id(t.storage(), v3 ? std::nullopt : std::optional<ScalarType>(dt));
  if (const auto& q = t.quantizer()) {
    IValue params;
    if (q->qscheme == QScheme::kPerTensorAffine) {
      params = IValue::tuple(
          {global("torch", "per_tensor_affine"), IValue(q->scale), IValue(q->zero_point)});
    } else {
      PTIO_CHECK(q->scales && q->zero_points, ErrorCode::kBadShape,
                 "per-channel quantized tensor without scales/zero_points");
      params = IValue::tuple({global("torch", "per_channel_affine"), reduce_tensor(*q->scales),
                              reduce_tensor(*q->zero_points), IValue(q->axis)});
    }
    return call("torch._utils", "_rebuild_qtensor",
                {pid, IValue(t.storage_offset()), int_tuple(t.sizes()), int_tuple(t.strides()),
                 params, IValue(requires_grad), empty_ordered_dict()});
  }
  std::vector<IValue> args = {pid,
                              IValue(t.storage_offset()),
                              int_tuple(t.sizes()),
                              int_tuple(t.strides()),
                              IValue(requires_grad),
                              empty_ordered_dict()};
  if (v3) {
    args.push_back(global("torch", std::string(scalar_type_name(dt))));
    return call("torch._utils", "_rebuild_tensor_v3", std::move(args));
  }
  return call("torch._utils", "_rebuild_tensor_v2", std::move(args));
}

IValue Reducer::reduce_tensor(const Tensor& t, int depth) {
  const auto hit = done_.find(t.id());
  if (hit != done_.end()) return hit->second;
  check_saved_requires_grad(t);
  // A state holding the tensor itself (only a crafted file makes one): CPython's pickler recurses
  // until RecursionError, as the tensor is memoized only after its REDUCE.
  PTIO_CHECK(
      in_progress_.insert(t.id()).second, ErrorCode::kPickleTypeError,
      "a tensor's python_state holds the tensor itself; torch.save cannot write that either");
  IValue out;
  if (t.is_sparse()) {
    std::vector<IValue> parts;
    for (const Tensor& c : t.sparse_components()) parts.push_back(reduce_tensor(c));
    IValue size = call("torch", "Size", {int_tuple(t.sizes())});
    parts.push_back(size);
    const std::string layout(layout_name(t.layout()));
    IValue lay = call("torch.serialization", "_get_layout", {IValue(layout)});
    // 1.13 writes CSR through _rebuild_sparse_csr_tensor; COO through _rebuild_sparse_tensor.
    const bool csr = t.layout() == Layout::kSparseCsr;
    out = call("torch._utils", csr ? "_rebuild_sparse_csr_tensor" : "_rebuild_sparse_tensor",
               {lay, IValue::tuple(std::move(parts))});
  } else if (t.is_parameter()) {
    // Parameter.__reduce_ex__: (_rebuild_parameter, (self.data, requires_grad, OrderedDict()))
    out = call("torch._utils", "_rebuild_parameter",
               {reduce_dense(t, false), IValue(t.requires_grad()), empty_ordered_dict()});
  } else {
    out = reduce_dense(t, t.requires_grad());
  }
  out = wrap_python_type(t, std::move(out), depth);
  in_progress_.erase(t.id());
  done_.emplace(t.id(), out);
  return out;
}

// Tensor.__reduce_ex__ for a subclass or a tensor with attributes (PyTorch >= 2.0; spec 4.11):
// (_rebuild_from_type_v2, (func, type(self), args, state)) around the plain reduction. A
// Parameter with attributes is written the same way with new_type nn.Parameter, not as
// torch >= 2.0's _rebuild_parameter_with_state, which PyTorch 1.11-1.13 cannot load (no such
// function); every version loads the _rebuild_from_type_v2 form with the attributes set.
IValue Reducer::wrap_python_type(const Tensor& t, IValue reduced, int depth) {
  const QualifiedName& type = t.python_type();
  const IValue& state = t.python_state();
  if (type.empty() && state.is_none()) return reduced;
  const ivalue::Opaque& f = reduced.as_opaque();
  IValue func = global(f.module, f.name);
  IValue args = f.applied.at(0).arg;
  IValue cls = !type.empty()      ? global(type.prefix(), type.name())
               : t.is_parameter() ? global("torch.nn.parameter", "Parameter")
                                  : global("torch", "Tensor");
  // An empty __dict__ is `{}` (Python 3.11 pickles None, which 1.13's _rebuild_from_type_v2
  // cannot load: it calls None.items()).
  IValue st = state.is_none() ? IValue::dict() : reduce(state, depth + 1);
  return call("torch._tensor", "_rebuild_from_type_v2",
              {std::move(func), std::move(cls), std::move(args), std::move(st)});
}

IValue Reducer::reduce(const IValue& v, int depth) {
  PTIO_CHECK(depth < 10000, ErrorCode::kLimitExceeded, "object nested deeper than 10000 levels");
  switch (v.kind()) {
    case IValue::Kind::Tensor:
      return reduce_tensor(v.as_tensor(), depth);
    case IValue::Kind::Storage: {
      const Storage& s = v.as_storage();
      return persistent_id(s, s.dtype());
    }
    case IValue::Kind::Device: {
      const Device& d = v.as_device();
      std::vector<IValue> args = {IValue(d.type_name())};
      if (d.has_index()) args.emplace_back(static_cast<std::int64_t>(d.index()));
      return call("torch", "device", std::move(args));
    }
    default:
      break;
  }
  if (!v.is_heap()) return v;
  if (v.is_string() || v.is_bytes() || v.is_big_int() || v.is_complex()) return v;
  const auto hit = done_.find(v.identity());
  if (hit != done_.end()) return hit->second;
  if (v.is_list()) {
    IValue out = IValue::list();
    done_.emplace(v.identity(), out);
    auto& dst = out.as_list();
    dst.type_tag = v.as_list().type_tag;
    for (const IValue& x : v.as_list().elements) dst.elements.push_back(reduce(x, depth + 1));
    return out;
  }
  if (v.is_dict()) {
    IValue out = IValue::dict();
    done_.emplace(v.identity(), out);
    auto& dst = out.as_dict();
    const auto& src = v.as_dict();
    dst.ordered_dict = src.ordered_dict;
    dst.type_tag = src.type_tag;
    for (const auto& [k, x] : src.items())
      dst.insert_or_assign(reduce(k, depth + 1), reduce(x, depth + 1));
    if (!src.build_state.is_none()) dst.build_state = reduce(src.build_state, depth + 1);
    return out;
  }
  if (v.is_tuple()) {
    std::vector<IValue> items;
    for (const IValue& x : v.as_tuple().elements()) items.push_back(reduce(x, depth + 1));
    IValue out = IValue::tuple(std::move(items));
    done_.emplace(v.identity(), out);
    return out;
  }
  if (v.is_opaque()) {
    const auto& src = v.as_opaque();
    IValue out = IValue::opaque(src.module, src.name);
    done_.emplace(v.identity(), out);
    auto& dst = out.as_opaque();
    dst.kind = src.kind;
    if (!src.persistent_id.is_none()) dst.persistent_id = reduce(src.persistent_id, depth + 1);
    for (const auto& a : src.applied) dst.applied.push_back({a.op, reduce(a.arg, depth + 1)});
    return out;
  }
  if (v.is_object()) {
    const auto& src = v.as_object();
    IValue out = IValue::object(src.type);
    done_.emplace(v.identity(), out);
    auto& dst = out.as_object();
    for (const auto& [k, x] : src.attributes) dst.set_attribute(k, reduce(x, depth + 1));
    if (src.has_state) {
      dst.state = reduce(src.state, depth + 1);
      dst.has_state = true;
    }
    return out;
  }
  if (v.is_set()) {
    // Tensors in a set or frozenset (torch.save pickles them by their identity hash): reduced
    // like a list's items, the set rebuilt around the reduced items.
    IValue out = v.kind() == IValue::Kind::FrozenSet ? IValue::frozenset() : IValue::set();
    done_.emplace(v.identity(), out);
    for (const IValue& x : v.as_set().items()) out.as_set().insert(reduce(x, depth + 1));
    return out;
  }
  return v;  // enums: no tensors inside in torch.save files
}

}  // namespace

SaveReduction reduce_for_save(const IValue& obj, bool legacy) {
  Reducer r(legacy);
  SaveReduction out;
  out.tree = r.reduce(obj, 0);
  out.storages = std::move(r.storages);
  out.created = r.created();
  return out;
}

SaveReduction::~SaveReduction() {
  for (IValue& v : created) {
    if (v.is_list()) {
      v.as_list().elements.clear();
    } else if (v.is_dict()) {
      v.as_dict().clear();
      v.as_dict().build_state = IValue();
    } else if (v.is_opaque()) {
      ivalue::Opaque& o = v.as_opaque();
      o.persistent_id = IValue();
      o.applied.clear();
    } else if (v.is_object()) {
      ivalue::Object& o = v.as_object();
      o.attributes.clear();
      o.state = IValue();
    } else if (v.is_set()) {
      v.as_set().clear();
    }
  }
}

}  // namespace ptio::detail
