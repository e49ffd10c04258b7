// `ptio show FILE [--json] [--depth N]`: prints the object in a pickle file (inspection policy).
#include <cstdio>
#include <iostream>

#include "command.h"
#include "common.h"
#include "digest.h"
#include "ptio/core/ivalue.h"
#include "ptio/core/ivalue_json.h"
#include "ptio/io/read_adapter.h"
#include "ptio/jit/import.h"
#include "ptio/pickle/unpickler.h"
#include "ptio/serialization/format.h"
#include "ptio/serialization/load.h"

namespace ptio::cli {
namespace {

struct ShowArgs {
  std::string file;
  bool json = false;
  std::size_t depth = 1000;
  std::string attr;  // TorchScript: attribute path from the root module
};

int run_show(const ShowArgs& a) {
  auto mapped = io::MappedFile::open(a.file);
  const std::span<const std::byte> data(mapped->data(), static_cast<std::size_t>(mapped->size()));
  IValue v;
  IValue module_root;  // TorchScript: the whole module, freed with `v` below
  const FileFormat format = detect_format(io::MmapReadAdapter(mapped)).format;
  if (format == FileFormat::kTorchScript || format == FileFormat::kMobile) {
    // A TorchScript archive: the module object (or one attribute path below it).
    const jit::Module m = jit::load(std::filesystem::path(a.file));
    try {
      v = a.attr.empty() ? m.ivalue() : m.attr_path(a.attr);
    } catch (Error& e) {
      e.add_context(a.file);  // "FILE: no attribute ..." like every other error
      throw;
    }
    module_root = m.ivalue();
  } else if (!a.attr.empty()) {
    // An attribute path only means something in a TorchScript module.
    throw Error(ErrorCode::kJitBadModule,
                std::string(file_format_name(format)) +
                    ", not a TorchScript archive: ATTR paths need a TorchScript module; run `ptio "
                    "show " + a.file + "` without ATTR, or `ptio cat " + a.file + " " + a.attr +
                    "` for a tensor",
                a.file);
  } else if (format == FileFormat::kZip || format == FileFormat::kLegacy ||
             format == FileFormat::kTar) {
    // A torch.save file: load it as torch.load does, with unknown globals kept as Opaque.
    LoadOptions lo;
    lo.weights_only = false;
    v = load(std::filesystem::path(a.file), lo);
  } else {
    pickle::UnpicklerOptions opt;
    opt.policy = pickle::Policy::kInspection;
    opt.file = a.file;
    v = pickle::unpickle(data, opt);
  }
  if (a.json) {
    JsonOptions jo;
    jo.tensor_sha256 = tensor_sha256;
    jo.max_depth = a.depth;
    std::cout << to_json(v, jo) << "\n";
  } else {
    ReprOptions ro;
    ro.max_depth = a.depth;
    std::cout << to_repr(v, ro) << "\n";
  }
  break_cycles(v);  // a pickle may hold reference cycles; free them (there is no GC)
  break_cycles(module_root);
  return kExitOk;
}

const Registrar reg{
    {"show",
     "Print the object stored in a pickle, torch.save file or TorchScript archive (Python "
     "repr or --json)",
     [](CLI::App& sub) -> std::function<int()> {
       auto args = std::make_shared<ShowArgs>();
       sub.add_option("file", args->file, "pickle, torch.save file or TorchScript archive")
           ->required();
       sub.add_option("attr", args->attr,
                      "TorchScript: attribute path from the root module (blocks.0.lin.weight)");
       sub.add_flag("--json", args->json, "print the JSON encoding documented in docs/cli.md");
       sub.add_option("--depth", args->depth,
                      "print containers nested deeper than N as ... (default 1000)");
       set_examples(sub, {"ptio show checkpoint.pt", "ptio show data.pkl --json --depth 2",
                          "ptio show scripted.pt fc1.weight"});
       return [args] { return run_show(*args); };
     }}};

}  // namespace
}  // namespace ptio::cli
