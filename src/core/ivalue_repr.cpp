// to_repr: a Python-repr-like printer for IValue (cycle-safe, depth-bounded, shared containers
// printed once, output-bounded) and float_repr.
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <unordered_map>
#include <unordered_set>

#include "core/ivalue_detail.h"
#include "core/shared_labels.h"
#include "ptio/core/ivalue.h"
#include "ptio/printable.h"

namespace ptio {

std::string float_repr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d < 0 ? "-inf" : "inf";
  // Shortest round-trip digits in scientific form, then Python's layout (float_repr_style
  // 'short'): positional when -4 <= exponent < 16, else d.ddde+XX.
  char buf[64];
  auto res = std::to_chars(buf, buf + sizeof buf, d, std::chars_format::scientific);
  std::string s(buf, res.ptr);
  const bool neg = s[0] == '-';
  if (neg) s.erase(0, 1);
  const auto e = s.find('e');
  std::string mant = s.substr(0, e);
  const int exp = std::stoi(s.substr(e + 1));
  std::string digits;
  for (char c : mant)
    if (c != '.') digits.push_back(c);
  while (digits.size() > 1 && digits.back() == '0') digits.pop_back();
  std::string out = neg ? "-" : "";
  if (exp >= -4 && exp < 16) {
    if (exp < 0) {
      out += "0.";
      out.append(static_cast<std::size_t>(-exp - 1), '0');
      out += digits;
    } else {
      const std::size_t int_len = static_cast<std::size_t>(exp) + 1;
      if (digits.size() <= int_len) {
        out += digits;
        out.append(int_len - digits.size(), '0');
        out += ".0";
      } else {
        out += digits.substr(0, int_len);
        out += '.';
        out += digits.substr(int_len);
      }
    }
  } else {
    out += digits.substr(0, 1);
    if (digits.size() > 1) {
      out += '.';
      out += digits.substr(1);
    }
    char eb[16];
    std::snprintf(eb, sizeof eb, "e%c%02d", exp < 0 ? '-' : '+', exp < 0 ? -exp : exp);
    out += eb;
  }
  return out;
}

namespace {

using Kind = IValue::Kind;

void repr_str(std::string& out, std::string_view s, bool bytes) {
  const bool has_single = s.find('\'') != std::string_view::npos;
  const bool has_double = s.find('"') != std::string_view::npos;
  const char q = (has_single && !has_double) ? '"' : '\'';
  out.push_back(q);
  for (unsigned char c : s) {
    if (c == static_cast<unsigned char>(q) || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c < 0x20 || c == 0x7f || (bytes && c >= 0x80)) {
      char b[8];
      std::snprintf(b, sizeof b, "\\x%02x", c);
      out += b;
    } else {
      out.push_back(static_cast<char>(c));  // UTF-8 continuation bytes of str pass through
    }
  }
  out.push_back(q);
}

void repr_ints(std::string& out, const std::vector<std::int64_t>& v) {
  out.push_back('[');
  for (std::size_t i = 0; i < v.size(); ++i) {
    if (i) out += ", ";
    out += std::to_string(v[i]);
  }
  out.push_back(']');
}

class Printer {
 public:
  /// `shared`: nullptr for the discovery pass (which records the containers reached a second
  /// time into `found`), else the set it found (those get `&N ` / `*N`).
  Printer(const ReprOptions& o, const std::unordered_set<const void*>* shared)
      : opt_(o), labels_(shared) {}

  void print(const IValue& v, std::size_t depth) {
    if (out.size() > opt_.max_output_bytes)
      throw Error(ErrorCode::kLimitExceeded,
                  "the repr is longer than ReprOptions::max_output_bytes (" +
                      std::to_string(opt_.max_output_bytes) + " bytes)");
    switch (v.kind()) {
      case Kind::None:
        out += "None";
        return;
      case Kind::Bool:
        out += v.as_bool() ? "True" : "False";
        return;
      case Kind::Int:
        out += std::to_string(v.as_int());
        return;
      case Kind::Double:
        out += float_repr(v.as_double());
        return;
      case Kind::BigInt:
        out += v.as_big_int().to_string();
        return;
      case Kind::Complex: {
        const auto c = v.as_complex();
        if (c.real() == 0 && !std::signbit(c.real())) {
          out += imag_repr(c.imag()) + "j";
        } else {
          out += "(" + float_repr_short(c.real());
          const std::string im = imag_repr(c.imag());
          if (im[0] != '-') out += "+";
          out += im + "j)";
        }
        return;
      }
      case Kind::String:
        repr_str(out, v.as_string(), false);
        return;
      case Kind::Bytes:
        out += 'b';
        repr_str(out, v.as_bytes(), true);
        return;
      case Kind::ByteArray:
        out += "bytearray(b";
        repr_str(out, v.as_bytes(), true);
        out += ')';
        return;
      case Kind::Tensor:
        tensor(v.as_tensor(), depth);
        return;
      case Kind::Storage: {
        const Storage& s = v.as_storage();
        out += "storage(";
        if (s.defined()) {
          out += s.dtype() ? std::string(scalar_type_name(*s.dtype())) : "untyped";
          out += ", nbytes=" + std::to_string(s.nbytes());
          if (!s.key().empty()) out += ", key='" + s.key() + "'";
          if (!s.device().is_cpu()) out += ", device='" + s.device().str() + "'";
        }
        out += ')';
        return;
      }
      case Kind::Device: {
        const Device& d = v.as_device();
        out += "device(type='" + d.type_name() + "'";
        if (d.has_index()) out += ", index=" + std::to_string(d.index());
        out += ')';
        return;
      }
      default:
        break;
    }
    if (depth >= opt_.max_depth) {
      out += "...";
      return;
    }
    // Mutable containers: a payload already being printed is a cycle.
    for (const void* p : active_)
      if (p == v.identity()) {
        // Python: a list `[...]`, a dict `{...}`, an OrderedDict (its own __repr__) `...`.
        out += v.is_list()                                   ? "[...]"
               : v.is_dict() && !v.as_dict().ordered_dict ? "{...}"
                                                            : "...";
        return;
      }
    // A container reached again (not a cycle): `*N` after its first print `&N ...`.
    std::size_t label = 0;
    switch (labels_.visit(v.identity(), label)) {
      case detail::SharedLabels::Place::kSkip:
        return;
      case detail::SharedLabels::Place::kAlias:
        out += '*' + std::to_string(label);
        return;
      case detail::SharedLabels::Place::kAnchor:
        out += '&' + std::to_string(label) + ' ';
        break;
      case detail::SharedLabels::Place::kPrint:
        break;
    }
    active_.push_back(v.identity());
    compound(v, depth + 1);
    active_.pop_back();
  }

  std::string out;
  /// Discovery pass: the containers reached again.
  const std::unordered_set<const void*>& found() const noexcept { return labels_.found(); }

 private:
  static std::string float_repr_short(double d) {
    std::string s = float_repr(d);
    if (s.size() > 2 && s.compare(s.size() - 2, 2, ".0") == 0) s.resize(s.size() - 2);
    return s;
  }
  static std::string imag_repr(double d) { return float_repr_short(d); }

  // `depth`: the tensor's nesting; its python_state prints one level deeper (a state can hold
  // tensors with states of their own).
  void tensor(const Tensor& t, std::size_t depth) {
    if (!t.defined()) {
      out += "tensor(undefined)";
      return;
    }
    out += "tensor(";
    out += scalar_type_name(t.dtype());
    out += ", ";
    repr_ints(out, t.sizes());
    if (t.layout() == Layout::kStrided && !t.is_contiguous()) {
      out += ", strides=";
      repr_ints(out, t.strides());
    }
    if (t.layout() == Layout::kStrided && !t.is_meta() && t.storage_offset() != 0)
      out += ", storage_offset=" + std::to_string(t.storage_offset());
    if (t.is_sparse()) out += ", layout=" + std::string(layout_name(t.layout()));
    if (t.is_meta())
      out += ", device='meta'";
    else if (!t.device().is_cpu())
      out += ", device='" + t.device().str() + "'";
    if (t.requires_grad()) out += ", requires_grad=True";
    if (!t.python_type().empty()) out += ", python_type=" + t.python_type().qualified_name();
    if (!t.python_state().is_none()) {
      out += ", python_state=";
      if (depth + 1 >= opt_.max_depth)
        out += "...";
      else
        print(t.python_state(), depth + 1);
    }
    out += ')';
  }

  template <typename Range, typename F>
  void items(const Range& r, F each) {
    std::size_t i = 0;
    for (const auto& x : r) {
      if (i) out += ", ";
      if (opt_.max_items && i == opt_.max_items) {
        out += "...";
        break;
      }
      each(x);
      ++i;
    }
  }

  void compound(const IValue& v, std::size_t depth) {
    switch (v.kind()) {
      case Kind::Tuple: {
        const auto& e = v.as_tuple().elements();
        out += '(';
        items(e, [&](const IValue& x) { print(x, depth); });
        if (e.size() == 1) out += ',';
        out += ')';
        return;
      }
      case Kind::List:
        out += '[';
        items(v.as_list().elements, [&](const IValue& x) { print(x, depth); });
        out += ']';
        return;
      case Kind::Dict: {
        const auto& d = v.as_dict();
        if (d.ordered_dict) {
          // OrderedDict.__repr__ of Python <= 3.11 (Debian 12's, which PyTorch 1.13 runs on):
          // `OrderedDict()` when empty, else `OrderedDict([('a', 1), ('b', 2)])`. (3.12 prints
          // `OrderedDict({'a': 1, 'b': 2})`.)
          out += "OrderedDict(";
          if (d.size() != 0) {
            out += '[';
            items(d.items(), [&](const ivalue::Dict::Entry& e) {
              out += '(';
              print(e.first, depth);
              out += ", ";
              print(e.second, depth);
              out += ')';
            });
            out += ']';
          }
          out += ')';
          return;
        }
        out += '{';
        items(d.items(), [&](const ivalue::Dict::Entry& e) {
          print(e.first, depth);
          out += ": ";
          print(e.second, depth);
        });
        out += '}';
        return;
      }
      case Kind::Set:
      case Kind::FrozenSet: {
        const auto& s = v.as_set();
        const bool frozen = v.kind() == Kind::FrozenSet;
        if (s.size() == 0) {
          out += frozen ? "frozenset()" : "set()";
          return;
        }
        if (frozen) out += "frozenset(";
        out += '{';
        items(s.items(), [&](const IValue& x) { print(x, depth); });
        out += '}';
        if (frozen) out += ')';
        return;
      }
      case Kind::Enum: {
        const auto& e = v.as_enum();
        // Class, attribute and global names come from the file as they are (strings are quoted
        // and escaped as Python's repr does): printable() keeps them from acting on a terminal.
        out += "<" + printable(e.type.name()) + "." + printable(e.name) + ": ";
        print(e.value, depth);
        out += '>';
        return;
      }
      case Kind::Object: {
        const auto& o = v.as_object();
        out += printable(o.type.qualified_name());
        out += '(';
        items(o.attributes, [&](const std::pair<std::string, IValue>& a) {
          out += printable(a.first) + "=";
          print(a.second, depth);
        });
        if (o.has_state) {
          if (!o.attributes.empty()) out += ", ";
          out += "__state__=";
          print(o.state, depth);
        }
        out += ')';
        return;
      }
      case Kind::Opaque: {
        const auto& o = v.as_opaque();
        if (o.kind == ivalue::Opaque::Kind::kPersistentId) {
          out += "persistent_id(";
          print(o.persistent_id, depth);
          out += ')';
        } else {
          out += printable(o.qualified_name());
        }
        for (const auto& a : o.applied) {
          switch (a.op) {
            case ivalue::Op::kReduce:
            case ivalue::Op::kNewObj:
              if (a.op == ivalue::Op::kNewObj) out += ".__new__";
              if (a.arg.is_tuple()) {
                out += '(';
                items(a.arg.as_tuple().elements(), [&](const IValue& x) { print(x, depth); });
                out += ')';
              } else {
                out += "(*";
                print(a.arg, depth);
                out += ')';
              }
              break;
            case ivalue::Op::kNewObjEx:
              out += ".__new_ex__";
              print(a.arg, depth);
              break;
            case ivalue::Op::kBuild:
              out += ".__setstate__(";
              print(a.arg, depth);
              out += ')';
              break;
            case ivalue::Op::kAppend:
              out += ".append(";
              print(a.arg, depth);
              out += ')';
              break;
            case ivalue::Op::kSetItem:
              out += ".__setitem__";
              print(a.arg, depth);
              break;
            case ivalue::Op::kAddItem:
              out += ".add(";
              print(a.arg, depth);
              out += ')';
              break;
          }
        }
        return;
      }
      default:
        out += "?";
        return;
    }
  }

  const ReprOptions& opt_;
  std::vector<const void*> active_;
  detail::SharedLabels labels_;
};

}  // namespace

std::string to_repr(const IValue& v, const ReprOptions& options) {
  ReprOptions o = options;
  // The printer recurses once per nesting level: cap it so no input can exhaust the C stack.
  if (o.max_depth > detail::kMaxValueNesting) o.max_depth = detail::kMaxValueNesting;
  // Pass 1 prints without labels and finds the containers reached more than once; with none
  // (the usual case) its output is the answer. Else pass 2 prints them `&N ...` then `*N`. Pass
  // 1's output is never longer than pass 2's, so the budget check of pass 1 is sound.
  Printer discover(o, nullptr);
  discover.print(v, 0);
  if (discover.found().empty()) return std::move(discover.out);
  discover.out = std::string();
  Printer p(o, &discover.found());
  p.print(v, 0);
  return std::move(p.out);
}

}  // namespace ptio
