// `ptio show FILE [--json] [--depth N]`: prints the object in a pickle file (inspection policy).
#include <algorithm>
#include <cstdio>
#include <iostream>

#include "command.h"
#include "code_warning.h"
#include "common.h"
#include "crc_check.h"
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
  std::size_t max_output = ReprOptions{}.max_output_bytes;  // --max-output
  bool verify_crc = true;
  std::string attr;  // TorchScript: attribute path from the root module
};

// "weight, bias" for `show FILE ATTR` when ATTR's first missing part has close names at its
// level (attributes of a module or object, string keys of a dict), else "".
std::string attr_suggestions(const IValue& root, std::string_view dotted) {
  IValue cur = root;
  std::size_t pos = 0;
  while (pos <= dotted.size()) {
    const std::size_t dot = std::min(dotted.find('.', pos), dotted.size());
    const std::string_view part = dotted.substr(pos, dot - pos);
    std::vector<std::string> names;
    const IValue* next = nullptr;
    if (cur.is_object()) {
      next = cur.as_object().attribute(part);
      for (const auto& [name, value] : cur.as_object().attributes) names.push_back(name);
    } else if (cur.is_dict()) {
      next = cur.as_dict().find(part);
      for (const auto& [key, value] : cur.as_dict().items())
        if (key.is_string()) names.push_back(key.as_string());
    }
    if (next == nullptr) return close_names(part, names);
    cur = *next;
    pos = dot + 1;
  }
  return {};
}

int run_show(const ShowArgs& a) {
  begin_reading({a.file});
  auto crc = std::make_shared<RecordCrcCheck>(a.file, a.verify_crc);
  crc->check_pickles();
  const io::MmapReadAdapter in{std::filesystem::path(a.file)};
  IValue v;
  IValue module_root;  // TorchScript: the whole module, freed with `v` below
  const FormatInfo info = detect_format(in);
  const FileFormat format = info.format;
  if (format == FileFormat::kTorchScript || format == FileFormat::kMobile) {
    // A TorchScript archive: the module object (or one attribute path below it).
    const jit::Module m =
        jit::load(std::filesystem::path(a.file), cli_jit_device(), nullptr, true, cli_limits());
    try {
      v = a.attr.empty() ? m.ivalue() : m.attr_path(a.attr);
    } catch (Error& e) {
      e.add_context(a.file);  // "FILE: no attribute ..." like every other error
      // A name the module does not hold is the user's: exit 64, as `cat` with a wrong NAME.
      const std::string near = attr_suggestions(m.ivalue(), a.attr);
      if (near.empty()) throw ExitError(kExitUsage, std::current_exception());
      throw ExitError(kExitUsage, std::string(e.what()) + " (did you mean: " + near + "?)");
    }
    module_root = m.ivalue();
  } else if (!a.attr.empty()) {
    // An attribute path only means something in a TorchScript module (exit 3: the file reads,
    // it is the wrong kind for ATTR).
    throw ExitError(
        kExitUnsupported,
        std::make_exception_ptr(Error(
            ErrorCode::kJitBadModule,
            std::string(file_format_name(format)) +
                ", not a TorchScript archive: ATTR paths need a TorchScript module; run `ptio "
                "show " + a.file + "` without ATTR, or `ptio cat " + a.file + " " + a.attr +
                "` for a tensor",
            a.file)));
  } else if (format == FileFormat::kZip || format == FileFormat::kLegacy ||
             format == FileFormat::kTar) {
    // A torch.save file: load it as torch.load does, with every unknown global kept as Opaque,
    // those of blocked modules (os.system...) too: inspection shows them, never runs them.
    require_loadable(info, a.file);  // a zip with leading bytes: the diagnosis `info` gives
    LoadOptions lo;
    lo.weights_only = false;
    lo.inspect_blocked_globals = true;
    lo.limits = cli_limits();
    apply_cli_map_location(lo);
    lo.on_unknown_global = [&a](std::string_view m, std::string_view n) {
      note_code_global(a.file, m, n);
    };
    v = load(std::filesystem::path(a.file), lo);
  } else if (format == FileFormat::kPickle || format == FileFormat::kText ||
             format == FileFormat::kUnknown) {
    // A raw pickle (protocols 0 and 1 have no PROTO opcode and can look like text or nothing).
    pickle::UnpicklerOptions opt;
    opt.policy = pickle::Policy::kInspection;
    const pickle::Resolver resolver = noting_resolver(a.file);
    opt.resolver = &resolver;
    opt.file = a.file;
    try {
      // The mapping, or a copy when the file could not be mapped (an address-space limit).
      const std::size_t n = static_cast<std::size_t>(in.size());
      const io::ByteView bytes =
          in.supports_view() ? in.view(0, n) : io::ByteView(in.read_vector(0, n));
      v = pickle::unpickle(bytes.span(), opt);
    } catch (const Error& e) {
      // Text or bytes that do not parse as a pickle either (random bytes: `unknown opcode 0x7`):
      // the diagnosis `info`, `tensors` and `cat` give for the file, not the pickle VM's error.
      // A pickle (PROTO first) keeps its error, and so does a limit a protocol 0/1 pickle hit.
      const bool limit = e.code() == ErrorCode::kLimitExceeded ||
                         e.code() == ErrorCode::kPickleDepthLimit ||
                         e.code() == ErrorCode::kPickleMemoLimit ||
                         e.code() == ErrorCode::kPickleContainerLimit ||
                         e.code() == ErrorCode::kPickleAllocationLimit;
      if (format == FileFormat::kPickle || limit) throw;
      require_loadable(info, a.file);
      throw;
    }
  } else {
    // A damaged or foreign zip, a Git LFS pointer, an HTML page, an empty file...: the diagnosis
    // `info` and `tensors` give, not a pickle error about bytes that are no pickle.
    require_loadable(info, a.file);
  }
  warn_code_globals(a.file);  // builtins.eval...: shown, never run; say so
  try {
    if (a.json) {
      JsonOptions jo;
      // The sha256 reads every element: expanded views are charged first (named by their order
      // in the output, as a shown object has no tensor paths).
      auto count = std::make_shared<int>(0);
      jo.tensor_sha256 = [file = a.file, count, crc](const Tensor& t) {
        if (t.defined() && !t.is_meta() && !t.is_sparse()) {
          charge_view(file, "#" + std::to_string(++*count) + " in the output", t);
          crc->check_storage(t);
        }
        return tensor_sha256(t);
      };
      jo.max_depth = a.depth;
      jo.max_output_bytes = a.max_output;
      std::cout << to_json(v, jo) << "\n";
    } else {
      ReprOptions ro;
      ro.max_depth = a.depth;
      ro.max_output_bytes = a.max_output;
      std::cout << to_repr(v, ro) << "\n";
    }
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kLimitExceeded ||
        std::string_view(e.message()).find("max_output_bytes") == std::string_view::npos)
      throw;
    // Nothing was printed: the output is built whole before it is written.
    throw Error(ErrorCode::kLimitExceeded,
                "the output would be longer than --max-output (" + std::to_string(a.max_output) +
                    " bytes); if you trust the file, raise it with --max-output SIZE (bytes, or "
                    "with a unit: 2GiB), or print less with --depth N",
                a.file);
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
       // The printers nest at most ReprOptions{}.max_depth (1000) levels: a larger N is refused
       // rather than silently capped.
       sub.add_option("--depth", args->depth,
                      "print containers nested deeper than N as ... (default and maximum 1000)")
           ->check(CLI::Validator(
               [](std::string& v) -> std::string {
                 const std::size_t cap = ReprOptions{}.max_depth;
                 if (v.find('-') != std::string::npos) return v + " is negative: N counts levels";
                 std::size_t n = 0;
                 if (!CLI::detail::lexical_cast(v, n)) return {};  // the type check reports it
                 if (n > cap)
                   return v + " is over the maximum " + std::to_string(cap) +
                          " (ptio prints at most " + std::to_string(cap) + " nesting levels)";
                 return {};
               },
               "N"));
       sub.add_option("--max-output", args->max_output,
                      "refuse (exit 2) an output longer than SIZE bytes (default 256MiB; units: "
                      "64KiB, 2GiB)")
           ->type_name("SIZE")
           ->check(CLI::Validator(
               [](std::string& v) -> std::string {
                 return v.find('-') == std::string::npos ? "" : v + " is negative";
               },
               ""))
           ->transform(CLI::AsSizeValue(false).description(""));
       add_verify_crc_flags(sub, args->verify_crc, "of the tensors whose sha256 --json prints");
       set_examples(sub, {"ptio show checkpoint.pt", "ptio show data.pkl --json --depth 2",
                          "ptio show scripted.pt fc1.weight"});
       return [args] { return run_show(*args); };
     }}};

}  // namespace
}  // namespace ptio::cli
