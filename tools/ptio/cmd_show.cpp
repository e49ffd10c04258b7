// `ptio show FILE [--json] [--depth N]`: prints the object in a pickle file (inspection policy).
#include <cstdio>
#include <iostream>

#include "command.h"
#include "digest.h"
#include "ptio/core/ivalue.h"
#include "ptio/core/ivalue_json.h"
#include "ptio/io/read_adapter.h"
#include "ptio/pickle/unpickler.h"
#include "ptio/serialization/format.h"
#include "ptio/serialization/load.h"

namespace ptio::cli {
namespace {

struct ShowArgs {
  std::string file;
  bool json = false;
  std::size_t depth = 1000;
};

int run_show(const ShowArgs& a) {
  auto mapped = io::MappedFile::open(a.file);
  const std::span<const std::byte> data(mapped->data(), static_cast<std::size_t>(mapped->size()));
  IValue v;
  const FileFormat format = detect_format(io::MmapReadAdapter(mapped)).format;
  if (format == FileFormat::kZip || format == FileFormat::kLegacy || format == FileFormat::kTar) {
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
  return kExitOk;
}

const Registrar reg{
    {"show", "Print the object stored in a pickle or torch.save file (Python repr or --json)",
     [](CLI::App& sub) -> std::function<int()> {
       auto args = std::make_shared<ShowArgs>();
       sub.add_option("file", args->file, "pickle file")->required();
       sub.add_flag("--json", args->json, "print the JSON encoding documented in docs/cli.md");
       sub.add_option("--depth", args->depth,
                      "print containers nested deeper than N as ... (default 1000)");
       return [args] { return run_show(*args); };
     }}};

}  // namespace
}  // namespace ptio::cli
