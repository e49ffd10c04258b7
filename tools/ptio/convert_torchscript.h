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

/// Writes `a` to `out` with jit::save (temporary file renamed into place: a failed write leaves
/// OUT untouched; failures to write OUT become ExitError(kExitOutput)) and prints the line every
/// writing command prints: `wrote OUT (TorchScript, N tensors, SIZE)`, N the module's state_dict
/// size. Throws what jit::save throws.
/// `input`: the file `a` was loaded from, named when its bytes vanish meanwhile (write_output)
/// and in jit::save's Error(kJitBadEdit) for an extra file name it refuses (`extra//etc/passwd`).
void save_archive(const LoadedArchive& a, const std::string& out, const std::string& input = {});

/// `ptio convert IN OUT` for a TorchScript archive: loads IN and re-saves it with jit::save
/// (torch.jit.save's layout), keeping every extra file. A lite-interpreter input (`.ptl`,
/// `_save_for_lite_interpreter`) loses its bytecode.pkl (jit::save writes torch.jit.save's
/// layout): a warning on stderr says so. Returns kExitOk; throws ptio::Error or ExitError.
int convert_torchscript(const std::string& in, const std::string& out);

}  // namespace ptio::cli
