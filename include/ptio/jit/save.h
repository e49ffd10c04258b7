// ptio::jit::save: torch::jit::save / torch.jit.save (ScriptModuleSerializer) for TorchScript
// archives, without libtorch.
#pragma once

#include <cstddef>
#include <filesystem>
#include <functional>
#include <iosfwd>
#include <vector>

#include "ptio/export.h"
#include "ptio/io/writer.h"
#include "ptio/jit/module.h"

namespace ptio::jit {

/// The shape of the callback `torch::jit::save_jit_module_to_write_func` takes: writes `size`
/// bytes from `data` and returns how many it wrote; a short count is a write error.
using WriteFunc = std::function<std::size_t(const void* data, std::size_t size)>;

/// Writes `module` as a TorchScript archive. Mirrors `torch::jit::Module::save` /
/// `torch.jit.save` (torch/csrc/jit/serialization/export_module.cpp, ScriptModuleSerializer):
/// records in its order (`extra/`, `data/<k>`, `data.pkl`, `code/` + `.debug_pkl`,
/// `constants/<k>`, `constants.pkl`, `version` or `.data/version`); the full contract (keys,
/// version rule, byte identity) is the header comment of src/jit/save.cpp. For a module loaded
/// with jit::load and not modified, data.pkl and constants.pkl are byte-identical to the loaded
/// archive's and the code files have the same text. Like PyTorch, only `extra_files` are written
/// as extra files (pass `load_extra_files(...)` to keep an archive's own).
///
/// A path target is written to a temporary sibling and renamed into place; on any error the
/// target is left untouched. The archive folder is the file name without extension (`model.pt`
/// -> `model/`), `archive/` for the other targets.
///
/// Errors: Error(kJitBadEdit) for an extra-file name that is empty, `.`, `..`, or contains `/`,
/// `\` or NUL (checked before anything is written); Error(kJitUnsupportedSave) for a module
/// loaded from a legacy model.json or bytecode-only archive, or holding what PyTorch 1.13 cannot
/// write either (sparse or meta tensors, dtypes without a typed storage, objects of classes the
/// code does not declare); Error(kJitBadModule) for an empty Module, or, naming the object's path
/// (`module.sub.items[2]`) and the attribute, an object holding an attribute its class does not
/// declare (the archive would lose it: objects are written slot by slot, as PyTorch's are),
/// missing one it declares, or holding a value that does not fit the declared type (an int in a
/// Tensor slot, an enum value that is not one of the enum's members; the check Module::setattr
/// makes, without its int-to-float widening); Error(kBadDtype) for a tensor with requires_grad
/// that is neither floating point nor complex (torch.jit.load refuses it; checked before anything
/// is written); the target's I/O errors (kIoOpenFailed,
/// kIoWriteFailed, kIoShortWrite, kIoRenameFailed).
PTIO_API void save(const Module& module, const std::filesystem::path& path,
                   const ExtraFilesMap& extra_files = {});
/// As above, to a stream (bytes appended at the stream's position, archive folder `archive`; a
/// failing stream is Error(kIoWriteFailed); the stream is flushed at the end).
PTIO_API void save(const Module& module, std::ostream& out, const ExtraFilesMap& extra_files = {});
/// As above, to any ptio Writer (borrowed), which is committed once the archive is complete
/// (zip::ArchiveWriter::finalize) and left uncommitted on error.
PTIO_API void save(const Module& module, io::Writer& out, const ExtraFilesMap& extra_files = {});
/// As above, returning the archive's bytes (owned by the returned vector).
PTIO_API std::vector<std::byte> save_to_bytes(const Module& module,
                                              const ExtraFilesMap& extra_files = {});
/// As above, streaming the archive through `writer` (`save_jit_module_to_write_func`'s callback
/// shape) in chunks as they are produced; a callback that returns less than it was given stops
/// the save with Error(kIoShortWrite). An empty `writer` is Error(kIoInvalidArgument).
PTIO_API void save_to_write_func(const Module& module, const ExtraFilesMap& extra_files,
                                 const WriteFunc& writer);

}  // namespace ptio::jit
