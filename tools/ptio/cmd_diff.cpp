// `ptio diff A B [--atol X] [--rtol Y] [--json]`: compares the tensors of two checkpoints or
// TorchScript modules (their state_dicts): names added and removed, dtype and shape changes, and
// per tensor the max absolute and relative difference. Tensors are paired by name as `ptio tensors`
// prints it, whatever the source (module, checkpoint dict, pickled nn.Module); a name several
// tensors of a file share pairs by key path (dict keys with their types, indices, attributes).
// Exit 0 equal, 1 different, 2 unreadable. Like `tensors`, `show` and `cat`, the CRC-32 of every
// zip record whose bytes it reads is checked first (crc_check.h; --no-verify-crc skips that).
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <limits>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "command.h"
#include "common.h"
#include "crc_check.h"
#include "elements.h"
#include "json_out.h"
#include "ptio/error.h"

namespace ptio::cli {
namespace {

using json = nlohmann::ordered_json;

struct DiffArgs {
  std::string a, b;
  double atol = 0;
  double rtol = 0;
  bool json = false;
  bool verify_crc = true;
};

// Before the elements of `t` are compared: the CRC-32s of the records they come from (a sparse
// tensor's are its components').
void check_crc(RecordCrcCheck& crc, const Tensor& t) {
  if (t.is_sparse())
    for (const Tensor& c : t.sparse_components()) crc.check_storage(c);
  else
    crc.check_storage(t);
}

json number(double v) {
  if (std::isnan(v)) return {{"float", "nan"}};
  if (std::isinf(v)) return {{"float", v < 0 ? "-inf" : "inf"}};
  return v;
}

std::string num_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.6g", v);
  return buf;
}

struct Compared {
  std::string_view status;  // equal, different, dtype_changed, shape_changed, not_compared
  double max_abs = 0, max_rel = 0;
  std::int64_t mismatched = 0;
  std::string_view note;  // a literal
};

// Element-wise comparison of one piece (the same row-major range of both tensors), accumulated
// into `c` (max_abs, max_rel, mismatched); see compare_values.
void compare_piece(const Elements& a, const Elements& b, double atol, double rtol, Compared& c) {
  // Integers are compared exactly: their difference is taken in 64-bit unsigned arithmetic (a
  // double would round 2**53 + 1 to 2**53), so any unequal pair has |d| >= 1.
  const bool signed_ints =
      (a.kind() == ElementKind::kSigned || a.kind() == ElementKind::kBool) && a.kind() == b.kind();
  const bool unsigned_ints = a.kind() == ElementKind::kUnsigned && b.kind() == a.kind();
  for (std::int64_t i = 0; i < a.numel(); ++i) {
    double d, ref;
    bool nan_a, nan_b;
    if (signed_ints || unsigned_ints) {
      std::uint64_t ux, uy;
      if (signed_ints) {
        const std::int64_t x = a.as_int(i), y = b.as_int(i);
        if (x == y) continue;
        ux = static_cast<std::uint64_t>(x);
        uy = static_cast<std::uint64_t>(y);
        const std::uint64_t diff = x > y ? ux - uy : uy - ux;  // exact modulo 2**64
        d = static_cast<double>(diff);
        ref = std::fabs(static_cast<double>(y));
      } else {
        ux = a.as_uint(i);
        uy = b.as_uint(i);
        if (ux == uy) continue;
        d = static_cast<double>(ux > uy ? ux - uy : uy - ux);
        ref = static_cast<double>(uy);
      }
      nan_a = nan_b = false;
    } else {
      const double xr = a.real(i), xi = a.imag(i), yr = b.real(i), yi = b.imag(i);
      nan_a = std::isnan(xr) || std::isnan(xi);
      nan_b = std::isnan(yr) || std::isnan(yi);
      if (nan_a && nan_b) continue;
      if (xr == yr && xi == yi) continue;  // also equal infinities
      // An infinity is close only to the same infinity (torch.isclose): unequal values with an
      // infinity among them differ by inf, absolutely and relatively.
      if (std::isinf(xr) || std::isinf(xi) || std::isinf(yr) || std::isinf(yi)) {
        c.max_abs = c.max_rel = std::numeric_limits<double>::infinity();
        ++c.mismatched;
        continue;
      }
      d = std::hypot(xr - yr, xi - yi);
      ref = std::hypot(yr, yi);
    }
    if (nan_a || nan_b || std::isnan(d)) d = std::numeric_limits<double>::infinity();
    const double rel = ref == 0 ? std::numeric_limits<double>::infinity() : d / ref;
    c.max_abs = std::max(c.max_abs, d);
    c.max_rel = std::max(c.max_rel, rel);
    if (!(d <= atol + rtol * ref)) ++c.mismatched;
  }
}

// Element-wise comparison as torch.isclose(b_value=b, a, rtol, atol, equal_nan=True):
// |a - b| <= atol + rtol * |b|; NaN equals NaN at the same position; rel = |a - b| / |b|.
Compared compare_values(const Tensor& ta, const Tensor& tb, double atol, double rtol) {
  Compared c;
  // Sparse tensors of one layout: their components (indices exactly, values, the last, with the
  // tolerance); equal only when every component is.
  if (ta.is_sparse() && tb.is_sparse() && ta.layout() == tb.layout()) {
    const auto& ca = ta.sparse_components();
    const auto& cb = tb.sparse_components();
    bool same = ca.size() == cb.size();
    for (std::size_t i = 0; same && i < ca.size(); ++i)
      same = ca[i].dtype() == cb[i].dtype() && ca[i].sizes() == cb[i].sizes();
    if (!same) {
      c.status = "different";
      c.mismatched = 1;
      c.note = "sparse: the indices or values differ in dtype or shape";
      return c;
    }
    for (std::size_t i = 0; i < ca.size(); ++i) {
      const bool values = i + 1 == ca.size();
      const Compared ci = compare_values(ca[i], cb[i], values ? atol : 0, values ? rtol : 0);
      c.mismatched += ci.mismatched;
      c.max_abs = std::max(c.max_abs, ci.max_abs);
      c.max_rel = std::max(c.max_rel, ci.max_rel);
    }
    c.status = c.mismatched ? "different" : "equal";
    c.note = "sparse: indices and values compared";
    return c;
  }
  if (ta.is_meta() || tb.is_meta() || ta.is_sparse() || tb.is_sparse()) {
    c.status = "not_compared";
    c.note = ta.is_meta() || tb.is_meta()       ? "meta tensor: no data"
             : ta.is_sparse() && tb.is_sparse() ? "sparse tensors of different layouts"
                                                : "a sparse tensor against a dense one";
    return c;
  }
  if (element_kind(ta.dtype()) == ElementKind::kNone) {
    // Packed sub-byte dtypes lie whole in their storage: compared in place, not copied.
    const bool same_bytes =
        ta.nbytes() == tb.nbytes() &&
        (ta.nbytes() == 0 || std::memcmp(ta.data_ptr(), tb.data_ptr(), ta.nbytes()) == 0);
    c.status = same_bytes ? "equal" : "different";
    c.mismatched = same_bytes ? 0 : 1;
    c.note = "packed dtype: bytes compared";
    return c;
  }
  {  // unreadable dtypes and bad quantizers fail here, before anything is compared
    std::vector<std::byte> one(std::max<std::size_t>(1, ta.element_size()));
    (void)Elements(ta, one, 0);
    std::vector<std::byte> other(std::max<std::size_t>(1, tb.element_size()));
    (void)Elements(tb, other, 0);
  }
  // Bytes equal under the same per-tensor quantizer (or none): values equal, nothing to compute.
  const bool same_quantizer =
      !ta.quantizer() || (ta.quantizer()->scale == tb.quantizer()->scale &&
                          ta.quantizer()->zero_point == tb.quantizer()->zero_point &&
                          ta.quantizer()->qscheme == QScheme::kPerTensorAffine);
  // The elements are compared in row-major pieces of 16 MiB, A's from for_each_chunk and B's of
  // the same range (row_major_range): memory stays O(piece) however large the tensors, strided
  // views included (each was copied whole before: twice a transposed weight's size).
  std::vector<std::byte> b_buf;
  for_each_chunk(ta, kElementChunkBytes, [&](std::span<const std::byte> piece, std::int64_t first) {
    const Elements a(ta, piece, first);
    const std::span<const std::byte> b_piece = row_major_range(tb, first, a.numel(), b_buf);
    const Elements b(tb, b_piece, first);
    if (!same_quantizer || a.nbytes() != b.nbytes() ||
        std::memcmp(a.data(), b.data(), a.nbytes()) != 0)
      compare_piece(a, b, atol, rtol, c);
    if (tb.is_contiguous()) {  // B's mapped pages leave the resident set as A's do
      const Storage& st = tb.storage();
      st.release_pages(static_cast<std::size_t>(b_piece.data() - st.data()), b_piece.size());
    }
  });
  c.status = c.mismatched ? "different" : "equal";
  return c;
}

// Expanded (stride-0) dimensions both tensors share repeat the same values in both, so comparing
// one slice along them gives the same max abs/rel difference, and each mismatch found stands for
// `repeat` of them: the views are compared without materialising the expansion (a [1e9] view of
// one element costs one comparison). Returns false (nothing to collapse) when no such dimension
// exists or the tensors are quantized (a per-channel axis may be one of them).
bool collapse_shared_expansion(Tensor& ta, Tensor& tb, std::int64_t& repeat) {
  repeat = 1;
  if (ta.is_meta() || tb.is_meta() || ta.is_sparse() || tb.is_sparse() || ta.is_quantized() ||
      ta.numel() == 0 || ta.sizes() != tb.sizes())
    return false;
  std::vector<std::int64_t> sizes = ta.sizes();
  bool any = false;
  for (std::size_t d = 0; d < sizes.size(); ++d)
    if (sizes[d] > 1 && ta.strides()[d] == 0 && tb.strides()[d] == 0) {
      repeat *= sizes[d];
      sizes[d] = 1;
      any = true;
    }
  if (!any) return false;
  ta = Tensor::make(ta.storage(), ta.dtype(), sizes, ta.strides(), ta.storage_offset());
  tb = Tensor::make(tb.storage(), tb.dtype(), sizes, tb.strides(), tb.storage_offset());
  return true;
}

// A tensor's key for pairing. A name (NamedTensor::path, as `ptio tensors` prints it) held by
// one tensor in each file pairs those two, whatever kind of source named them: a TorchScript
// module's state_dict name (`m` fc1.weight), a checkpoint's dict key (`s` fc1.weight), a nested
// dict (`s` fc1 `s` weight) or a pickled nn.Module. A name several tensors of a file share
// (distinct keys that flatten to one name: `{"a.b": x, "a": {"b": y}}`, `{0: x, "0": y}`) pairs
// by key path instead (NamedTensor::key, a module's state_dict name counting as a str dict key,
// which is what state_dict() returns) and which tensor of that key path it is (0 for the first;
// only a dict with two keys of one repr repeats one), so A's `a.b` is not paired with whichever
// `a.b` of B came first.
using Key = std::pair<std::string, int>;

void count_names(const TensorSource& s, std::map<std::string, int>& count_by_name) {
  for (const auto& nt : s.tensors) ++count_by_name[nt.path];
}

// `key` with every `m` (module state_dict name) component read as `s` (str dict key).
std::string pairing_key(const std::string& key) {
  std::string k = key;
  for (std::size_t i = 0; i < k.size();) {
    if (k[i] == 'm') k[i] = 's';
    const std::size_t end = k.find('\0', i + 1);
    if (end == std::string::npos) break;
    i = end + 1;
  }
  return k;
}

std::vector<Key> keys_of(const TensorSource& s, const std::map<std::string, int>& count_a,
                         const std::map<std::string, int>& count_b) {
  std::map<std::string, int> count_by_key;
  std::vector<Key> keys;
  keys.reserve(s.tensors.size());
  for (const auto& nt : s.tensors) {
    const auto ia = count_a.find(nt.path), ib = count_b.find(nt.path);
    const bool unique =
        ia != count_a.end() && ia->second == 1 && ib != count_b.end() && ib->second == 1;
    if (unique) {
      keys.emplace_back("n" + nt.path, 0);
    } else {
      std::string k = "k" + pairing_key(nt.key);
      const int n = count_by_key[k]++;
      keys.emplace_back(std::move(k), n);
    }
  }
  return keys;
}

// A row's name as printed: `NAME`, or `NAME (as ACCESS)` for a name several tensors share.
std::string display_name(const json& row) {
  std::string n = row["name"].get<std::string>();
  if (row.contains("access")) n += " (as " + row["access"].get<std::string>() + ")";
  return printable(n);
}

// One compared pair, kept until the output is written (the JSON's "equal" comes before its rows,
// so every row is compared first): a few dozen bytes, not the row's JSON (~1 KB), which is made
// again when the row is printed.
struct PairRow {
  std::size_t a = 0;           // index into A's tensors
  const Tensor* tb = nullptr;  // the paired tensor of B
  Compared c;
};

int run_diff(const DiffArgs& args) {
  begin_reading({args.a, args.b});
  RecordCrcCheck crc_a(args.a, args.verify_crc), crc_b(args.b, args.verify_crc);
  crc_a.check_pickles();
  crc_b.check_pickles();
  TensorSource a = load_tensor_source(args.a);
  TensorSource b = load_tensor_source(args.b);
  std::map<std::string, int> count_a, count_b;
  count_names(a, count_a);
  count_names(b, count_b);
  const std::vector<Key> keys_a = keys_of(a, count_a, count_b),
                         keys_b = keys_of(b, count_a, count_b);
  std::map<Key, const Tensor*> in_b;
  for (std::size_t i = 0; i < b.tensors.size(); ++i) in_b.emplace(keys_b[i], &b.tensors[i].tensor);
  std::map<Key, const Tensor*> in_a;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) in_a.emplace(keys_a[i], &a.tensors[i].tensor);
  // Names held by more than one tensor of a file, in A's order then B's: each is listed with how
  // many tensors of A and of B have it, and their rows carry an "access" (key_access()).
  auto n_of = [](const std::map<std::string, int>& m, const std::string& n) {
    const auto it = m.find(n);
    return it == m.end() ? 0 : it->second;
  };
  auto repeated = [&](const std::string& n) {
    return n_of(count_a, n) > 1 || n_of(count_b, n) > 1;
  };
  json collisions = json::array();
  {
    std::set<std::string> listed;
    for (const auto* s : {&a, &b})
      for (const auto& nt : s->tensors)
        if (repeated(nt.path) && listed.insert(nt.path).second)
          collisions.push_back(
              {{"name", nt.path}, {"a", n_of(count_a, nt.path)}, {"b", n_of(count_b, nt.path)}});
  }

  // A tensor's row start; "access" (the key path as Python access) only for a repeated name.
  auto brief = [&](const NamedTensor& nt) {
    const Tensor& t = nt.tensor;
    json j{{"name", nt.path}};
    if (repeated(nt.path)) j["access"] = key_access(nt.key);
    j["dtype"] = std::string(scalar_type_name(t.dtype()));
    j["shape"] = t.sizes();
    return j;
  };
  // A compared pair's row, made when it is printed.
  auto row_of = [&](const PairRow& p) {
    const Tensor& ta = a.tensors[p.a].tensor;
    const Tensor& tb = *p.tb;
    const Compared& c = p.c;
    json row = brief(a.tensors[p.a]);
    if (c.status == "dtype_changed" || c.status == "shape_changed") {
      row["dtype_b"] = std::string(scalar_type_name(tb.dtype()));
      row["shape_b"] = tb.sizes();
    }
    row["status"] = std::string(c.status);
    if (c.status == "equal" || c.status == "different") {
      row["max_abs_diff"] = number(c.max_abs);
      row["max_rel_diff"] = number(c.max_rel);
      row["mismatched"] = c.mismatched;
      row["numel"] = ta.numel();
    }
    if (!c.note.empty()) row["note"] = std::string(c.note);
    return row;
  };
  std::vector<std::size_t> added, removed;  // indices into B's / A's tensors
  std::vector<PairRow> rows;
  std::uint64_t total = 0;
  for (const auto& nt : a.tensors)
    if (!nt.tensor.is_meta() && !nt.tensor.is_sparse()) total += nt.tensor.nbytes();
  Progress progress("diff", total);
  int differing = 0, equal = 0;
  for (std::size_t i = 0; i < a.tensors.size(); ++i) {
    const NamedTensor& nt = a.tensors[i];
    const auto it = in_b.find(keys_a[i]);
    if (it == in_b.end()) {
      removed.push_back(i);
      continue;
    }
    const Tensor& ta = nt.tensor;
    const Tensor& tb = *it->second;
    Compared c;
    if (ta.dtype() != tb.dtype() || ta.sizes() != tb.sizes()) {
      c.status = ta.dtype() != tb.dtype() ? "dtype_changed" : "shape_changed";
    } else {
      Tensor va = ta, vb = tb;
      std::int64_t repeat = 1;
      collapse_shared_expansion(va, vb, repeat);
      if (!va.is_meta() && !va.is_sparse() && !vb.is_meta() && !vb.is_sparse()) {
        const std::string label = display_name(brief(nt));
        charge_view(a.file, label, va);  // both are read element by element: what is left
        charge_view(b.file, label, vb);  // expanded on one side only is charged
      }
      check_crc(crc_a, ta);
      check_crc(crc_b, tb);
      c = compare_values(va, vb, args.atol, args.rtol);
      c.mismatched *= repeat;
    }
    if (!ta.is_meta() && !ta.is_sparse()) progress.advance(ta.nbytes());
    // Meta tensors have no values: same dtype and shape is all there is to compare. Sparse
    // tensors of different layouts are not shown equal: they count as changed.
    const bool meta = ta.is_meta() || tb.is_meta();
    (c.status == "equal" || (c.status == "not_compared" && meta) ? equal : differing) += 1;
    // The human output prints no line for a tensor equal without any difference: it is only
    // counted (a file may pair hundreds of thousands of tensors).
    const bool silent = c.status == "equal" && !(c.max_abs > 0);
    if (args.json || !silent) rows.push_back({i, &tb, c});
  }
  for (std::size_t i = 0; i < b.tensors.size(); ++i)
    if (!in_a.count(keys_b[i])) added.push_back(i);
  progress.finish();
  const bool same = differing == 0 && added.empty() && removed.empty();
  if (args.json) {
    // The bytes `out.dump(1)` of the whole document printed, written row by row: memory holds
    // one row's JSON at a time, not all of them (620 MB at 250,000 tensors).
    JsonObjectWriter w(std::cout, 1);
    w.member("a", args.a);
    w.member("b", args.b);
    w.member("atol", args.atol);
    w.member("rtol", args.rtol);
    w.member("equal", same);
    w.array_member("added", added.size(),
                   [&](std::size_t k) { return brief(b.tensors[added[k]]); });
    w.array_member("removed", removed.size(),
                   [&](std::size_t k) { return brief(a.tensors[removed[k]]); });
    w.array_member("tensors", rows.size(), [&](std::size_t k) { return row_of(rows[k]); });
    w.member("collisions", collisions);
    w.finish();
    return same ? kExitOk : kExitFinding;
  }
  const bool col = color_enabled(1);
  std::cout << paint("--- " + args.a, "1", col) << "\n" << paint("+++ " + args.b, "1", col) << "\n";
  for (const auto& c : collisions) {
    const std::string n = printable(c["name"].get<std::string>());
    std::cout << "note: " << n << " names " << c["a"].get<int>() << " tensors in A and "
              << c["b"].get<int>()
              << " in B (different keys that flatten to one name); paired by key, shown as " << n
              << " (as [...])\n";
  }
  for (const std::size_t i : removed) {
    const json r = brief(a.tensors[i]);
    std::cout << paint("- " + display_name(r) + "  " + r["dtype"].get<std::string>() + " " +
                           shape_str(r["shape"].get<std::vector<std::int64_t>>()) + "  (only in A)",
                       "31", col)
              << "\n";
  }
  for (const std::size_t i : added) {
    const json r = brief(b.tensors[i]);
    std::cout << paint("+ " + display_name(r) + "  " + r["dtype"].get<std::string>() + " " +
                           shape_str(r["shape"].get<std::vector<std::int64_t>>()) + "  (only in B)",
                       "32", col)
              << "\n";
  }
  for (const PairRow& p : rows) {
    const json r = row_of(p);
    const std::string st = r["status"].get<std::string>();
    const std::string name = display_name(r);
    const std::string dt = r["dtype"].get<std::string>();
    const std::string sh = shape_str(r["shape"].get<std::vector<std::int64_t>>());
    if (st == "dtype_changed" || st == "shape_changed") {
      std::cout << paint("! " + name + "  " + dt + " " + sh + " -> " +
                             r["dtype_b"].get<std::string>() + " " +
                             shape_str(r["shape_b"].get<std::vector<std::int64_t>>()),
                         "33", col)
                << "\n";
    } else if (st == "different") {
      auto txt = [](const json& v) {
        return v.is_object() ? v["float"].get<std::string>() : num_text(v.get<double>());
      };
      std::cout << paint("~ " + name + "  " + dt + " " + sh + "  max abs diff " +
                             txt(r["max_abs_diff"]) + ", max rel diff " + txt(r["max_rel_diff"]) +
                             ", " + std::to_string(r["mismatched"].get<std::int64_t>()) + " of " +
                             std::to_string(r["numel"].get<std::int64_t>()) + " elements differ" +
                             (r.contains("note") ? " (" + r["note"].get<std::string>() + ")" : ""),
                         "33", col)
                << "\n";
    } else if (st == "equal" && r["max_abs_diff"].is_number() &&
               r["max_abs_diff"].get<double>() > 0) {
      std::cout << "= " << name << "  within tolerance (max abs diff "
                << num_text(r["max_abs_diff"].get<double>()) << ", max rel diff "
                << (r["max_rel_diff"].is_object() ? r["max_rel_diff"]["float"].get<std::string>()
                                                  : num_text(r["max_rel_diff"].get<double>()))
                << ")\n";
    } else if (st == "not_compared") {
      std::cout << "? " << name << "  not compared: " << r["note"].get<std::string>() << "\n";
    }
  }
  std::cout << (same ? paint("equal", "32", col) : paint("different", "31", col)) << ": "
            << differing << " changed, " << added.size() << " added, " << removed.size()
            << " removed, " << equal << " equal\n";
  return same ? kExitOk : kExitFinding;
}

// --atol / --rtol: a number >= 0 (inf allowed: every finite difference is within it). NaN and
// negative values are usage errors quoting the value as given (CLI11's NonNegativeNumber let NaN
// through and printed -1 with 300 digits).
CLI::Validator tolerance_validator() {
  return CLI::Validator(
      [](std::string& v) -> std::string {  // CLI11 prefixes the option's name
        char* end = nullptr;
        const double x = std::strtod(v.c_str(), &end);
        if (v.empty() || end != v.c_str() + v.size()) return "takes a number, not '" + v + "'";
        if (std::isnan(x) || x < 0) return "must be a number >= 0, not '" + v + "'";
        return {};
      },
      "X");
}

const Registrar reg{
    {"diff",
     "Compare the tensors of two checkpoints or TorchScript modules (exit 0 equal, 1 different, "
     "2 unreadable)",
     [](CLI::App& sub) -> std::function<int()> {
       auto a = std::make_shared<DiffArgs>();
       sub.add_option("a", a->a, "first file (torch.save or TorchScript)")->required();
       sub.add_option("b", a->b, "second file")->required();
       sub.add_option("--atol", a->atol, "absolute tolerance (default 0: exact)")
           ->check(tolerance_validator());
       sub.add_option("--rtol", a->rtol, "relative tolerance, times |B| (default 0: exact)")
           ->check(tolerance_validator());
       sub.add_flag("--json", a->json,
                    "print {a, b, equal, added, removed, tensors} (docs/cli.md)");
       add_verify_crc_flags(sub, a->verify_crc, "whose elements are compared");
       set_examples(
           sub, {"ptio diff old.pt new.pt", "ptio diff model.pt model.safetensors.pt --atol 1e-6",
                 "ptio diff scripted.pt state_dict.pt --json"});
       return [a] { return run_diff(*a); };
     }}};

}  // namespace
}  // namespace ptio::cli
