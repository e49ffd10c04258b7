// The TorchScript side of `ptio convert` and the helpers `apply` and `extra` share: load a
// TorchScript archive with all its extra files, write it back with jit::save.
#pragma once

#include <string>

#include "ptio/jit/module.h"

namespace ptio::cli {

/// A TorchScript archive and every one of its `extra/` files, as jit::save takes them back.
struct LoadedArchive {
  jit::Module module;
  jit::ExtraFilesMap extra_files;
};

/// jit::load(path) (mmap) plus jit::load_extra_files(path). Throws what they throw.
LoadedArchive load_archive(const std::string& path);

/// `ptio convert IN OUT` for a TorchScript archive: loads IN and re-saves it with jit::save
/// (torch.jit.save's layout), keeping every extra file. OUT is written through a temporary file
/// renamed into place, so a failed write leaves it untouched. Returns kExitOk; throws ptio::Error
/// (mapped to exit 2 by main).
int convert_torchscript(const std::string& in, const std::string& out);

}  // namespace ptio::cli
