// numpy ndarrays inside torch.save files (`_rebuild_device_tensor_from_numpy`, spec 3.6 and 4.8).
#include <cstring>

#include "ptio/error.h"
#include "serialization/byte_order.h"
#include "serialization/torch_globals.h"

namespace ptio::detail {

namespace {

// The argument of the application `op` on an Opaque, or nullptr.
const IValue* applied_arg(const IValue& v, ivalue::Op op) {
  if (!v.is_opaque()) return nullptr;
  for (const auto& a : v.as_opaque().applied)
    if (a.op == op) return &a.arg;
  return nullptr;
}

const std::vector<IValue>& tuple_items(const IValue* v, std::size_t min, const char* what) {
  PTIO_CHECK(v && v->is_tuple() && v->as_tuple().size() >= min, ErrorCode::kPickleTypeError,
             "numpy ", what, " has an unexpected shape");
  return v->as_tuple().elements();
}

// numpy.dtype('f4', False, True) + BUILD (3, '<', ...): the element type and byte order.
std::pair<ScalarType, bool> numpy_dtype(const IValue& d) {
  PTIO_CHECK(d.is_opaque() && d.as_opaque().name == "dtype", ErrorCode::kPickleTypeError,
             "expected a numpy.dtype, got ", d.kind_name());
  const auto& args = tuple_items(applied_arg(d, ivalue::Op::kReduce), 1, "dtype arguments");
  PTIO_CHECK(args[0].is_string(), ErrorCode::kPickleTypeError, "numpy dtype code must be a str");
  const std::string& code = args[0].as_string();
  static const std::pair<const char*, ScalarType> kCodes[] = {
      {"f2", ScalarType::Half},         {"f4", ScalarType::Float},
      {"f8", ScalarType::Double},       {"i1", ScalarType::Char},
      {"i2", ScalarType::Short},        {"i4", ScalarType::Int},
      {"i8", ScalarType::Long},         {"u1", ScalarType::Byte},
      {"b1", ScalarType::Bool},         {"u2", ScalarType::UInt16},
      {"u4", ScalarType::UInt32},       {"u8", ScalarType::UInt64},
      {"c8", ScalarType::ComplexFloat}, {"c16", ScalarType::ComplexDouble}};
  for (const auto& [c, t] : kCodes) {
    if (code != c) continue;
    bool big = false;
    if (const IValue* st = applied_arg(d, ivalue::Op::kBuild)) {
      const auto& s = tuple_items(st, 2, "dtype state");
      big = s[1].is_string() && s[1].as_string() == ">";
    }
    return {t, big};
  }
  throw Error(ErrorCode::kBadDtype, "numpy dtype '" + code + "' has no PyTorch equivalent");
}

std::uint16_t float_to_bfloat16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  if ((u & 0x7fffffffu) > 0x7f800000u) return static_cast<std::uint16_t>((u >> 16) | 0x40);  // NaN
  u += 0x7fffu + ((u >> 16) & 1u);  // round to nearest even, as c10::BFloat16 does
  return static_cast<std::uint16_t>(u >> 16);
}

}  // namespace

Tensor tensor_from_numpy(const IValue& arr) {
  PTIO_CHECK(arr.is_opaque() && arr.as_opaque().name == "_reconstruct", ErrorCode::kPickleTypeError,
             "expected a numpy array (numpy.core.multiarray._reconstruct), got ", arr.kind_name());
  const auto& st = tuple_items(applied_arg(arr, ivalue::Op::kBuild), 5, "array state");
  const auto [dtype, big] = numpy_dtype(st[2]);
  std::vector<std::int64_t> shape;
  for (const IValue& x : tuple_items(&st[1], 0, "shape")) {
    PTIO_CHECK(x.is_int() && x.as_int() >= 0, ErrorCode::kBadShape, "numpy shape must hold ints");
    shape.push_back(x.as_int());
  }
  PTIO_CHECK(st[4].is_bytes(), ErrorCode::kPickleTypeError,
             "numpy array data must be bytes (object arrays are not tensors)");
  const std::string_view raw = st[4].as_bytes();
  std::vector<std::byte> data(reinterpret_cast<const std::byte*>(raw.data()),
                              reinterpret_cast<const std::byte*>(raw.data()) + raw.size());
  if (big) swap_bytes(data, dtype);
  std::vector<std::int64_t> strides = contiguous_strides(shape);
  if (st[3].is_bool() && st[3].as_bool()) {  // Fortran order: first index varies fastest
    std::int64_t s = 1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
      strides[i] = s;
      s *= shape[i] > 1 ? shape[i] : 1;
    }
  }
  return Tensor::make(Storage::from_bytes(std::move(data)), dtype, std::move(shape),
                      std::move(strides), 0);
}

IValue rebuild_device_tensor_from_numpy(std::span<const IValue> a) {
  PTIO_CHECK(a.size() == 4, ErrorCode::kPickleTypeError,
             "_rebuild_device_tensor_from_numpy takes 4 arguments, got ", a.size());
  Tensor t = tensor_from_numpy(a[0]);
  const auto want = dtype_of(a[1]);
  if (want && *want != t.dtype()) {
    // bfloat16 travels as float32 (numpy has no bfloat16); other dtypes must match.
    PTIO_CHECK(*want == ScalarType::BFloat16 && t.dtype() == ScalarType::Float,
               ErrorCode::kBadDtype, "numpy data of ", scalar_type_name(t.dtype()),
               " cannot become ", scalar_type_name(*want));
    const Tensor c = t.contiguous();
    const auto f = c.data<float>();
    std::vector<std::byte> out(f.size() * 2);
    for (std::size_t i = 0; i < f.size(); ++i) {
      const std::uint16_t b = float_to_bfloat16(f[i]);
      std::memcpy(out.data() + 2 * i, &b, 2);
    }
    t = Tensor::from_bytes(ScalarType::BFloat16, c.sizes(), out);
  }
  if (a[2].is_string()) t.set_device(Device::parse(a[2].as_string()));
  set_loaded_requires_grad(t, a[3].is_bool() && a[3].as_bool());
  return t;
}

}  // namespace ptio::detail
