// ptio::load: torch.load for the zip, legacy and tar formats, without running any code.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/export.h"
#include "ptio/io/read_adapter.h"
#include "ptio/limits.h"

namespace ptio {

/// torch.load's `map_location`: where the storages of the loaded tensors are recorded to live.
/// Bytes always stay in CPU memory; only the recorded device (Storage::device()) changes.
/// - `std::monostate` (default): keep the location tag of the file (`cpu`, `cuda:0`, ...).
/// - `std::string` (`"cpu"`, `"cuda:1"`, `"meta"`): every storage goes there.
/// - `std::map<std::string, std::string>`: saved tag -> target tag (`{"cuda:0": "cpu"}`); tags not
///   in the map are kept.
/// Every target must be a device string PyTorch accepts, else ptio::load throws
/// Error(kBadMapLocation) before reading anything.
using MapLocation = std::variant<std::monostate, std::string, std::map<std::string, std::string>>;

/// Options of ptio::load, named after torch.load's arguments.
struct PTIO_API LoadOptions {
  MapLocation map_location;
  /// true (torch >= 2.6 default): only the globals of PyTorch's weights-only unpickler
  /// (spec-torch-save.md section 8.3) plus `safe_globals` may appear; anything else throws
  /// Error(kUnsafeGlobal) naming it. false: unknown globals still never run; they load as
  /// Opaque values (e.g. the nn.Module objects of `torch.save(model)`). Unlike PyTorch's
  /// weights-only unpickler, ptio accepts pickle protocols 0-5 in both modes (no opcode runs
  /// code in ptio; `torch.save(..., pickle_protocol=4)` files load with weights_only = true).
  bool weights_only = true;
  /// With weights_only = false, globals of blocked modules (`os`, `subprocess`, `builtins.eval`,
  /// ... spec-torch-save.md 8.2) still throw Error(kUnsafeGlobal) by default; true loads them as
  /// Opaque values like any other unknown global (the inspection policy of `ptio show`, which
  /// prints what a file holds, exploits included). Nothing runs either way. Ignored when
  /// weights_only is true. PyTorch has no counterpart (its weights_only=False runs them).
  bool inspect_blocked_globals = false;
  /// `torch.serialization.add_safe_globals`: extra `"module.name"` globals accepted under
  /// weights_only; ptio does not know what they mean, so they load as Opaque values.
  std::vector<std::string> safe_globals;
  /// For paths (and memory spans): a storage whose record is stored (uncompressed), little-endian
  /// and aligned to its element size becomes a zero-copy view into the mapped file, which the
  /// Storage keeps alive (torch.load(mmap=True)). false, or other storages: the bytes are copied.
  /// A file the process has no address space to map (`ulimit -v`) is read and copied.
  bool mmap = true;
  /// Check the CRC-32 of every zip record read, including zero-copy storages (PyTorch does not;
  /// records written with CRC disabled, CRC 0, are accepted). Mismatch: Error(kZipCrcMismatch).
  bool verify_crc = false;
  /// Every bound on untrusted input (ptio/limits.h): `limits.pickle` feeds the Unpickler of every
  /// pickle read, `limits.zip` the ArchiveReader.
  Limits limits;  /// Told `module` and `name` (as the file writes them, but `__builtin__` and
                  /// `copy_reg` mapped
  /// to `builtins` and `copyreg` as pickle::Resolver maps them) of every
  /// global a pickle references (GLOBAL, STACK_GLOBAL, INST) that is not one of PyTorch's own
  /// (rebuild functions, storage classes, dtypes...) nor a plain-value builtin, before the policy
  /// above accepts or refuses it, for every resolution (a name may be reported more than once).
  /// For inspection tools: `ptio tensors` warns when one would run code in torch.load
  /// (`builtins.eval`; see ptio::classify_global). Empty: nothing is called. PyTorch has no
  /// counterpart. An exception it throws propagates out of load().
  std::function<void(std::string_view module, std::string_view name)> on_unknown_global;
};

/// Loads what torch.save wrote at `path` (zip, legacy or tar format) and returns the object:
/// dicts (Dict; `ordered_dict` set for OrderedDict state_dicts, `build_state` holding
/// `_metadata`), lists, tuples, scalars, strings, bytes, Tensors (Storage shared between views
/// exactly as in the file: one key, one Storage), Storages (a standalone
/// `torch.save(t.storage())`), Devices (`torch.device`). `torch.Size` loads as a Tuple; dtype
/// objects (`torch.float32`) and qschemes load as an Opaque global without arguments (see
/// dtype_of()); under weights_only=false unknown classes and their state load as Opaque trees.
/// A tensor subclass instance or a tensor with Python attributes
/// (`torch._tensor._rebuild_from_type_v2`, torch >= 2.0's `_rebuild_parameter_with_state`) loads
/// as a Tensor with Tensor::python_type (the class; none for torch.Tensor, is_parameter() for
/// nn.Parameter) and python_state (the attributes, kept also for a plain tensor, as
/// torch >= 2.0 does; 1.13 drops those). Under weights_only the class must be in `safe_globals`,
/// as PyTorch >= 2.0's weights-only unpickler requires, and the pre-1.11 `_rebuild_from_type` is
/// refused (Error(kUnsafeGlobal)); PyTorch 1.13's weights_only refuses every subclass file. A
/// class classify_global() judges dangerous (subprocess.Popen, functools.partial, torch.load...)
/// is never kept as python_type: Error(kUnsafeGlobal), under either weights_only.
/// Mirrors torch.load(path, map_location, weights_only, mmap). Never runs code.
///
/// Errors (ptio::Error, naming the file, record and offset): format diagnoses from
/// detect_format() (kTorchScriptArchive, kMobileArchive, kZipGitLfsPointer, kZipHtmlPage,
/// kZipEmptyFile, kZipTruncated, kUnknownFormat, ...), kUnsafeGlobal, kBadMapLocation,
/// kMissingRecord, kBadPersistentId, kBadStorage (record shorter than the storage), kBadShape
/// (sizes/strides beyond the storage, negative sizes, a sparse COO index outside its size or
/// indices/values shapes that disagree, as torch.load's _validate_loaded_sparse_tensors),
/// kBadDtype (also requires_grad=True on a tensor that is not floating point or complex),
/// kPickleTypeError (also a subclass state torch.load could not apply: a tuple that is not
/// (dict, slots), a non-str attribute name; a new_type that is no Tensor subclass),
/// kBadVersion, kLegacyFormat, kTarFormat, the pickle layer's kPickle* codes and the zip layer's
/// kZip* codes.
///
/// Byte order: a legacy stream's sys_info is ignored, as torch.load ignores it; its storage bytes
/// are read as little-endian even when it says little_endian=False (every PyTorch writer stores
/// them little-endian, spec-torch-save.md 6.1). A zip archive's `byteorder` record ("big", from
/// torch >= 2.1 on a big-endian host) is honoured, as torch.load does.
PTIO_API IValue load(const std::filesystem::path& path, const LoadOptions& options = {});
/// Loads from any ReadAdapter (shared: zero-copy storages keep it alive).
PTIO_API IValue load(std::shared_ptr<const io::ReadAdapter> in, const LoadOptions& options = {});
/// Loads from a ReadAdapter the caller keeps alive; storages are always copied.
PTIO_API IValue load(const io::ReadAdapter& in, const LoadOptions& options = {});
/// Loads from a stream, from its current position (torch.load(file_object)); copies. A seekable
/// stream is read in place. A non-seekable one (a pipe, a socket; torch.load refuses those) is
/// read to its end into memory first: the buffer holds the rest of the stream (so peak memory is
/// about the stream's size plus the loaded storages) and is freed before load returns. It holds
/// at most `options.limits.io.max_stream_bytes` (4 GiB): a longer stream is Error(kLimitExceeded)
/// naming that field, after at most one byte more was read. A stream that fails (badbit) while
/// being read is Error(kIoReadFailed) naming how many bytes it gave; one that ends early is the
/// format's truncation error (kZipTruncated, ...).
PTIO_API IValue load(std::istream& in, const LoadOptions& options = {});
/// Loads from bytes in memory; the caller keeps them alive while the result lives when
/// `options.mmap` is true (storages then point into `bytes`), else they are copied.
PTIO_API IValue load(std::span<const std::byte> bytes, const LoadOptions& options = {});

/// The ScalarType of a dtype value as loaded (`torch.float32` global), or empty.
PTIO_API std::optional<ScalarType> dtype_of(const IValue& v);

}  // namespace ptio
