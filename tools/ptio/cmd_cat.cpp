// `ptio cat FILE PATH [--json] [--precision N] [--full]`: one tensor's values, printed as PyTorch
// prints them (repr(tensor), summarised with `...` over 1000 elements).
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "command.h"
#include "common.h"
#include "elements.h"
#include "ptio/error.h"
#include "tensor_repr.h"

namespace ptio::cli {
namespace {

struct CatArgs {
  std::string file;
  std::string path;
  bool json = false;
  bool full = false;
  int precision = 4;
};

using json = nlohmann::ordered_json;

json element_json(const Elements& e, std::int64_t i) {
  auto num = [](double v) -> json {
    if (std::isnan(v)) return {{"float", "nan"}};
    if (std::isinf(v)) return {{"float", v < 0 ? "-inf" : "inf"}};
    return v;
  };
  switch (e.kind()) {
    case ElementKind::kBool:
      return e.as_int(i) != 0;
    case ElementKind::kSigned:
      return e.as_int(i);
    case ElementKind::kUnsigned:
      return e.as_uint(i);
    case ElementKind::kComplex:
      return json::array({num(e.real(i)), num(e.imag(i))});
    default:
      return num(e.real(i));
  }
}

// Nested lists as tensor.tolist() gives them (quantized: dequantized values).
json values_json(const Elements& e, const std::vector<std::int64_t>& sizes, std::size_t d,
                 std::int64_t& next, Progress& progress) {
  if (d == sizes.size()) return element_json(e, next++);
  json a = json::array();
  for (std::int64_t i = 0; i < sizes[d]; ++i)
    a.push_back(values_json(e, sizes, d + 1, next, progress));
  if (d + 1 == sizes.size()) progress.advance(static_cast<std::uint64_t>(sizes[d]));
  return a;
}

int print_tensor(const CatArgs& a, const NamedTensor& nt);

int run_cat(const CatArgs& a) {
  TensorSource src = load_tensor_source(a.file, /*all=*/true);
  const NamedTensor* found = nullptr;
  for (const auto& nt : src.tensors)
    if (nt.path == a.path) {
      found = &nt;
      break;
    }
  if (!found) {
    std::string near;
    int n = 0;
    for (const auto& nt : src.tensors)
      if (n < 5 && (nt.path.find(a.path) != std::string::npos ||
                    a.path.find(nt.path) != std::string::npos)) {
        near += (n++ ? ", " : "") + nt.path;
      }
    std::cerr << "ptio: error: " << a.file << ": no tensor named '" << a.path << "'"
              << (near.empty() ? "" : " (did you mean: " + near + "?)") << "; `ptio tensors "
              << a.file << "` lists the names\n";
    return kExitUsage;
  }
  const Tensor& t = found->tensor;
  if (!t.is_meta() && !t.is_sparse()) charge_view(src.file, found->path, t);  // elements read
  try {
    return print_tensor(a, *found);
  } catch (Error& e) {
    // A sparse tensor or a packed dtype (quint4x2, bits): the file reads, cat cannot print it.
    if (e.code() != ErrorCode::kBadDtype) throw;
    e.add_context(a.file);
    throw ExitError(kExitUnsupported, std::current_exception());
  }
}

int print_tensor(const CatArgs& a, const NamedTensor& nt) {
  const NamedTensor* found = &nt;
  const Tensor& t = nt.tensor;
  if (a.json) {
    json j;
    j["path"] = found->path;
    j["dtype"] = std::string(scalar_type_name(t.dtype()));
    j["shape"] = t.sizes();
    if (!t.is_meta() && !t.is_sparse()) {
      const Elements e(t);
      Progress progress("cat", static_cast<std::uint64_t>(e.numel()));
      std::int64_t next = 0;
      j["values"] = values_json(e, t.sizes(), 0, next, progress);
    } else {
      j["values"] = nullptr;
    }
    std::cout << j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return kExitOk;
  }
  PrintOptions o;
  o.precision = a.precision;
  if (a.full) o.threshold = std::numeric_limits<std::int64_t>::max();
  std::cout << tensor_repr(t, o) << "\n";
  return kExitOk;
}

const Registrar reg{
    {"cat", "Print one tensor's values as PyTorch prints them (summarised when large)",
     [](CLI::App& sub) -> std::function<int()> {
       auto a = std::make_shared<CatArgs>();
       sub.add_option("file", a->file, "torch.save file or TorchScript archive")->required();
       sub.add_option("path", a->path, "tensor name as `ptio tensors` lists it (fc1.weight)")
           ->required();
       sub.add_flag("--json", a->json,
                    "print {path, dtype, shape, values} with every value as nested lists");
       sub.add_flag("--full", a->full, "never summarise (torch.set_printoptions(profile='full'))");
       sub.add_option("--precision", a->precision, "digits after the point (default 4)")
           ->check(CLI::Range(0, 30));
       set_examples(sub, {"ptio cat model.pt fc1.weight", "ptio cat model.pt fc1.bias --json",
                          "ptio cat scripted.pt fc1.weight --precision 8"});
       return [a] { return run_cat(*a); };
     }}};

}  // namespace
}  // namespace ptio::cli
