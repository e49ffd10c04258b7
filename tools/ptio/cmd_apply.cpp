// `ptio apply MODEL.pt STATE_DICT.pt -o OUT.pt [--strict]`: writes the TorchScript archive MODEL
// with the weights of a checkpoint (jit::load_state_dict, then jit::save keeping MODEL's extra
// files): fine-tune in Python, ship the TorchScript.
//
// STATE_DICT may be:
// - a torch.save'd state_dict (any dict/OrderedDict whose values include tensors; non-tensor
//   entries are ignored);
// - a torch.save'd dict without tensor values of its own holding the weights under "state_dict"
//   or else "model" (a state_dict or a pickled nn.Module): the usual training checkpoint
//   `{"epoch": ..., "state_dict": ..., "optimizer": ...}`;
// - a full-model pickle (`torch.save(model)`), flattened by ptio::module_state_dict without
//   running anything;
// - another TorchScript archive (its Module::state_dict()).
// Dtypes are converted as `param.copy_(input)` converts them (jit::load_state_dict).
// Exit: 0 written (non-strict: missing/unexpected keys printed on stderr as a warning); 1 no key
// matches (nothing to apply), or the checkpoint does not fit (Error kJitStateDict: PyTorch's
// message listing every missing, unexpected or size-mismatched key and dtype pair ptio cannot
// convert; OUT is not written); 2 an input cannot be read or holds no state_dict; 3 MODEL is not a
// TorchScript archive; 4 OUT could not be written (or is read-only, without --force); 64 usage.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "common.h"
#include "convert_torchscript.h"
#include "jit_common.h"
#include "ptio/error.h"
#include "ptio/jit/import.h"
#include "ptio/jit/load_state_dict.h"
#include "ptio/jit/save.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/state_dict.h"

namespace ptio::cli {
namespace {

bool has_tensor_value(const ivalue::Dict& d) {
  for (const auto& [k, v] : d.items())
    if (v.is_tensor()) return true;
  return false;
}

// The state_dict of the checkpoint at `path` (see the header comment); `from` says which entry.
StateDict checkpoint_state_dict(const std::string& path, std::string& from) {
  if (is_jit_archive(path)) {
    from = "TorchScript module";
    return jit::load(std::filesystem::path(path), cli_jit_device(), nullptr, true, cli_limits())
        .state_dict();
  }
  LoadOptions lo;
  lo.weights_only = false;  // a full-model pickle: its classes stay unresolved, nothing runs
  lo.mmap = true;
  lo.limits = cli_limits();
  apply_cli_map_location(lo);
  IValue obj = load(std::filesystem::path(path), lo);
  const IValue* pick = &obj;
  from = "state_dict";
  if (obj.is_dict() && !has_tensor_value(obj.as_dict())) {
    for (const char* key : {"state_dict", "model"}) {
      const IValue* v = obj.as_dict().find(key);
      if (v && (v->is_dict() || is_module_object(*v))) {
        pick = v;
        from = std::string("entry \"") + key + "\"";
        break;
      }
    }
  } else if (is_module_object(obj)) {
    from = "pickled nn.Module";
  }
  if (!pick->is_dict() && !is_module_object(*pick))
    throw Error(ErrorCode::kWrongKind,
                "holds a " + std::string(pick->kind_name()) +
                    ", not a state_dict, a dict with a \"state_dict\"/\"model\" entry or a "
                    "pickled nn.Module",
                path);
  StateDict sd =
      is_module_object(*pick) ? module_state_dict(*pick, listing_limits()) : StateDict(*pick);
  break_cycles(obj);  // a pickle may hold reference cycles (no GC); the tensors stay alive
  return sd;
}

std::string quoted(const std::vector<std::string>& keys) {
  std::string s;
  for (const auto& k : keys) s += (s.empty() ? "\"" : ", \"") + printable(k) + "\"";
  return s;
}

int run_apply(const std::string& model, const std::string& checkpoint, const std::string& out,
              bool strict, bool force) {
  check_output_path(out, "-o OUT", force);
  begin_reading({model, checkpoint}, out);
  require_jit_archive(model, "MODEL (the first argument; the checkpoint comes second)");
  verify_stored_crcs(model);  // OUT re-saves MODEL's storages with their recorded CRC-32s
  LoadedArchive a = load_archive(model);
  std::string from;
  const StateDict sd = checkpoint_state_dict(checkpoint, from);
  jit::IncompatibleKeys r;
  try {
    r = jit::load_state_dict(a.module, sd, strict);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kJitStateDict) throw;
    std::cerr << "ptio: error: " << checkpoint << " (" << from << ") does not fit " << model << ": "
              << printable(e.message(), LineBreaks::kKeep) << "\n";
    return kExitFinding;
  }
  const std::size_t total = a.module.state_dict().size();
  if (total > 0 && r.missing_keys.size() == total) {
    // Nothing would change: OUT would be a copy of MODEL under a message saying it was applied.
    std::cerr << "ptio: error: no tensor of " << checkpoint << " (" << from << ") matches a key of "
              << model << " (" << total << " tensors, e.g. \"" << printable(r.missing_keys.front())
              << "\"; the checkpoint has " << sd.size() << (sd.size() == 1 ? " tensor" : " tensors")
              << (sd.size() ? ", e.g. \"" + printable(sd.items().front().first) + "\""
                            : std::string())
              << "): nothing to apply, OUT not written\n";
    return kExitFinding;
  }
  if (!r.missing_keys.empty())
    std::cerr << "ptio: warning: Missing key(s) in state_dict: " << quoted(r.missing_keys)
              << " (kept from " << model << ")\n";
  if (!r.discarded_imaginary.empty())  // PyTorch's UserWarning from copy_
    std::cerr << "ptio: warning: Casting complex values to real discards the imaginary part: "
              << quoted(r.discarded_imaginary) << "\n";
  if (!r.unexpected_keys.empty())
    std::cerr << "ptio: warning: Unexpected key(s) in state_dict: " << quoted(r.unexpected_keys)
              << " (ignored)\n";
  save_archive(a, out, model);  // "wrote OUT (TorchScript, N tensors, SIZE)"
  std::cout << out << ": " << (total - r.missing_keys.size()) << " of " << total << " tensors from "
            << checkpoint << " (" << from << ")\n";
  return kExitOk;
}

const Registrar reg{
    {"apply", "Write a TorchScript archive with the weights of a torch.save checkpoint",
     [](CLI::App& sub) -> std::function<int()> {
       auto model = std::make_shared<std::string>();
       auto ckpt = std::make_shared<std::string>();
       auto out = std::make_shared<std::string>();
       auto strict = std::make_shared<bool>(false);
       auto force = std::make_shared<bool>(false);
       sub.add_option("model", *model, "TorchScript archive (torch.jit.save)")->required();
       sub.add_option("state_dict", *ckpt,
                      "torch.save checkpoint: a state_dict, a dict with a \"state_dict\" or "
                      "\"model\" entry, a pickled nn.Module, or a TorchScript archive")
           ->required();
       sub.add_option("-o,--output", *out, "archive to write (MODEL with the new weights)")
           ->required();
       sub.add_flag("--strict", *strict,
                    "fail (exit 1) on missing or unexpected keys, as load_state_dict(strict=True)");
       sub.add_flag("--force", *force, "replace a read-only OUT (as cp -f)");
       return [=] { return run_apply(*model, *ckpt, *out, *strict, *force); };
     }}};

}  // namespace
}  // namespace ptio::cli
