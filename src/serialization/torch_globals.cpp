// torch._utils rebuild functions and the other globals of torch.save files (spec sections
// 3-4, 8.3).
#include "serialization/torch_globals.h"

#include <cctype>
#include <cstring>
#include <map>

#include "ptio/error.h"
#include "ptio/serialization/scan.h"

namespace ptio::detail {

std::string int_mismatch_name(const IValue& v) {
  return v.is_big_int() ? "an int beyond the int64 range" : std::string(v.kind_name());
}

namespace {

using Args = std::span<const IValue>;

void need_args(Args a, std::size_t lo, std::size_t hi, std::string_view fn) {
  PTIO_CHECK(a.size() >= lo && a.size() <= hi, ErrorCode::kPickleTypeError, fn, " takes ", lo,
             lo == hi ? std::string() : " to " + std::to_string(hi), " arguments, got ", a.size());
}

std::vector<std::int64_t> int_list(const IValue& v, std::string_view what) {
  const std::vector<IValue>* items = nullptr;
  if (v.is_tuple()) items = &v.as_tuple().elements();
  if (v.is_list()) items = &v.as_list().elements;
  PTIO_CHECK(items, ErrorCode::kPickleTypeError, what, " must be a tuple of ints, got ",
             v.kind_name());
  std::vector<std::int64_t> out;
  out.reserve(items->size());
  for (const IValue& x : *items) {
    PTIO_CHECK(x.is_int(), ErrorCode::kPickleTypeError, what, " must hold int64 values, got ",
               int_mismatch_name(x));
    out.push_back(x.as_int());
  }
  return out;
}

bool truthy(const IValue& v) {
  if (v.is_bool()) return v.as_bool();
  if (v.is_int()) return v.as_int() != 0;
  return !v.is_none();
}

// A bare global pushed by GLOBAL and never called: its `module.name` (borrowed from `v`).
std::pair<std::string_view, std::string_view> global_name(const IValue& v) {
  if (v.is_opaque() && v.as_opaque().kind == ivalue::Opaque::Kind::kGlobal)
    return {v.as_opaque().module, v.as_opaque().name};
  if (v.is_string()) {  // layouts arrive as strings in some writers ('torch.sparse_coo')
    const std::string_view s = v.as_string();
    const auto dot = s.rfind('.');
    return {dot == std::string_view::npos ? std::string_view() : s.substr(0, dot),
            s.substr(dot + 1)};
  }
  return {};
}

ScalarType dtype_arg(const IValue& v) {
  auto t = dtype_of(v);
  PTIO_CHECK(t.has_value(), ErrorCode::kBadDtype, "expected a dtype such as torch.float32, got ",
             v.kind_name());
  return *t;
}

Layout layout_arg(const IValue& v) {
  std::string name;
  if (v.is_opaque() && v.as_opaque().name == "_get_layout" && v.as_opaque().applied.size() == 1) {
    const IValue& a = v.as_opaque().applied[0].arg;
    if (a.is_tuple() && a.as_tuple().size() == 1 && a.as_tuple().elements()[0].is_string())
      name = a.as_tuple().elements()[0].as_string();
  } else {
    name = global_name(v).second;
  }
  if (name.starts_with("torch.")) name = name.substr(6);
  static const std::map<std::string, Layout, std::less<>> kLayouts = {
      {"strided", Layout::kStrided},      {"sparse_coo", Layout::kSparseCoo},
      {"sparse_csr", Layout::kSparseCsr}, {"sparse_csc", Layout::kSparseCsc},
      {"sparse_bsr", Layout::kSparseBsr}, {"sparse_bsc", Layout::kSparseBsc}};
  const auto it = kLayouts.find(name);
  PTIO_CHECK(it != kLayouts.end(), ErrorCode::kPickleTypeError, "unknown layout '", name, "'");
  return it->second;
}

const Storage& storage_arg(const IValue& v, std::string_view fn) {
  PTIO_CHECK(v.is_storage(), ErrorCode::kBadPersistentId, fn,
             ": the first argument must be a storage persistent id, got ", v.kind_name());
  return v.as_storage();
}

const Tensor& tensor_arg(const IValue& v, std::string_view what) {
  PTIO_CHECK(v.is_tensor(), ErrorCode::kPickleTypeError, what, " must be a tensor, got ",
             v.kind_name());
  return v.as_tensor();
}

Tensor strided(const Storage& s, ScalarType dtype, const IValue& offset, const IValue& size,
               const IValue& stride) {
  PTIO_CHECK(offset.is_int(), ErrorCode::kPickleTypeError, "storage_offset must be an int64, got ",
             int_mismatch_name(offset));
  return Tensor::make(s, dtype, int_list(size, "size"), int_list(stride, "stride"),
                      offset.as_int());
}

ScalarType storage_dtype(const Storage& s) {
  return s.dtype().value_or(ScalarType::Byte);
}

// _rebuild_tensor(storage, storage_offset, size, stride)
IValue rebuild_tensor(Args a) {
  need_args(a, 4, 4, "_rebuild_tensor");
  const Storage& s = storage_arg(a[0], "_rebuild_tensor");
  return strided(s, storage_dtype(s), a[1], a[2], a[3]);
}

// _rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, hooks[, metadata])
IValue rebuild_tensor_v2(Args a) {
  need_args(a, 6, 7, "_rebuild_tensor_v2");
  const Storage& s = storage_arg(a[0], "_rebuild_tensor_v2");
  Tensor t = strided(s, storage_dtype(s), a[1], a[2], a[3]);
  set_loaded_requires_grad(t, truthy(a[4]));
  return t;
}

// _rebuild_tensor_v3(storage, storage_offset, size, stride, requires_grad, hooks, dtype[, md])
IValue rebuild_tensor_v3(Args a) {
  need_args(a, 7, 8, "_rebuild_tensor_v3");
  const Storage& s = storage_arg(a[0], "_rebuild_tensor_v3");
  Tensor t = strided(s, dtype_arg(a[6]), a[1], a[2], a[3]);
  set_loaded_requires_grad(t, truthy(a[4]));
  return t;
}

// A tensor's Python state as torch._utils._set_obj_state applies it to torch.Tensor and
// nn.Parameter (classes without their own __setstate__): a dict of attributes, or a 2-tuple
// (dict or None, slots dict); anything else is "Invalid serialized state" (a tuple of another
// length) or fails in setattr (a non-str name, a state that is no dict). Kept as the file has it,
// but an empty or None state (Python 3.11 pickles an empty __dict__ as None) is no state.
bool empty_state(const IValue& state) {
  return state.is_none() || (state.is_dict() && state.as_dict().items().empty());
}

void check_default_state(const IValue& state, std::string_view fn) {
  auto attrs = [fn](const IValue& d, std::string_view what) {
    if (d.is_none()) return;
    PTIO_CHECK(d.is_dict(), ErrorCode::kPickleTypeError, fn, ": the ", what,
               " of a tensor's state must be a dict, got ", d.kind_name());
    for (const auto& [k, v] : d.as_dict().items())
      PTIO_CHECK(k.is_string(), ErrorCode::kPickleTypeError, fn,
                 ": attribute names must be str, got ", k.kind_name());
  };
  if (state.is_tuple()) {
    PTIO_CHECK(state.as_tuple().size() == 2, ErrorCode::kPickleTypeError, fn,
               ": invalid serialized state: a tuple of ", state.as_tuple().size(),
               " items (expected (dict, slots))");
    attrs(state.as_tuple().elements()[0], "__dict__");
    attrs(state.as_tuple().elements()[1], "slots");
    return;
  }
  attrs(state, "__dict__");
}

// _set_obj_state copies the attributes (setattr of each item): the tensor's state is a new dict
// holding the same values, so a later SETITEM on the pickle's dict does not reach it.
IValue copy_dict(const IValue& d) {
  if (!d.is_dict()) return d;
  IValue out = IValue::dict();
  ivalue::Dict& o = out.as_dict();
  for (const auto& [k, v] : d.as_dict().items()) o.insert_or_assign(k, v);
  o.ordered_dict = d.as_dict().ordered_dict;  // what a subclass's own __getstate__ gave
  o.build_state = d.as_dict().build_state;
  return out;
}

// What set_loaded_state's copies of the state at args[i] cost: a shared state dict of n entries
// reached by m tensors would otherwise make n * m entries from a small file.
std::uint64_t state_copy_bytes(const IValue& state) {
  constexpr std::uint64_t kEntry = 64;  // an entry, its hash and index slot
  const auto dict = [](const IValue& d) -> std::uint64_t {
    return d.is_dict() ? 96 + kEntry * d.as_dict().items().size() : 0;
  };
  if (state.is_tuple() && state.as_tuple().size() == 2)
    return dict(state.as_tuple().elements()[0]) + dict(state.as_tuple().elements()[1]);
  return dict(state);
}

std::uint64_t state_arg4_copy_bytes(Args a) {
  return a.size() == 4 ? state_copy_bytes(a[3]) : 0;
}

void set_loaded_state(Tensor& t, const IValue& state) {
  if (empty_state(state)) {
    t.set_python_state(IValue());
  } else if (state.is_tuple() && state.as_tuple().size() == 2) {
    const auto& e = state.as_tuple().elements();
    t.set_python_state(IValue::tuple({copy_dict(e[0]), copy_dict(e[1])}));
  } else {
    t.set_python_state(copy_dict(state));
  }
}

// _rebuild_parameter(data, requires_grad, hooks)
IValue rebuild_parameter(Args a) {
  need_args(a, 3, 3, "_rebuild_parameter");
  Tensor t = tensor_arg(a[0], "Parameter data");
  set_loaded_requires_grad(t, truthy(a[1]));
  t.set_is_parameter(true);
  return t;
}

// _rebuild_parameter_with_state(data, requires_grad, hooks, state) (torch >= 2.0, a Parameter
// with Python attributes): the state is set as _set_obj_state sets it.
IValue rebuild_parameter_with_state(Args a) {
  need_args(a, 4, 4, "_rebuild_parameter_with_state");
  check_default_state(a[3], "_rebuild_parameter_with_state");
  Tensor t = tensor_arg(a[0], "Parameter data");
  set_loaded_requires_grad(t, truthy(a[1]));
  t.set_is_parameter(true);
  set_loaded_state(t, a[3]);
  return t;
}

// torch.nn.Parameter(data, requires_grad=True) called by REDUCE (allowlisted under weights_only).
IValue make_parameter(Args a) {
  need_args(a, 1, 2, "torch.nn.Parameter");
  Tensor t = tensor_arg(a[0], "Parameter data");
  set_loaded_requires_grad(t, a.size() < 2 || truthy(a[1]));
  t.set_is_parameter(true);
  return t;
}

Tensor float_tensor_of(const IValue& v, ScalarType dt) {
  if (v.is_tensor()) return v.as_tensor();
  // Lists of numbers (older writers): make a contiguous tensor.
  std::vector<std::byte> bytes;
  const std::vector<IValue>* items = v.is_list()    ? &v.as_list().elements
                                     : v.is_tuple() ? &v.as_tuple().elements()
                                                    : nullptr;
  PTIO_CHECK(items, ErrorCode::kPickleTypeError, "per-channel parameters must be tensors or lists");
  for (const IValue& x : *items) {
    if (dt == ScalarType::Double) {
      const double d = x.as_double();
      const auto* p = reinterpret_cast<const std::byte*>(&d);
      bytes.insert(bytes.end(), p, p + 8);
    } else {
      const std::int64_t i = x.as_int();
      const auto* p = reinterpret_cast<const std::byte*>(&i);
      bytes.insert(bytes.end(), p, p + 8);
    }
  }
  return Tensor::from_bytes(dt, {static_cast<std::int64_t>(items->size())}, bytes);
}

// _rebuild_qtensor(storage, storage_offset, size, stride, quantizer_params, requires_grad, hooks)
IValue rebuild_qtensor(Args a) {
  need_args(a, 7, 7, "_rebuild_qtensor");
  const Storage& s = storage_arg(a[0], "_rebuild_qtensor");
  Tensor t = strided(s, storage_dtype(s), a[1], a[2], a[3]);
  PTIO_CHECK(a[4].is_tuple() && a[4].as_tuple().size() >= 1, ErrorCode::kPickleTypeError,
             "quantizer_params must be a tuple");
  const auto& q = a[4].as_tuple().elements();
  const std::string scheme(global_name(q[0]).second);
  Quantizer qz;
  if (scheme == "per_tensor_affine") {
    PTIO_CHECK(q.size() == 3, ErrorCode::kPickleTypeError, "per_tensor_affine takes 2 params");
    qz.qscheme = QScheme::kPerTensorAffine;
    qz.scale = q[1].as_double();
    qz.zero_point = q[2].as_int();
  } else if (scheme == "per_channel_affine" || scheme == "per_channel_affine_float_qparams") {
    PTIO_CHECK(q.size() == 4, ErrorCode::kPickleTypeError, scheme, " takes 3 params");
    qz.qscheme = QScheme::kPerChannelAffine;
    qz.scales = std::make_shared<const Tensor>(float_tensor_of(q[1], ScalarType::Double));
    qz.zero_points = std::make_shared<const Tensor>(float_tensor_of(q[2], ScalarType::Long));
    qz.axis = q[3].as_int();
    if (qz.zero_points->dtype() != ScalarType::Long)
      qz.qscheme = QScheme::kPerChannelAffineFloatQParams;
  } else {
    throw Error(ErrorCode::kPickleTypeError, "unsupported qscheme '" + scheme + "'");
  }
  t.set_quantizer(std::move(qz));
  set_loaded_requires_grad(t, truthy(a[5]));
  return t;
}

// torch._sparse_coo_tensor_unsafe's checks (SparseTensorImpl::set_indices_and_values_unsafe):
// the shapes of indices and values against `size`; the index values are checked later
// (SparseValidation), once the storages hold their bytes.
void check_coo_shapes(const Tensor& indices, const Tensor& values,
                      const std::vector<std::int64_t>& size) {
  PTIO_CHECK(indices.dtype() == ScalarType::Long, ErrorCode::kBadDtype,
             "sparse COO indices must be an int64 tensor, got ", scalar_type_name(indices.dtype()));
  PTIO_CHECK(indices.layout() == Layout::kStrided && values.layout() == Layout::kStrided,
             ErrorCode::kBadShape, "sparse COO indices and values must be dense tensors");
  PTIO_CHECK(indices.dim() == 2, ErrorCode::kBadShape,
             "sparse COO indices must be sparse_dim x nnz, but got ", indices.dim(), " dims");
  PTIO_CHECK(values.dim() >= 1, ErrorCode::kBadShape,
             "sparse COO values must have at least 1 dim (nnz), got a scalar");
  const std::int64_t sparse_dim = indices.sizes()[0], dense_dim = values.dim() - 1;
  PTIO_CHECK(static_cast<std::int64_t>(size.size()) == sparse_dim + dense_dim, ErrorCode::kBadShape,
             "number of dimensions must be sparse_dim (", sparse_dim, ") + dense_dim (", dense_dim,
             "), but got ", size.size());
  PTIO_CHECK(values.sizes()[0] == indices.sizes()[1], ErrorCode::kBadShape,
             "indices and values must have same nnz, but got nnz from indices: ",
             indices.sizes()[1], ", nnz from values: ", values.sizes()[0]);
  for (std::int64_t i = 0; i < dense_dim; ++i)
    PTIO_CHECK(values.sizes()[static_cast<std::size_t>(1 + i)] ==
                   size[static_cast<std::size_t>(sparse_dim + i)],
               ErrorCode::kBadShape, "values has incorrect size: dense dim ", i, " of the size is ",
               size[static_cast<std::size_t>(sparse_dim + i)], " but values have ",
               values.sizes()[static_cast<std::size_t>(1 + i)]);
}

// _rebuild_sparse_tensor(layout, data) and _rebuild_sparse_csr_tensor(layout, data)
IValue rebuild_sparse(Args a) {
  need_args(a, 2, 2, "_rebuild_sparse_tensor");
  const Layout layout = layout_arg(a[0]);
  PTIO_CHECK(a[1].is_tuple(), ErrorCode::kPickleTypeError, "sparse data must be a tuple");
  const auto& d = a[1].as_tuple().elements();
  if (layout == Layout::kSparseCoo) {
    PTIO_CHECK(d.size() == 3 || d.size() == 4, ErrorCode::kPickleTypeError,
               "sparse COO data takes 3 or 4 items");
    const Tensor& indices = tensor_arg(d[0], "indices");
    const Tensor& values = tensor_arg(d[1], "values");
    std::vector<std::int64_t> size = int_list(d[2], "size");
    check_coo_shapes(indices, values, size);
    Tensor t = Tensor::sparse(layout, values.dtype(), std::move(size), {indices, values});
    SparseValidation::enqueue(t);
    return t;
  }
  PTIO_CHECK(d.size() == 4, ErrorCode::kPickleTypeError, "compressed sparse data takes 4 items");
  const Tensor& values = tensor_arg(d[2], "values");
  return Tensor::sparse(
      layout, values.dtype(), int_list(d[3], "size"),
      {tensor_arg(d[0], "compressed indices"), tensor_arg(d[1], "plain indices"), values});
}

// _rebuild_meta_tensor_no_storage(dtype, size, stride[, requires_grad])
IValue rebuild_meta(Args a) {
  need_args(a, 3, 4, "_rebuild_meta_tensor_no_storage");
  Tensor t = Tensor::meta(dtype_arg(a[0]), int_list(a[1], "size"), int_list(a[2], "stride"));
  if (a.size() == 4) set_loaded_requires_grad(t, truthy(a[3]));
  return t;
}

// _rebuild_wrapper_subclass(cls, dtype, size, stride, storage_offset, layout, device,
// requires_grad)
IValue rebuild_wrapper_subclass(Args a) {
  need_args(a, 8, 8, "_rebuild_wrapper_subclass");
  Tensor t = Tensor::meta(dtype_arg(a[1]), int_list(a[2], "size"), int_list(a[3], "stride"));
  if (a[6].is_device()) t.set_device(a[6].as_device());
  set_loaded_requires_grad(t, truthy(a[7]));
  return t;
}

// _rebuild_device_tensor_from_cpu_tensor(cpu_tensor, dtype, device, requires_grad)
IValue rebuild_from_cpu_tensor(Args a) {
  need_args(a, 4, 4, "_rebuild_device_tensor_from_cpu_tensor");
  Tensor t = tensor_arg(a[0], "data");
  if (a[2].is_string()) t.set_device(Device::parse(a[2].as_string()));
  set_loaded_requires_grad(t, truthy(a[3]));
  return t;
}

// torch.Size((2, 3)) -> tuple; torch.device('cuda', 1) -> Device
IValue make_size(Args a) {
  need_args(a, 0, 1, "torch.Size");
  if (a.empty()) return IValue::tuple({});
  std::vector<IValue> items;
  for (auto v : int_list(a[0], "torch.Size")) items.emplace_back(v);
  return IValue::tuple(std::move(items));
}

IValue make_device(Args a) {
  need_args(a, 1, 2, "torch.device");
  PTIO_CHECK(a[0].is_string(), ErrorCode::kPickleTypeError, "torch.device takes a string");
  std::string s = a[0].as_string();
  if (a.size() == 2 && a[1].is_int()) s += ":" + std::to_string(a[1].as_int());
  return Device::parse(s);
}

IValue identity_layout(Args a) {
  // Keep `_get_layout('torch.sparse_coo')` as a string; layout_arg() reads it.
  need_args(a, 1, 1, "_get_layout");
  return a[0];
}

// torch._tensor._rebuild_from_type_v2(func, new_type, args, state) (spec 4.11): `func(*args)`,
// then the tensor becomes an instance of `new_type` with `state` set; the pre-1.11
// _rebuild_from_type(func, type, args, dict) is the same with a dict state. ptio has no Python
// classes: it records `new_type`'s name (Tensor::python_type) and the state (python_state).
// torch.Tensor records nothing (PyTorch >= 2.0 sets the attributes of a plain tensor; 1.13 drops
// them), torch.nn.Parameter makes the tensor a parameter (as_subclass(Parameter)).
IValue rebuild_from_type(Args a, std::string_view fn) {
  need_args(a, 4, 4, fn);
  const IValue& f = a[0];
  PTIO_CHECK(f.is_opaque() && f.as_opaque().kind == ivalue::Opaque::Kind::kGlobal &&
                 f.as_opaque().applied.empty(),
             ErrorCode::kPickleTypeError, fn, ": func must be a global, got ", f.kind_name());
  const TorchGlobal* g = find_torch_global(f.as_opaque().module, f.as_opaque().name);
  PTIO_CHECK(g && g->call, ErrorCode::kUnsafeGlobal, fn, " calls ", f.as_opaque().qualified_name(),
             ", which is not a rebuild function");
  const IValue& type = a[1];
  PTIO_CHECK(type.is_opaque() && type.as_opaque().kind == ivalue::Opaque::Kind::kGlobal &&
                 type.as_opaque().applied.empty(),
             ErrorCode::kPickleTypeError, fn, ": new_type must be a class (a global), got ",
             type.kind_name());
  PTIO_CHECK(a[2].is_tuple(), ErrorCode::kPickleTypeError, fn, ": args must be a tuple, got ",
             a[2].kind_name());
  const std::string& module = type.as_opaque().module;
  const std::string& cls = type.as_opaque().name;
  const bool plain = (module == "torch" || module == "torch._tensor") && cls == "Tensor";
  const bool parameter =
      (module == "torch.nn.parameter" || module == "torch.nn") && cls == "Parameter";
  // as_subclass needs a Tensor subclass: PyTorch refuses the classes it knows are none
  // (torch.FloatTensor, storage classes, torch.Size, dtypes, builtins...) with a TypeError.
  PTIO_CHECK(plain || parameter ||
                 (find_torch_global(module, cls) == nullptr && module != "builtins" &&
                  module != "__builtin__" && module != "collections" && module != "_codecs"),
             ErrorCode::kPickleTypeError, fn, ": new_type ", module, ".", cls,
             " is not a Tensor subclass (as_subclass refuses it)");
  // Nor is a global the scan judges dangerous (a callable that runs code: subprocess.Popen,
  // functools.partial, torch.load...): as_subclass refuses it too, and keeping it would write
  // it into every copy ptio saves.
  std::string why;
  PTIO_CHECK(plain || parameter || classify_global(module, cls, &why) != GlobalClass::kDangerous,
             ErrorCode::kUnsafeGlobal, fn, ": new_type ", module, ".", cls,
             " is no Tensor subclass but a global that runs code (", why, "); it is never kept");
  // The classes ptio knows have no __setstate__ of their own: their state must be what
  // _set_obj_state applies. A subclass may define __setstate__: its state is kept as it is.
  if (plain || parameter) check_default_state(a[3], fn);
  IValue out = g->call(a[2].as_tuple().elements());
  PTIO_CHECK(out.is_tensor(), ErrorCode::kPickleTypeError, fn, ": ", f.as_opaque().qualified_name(),
             " gave a ", out.kind_name(), ", not a tensor");
  Tensor t = out.as_tensor();
  // as_subclass: torch.Tensor makes a Parameter a plain tensor (PyTorch >= 2.0; 1.13 returned
  // func(*args) unchanged), torch.nn.Parameter makes any tensor a parameter.
  if (plain || parameter) t.set_is_parameter(parameter);
  t.set_python_type(plain || parameter ? QualifiedName() : QualifiedName(module, cls));
  set_loaded_state(t, a[3]);
  return out;
}

std::map<std::string, TorchGlobal, std::less<>>& table() {
  static std::map<std::string, TorchGlobal, std::less<>> t = [] {
    std::map<std::string, TorchGlobal, std::less<>> m;
    auto fn = [&](std::string name, auto f, bool safe = true) {
      m[std::move(name)] = TorchGlobal{f, safe};
    };
    fn("torch._utils._rebuild_tensor", rebuild_tensor);
    fn("torch._utils._rebuild_tensor_v2", rebuild_tensor_v2);
    fn("torch._utils._rebuild_tensor_v3", rebuild_tensor_v3);
    fn("torch._utils._rebuild_parameter", rebuild_parameter);
    fn("torch._utils._rebuild_parameter_with_state", rebuild_parameter_with_state);
    m["torch._utils._rebuild_parameter_with_state"].copy_bytes = state_arg4_copy_bytes;
    fn("torch.nn.parameter.Parameter", make_parameter);
    fn("torch._utils._rebuild_qtensor", rebuild_qtensor);
    fn("torch._utils._rebuild_sparse_tensor", rebuild_sparse);
    fn("torch._utils._rebuild_sparse_csr_tensor", rebuild_sparse);
    fn("torch._utils._rebuild_meta_tensor_no_storage", rebuild_meta);
    fn("torch._utils._rebuild_wrapper_subclass", rebuild_wrapper_subclass);
    fn("torch._utils._rebuild_device_tensor_from_cpu_tensor", rebuild_from_cpu_tensor);
    fn("torch._utils._rebuild_device_tensor_from_numpy", rebuild_device_tensor_from_numpy);
    fn("torch._utils._rebuild_xla_tensor", rebuild_device_tensor_from_numpy);
    fn("torch.Size", make_size);
    fn("torch.device", make_device);
    fn("torch.serialization._get_layout", identity_layout);
    for (const char* n :
         {"per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
          "per_channel_symmetric", "per_channel_affine_float_qparams", "Tensor", "strided",
          "sparse_coo", "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc"})
      m[std::string("torch.") + n] = TorchGlobal{};
    for (const auto& info : all_scalar_types())
      m["torch." + std::string(info.name)] = TorchGlobal{};
    for (const char* alias :
         {"float", "double", "half", "long", "int", "short", "cfloat", "cdouble", "chalf", "bool"})
      m[std::string("torch.") + alias] = TorchGlobal{};
    return m;
  }();
  return t;
}

// PyTorch's requires_grad setter (AutogradMeta::set_requires_grad): floating and complex only.
void check_requires_grad_dtype(ScalarType dtype, bool requires_grad, std::string_view then) {
  if (!requires_grad) return;
  const ScalarTypeInfo& info = scalar_type_info(dtype);
  PTIO_CHECK(info.is_floating || info.is_complex, ErrorCode::kBadDtype,
             "only Tensors of floating point and complex dtype can require gradients, but this ",
             scalar_type_name(dtype), " tensor has requires_grad=True", then);
}

thread_local SparseValidation* t_sparse_validation = nullptr;

}  // namespace

void set_loaded_requires_grad(Tensor& t, bool requires_grad) {
  check_requires_grad_dtype(t.dtype(), requires_grad, "");
  t.set_requires_grad(requires_grad);
}

void check_saved_requires_grad(const Tensor& t) {
  check_requires_grad_dtype(t.dtype(), t.requires_grad(),
                            " (PyTorch would refuse to load it): nothing is written");
}

SparseValidation::SparseValidation(std::string record)
    : record_(std::move(record)), outer_(t_sparse_validation) {
  t_sparse_validation = this;
}

SparseValidation::~SparseValidation() {
  t_sparse_validation = outer_;
}

void SparseValidation::enqueue(const Tensor& t) {
  if (t_sparse_validation) t_sparse_validation->pending_.push_back(t);
}

void SparseValidation::finish() {
  std::vector<Tensor> pending = std::move(pending_);
  pending_.clear();
  for (const Tensor& t : pending) {
    const Tensor& indices = t.sparse_components().at(0);
    const std::int64_t sparse_dim = indices.sizes()[0], nnz = indices.sizes()[1];
    if (sparse_dim == 0 || nnz == 0) continue;
    const auto* base = reinterpret_cast<const std::byte*>(indices.data_ptr());
    const std::int64_t s0 = indices.strides()[0], s1 = indices.strides()[1];
    // A stride of 0 repeats one element: read it once (an expanded view can have 2^62 of them).
    const std::int64_t n = s1 == 0 ? 1 : nnz;
    for (std::int64_t dim = 0; dim < sparse_dim; ++dim) {
      std::int64_t lo = 0, hi = 0;
      for (std::int64_t j = 0; j < n; ++j) {
        std::int64_t v = 0;
        std::memcpy(&v, base + 8 * (dim * s0 + j * s1), 8);
        if (j == 0 || v < lo) lo = v;
        if (j == 0 || v > hi) hi = v;
      }
      const std::int64_t size = t.sizes()[static_cast<std::size_t>(dim)];
      if (lo < 0)
        throw Error(ErrorCode::kBadShape,
                    "sparse COO tensor: found negative index " + std::to_string(lo) + " for dim " +
                        std::to_string(dim) + " (torch.load refuses it)",
                    {}, record_);
      if (hi >= size)
        throw Error(ErrorCode::kBadShape,
                    "sparse COO tensor: size is inconsistent with indices: for dim " +
                        std::to_string(dim) + ", size is " + std::to_string(size) +
                        " but found index " + std::to_string(hi) + " (torch.load refuses it)",
                    {}, record_);
    }
  }
}

bool is_storage_class_name(std::string_view name) {
  return name == "UntypedStorage" || name == "TypedStorage" ||
         scalar_type_from_storage_name(name).has_value();
}

bool is_tensor_class_name(std::string_view name) {
  if (name == "Tensor") return true;
  if (!name.ends_with("Tensor")) return false;
  const std::string storage = std::string(name.substr(0, name.size() - 6)) + "Storage";
  return scalar_type_from_storage_name(storage).has_value();
}

std::optional<ScalarType> storage_class_dtype(const IValue& cls) {
  const auto [module, name] = global_name(cls);
  PTIO_CHECK(name.find("Storage") != std::string_view::npos, ErrorCode::kBadDtype,
             "persistent id names storage class '", module, ".", name,
             "', which is not a storage class");
  if (name == "UntypedStorage" || name == "TypedStorage") return std::nullopt;
  auto t = scalar_type_from_storage_name(name);
  PTIO_CHECK(t.has_value(), ErrorCode::kBadDtype, "unknown storage class '", module, ".", name,
             "'");
  return t;
}

const TorchGlobal* find_torch_global(std::string_view module, std::string_view name) {
  // torch.load remaps the module `torch.tensor` to `torch._tensor` (PR #51633).
  if (module == "torch._tensor" || module == "torch.tensor") {
    // _rebuild_from_type_v2 is on newest PyTorch's weights-only allowlist; the pre-1.11
    // _rebuild_from_type is not (weights_only loading refuses it).
    static const TorchGlobal from_type_v2{
        [](Args a) { return rebuild_from_type(a, "_rebuild_from_type_v2"); }, true,
        state_arg4_copy_bytes};
    static const TorchGlobal from_type{
        [](Args a) { return rebuild_from_type(a, "_rebuild_from_type"); }, false,
        state_arg4_copy_bytes};
    if (name == "_rebuild_from_type_v2") return &from_type_v2;
    if (name == "_rebuild_from_type") return &from_type;
  }
  std::string full = std::string(module) + "." + std::string(name);
  const auto& t = table();
  const auto it = t.find(full);
  if (it != t.end()) return &it->second;
  // Storage classes by their exact names (spec 3.3; the weights-only allowlist registers each
  // class, not a pattern): `_rebuild_tensor_ShortStoragev2` is not a storage class.
  if (is_storage_class_name(name) && (module == "torch" || module.starts_with("torch."))) {
    static const TorchGlobal storage_class{};
    return &storage_class;
  }
  if (is_tensor_class_name(name) && (module == "torch" || module == "torch.cuda")) {
    static const TorchGlobal tensor_class{};
    return &tensor_class;
  }
  return nullptr;
}

bool is_blocked_module(std::string_view module) {
  return module == "sys" || module == "os" || module == "posix" || module == "nt" ||
         module.starts_with("os.") || module.starts_with("sys.");
}

}  // namespace ptio::detail

namespace ptio {

std::optional<ScalarType> dtype_of(const IValue& v) {
  if (!v.is_opaque()) return std::nullopt;
  const auto& o = v.as_opaque();
  if (o.kind != ivalue::Opaque::Kind::kGlobal || o.module != "torch" || !o.applied.empty())
    return std::nullopt;
  return scalar_type_from_name(o.name);
}

}  // namespace ptio
