// `ptio tensors FILE [--filter GLOB] [--stats] [--json]`: every tensor reachable from a torch.save
// file, as PyTorch names them, or a TorchScript module's state_dict; --stats summarises values.
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>

#include "code_warning.h"
#include "command.h"
#include "common.h"
#include "crc_check.h"
#include "digest.h"
#include "elements.h"
#include "ptio/core/ivalue_json.h"
#include "ptio/error.h"
#include "ptio/jit/import.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/state_dict.h"

namespace ptio::cli {
namespace {

// One tensor's JSON row; with `digest` (--json) its sha256, the only part that reads elements
// (so only then is an expanded view charged against --max-expanded-bytes).
// The JSON of every listed tensor's python_state together is at most this many bytes: states are
// copies, so one large value shared by the states of many tensors would be printed once per
// tensor (`show` prints each container once).
constexpr std::size_t kStateJsonBudget = std::size_t{64} << 20;

// A python_state in the table's notes: its attribute names (at most 8, each cut at 40 bytes),
// never its values (which may be large and shared by many tensors): `python_state=foo,bar`.
std::string state_note(const IValue& state) {
  std::string out;
  std::size_t n = 0;
  const auto names = [&](const IValue& d) {
    if (!d.is_dict()) return;
    for (const auto& [k, v] : d.as_dict().items()) {
      if (n++ == 8) {
        out += ",...";
        return;
      }
      std::string name = k.is_string() ? k.as_string() : "<" + std::string(k.kind_name()) + ">";
      if (name.size() > 40) name = name.substr(0, 40) + "...";
      out += (out.empty() ? "" : ",") + name;
    }
  };
  if (state.is_tuple() && state.as_tuple().size() == 2) {
    names(state.as_tuple().elements()[0]);
    names(state.as_tuple().elements()[1]);
  } else if (state.is_dict()) {
    names(state);
  } else {
    return "<" + std::string(state.kind_name()) + ">";
  }
  return out;
}

nlohmann::ordered_json describe(const std::string& file, const NamedTensor& nt,
                                std::map<const void*, int>& groups, bool digest,
                                RecordCrcCheck& crc, std::size_t& state_json_bytes) {
  const Tensor& t = nt.tensor;
  const bool has_data = !t.is_sparse() && !t.is_meta();
  if (digest && has_data) {  // the sha256 below
    charge_view(file, nt.path, t);
    crc.check_storage(t);
  }
  nlohmann::ordered_json j;
  j["path"] = nt.path;
  j["dtype"] = std::string(scalar_type_name(t.dtype()));
  j["shape"] = t.sizes();
  if (!t.is_sparse()) {
    j["strides"] = t.strides();
    j["storage_offset"] = t.storage_offset();
  }
  j["requires_grad"] = t.requires_grad();
  if (digest && has_data) j["sha256"] = elements_sha256(t);  // streamed: O(chunk) memory
  j["layout"] = std::string(layout_name(t.layout())).substr(6);
  j["device"] = t.device().str();
  if (t.is_parameter()) j["is_parameter"] = true;
  // A subclass / a tensor with Python attributes: its class and its state as `show --json`
  // encodes values (keys absent for plain tensors, so other files' rows are unchanged).
  if (!t.python_type().empty()) j["python_type"] = t.python_type().qualified_name();
  if (!t.python_state().is_none() && digest) {  // --json only; the table names attributes
    JsonOptions jo;
    jo.max_depth = 100;
    jo.max_output_bytes = kStateJsonBudget - state_json_bytes;
    std::string text;
    try {
      text = to_json(t.python_state(), jo);
    } catch (const Error& e) {
      if (e.code() != ErrorCode::kLimitExceeded) throw;
      throw Error(ErrorCode::kLimitExceeded,
                  "the python_state of the listed tensors is more than 64 MiB of JSON (a value "
                  "shared by many tensors' attributes is repeated for each); `ptio show --json` "
                  "prints each shared container once",
                  file);
    }
    state_json_bytes += std::min(text.size(), kStateJsonBudget - state_json_bytes);
    j["python_state"] = nlohmann::ordered_json::parse(text);
  }
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

// A finite or non-finite double as JSON: a number, or {"float": "nan" | "inf" | "-inf"} as
// `show --json` encodes floats.
nlohmann::ordered_json number(double v) {
  if (std::isnan(v)) return {{"float", "nan"}};
  if (std::isinf(v)) return {{"float", v < 0 ? "-inf" : "inf"}};
  return v;
}

std::string number_text(double v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v < 0 ? "-inf" : "inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

// `--stats`: min, max, mean, unbiased std (as torch.Tensor.double().std()), NaN and Inf counts,
// computed in double over the elements. Quantized tensors are dequantized; complex tensors give
// mean [re, im] and std (PyTorch's complex std, real), no min/max; packed dtypes, meta and sparse
// tensors give {"skipped": reason}.
nlohmann::ordered_json tensor_stats(const Tensor& t, Progress& progress) {
  nlohmann::ordered_json j;
  if (t.is_meta() || t.is_sparse() || element_kind(t.dtype()) == ElementKind::kNone) {
    j["skipped"] = t.is_meta()     ? "meta tensor: no data"
                   : t.is_sparse() ? "sparse tensor: not summarised"
                                   : "packed dtype: elements not readable one by one";
    return j;
  }
  // Two passes over the elements in row-major chunks (for_each_chunk: O(chunk) memory, the
  // same summation order as one pass over a copy): min/max/sum/NaN/Inf, then the squared
  // deviations from the mean.
  const std::int64_t n = t.numel();
  const bool complex = element_kind(t.dtype()) == ElementKind::kComplex;
  const std::uint64_t nbytes = t.nbytes();
  std::int64_t nans = 0, infs = 0;
  double mn = std::numeric_limits<double>::infinity(), mx = -mn, sum_re = 0, sum_im = 0;
  bool any_nan = false;
  for_each_chunk(t, kElementChunkBytes, [&](std::span<const std::byte> piece, std::int64_t first) {
    const Elements e(t, piece, first);
    for (std::int64_t i = 0; i < e.numel(); ++i) {
      const double re = e.real(i), im = e.imag(i);
      if (std::isnan(re) || std::isnan(im)) {
        ++nans;
        any_nan = true;
      } else if (std::isinf(re) || std::isinf(im)) {
        ++infs;
      }
      if (!std::isnan(re)) {
        mn = std::min(mn, re);
        mx = std::max(mx, re);
      }
      sum_re += re;
      sum_im += im;
    }
  });
  progress.advance(nbytes / 2);
  const double nan = std::numeric_limits<double>::quiet_NaN();
  if (n == 0) {
    j["min"] = nullptr;
    j["max"] = nullptr;
    j["mean"] = number(nan);
    j["std"] = number(nan);
  } else {
    const double mean_re = sum_re / static_cast<double>(n),
                 mean_im = sum_im / static_cast<double>(n);
    double ss = 0;
    for_each_chunk(t, kElementChunkBytes,
                   [&](std::span<const std::byte> piece, std::int64_t first) {
                     const Elements e(t, piece, first);
                     for (std::int64_t i = 0; i < e.numel(); ++i) {
                       const double dr = e.real(i) - mean_re, di = e.imag(i) - mean_im;
                       ss += dr * dr + di * di;
                     }
                   });
    const double std_ = n > 1 ? std::sqrt(ss / static_cast<double>(n - 1)) : nan;
    if (complex) {
      j["min"] = nullptr;
      j["max"] = nullptr;
      j["mean"] = {number(mean_re), number(mean_im)};
    } else {
      j["min"] = number(any_nan ? nan : mn);
      j["max"] = number(any_nan ? nan : mx);
      j["mean"] = number(mean_re);
    }
    j["std"] = number(std_);
  }
  progress.advance(nbytes - nbytes / 2);
  j["nan"] = nans;
  j["inf"] = infs;
  return j;
}

struct TensorsArgs {
  std::string file;
  bool json = false;
  bool all = false;
  bool stats = false;
  bool verify_crc = true;
  std::vector<std::string> filters;
};

int run_tensors(const TensorsArgs& a) {
  begin_reading({a.file});
  RecordCrcCheck crc(a.file, a.verify_crc);
  crc.check_pickles();
  TensorSource src = load_tensor_source(a.file, a.all);
  warn_code_globals(a.file);
  std::vector<const NamedTensor*> selected;
  std::uint64_t total = 0;
  for (const auto& nt : src.tensors) {
    bool keep = a.filters.empty();
    for (const auto& f : a.filters) keep = keep || glob_match(f, nt.path);
    if (!keep) continue;
    selected.push_back(&nt);
    if (!nt.tensor.is_meta() && !nt.tensor.is_sparse()) total += nt.tensor.nbytes();
  }
  std::map<const void*, int> groups;
  std::size_t state_json_bytes = 0;  // kStateJsonBudget
  Progress progress("stats", a.stats ? total : 0);
  // One row at a time (a file may list hundreds of thousands of tensors: JSON values of all rows
  // held at once cost over 1 KB per tensor): --json keeps each row's text, the table its cells;
  // both are printed at the end, so an error part-way prints nothing on standard output.
  auto row = [&](const NamedTensor& nt) {
    auto j = describe(src.file, nt, groups, a.json, crc, state_json_bytes);
    if (a.stats) {
      const Tensor& t = nt.tensor;
      if (!t.is_sparse() && !t.is_meta()) {  // reads elements
        charge_view(src.file, nt.path, t);
        crc.check_storage(t);
      }
      j["stats"] = tensor_stats(t, progress);
    }
    return j;
  };
  if (a.json) {
    // As `dump(1)` of the whole array: each row indented one more level.
    std::string out = selected.empty() ? "[]" : "[";
    for (std::size_t i = 0; i < selected.size(); ++i) {
      const std::string text =
          row(*selected[i]).dump(1, ' ', false, nlohmann::json::error_handler_t::replace);
      out += i == 0 ? "\n " : ",\n ";
      for (const char c : text) {
        out += c;
        if (c == '\n') out += ' ';  // JSON strings hold no raw newline
      }
    }
    if (!selected.empty()) out += "\n]";
    progress.finish();
    std::cout << out << "\n";
    return kExitOk;
  }
  // Aligned table: name, dtype, shape, size, then notes (layout, strides, sharing, grad).
  std::vector<std::vector<std::string>> table;
  std::vector<std::string> header{"name", "dtype", "shape", "size"};
  if (a.stats) header.insert(header.end(), {"min", "max", "mean", "std", "nan", "inf"});
  header.push_back("");
  table.push_back(header);
  std::uint64_t bytes = 0;
  for (std::size_t i = 0; i < selected.size(); ++i) {
    const Tensor& t = selected[i]->tensor;
    const auto j = row(*selected[i]);
    std::vector<std::string> r{printable(selected[i]->path), j["dtype"].get<std::string>(),
                               shape_str(t.sizes()),
                               t.is_meta() || t.is_sparse() ? "-" : human_size(t.nbytes())};
    if (!t.is_meta() && !t.is_sparse()) bytes += t.nbytes();
    if (a.stats) {
      const auto& s = j["stats"];
      if (s.contains("skipped")) {
        r.insert(r.end(), {"-", "-", "-", "-", "-", "-"});
      } else {
        auto txt = [](const nlohmann::ordered_json& v) -> std::string {
          if (v.is_null()) return "-";
          if (v.is_object()) return v["float"].get<std::string>();
          if (v.is_array()) {  // complex mean, as Python prints complex: (re+imj)
            const auto part = [](const nlohmann::ordered_json& x) {
              return x.is_object() ? x["float"].get<std::string>() : number_text(x.get<double>());
            };
            const std::string im = part(v[1]);
            return "(" + part(v[0]) + (im[0] == '-' ? "" : "+") + im + "j)";
          }
          return number_text(v.get<double>());
        };
        r.insert(r.end(), {txt(s["min"]), txt(s["max"]), txt(s["mean"]), txt(s["std"]),
                           std::to_string(s["nan"].get<std::int64_t>()),
                           std::to_string(s["inf"].get<std::int64_t>())});
      }
    }
    std::string notes;
    auto add = [&notes](const std::string& x) { notes += (notes.empty() ? "" : " ") + x; };
    if (t.is_sparse()) add(j["layout"].get<std::string>());
    if (t.is_meta()) add("meta");
    if (!t.is_sparse() && !t.is_meta() && (!t.is_contiguous() || t.storage_offset() != 0))
      add("strides=" + shape_str(t.strides()) + " offset=" + std::to_string(t.storage_offset()));
    if (j.contains("device") && j["device"] != "cpu")
      add("device=" + j["device"].get<std::string>());
    if (t.requires_grad()) add("requires_grad");
    if (t.is_quantized() && j.contains("qscheme")) add(j["qscheme"].get<std::string>());
    if (!t.python_type().empty()) add("python_type=" + t.python_type().qualified_name());
    if (!t.python_state().is_none()) add("python_state=" + state_note(t.python_state()));
    r.push_back(notes);
    table.push_back(std::move(r));
  }
  progress.finish();
  std::vector<std::size_t> width(header.size(), 0);
  for (const auto& r : table)
    for (std::size_t c = 0; c < r.size(); ++c) width[c] = std::max(width[c], r[c].size());
  for (const auto& r : table) {
    std::string line;
    for (std::size_t c = 0; c < r.size(); ++c) {
      const bool right = c == 3 || (a.stats && c >= 4 && c + 1 < r.size());
      const std::string pad(width[c] - r[c].size(), ' ');
      line += right ? pad + r[c] : r[c] + (c + 1 < r.size() ? pad : "");
      if (c + 1 < r.size()) line += "  ";
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    std::cout << line << "\n";
  }
  std::cout << selected.size() << " tensor" << (selected.size() == 1 ? "" : "s") << ", "
            << human_size(bytes) << "\n";
  return kExitOk;
}

Registrar reg{
    {"tensors",
     "List every tensor of a torch.save file (zip, legacy or tar) or the state_dict of a "
     "TorchScript archive, with dtype, shape, strides and sha256",
     [](CLI::App& sub) -> std::function<int()> {
       auto a = std::make_shared<TensorsArgs>();
       sub.add_option("file", a->file, "torch.save file or TorchScript archive")->required();
       sub.add_flag("--all", a->all, "TorchScript: also tensors of plain attributes and constants");
       sub.add_option("--filter", a->filters,
                      "only names matching GLOB (`*`, `?`, `[..]`; `*` crosses dots); repeatable")
           ->type_name("GLOB")
           ->check(glob_validator())
           ->expected(1)
           ->allow_extra_args(false)  // else CLI11 splits '[ab]' as a list "ab"
           ->multi_option_policy(CLI::MultiOptionPolicy::TakeAll);
       sub.add_flag("--stats", a->stats,
                    "add min, max, mean, std (unbiased, as torch.std) and NaN/Inf counts, in "
                    "double");
       sub.add_flag("--json", a->json, "JSON array, one object per tensor (docs/cli.md)");
       add_verify_crc_flags(sub, a->verify_crc, "whose sha256 or statistics are computed");
       set_examples(sub, {"ptio tensors model.pt", "ptio tensors model.pt --filter 'fc1.*' --stats",
                          "ptio tensors scripted.pt --all --json"});
       return [a] { return run_tensors(*a); };
     }}};

}  // namespace
}  // namespace ptio::cli
