// ptio::jit::load: torch::jit::load for TorchScript archives, without libtorch and without running
// any code.
#pragma once

#include <cstddef>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <span>

#include "ptio/core/device.h"
#include "ptio/export.h"
#include "ptio/io/read_adapter.h"
#include "ptio/jit/module.h"
#include "ptio/limits.h"

namespace ptio::jit {

/// Loads a TorchScript archive. Mirrors `torch::jit::load(..., device, extra_files,
/// load_debug_files)` (torch/csrc/jit/serialization/import.cpp `ScriptModuleDeserializer`):
///
/// - reads the requested `extra/` files first: for each key of `*extra_files` whose record exists
///   its content replaces the value; other keys are left as given (ArchiveInfo::extra_files lists
///   every extra file; load_extra_files() reads them all);
/// - checks the version (`.data/version`, else `version`): 1..10 as PyTorch 1.13-2.x;
/// - parses every `code/**.py` file and builds the class registry (CompilationUnit);
/// - unpickles `constants.pkl` (tensors under `constants/`) and `data.pkl` (tensors under
///   `data/`) with the TorchScript pickle dialect: `__torch__.*` globals must name a class of
///   code/ (or a TorchBind class `__torch__.torch.classes.*`), enums get their member name,
///   objects' attributes are checked against the class header and put in slot order (stricter
///   than PyTorch, which ignores pickled attributes the class does not declare: ptio refuses
///   them, Error(kJitBadModule), as a sign of a tampered or inconsistent archive);
/// - version <= 2: container type tags restored from the classes' attribute annotations
///   (`restoreAccurateTypeTags`);
/// - `device`: recorded on every storage (bytes stay in CPU memory); otherwise each storage keeps
///   the location saved in the file;
/// - `.debug_pkl` files are parsed only when `load_debug_files` (Method::original_location).
///
/// Also loads: lite-interpreter archives (`bytecode.pkl` + data.pkl, as torch.jit.load does;
/// bytecode.pkl's function list goes to ArchiveInfo); bytecode-only archives (no code/: best
/// effort, the classes are created from the objects' attributes like the mobile loader, every
/// attribute plain, no methods); PyTorch 1.0-1.2 `model.json` archives (parameters, buffers,
/// submodules and `attributes.pkl` values; methods from the code arenas when present).
///
/// Paths are memory-mapped; parameters stored uncompressed and aligned are zero-copy views into
/// the mapping, which they keep alive. Streams are read into memory (bounded: see below).
///
/// Errors (ptio::Error, naming file, record and offset): kUnknownFormat for a legacy torch.save
/// pickle, kMobileArchive for a flatbuffer (PTMF) module, the zip layer's kZip* codes for
/// anything else that is not a zip archive; kJitVersion (version outside 1..10, naming the
/// number and the range; model.json protoVersion outside 1..5);
/// kMissingRecord (no data.pkl, no constants.pkl, a missing storage record); kJitSyntax (a code
/// file, with file/line/col); kJitMissingClass (a pickle names a class no code file declares);
/// kJitBadModule (root not a module object, attributes the class does not declare or declared
/// attributes missing, malformed class bodies); kBadDtype (requires_grad=True on a tensor that
/// is neither floating point nor complex, in a pickle or a model.json tensor table, as
/// torch.jit.load refuses it); plus the zip, pickle and tensor errors.
PTIO_API Module load(const std::filesystem::path& path, std::optional<Device> device = {},
                     ExtraFilesMap* extra_files = nullptr, bool load_debug_files = true);
/// Loads from a stream, read whole into memory first (the Module keeps the archive's bytes; its
/// uncompressed aligned storages point into them): a seekable stream from byte 0, as PyTorch's
/// istream adapter, one that cannot seek (a pipe) from its position. At most
/// `Limits::io.max_stream_bytes` (4 GiB; the form with `limits` sets it) are read:
/// Error(kLimitExceeded) naming that field, checked before reading a seekable stream, after at
/// most one byte more than the limit otherwise. A stream that fails is Error(kIoReadFailed).
PTIO_API Module load(std::istream& in, std::optional<Device> device = {},
                     ExtraFilesMap* extra_files = nullptr, bool load_debug_files = true);
/// Loads from any ReadAdapter (shared: zero-copy storages keep it alive).
PTIO_API Module load(std::shared_ptr<const io::ReadAdapter> in, std::optional<Device> device = {},
                     ExtraFilesMap* extra_files = nullptr, bool load_debug_files = true);
/// Loads from bytes in memory; they are copied, so the Module does not borrow them.
PTIO_API Module load(std::span<const std::byte> bytes, std::optional<Device> device = {},
                     ExtraFilesMap* extra_files = nullptr, bool load_debug_files = true);

/// The same four entry points with caller-chosen resource bounds (ptio/limits.h); the forms
/// above use `Limits{}`. `limits.zip` bounds the archive directory and every record read,
/// `limits.pickle` every pickle (data.pkl, constants.pkl, bytecode.pkl, .debug_pkl,
/// attributes.pkl), `limits.jit` every code file (TorchScript source bytes and nesting depth;
/// a larger code record is refused before it is read). Exceeding a bound throws the code
/// ptio/limits.h gives for it (kLimitExceeded, kZipTooManyEntries, kPickle*Limit), naming the
/// file and record; everything else as above.
PTIO_API Module load(const std::filesystem::path& path, std::optional<Device> device,
                     ExtraFilesMap* extra_files, bool load_debug_files, const Limits& limits);
PTIO_API Module load(std::istream& in, std::optional<Device> device, ExtraFilesMap* extra_files,
                     bool load_debug_files, const Limits& limits);
PTIO_API Module load(std::shared_ptr<const io::ReadAdapter> in, std::optional<Device> device,
                     ExtraFilesMap* extra_files, bool load_debug_files, const Limits& limits);
PTIO_API Module load(std::span<const std::byte> bytes, std::optional<Device> device,
                     ExtraFilesMap* extra_files, bool load_debug_files, const Limits& limits);

/// Every `extra/` file of the archive at `path` (the role of `_load_for_mobile`'s
/// `PARSE_ALL_EXTRA_FILE_MAPS`): reads nothing else. Zip errors as load().
PTIO_API ExtraFilesMap load_extra_files(const std::filesystem::path& path);
PTIO_API ExtraFilesMap load_extra_files(std::shared_ptr<const io::ReadAdapter> in);

}  // namespace ptio::jit
