// `ptio convert` of TorchScript archives (jit::load → jit::save), kept apart from cmd_convert.cpp's
// torch.save path.
#include "convert_torchscript.h"

#include <filesystem>

#include "command.h"
#include "common.h"
#include "ptio/jit/import.h"
#include "ptio/jit/save.h"

namespace ptio::cli {

LoadedArchive load_archive(const std::string& path) {
  LoadedArchive a;
  a.module = jit::load(std::filesystem::path(path), std::nullopt, nullptr, true, cli_limits());
  a.extra_files = jit::load_extra_files(std::filesystem::path(path));
  return a;
}

int convert_torchscript(const std::string& in, const std::string& out) {
  const LoadedArchive a = load_archive(in);
  jit::save(a.module, std::filesystem::path(out), a.extra_files);
  return kExitOk;
}

}  // namespace ptio::cli
