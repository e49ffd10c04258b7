// `ptio tensors FILE [--json]`: every tensor reachable from a torch.save file, as PyTorch names
// them.
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "command.h"
#include "digest.h"
#include "jit_common.h"
#include "ptio/error.h"
#include "ptio/jit/import.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/state_dict.h"

namespace ptio::cli {
namespace {

nlohmann::ordered_json describe(const NamedTensor& nt, std::map<const void*, int>& groups) {
  const Tensor& t = nt.tensor;
  nlohmann::ordered_json j;
  j["path"] = nt.path;
  j["dtype"] = std::string(scalar_type_name(t.dtype()));
  j["shape"] = t.sizes();
  if (!t.is_sparse()) {
    j["strides"] = t.strides();
    j["storage_offset"] = t.storage_offset();
  }
  j["requires_grad"] = t.requires_grad();
  if (!t.is_sparse() && !t.is_meta()) j["sha256"] = sha256_hex(t.contiguous_bytes());
  j["layout"] = std::string(layout_name(t.layout())).substr(6);
  j["device"] = t.device().str();
  if (t.is_parameter()) j["is_parameter"] = true;
  // Storage identity as PyTorch's listing sees it: the data pointer (nullptr for empty and meta
  // storages); quantized and sparse tensors have none.
  if (!t.is_sparse() && !t.is_quantized()) {
    const void* key = nullptr;
    if (!t.is_meta() && t.storage().nbytes() > 0) key = t.storage().data();
    const auto it = groups.emplace(key, static_cast<int>(groups.size())).first;
    j["storage_group"] = it->second;
  } else {
    j["storage_group"] = nullptr;
  }
  if (const auto& q = t.quantizer()) {
    if (q->qscheme == QScheme::kPerTensorAffine) {
      j["qscheme"] = "per_tensor_affine";
      j["q_scale"] = q->scale;
      j["q_zero_point"] = q->zero_point;
    } else {
      j["qscheme"] = q->qscheme == QScheme::kPerChannelAffine ? "per_channel_affine"
                                                              : "per_channel_affine_float_qparams";
      j["q_per_channel_axis"] = q->axis;
    }
  }
  return j;
}

// A TorchScript module's tensors: its state_dict (attribute paths from the root module), and with
// `all` also the tensors of plain attributes (`path`) and of the constant table (`CONSTANTS.c<i>`).
std::vector<NamedTensor> module_tensors(const std::string& path, bool all) {
  const jit::Module m = jit::load(std::filesystem::path(path));
  std::vector<NamedTensor> out;
  const StateDict sd = m.state_dict();
  for (const auto& [name, t] : sd.items()) out.push_back({name, t, false});
  if (!all) {
    IValue root = m.ivalue();
    break_cycles(root);
    return out;
  }
  std::set<std::string> listed;
  for (const auto& nt : out) listed.insert(nt.path);
  for (const auto& [name, v] : m.named_attributes(true))
    for (auto& nt : named_tensors(v)) {
      std::string p = nt.path.empty() ? name : name + "." + nt.path;
      if (listed.insert(p).second) out.push_back({std::move(p), nt.tensor, nt.is_storage});
    }
  const auto& constants = m.compilation_unit().constants().as_tuple().elements();
  for (std::size_t i = 0; i < constants.size(); ++i)
    for (auto& nt : named_tensors(constants[i]))
      out.push_back({"CONSTANTS.c" + std::to_string(i) + (nt.path.empty() ? "" : "." + nt.path),
                     nt.tensor, nt.is_storage});
  IValue root = m.ivalue();
  break_cycles(root);  // a hostile pickle can build cycles; the tensors stay alive via `out`
  return out;
}

int run_tensors(const std::string& path, bool json, bool all) {
  std::vector<NamedTensor> tensors;
  if (is_jit_archive(path)) {
    tensors = module_tensors(path, all);
  } else {
    LoadOptions opt;
    opt.weights_only = false;  // inspection: unknown globals are listed around, never run
    IValue obj = load(std::filesystem::path(path), opt);
    tensors = named_tensors(obj);
    break_cycles(obj);  // the tensors stay alive through `tensors`; free any reference cycles
  }
  std::map<const void*, int> groups;
  if (json) {
    nlohmann::ordered_json out = nlohmann::ordered_json::array();
    for (const auto& nt : tensors) out.push_back(describe(nt, groups));
    std::cout << out.dump(1) << "\n";
    return kExitOk;
  }
  for (const auto& nt : tensors) {
    const auto j = describe(nt, groups);
    std::cout << nt.path << "  " << j["dtype"].get<std::string>() << " " << j["shape"].dump();
    if (j.contains("strides"))
      std::cout << " strides=" << j["strides"].dump()
                << " offset=" << j["storage_offset"].get<std::int64_t>();
    if (nt.tensor.requires_grad()) std::cout << " requires_grad";
    if (nt.tensor.is_sparse()) std::cout << " " << j["layout"].get<std::string>();
    if (nt.tensor.is_meta()) std::cout << " meta";
    std::cout << "\n";
  }
  return kExitOk;
}

Registrar reg{
    {"tensors",
     "List every tensor of a torch.save file (zip, legacy or tar) or the state_dict of a "
     "TorchScript archive, with dtype, shape, strides and sha256",
     [](CLI::App& sub) -> std::function<int()> {
       auto path = std::make_shared<std::string>();
       auto json = std::make_shared<bool>(false);
       auto all = std::make_shared<bool>(false);
       sub.add_option("file", *path, "torch.save file or TorchScript archive")->required();
       sub.add_flag("--all", *all, "TorchScript: also tensors of plain attributes and constants");
       sub.add_flag("--json", *json, "JSON array with the fields of ../shared/corpus/expected");
       return [=] { return run_tensors(*path, *json, *all); };
     }}};

}  // namespace
}  // namespace ptio::cli
