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
/// `torch.jit.save` (torch/csrc/jit/serialization/export_module.cpp, ScriptModuleSerializer).
/// Full contract (record order, keys, version rule, byte identity, errors) in the definition's
/// header comment in src/jit/save.cpp. A path target is written to a temporary file and renamed
/// into place; on any error the target is left untouched.
PTIO_API void save(const Module& module, const std::filesystem::path& path,
                   const ExtraFilesMap& extra_files = {});
/// As above, to a stream (bytes appended at the stream's position; a failing stream is
/// Error(kIo)).
PTIO_API void save(const Module& module, std::ostream& out, const ExtraFilesMap& extra_files = {});
/// As above, to any ptio Writer (the caller commits or discards it).
PTIO_API void save(const Module& module, io::Writer& out, const ExtraFilesMap& extra_files = {});
/// The archive's bytes (owned by the returned vector).
PTIO_API std::vector<std::byte> save_to_bytes(const Module& module,
                                              const ExtraFilesMap& extra_files = {});
/// Streams the archive through `writer` (`save_jit_module_to_write_func`'s callback shape).
PTIO_API void save_to_write_func(const Module& module, const ExtraFilesMap& extra_files,
                                 const WriteFunc& writer);

}  // namespace ptio::jit
