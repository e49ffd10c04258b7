// `ptio cat FILE PATH [--json] [--precision N] [--full]`: one tensor's values, printed as PyTorch
// prints them (repr(tensor), summarised with `...` over 1000 elements).
#include <algorithm>
#include <cmath>
#include <iostream>
#include <limits>
#include <memory>
#include <nlohmann/json.hpp>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

#include "code_warning.h"
#include "command.h"
#include "common.h"
#include "crc_check.h"
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
  bool verify_crc = true;
  int precision = 4;
};

using json = nlohmann::ordered_json;

// `values` of `cat --json` written as it is read: tensor.tolist()'s nested lists (quantized:
// dequantized values; non-finite floats as {"float": "nan"}), element by element over
// for_each_chunk's row-major pieces, so memory stays O(kElementChunkBytes + kFlushBytes) whatever
// the tensor's size. Each number goes through nlohmann's own serializer (what json::dump uses),
// so the bytes are those of dumping the whole tree, as `cat --json` did before it streamed.
class ValuesWriter {
 public:
  explicit ValuesWriter(std::ostream& os)
      : os_(os),
        ser_(nlohmann::detail::output_adapter<char>(buf_), ' ',
             nlohmann::json::error_handler_t::replace) {}
  ~ValuesWriter() { flush(); }
  ValuesWriter(const ValuesWriter&) = delete;
  ValuesWriter& operator=(const ValuesWriter&) = delete;

  void raw(std::string_view s) {
    buf_ += s;
    if (buf_.size() >= kFlushBytes) flush();
  }
  void repeat(char c, std::size_t n) { buf_.append(n, c); }
  void element(const Elements& e, std::int64_t i) {
    switch (e.kind()) {
      case ElementKind::kBool:
        value(json(e.as_int(i) != 0));
        break;
      case ElementKind::kSigned:
        value(json(e.as_int(i)));
        break;
      case ElementKind::kUnsigned:
        value(json(e.as_uint(i)));
        break;
      case ElementKind::kComplex:
        buf_ += '[';
        number(e.real(i));
        buf_ += ',';
        number(e.imag(i));
        buf_ += ']';
        break;
      default:
        number(e.real(i));
    }
    if (buf_.size() >= kFlushBytes) flush();
  }
  void flush() {
    if (!buf_.empty()) os_.write(buf_.data(), static_cast<std::streamsize>(buf_.size()));
    buf_.clear();
  }

 private:
  static constexpr std::size_t kFlushBytes = std::size_t{1} << 20;
  void number(double v) {
    if (std::isnan(v)) return raw(R"({"float":"nan"})");
    if (std::isinf(v)) return raw(v < 0 ? R"({"float":"-inf"})" : R"({"float":"inf"})");
    value(json(v));
  }
  void value(const json& v) { ser_.dump(v, false, false, 0); }
  std::ostream& os_;
  std::string buf_;
  nlohmann::detail::serializer<json> ser_;
};

// The nested lists of a tensor with no elements: `[]` per slice up to the first 0-sized
// dimension ([2, 0, 3] -> [[],[]]).
void empty_values(ValuesWriter& w, const std::vector<std::int64_t>& sizes, std::size_t d) {
  w.raw("[");
  if (d + 1 < sizes.size() && sizes[d] > 0)
    for (std::int64_t i = 0; i < sizes[d]; ++i) {
      if (i) w.raw(",");
      empty_values(w, sizes, d + 1);
    }
  w.raw("]");
}

// Every element of `t` (dense, readable dtype) as nested lists, row-major.
void stream_values(ValuesWriter& w, const Tensor& t, Progress& progress) {
  const std::vector<std::int64_t>& sizes = t.sizes();
  const std::size_t nd = sizes.size();
  if (t.numel() == 0) return empty_values(w, sizes, 0);
  // idx: the multi-index of the next element; a row's last element closes every dimension whose
  // index wraps and opens as many again for the next row.
  std::vector<std::int64_t> idx(nd, 0);
  w.repeat('[', nd);
  for_each_chunk(t, kElementChunkBytes, [&](std::span<const std::byte> piece, std::int64_t first) {
    const Elements e(t, piece, first);
    for (std::int64_t i = 0; i < e.numel(); ++i) {
      w.element(e, i);
      if (nd == 0) continue;
      const std::size_t closed = next_row_major_index(idx, sizes);
      w.repeat(']', closed);
      if (closed < nd) {
        w.raw(",");
        w.repeat('[', closed);
      }
    }
    progress.advance(static_cast<std::uint64_t>(e.numel()));
  });
}

int print_tensor(const CatArgs& a, const NamedTensor& nt);

// The print options of `cat` without --json: --precision, and no summary with --full.
PrintOptions print_options(const CatArgs& a) {
  PrintOptions o;
  o.precision = a.precision;
  if (a.full) o.threshold = std::numeric_limits<std::int64_t>::max();
  return o;
}

// The value named `path` (dict str keys and list/tuple indices joined with `.`, as `ptio tensors`
// names them) in `v`, or nullptr: for a name that is no tensor, to say what it is instead. A key
// holding dots is tried whole before it is split.
const IValue* find_value(const IValue& v, std::string_view path, int depth = 0) {
  if (depth > 64) return nullptr;
  auto child = [&](std::string_view key) -> const IValue* {
    if (v.is_dict()) return v.as_dict().find(key);
    const std::vector<IValue>* items = v.is_list()    ? &v.as_list().elements
                                       : v.is_tuple() ? &v.as_tuple().elements()
                                                      : nullptr;
    if (!items || key.empty() || key.size() > 18 ||
        key.find_first_not_of("0123456789") != std::string_view::npos)
      return nullptr;
    const auto i = std::stoull(std::string(key));
    return i < items->size() ? &(*items)[i] : nullptr;
  };
  if (const IValue* c = child(path)) return c;
  for (std::size_t dot = path.find('.'); dot != std::string_view::npos;
       dot = path.find('.', dot + 1))
    if (const IValue* c = child(path.substr(0, dot)))
      if (const IValue* r = find_value(*c, path.substr(dot + 1), depth + 1)) return r;
  return nullptr;
}

int run_cat(const CatArgs& a) {
  begin_reading({a.file});
  RecordCrcCheck crc(a.file, a.verify_crc);
  crc.check_pickles();
  TensorSource src = load_tensor_source(a.file, /*all=*/true);
  warn_code_globals(a.file);
  // By name; a name several tensors share (keys that flatten to one name) selects the first and
  // says how to name the others: by their key path as Python access (`["a"]["b"]`), which is
  // also accepted for any tensor.
  const NamedTensor* found = nullptr;
  std::vector<const NamedTensor*> same_name;
  for (const auto& nt : src.tensors)
    if (nt.path == a.path) same_name.push_back(&nt);
  if (!same_name.empty()) found = same_name.front();
  if (same_name.size() > 1) {
    std::cerr << "ptio: note: " << same_name.size() << " tensors of " << a.file << " are named '"
              << a.path << "' (different keys that flatten to one name):";
    for (const NamedTensor* nt : same_name) std::cerr << " " << printable(key_access(nt->key));
    std::cerr << "; printing the first; name another by its key path, e.g. `ptio cat " << a.file
              << " '" << printable(key_access(same_name[1]->key)) << "'`\n";
  }
  if (!found)
    for (const auto& nt : src.tensors)
      if (key_access(nt.key) == a.path) {
        found = &nt;
        break;
      }
  if (!found && !src.torchscript)
    if (const IValue* v = find_value(src.root, a.path); v && !v->is_tensor()) {
      ReprOptions ro;
      ro.max_items = 8;
      ro.max_depth = 3;
      std::string r;
      try {
        r = to_repr(*v, ro);
      } catch (const Error&) {
        r = "...";
      }
      if (r.size() > 80) r = r.substr(0, 77) + "...";
      std::cerr << "ptio: error: " << a.file << ": '" << a.path << "' is not a tensor: it is "
                << (v->is_opaque() || v->is_object() ? "an object" : "a value") << " of type "
                << v->kind_name() << " (" << r << "); `ptio show " << a.file
                << "` prints the whole object\n";
      return kExitUsage;
    }
  if (!found) {
    std::vector<std::string> names;
    for (const auto& nt : src.tensors) names.push_back(nt.path);
    const std::string near = printable(close_names(a.path, names));
    std::cerr << "ptio: error: " << a.file << ": no tensor named '" << a.path << "'"
              << (near.empty() ? "" : " (did you mean: " + near + "?)") << "; `ptio tensors "
              << a.file << "` lists the names\n";
    return kExitUsage;
  }
  const Tensor& t = found->tensor;
  if (!t.is_meta() && !t.is_sparse()) {  // elements read
    // What the print reads: every element for --json and --full, the summary's edges else (a
    // [1e9] expanded view prints 6 elements and is charged 6, not 1e9).
    charge_view(src.file, found->path, a.json ? t : printed_view(t, print_options(a)));
    crc.check_storage(t);
  }
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
    const bool dense = !t.is_meta() && !t.is_sparse();
    if (dense) {
      // Unreadable dtypes and bad quantizers fail here, before anything is printed.
      std::vector<std::byte> one(std::max<std::size_t>(1, t.element_size()));
      (void)Elements(t, one, 0);
    }
    json j;
    j["path"] = found->path;
    j["dtype"] = std::string(scalar_type_name(t.dtype()));
    j["shape"] = t.sizes();
    j["values"] = nullptr;
    std::string head = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    if (!dense) {
      std::cout << head << "\n";
      return kExitOk;
    }
    head.resize(head.size() - std::string_view("null}").size());  // "values" is the last key
    ValuesWriter w(std::cout);
    w.raw(head);
    Progress progress("cat", static_cast<std::uint64_t>(t.numel()));
    stream_values(w, t, progress);
    w.raw("}\n");
    return kExitOk;
  }
  write_tensor_repr(std::cout, t, print_options(a));
  std::cout << "\n";
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
       add_verify_crc_flags(sub, a->verify_crc, "of the tensor printed");
       set_examples(sub, {"ptio cat model.pt fc1.weight", "ptio cat model.pt fc1.bias --json",
                          "ptio cat scripted.pt fc1.weight --precision 8"});
       return [a] { return run_cat(*a); };
     }}};

}  // namespace
}  // namespace ptio::cli
