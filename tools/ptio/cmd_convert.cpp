// `ptio convert IN OUT [--legacy] [--layout torch-2|torch-1.13]`: re-saves a checkpoint ptio reads.
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "convert_torchscript.h"
#include "jit_common.h"
#include "ptio/error.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"

namespace ptio::cli {
namespace {

int run_convert(const std::string& in, const std::string& out, bool legacy,
                const std::string& layout) {
  if (is_jit_archive(in)) {  // TorchScript: jit::load -> jit::save (convert_torchscript.cpp)
    if (!legacy) return convert_torchscript(in, out);
    std::cerr << "ptio: error: --legacy is for torch.save checkpoints, not TorchScript archives\n";
    return kExitUsage;
  }
  LoadOptions lo;
  lo.weights_only = false;  // re-save whatever the file holds; unknown globals stay Opaque
  lo.mmap = true;
  IValue obj = load(std::filesystem::path(in), lo);
  SaveOptions so;
  so.legacy_format = legacy;
  if (layout == "torch-1.13") {
    so.layout = RecordLayout::kTorch1_13;
  } else if (layout == "torch-2") {
    so.layout = RecordLayout::kTorch2;
  } else {
    throw Error(ErrorCode::kIoInvalidArgument,
                "--layout must be torch-2 or torch-1.13, not '" + layout + "'");
  }
  save(obj, std::filesystem::path(out), so);
  break_cycles(obj);  // a pickle may hold reference cycles; free them (there is no GC)
  return kExitOk;
}

Registrar reg{{"convert",
               "Re-save a torch.save checkpoint (zip, legacy or tar) as zip or legacy format",
               [](CLI::App& sub) -> std::function<int()> {
                 auto in = std::make_shared<std::string>();
                 auto out = std::make_shared<std::string>();
                 auto legacy = std::make_shared<bool>(false);
                 auto layout = std::make_shared<std::string>("torch-2");
                 sub.add_option("input", *in, "checkpoint to read")->required();
                 sub.add_option("output", *out, "file to write")->required();
                 sub.add_flag("--legacy", *legacy,
                              "write the pre-1.6 legacy format "
                              "(_use_new_zipfile_serialization=False)");
                 sub.add_option("--layout", *layout,
                                "zip records: torch-2 (default; .format_version, byteorder...) or "
                                "torch-1.13 (byte-identical to torch.save 1.13)");
                 return [=] { return run_convert(*in, *out, *legacy, *layout); };
               }}};

}  // namespace
}  // namespace ptio::cli
