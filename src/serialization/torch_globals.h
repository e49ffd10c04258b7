// The torch.load global table: rebuild functions, dtypes, storage classes, the weights_only
// allowlist.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/serialization/load.h"

namespace ptio::detail {

/// What one `module.name` global means to torch.load (spec-torch-save.md sections 3.6, 4, 8.3).
struct TorchGlobal {
  /// REDUCE handler (a rebuild function, torch.Size, torch.device...); empty for plain values.
  std::function<IValue(std::span<const IValue> args)> call;
  /// True when newest PyTorch's weights-only unpickler allows it (section 8.3).
  bool weights_only_safe = true;
  /// Bytes `call` allocates beyond its arguments (the copy of a tensor's state dict), which the
  /// caller charges to the pickle's allocation budget first; null when it copies nothing.
  std::uint64_t (*copy_bytes)(std::span<const IValue> args) = nullptr;
};

/// True for the names of storage classes: `UntypedStorage`, `TypedStorage` and the legacy typed
/// classes of spec 3.3 (`FloatStorage`...).
bool is_storage_class_name(std::string_view name);
/// True for `Tensor` and the legacy typed tensor classes (`FloatTensor`...: one per typed storage
/// class of spec 3.3).
bool is_tensor_class_name(std::string_view name);

/// The entry for `module.name`, or nullptr. Storage classes (`torch[.*].<storage class name>`),
/// tensor classes (`torch[.cuda].<tensor class name>`),
/// dtypes, qschemes and layouts are entries without `call` (they load as argument-less Opaque
/// globals that the rebuild functions read by name).
const TorchGlobal* find_torch_global(std::string_view module, std::string_view name);

/// Globals that must never be touched even when a caller allowlists them (spec 8.2: `sys`, `os`,
/// `posix`, `nt`).
bool is_blocked_module(std::string_view module);

/// A parsed storage persistent id: `('storage', cls, key, location, numel[, view_metadata])`.
struct StorageRef {
  std::optional<ScalarType> dtype;  ///< empty for UntypedStorage (bytes)
  std::string key;
  std::string location;
  std::int64_t numel = 0;  ///< elements of dtype (bytes when untyped)
  /// Legacy `(view_key, offset, view_size)` in elements, when present.
  std::optional<std::tuple<std::string, std::int64_t, std::int64_t>> view;
  /// numel * element size; throws Error(kOverflow).
  std::uint64_t nbytes() const;
  ScalarType element_dtype() const { return dtype.value_or(ScalarType::Byte); }
};

/// Whether elements [offset, offset + count) of `element_size`-byte elements lie within `nbytes`
/// bytes: false for negative values and for any that overflow (legacy view metadata and tar view
/// lists hold arbitrary int64 values). On true, `offset * element_size` and
/// `(offset + count) * element_size` are exact.
inline bool element_range_fits(std::int64_t offset, std::int64_t count, std::uint64_t element_size,
                               std::uint64_t nbytes) {
  if (offset < 0 || count < 0 || element_size == 0) return false;
  const std::uint64_t capacity = nbytes / element_size;
  const auto o = static_cast<std::uint64_t>(offset), c = static_cast<std::uint64_t>(count);
  return o <= capacity && c <= capacity - o;
}

/// The storage class of the last persistent id parse_storage_pid() read, kept (the value is held,
/// so its identity cannot be reused) so that the ids of one pickle, which all name the same
/// memoized class global, look its name up once.
struct StorageClassMemo {
  IValue cls;
  std::optional<ScalarType> dtype;
};

/// Parses a storage persistent id (5 or 6 elements; `'storage'` and the location may be bytes
/// from Python 2 files). Throws Error(kBadPersistentId) for any other shape and Error(kBadDtype)
/// for an unknown storage class. `memo` (optional) caches the class lookup across calls.
StorageRef parse_storage_pid(const IValue& pid, StorageClassMemo* memo = nullptr);

/// The storage class named by an Opaque global value (`torch.FloatStorage`), or throws
/// Error(kBadDtype). UntypedStorage gives an empty optional.
std::optional<ScalarType> storage_class_dtype(const IValue& cls);

/// The device torch.load restores a storage tagged `tag` to without a map_location
/// (torch.serialization.default_restore_location): "cpu", "meta", or a device string of type
/// cuda, mps, hpu or xpu ("cuda:1"). Throws Error(kBadDevice) for any other tag ("xyz", "xla",
/// "cpu:0": "don't know how to restore data location...") and c10's parse errors ("cudax").
Device restore_location(const std::string& tag);
/// The location tag torch.save writes for a storage on `d` (`d.str()`), checked to be one
/// torch.load restores (restore_location): throws Error(kBadDevice) naming the device otherwise,
/// so that ptio never writes a tag PyTorch cannot read back.
std::string saved_location(const Device& d);
/// The device a storage saved with location tag `tag` goes to under `map_location`: the mapped
/// target, else restore_location(tag) (Error(kBadDevice)). Throws Error(kBadMapLocation) when
/// the target is not a location torch.load restores to.
Device map_location_device(const std::string& tag, const MapLocation& map_location);
/// Checks every target of `map_location` up front (Error(kBadMapLocation)).
void validate_map_location(const MapLocation& map_location);
/// The device a TorchScript archive's storage tagged `tag` loads on (torch::jit::Unpickler's
/// BINPERSID): `tag` must be a device string (Device::parse, even when `device`, jit::load's
/// map_location, replaces it), and the result must be cpu, cuda, xpu, meta or hpu. Throws
/// Error(kBadDevice) ("supported devices include CPU, CUDA and HPU, however got MPS").
Device torchscript_location_device(const std::string& tag, const std::optional<Device>& device);
/// Throws Error(kBadDevice) unless a TorchScript archive's storage can be on `d` (cpu, cuda, xpu,
/// meta, hpu: what torch::jit::Unpickler accepts).
void check_torchscript_device(const Device& d);

/// What an error says a value is where an int64 is expected: its kind_name(), or for an int
/// beyond the int64 range (Python's unbounded int, kind_name() "int" too) "an int beyond the
/// int64 range" (so the message is not "must be an int, got int").
std::string int_mismatch_name(const IValue& v);

/// Sets `requires_grad` on a tensor a rebuild function made, as PyTorch's setter does: throws
/// Error(kBadDtype) "only Tensors of floating point and complex dtype can require gradients" when
/// `requires_grad` is true and `t` is neither floating point nor complex (bool, integer and
/// quantized dtypes: torch.load refuses those files).
void set_loaded_requires_grad(Tensor& t, bool requires_grad);
/// The check torch.save's output meets on load, made before saving: throws Error(kBadDtype) when
/// `t.requires_grad()` is true and `t` is neither floating point nor complex (PyTorch cannot make
/// such a tensor, and torch.load / torch.jit.load refuse a file that has one). ptio::save and
/// jit::save call it for every tensor before writing anything.
void check_saved_requires_grad(const Tensor& t);

/// torch.load's deferred check of sparse tensors (torch._utils._validate_loaded_sparse_tensors):
/// while one is alive on this thread, `_rebuild_sparse_tensor` queues the sparse COO tensors it
/// makes, and finish() (called once the storages hold their bytes) checks their indices against
/// their sizes. Without one, COO indices are not checked. Nests (an inner one restores the outer
/// on destruction). Compressed layouts (CSR...) are not checked yet.
class SparseValidation {
 public:
  /// `record` names the pickle in errors (`archive/data.pkl`, `object pickle`).
  explicit SparseValidation(std::string record);
  ~SparseValidation();
  SparseValidation(const SparseValidation&) = delete;
  SparseValidation& operator=(const SparseValidation&) = delete;
  /// Checks every queued tensor as torch._validate_sparse_coo_tensor_args does: indices in
  /// [0, size) per sparse dim ("size is inconsistent with indices: for dim 0, size is 2 but found
  /// index 2", "found negative index -1 for dim 0"). Throws Error(kBadShape) naming the record.
  /// Work is bounded by the indices' storage bytes (an expanded view reads each element once).
  void finish();
  /// Queues `t` when a SparseValidation is alive on this thread.
  static void enqueue(const Tensor& t);

 private:
  std::string record_;
  std::vector<Tensor> pending_;
  SparseValidation* outer_;
};

/// A numpy ndarray pickled by numpy (`_reconstruct` + BUILD state) as a contiguous (or
/// Fortran-ordered) tensor owning a copy of its data. Throws Error(kPickleTypeError) for other
/// values and Error(kBadDtype) for numpy dtypes without a PyTorch equivalent.
Tensor tensor_from_numpy(const IValue& array);
/// `torch._utils._rebuild_device_tensor_from_numpy(ndarray, dtype, device, requires_grad)`.
IValue rebuild_device_tensor_from_numpy(std::span<const IValue> args);

}  // namespace ptio::detail
