// Tensor: construction with bounds checks, contiguity and contiguous copies.
#include "ptio/core/tensor.h"

#include <cstdint>
#include <cstring>

#include "ptio/core/ivalue.h"
#include "ptio/error.h"

namespace ptio {

struct Tensor::Impl {
  Storage storage;
  ScalarType dtype = ScalarType::Float;
  std::vector<std::int64_t> sizes;
  std::vector<std::int64_t> strides;
  std::int64_t storage_offset = 0;
  Layout layout = Layout::kStrided;
  bool meta = false;
  Device device;  // used when there is no storage
  bool requires_grad = false;
  bool is_parameter = false;
  std::optional<Quantizer> quantizer;
  std::vector<Tensor> components;
  QualifiedName python_type;
  IValue python_state;
};

std::string_view layout_name(Layout l) noexcept {
  switch (l) {
    case Layout::kStrided:
      return "torch.strided";
    case Layout::kSparseCoo:
      return "torch.sparse_coo";
    case Layout::kSparseCsr:
      return "torch.sparse_csr";
    case Layout::kSparseCsc:
      return "torch.sparse_csc";
    case Layout::kSparseBsr:
      return "torch.sparse_bsr";
    case Layout::kSparseBsc:
      return "torch.sparse_bsc";
  }
  return "unknown";
}

std::vector<std::int64_t> contiguous_strides(std::span<const std::int64_t> sizes) {
  std::vector<std::int64_t> strides(sizes.size());
  std::int64_t s = 1;
  for (std::size_t i = sizes.size(); i-- > 0;) {
    strides[i] = s;
    s *= sizes[i] > 1 ? sizes[i] : 1;
  }
  return strides;
}

namespace {

std::int64_t checked_mul(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  PTIO_CHECK(!__builtin_mul_overflow(a, b, &r), ErrorCode::kOverflow,
             "size arithmetic overflows: ", a, " * ", b);
  return r;
}
std::int64_t checked_add(std::int64_t a, std::int64_t b) {
  std::int64_t r;
  PTIO_CHECK(!__builtin_add_overflow(a, b, &r), ErrorCode::kOverflow,
             "size arithmetic overflows: ", a, " + ", b);
  return r;
}

// Sub-byte quantized dtypes pack several logical elements into one storage byte; sizes, strides
// and storage_offset count logical elements (spec-torch-save.md section 10: quint4x2, quint2x4).
std::int64_t elements_per_byte(ScalarType t) {
  return t == ScalarType::QUInt4x2 ? 2 : t == ScalarType::QUInt2x4 ? 4 : 1;
}

std::int64_t numel_of(const std::vector<std::int64_t>& sizes) {
  std::int64_t n = 1;
  for (auto s : sizes) n = checked_mul(n, s);
  return n;
}

void check_shape(const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides,
                 std::int64_t offset) {
  PTIO_CHECK(sizes.size() == strides.size(), ErrorCode::kBadShape, "sizes has ", sizes.size(),
             " dimensions but strides has ", strides.size());
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    PTIO_CHECK(sizes[i] >= 0, ErrorCode::kBadShape, "negative size ", sizes[i], " in dimension ",
               i);
    PTIO_CHECK(strides[i] >= 0, ErrorCode::kBadShape, "negative stride ", strides[i],
               " in dimension ", i);
  }
  PTIO_CHECK(offset >= 0, ErrorCode::kBadShape, "negative storage_offset ", offset);
}

}  // namespace

Tensor Tensor::make(Storage storage, ScalarType dtype, std::vector<std::int64_t> sizes,
                    std::vector<std::int64_t> strides, std::int64_t storage_offset) {
  check_shape(sizes, strides, storage_offset);
  const std::int64_t esize = static_cast<std::int64_t>(ptio::element_size(dtype));
  PTIO_CHECK(esize > 0, ErrorCode::kBadDtype, "dtype ", scalar_type_name(dtype),
             " has no element size; tensors of it cannot exist");
  const std::int64_t n = numel_of(sizes);
  if (n > 0) {
    std::int64_t last = storage_offset;
    for (std::size_t i = 0; i < sizes.size(); ++i)
      last = checked_add(last, checked_mul(sizes[i] - 1, strides[i]));
    const std::int64_t per = elements_per_byte(dtype);
    const std::int64_t need = checked_mul((checked_add(last, 1) + per - 1) / per, esize);
    PTIO_CHECK(static_cast<std::uint64_t>(need) <= storage.nbytes(), ErrorCode::kBadShape,
               "tensor needs ", need, " bytes of storage (last element at ", last,
               ") but the storage has ", storage.nbytes());
  }
  Tensor t;
  t.impl_ = std::make_shared<Impl>();
  t.impl_->storage = std::move(storage);
  t.impl_->dtype = dtype;
  t.impl_->sizes = std::move(sizes);
  t.impl_->strides = std::move(strides);
  t.impl_->storage_offset = storage_offset;
  return t;
}

namespace {
// from_bytes() and borrowed(): the contiguous tensor of `sizes` over `bytes` (borrowed), checked
// to take exactly all of them (a longer buffer was accepted and saved as a longer storage record,
// e.g. a 13-byte FloatStorage PyTorch cannot load).
Tensor contiguous_over(const char* what, ScalarType dtype, std::vector<std::int64_t>& sizes,
                       std::span<const std::byte> bytes) {
  auto strides = contiguous_strides(sizes);
  Tensor t = Tensor::make(Storage::borrowed(bytes), dtype, sizes, std::move(strides));
  PTIO_CHECK(t.nbytes() == bytes.size(), ErrorCode::kBadShape, "Tensor::", what, ": ", bytes.size(),
             " bytes for ", t.numel(), " elements of ", scalar_type_name(dtype),
             " (expected exactly ", t.nbytes(), " bytes)");
  return t;
}
}  // namespace

Tensor Tensor::from_bytes(ScalarType dtype, std::vector<std::int64_t> sizes,
                          std::span<const std::byte> bytes) {
  const Tensor checked = contiguous_over("from_bytes", dtype, sizes, bytes);
  return make(Storage::from_bytes({bytes.begin(), bytes.end()}), dtype, std::move(sizes),
              checked.strides());
}

Tensor Tensor::borrowed(ScalarType dtype, std::vector<std::int64_t> sizes,
                        std::span<const std::byte> bytes) {
  return contiguous_over("borrowed", dtype, sizes, bytes);
}

Tensor Tensor::meta(ScalarType dtype, std::vector<std::int64_t> sizes,
                    std::vector<std::int64_t> strides) {
  check_shape(sizes, strides, 0);
  (void)numel_of(sizes);
  Tensor t;
  t.impl_ = std::make_shared<Impl>();
  t.impl_->dtype = dtype;
  t.impl_->sizes = std::move(sizes);
  t.impl_->strides = std::move(strides);
  t.impl_->meta = true;
  t.impl_->device = Device(DeviceType::kMeta);
  return t;
}

Tensor Tensor::sparse(Layout layout, ScalarType dtype, std::vector<std::int64_t> sizes,
                      std::vector<Tensor> components) {
  PTIO_CHECK(layout != Layout::kStrided, ErrorCode::kBadShape, "sparse() needs a sparse layout");
  for (auto s : sizes) PTIO_CHECK(s >= 0, ErrorCode::kBadShape, "negative size ", s);
  (void)numel_of(sizes);
  Tensor t;
  t.impl_ = std::make_shared<Impl>();
  t.impl_->layout = layout;
  t.impl_->dtype = dtype;
  t.impl_->sizes = std::move(sizes);
  t.impl_->components = std::move(components);
  return t;
}

#define PTIO_IMPL() \
  (impl_ ? *impl_ : throw Error(ErrorCode::kBadStorage, "operation on an undefined tensor"))

ScalarType Tensor::dtype() const {
  return PTIO_IMPL().dtype;
}
const std::vector<std::int64_t>& Tensor::sizes() const {
  return PTIO_IMPL().sizes;
}
const std::vector<std::int64_t>& Tensor::strides() const {
  return PTIO_IMPL().strides;
}
std::int64_t Tensor::storage_offset() const {
  return PTIO_IMPL().storage_offset;
}
std::int64_t Tensor::numel() const {
  return numel_of(sizes());
}
std::size_t Tensor::nbytes() const {
  const std::int64_t per = elements_per_byte(dtype());
  const auto units = static_cast<std::size_t>((numel() + per - 1) / per);
  std::size_t bytes = 0;
  // An expanded view can have 2^62 elements of 4 bytes: saturate instead of wrapping to 0 (which
  // made it look free to materialise).
  if (__builtin_mul_overflow(units, element_size(), &bytes)) return SIZE_MAX;
  return bytes;
}
const Storage& Tensor::storage() const {
  return PTIO_IMPL().storage;
}
Layout Tensor::layout() const {
  return PTIO_IMPL().layout;
}
bool Tensor::is_meta() const {
  return PTIO_IMPL().meta;
}
const std::vector<Tensor>& Tensor::sparse_components() const {
  return PTIO_IMPL().components;
}
bool Tensor::requires_grad() const {
  return PTIO_IMPL().requires_grad;
}
void Tensor::set_requires_grad(bool v) {
  PTIO_IMPL().requires_grad = v;
}
bool Tensor::is_parameter() const {
  return PTIO_IMPL().is_parameter;
}
void Tensor::set_is_parameter(bool v) {
  PTIO_IMPL().is_parameter = v;
}
const std::optional<Quantizer>& Tensor::quantizer() const {
  return PTIO_IMPL().quantizer;
}
void Tensor::set_quantizer(Quantizer q) {
  PTIO_IMPL().quantizer = std::move(q);
}
const QualifiedName& Tensor::python_type() const {
  return PTIO_IMPL().python_type;
}
void Tensor::set_python_type(QualifiedName type) {
  PTIO_IMPL().python_type = std::move(type);
}
const IValue& Tensor::python_state() const {
  return PTIO_IMPL().python_state;
}
void Tensor::set_python_state(IValue state) {
  PTIO_IMPL().python_state = std::move(state);
}

Device Tensor::device() const {
  const Impl& i = PTIO_IMPL();
  return i.storage.defined() ? i.storage.device() : i.device;
}

void Tensor::set_device(Device d) {
  Impl& i = PTIO_IMPL();
  if (i.storage.defined()) i.storage.set_device(d);
  i.device = std::move(d);
}

bool Tensor::is_contiguous() const {
  const Impl& i = PTIO_IMPL();
  if (i.layout != Layout::kStrided) return false;  // sparse: no strides
  std::int64_t expected = 1;
  for (std::size_t d = i.sizes.size(); d-- > 0;) {
    if (i.sizes[d] == 1) continue;
    if (i.sizes[d] == 0) return true;
    if (i.strides[d] != expected) return false;
    expected *= i.sizes[d];
  }
  return true;
}

const std::byte* Tensor::data_ptr() const& {
  const Impl& i = PTIO_IMPL();
  PTIO_CHECK(i.layout == Layout::kStrided && !i.meta && i.storage.defined(), ErrorCode::kBadStorage,
             "tensor has no storage (meta or sparse)");
  return i.storage.data() +
         i.storage_offset / elements_per_byte(i.dtype) * static_cast<std::int64_t>(element_size());
}

std::vector<std::byte> Tensor::contiguous_bytes() const {
  const Impl& i = PTIO_IMPL();
  const std::size_t es = element_size();
  PTIO_CHECK(nbytes() != SIZE_MAX, ErrorCode::kLimitExceeded, "tensor of shape ", numel(),
             " elements is larger than memory can hold (2^64 bytes or more)");
  std::vector<std::byte> out(nbytes());
  if (out.empty()) return out;
  const std::byte* base = data_ptr();
  if (is_contiguous() || elements_per_byte(i.dtype) > 1) {
    // Packed sub-byte dtypes are only ever contiguous in PyTorch (int_repr() gives the bytes).
    std::memcpy(out.data(), base, out.size());
    return out;
  }
  // Walk the index space in row-major order; the innermost dimension is copied element-wise.
  const std::size_t nd = i.sizes.size();
  std::vector<std::int64_t> idx(nd, 0);
  const std::int64_t n = numel();
  std::int64_t off = 0;
  for (std::int64_t k = 0; k < n; ++k) {
    std::memcpy(out.data() + static_cast<std::size_t>(k) * es,
                base + off * static_cast<std::int64_t>(es), es);
    for (std::size_t d = nd; d-- > 0;) {
      if (++idx[d] < i.sizes[d]) {
        off += i.strides[d];
        break;
      }
      off -= i.strides[d] * (i.sizes[d] - 1);
      idx[d] = 0;
    }
  }
  return out;
}

Tensor Tensor::contiguous() const {
  const Impl& i = PTIO_IMPL();
  if (is_contiguous() && i.storage_offset == 0 && i.storage.nbytes() == nbytes()) return *this;
  Tensor t = make(Storage::from_bytes(contiguous_bytes(), i.storage.device()), i.dtype, i.sizes,
                  contiguous_strides(i.sizes));
  t.impl_->requires_grad = i.requires_grad;
  t.impl_->is_parameter = i.is_parameter;
  t.impl_->quantizer = i.quantizer;
  t.impl_->python_type = i.python_type;
  t.impl_->python_state = i.python_state;
  return t;
}

void Tensor::check_typed_access(ScalarType a, ScalarType b) const {
  PTIO_CHECK(dtype() == a || dtype() == b, ErrorCode::kBadDtype,
             "data<T>(): T is the element type of ", scalar_type_name(a),
             b != a ? std::string(" and ") + std::string(scalar_type_name(b)) : std::string(),
             ", not of this tensor's ", scalar_type_name(dtype()),
             " (data_bytes() reads the raw bytes of any dtype)");
  PTIO_CHECK(is_contiguous(), ErrorCode::kBadShape, "typed access needs a contiguous tensor");
}

std::span<const std::byte> Tensor::data_bytes() const& {
  const std::byte* p = data_ptr();  // kBadStorage for meta and sparse tensors
  PTIO_CHECK(is_contiguous(), ErrorCode::kBadShape, "data_bytes() needs a contiguous tensor");
  return {p, nbytes()};
}

}  // namespace ptio
