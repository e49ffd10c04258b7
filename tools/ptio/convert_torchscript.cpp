// `ptio convert` of TorchScript archives (jit::load → jit::save), kept apart from cmd_convert.cpp's
// torch.save path.
#include "convert_torchscript.h"

#include <filesystem>
#include <iostream>

#include "command.h"
#include "common.h"
#include "ptio/jit/import.h"
#include "ptio/jit/save.h"

namespace ptio::cli {

LoadedArchive load_archive(const std::string& path) {
  LoadedArchive a;
  a.module = jit::load(std::filesystem::path(path), cli_jit_device(), nullptr, true, cli_limits());
  a.extra_files = jit::load_extra_files(std::filesystem::path(path));
  return a;
}

void save_archive(const LoadedArchive& a, const std::string& out, const std::string& input) {
  write_output(
      out,
      [&] {
        try {
          jit::save(a.module, std::filesystem::path(out), a.extra_files);
        } catch (Error& e) {
          // An extra file of `input` whose name jit::save refuses (`extra//etc/passwd`): the
          // message names the input it came from, whatever the number of inputs.
          if (e.code() == ErrorCode::kJitBadEdit && !input.empty()) e.add_context(input);
          throw;
        }
      },
      input);
  std::error_code ec;
  const auto bytes = std::filesystem::file_size(out, ec);
  std::cout << "wrote " << out << " (TorchScript, "
            << count_of(a.module.state_dict().size(), "tensor") << ", "
            << human_size(ec ? 0 : bytes) << ")\n";
}

int convert_torchscript(const std::string& in, const std::string& out) {
  const LoadedArchive a = load_archive(in);
  if (a.module.archive().kind == jit::ArchiveKind::kMobile)
    std::cerr << "ptio: warning: " << in
              << ": a lite-interpreter archive (_save_for_lite_interpreter): its bytecode.pkl "
                 "(the mobile bytecode) is not written; "
              << out
              << " is a plain TorchScript archive (torch.jit.save's layout) that "
                 "torch.jit.load reads, not the lite interpreter's _load_for_lite_interpreter\n";
  save_archive(a, out, in);
  return kExitOk;
}

}  // namespace ptio::cli
