// to_json: IValue to the JSON encoding documented in ivalue_json.h and docs/cli.md.
#include "ptio/core/ivalue_json.h"

#include <cmath>
#include <cstdio>
#include <unordered_map>
#include <unordered_set>

#include "core/ivalue_detail.h"
#include "core/shared_labels.h"

namespace ptio {

namespace {

using Kind = IValue::Kind;

void base64(std::string& out, std::string_view in) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const unsigned v = (static_cast<unsigned char>(in[i]) << 16) |
                       (static_cast<unsigned char>(in[i + 1]) << 8) |
                       static_cast<unsigned char>(in[i + 2]);
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += kAlphabet[(v >> 6) & 63];
    out += kAlphabet[v & 63];
  }
  if (i < in.size()) {
    unsigned v = static_cast<unsigned char>(in[i]) << 16;
    if (i + 1 < in.size()) v |= static_cast<unsigned char>(in[i + 1]) << 8;
    out += kAlphabet[v >> 18];
    out += kAlphabet[(v >> 12) & 63];
    out += i + 1 < in.size() ? kAlphabet[(v >> 6) & 63] : '=';
    out += '=';
  }
}

void u_escape(std::string& out, unsigned cp) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(cp >> shift) & 15];
}

// A JSON string; non-ASCII is decoded from UTF-8 (surrogates allowed) and escaped, so the output
// is ASCII and valid whatever the bytes were (invalid bytes are escaped as \u00XX).
void json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (std::size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(static_cast<char>(c));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c < 0x20 || c == 0x7f) {
      u_escape(out, c);
    } else if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      const int n = c >= 0xf0 && c <= 0xf4   ? 3
                    : c >= 0xe0 && c <= 0xef ? 2
                    : c >= 0xc2 && c <= 0xdf ? 1
                                             : 0;
      unsigned cp = c & (n == 1 ? 0x1fu : n == 2 ? 0x0fu : 0x07u);
      bool ok = n > 0 && i + static_cast<std::size_t>(n) < s.size();
      for (int k = 1; ok && k <= n; ++k) {
        const auto cc = static_cast<unsigned char>(s[i + static_cast<std::size_t>(k)]);
        if ((cc & 0xc0) != 0x80) ok = false;
        cp = (cp << 6) | (cc & 0x3f);
      }
      if (!ok) {
        u_escape(out, c);
        continue;
      }
      i += static_cast<std::size_t>(n);
      if (cp >= 0x10000) {
        cp -= 0x10000;
        u_escape(out, 0xd800 + (cp >> 10));
        u_escape(out, 0xdc00 + (cp & 0x3ff));
      } else {
        u_escape(out, cp);
      }
    }
  }
  out.push_back('"');
}

void json_double(std::string& out, double d) {
  if (std::isnan(d))
    out += "{\"float\": \"nan\"}";
  else if (std::isinf(d))
    out += d < 0 ? "{\"float\": \"-inf\"}" : "{\"float\": \"inf\"}";
  else
    out += float_repr(d);
}

class JsonWriter {
 public:
  /// `shared`: nullptr for the discovery pass (which records the containers reached a second
  /// time into `found`), else the set it found (those get `{"shared": N, "value": ...}` /
  /// `{"ref": N}`). `sha256s` caches tensor_sha256 by tensor across both passes.
  JsonWriter(const JsonOptions& o, const std::unordered_set<const void*>* shared,
             std::unordered_map<const void*, std::string>& sha256s)
      : opt_(o), sha256s_(sha256s), labels_(shared) {}
  std::string out;
  /// Discovery pass: the containers reached again.
  const std::unordered_set<const void*>& found() const noexcept { return labels_.found(); }

  void value(const IValue& v, std::size_t depth) {
    if (out.size() > opt_.max_output_bytes)
      throw Error(ErrorCode::kLimitExceeded,
                  "the JSON is longer than JsonOptions::max_output_bytes (" +
                      std::to_string(opt_.max_output_bytes) + " bytes)");
    switch (v.kind()) {
      case Kind::None:
        out += "null";
        return;
      case Kind::Bool:
        out += v.as_bool() ? "true" : "false";
        return;
      case Kind::Int: {
        const std::int64_t i = v.as_int();
        constexpr std::int64_t kMax = std::int64_t{1} << 53;
        if (i >= -kMax && i <= kMax)
          out += std::to_string(i);
        else
          out += "{\"int\": \"" + std::to_string(i) + "\"}";
        return;
      }
      case Kind::BigInt:
        out += "{\"int\": \"" + v.as_big_int().to_string() + "\"}";
        return;
      case Kind::Double:
        json_double(out, v.as_double());
        return;
      case Kind::Complex:
        out += "{\"complex\": [";
        json_double(out, v.as_complex().real());
        out += ", ";
        json_double(out, v.as_complex().imag());
        out += "]}";
        return;
      case Kind::String:
        json_string(out, v.as_string());
        return;
      case Kind::Bytes:
      case Kind::ByteArray:
        out += v.kind() == Kind::Bytes ? "{\"bytes\": \"" : "{\"bytearray\": \"";
        base64(out, v.as_bytes());
        out += "\"}";
        return;
      case Kind::Tensor:
        tensor(v.as_tensor(), depth);
        return;
      case Kind::Storage: {
        const Storage& s = v.as_storage();
        out += "{\"storage\": {";
        if (s.defined()) {
          out += "\"dtype\": ";
          if (s.dtype())
            json_string(out, scalar_type_name(*s.dtype()));
          else
            out += "null";
          out += ", \"nbytes\": " + std::to_string(s.nbytes()) + ", \"key\": ";
          json_string(out, s.key());
          out += ", \"location\": ";
          json_string(out, s.device().str());
        }
        out += "}}";
        return;
      }
      case Kind::Device:
        out += "{\"device\": ";
        json_string(out, v.as_device().str());
        out += "}";
        return;
      default:
        break;
    }
    if (depth >= opt_.max_depth) {
      out += "{\"truncated\": \"" + std::string(v.kind_name()) + "\"}";
      return;
    }
    for (const void* p : active_)
      if (p == v.identity()) {
        out += "{\"cycle\": \"" + std::string(v.kind_name()) + "\"}";
        return;
      }
    // A container reached again (not a cycle): `{"ref": N}` after its first print
    // `{"shared": N, "value": ...}`.
    bool close = false;
    std::size_t label = 0;
    switch (labels_.visit(v.identity(), label)) {
      case detail::SharedLabels::Place::kSkip:
        return;
      case detail::SharedLabels::Place::kAlias:
        out += "{\"ref\": " + std::to_string(label) + "}";
        return;
      case detail::SharedLabels::Place::kAnchor:
        out += "{\"shared\": " + std::to_string(label) + ", \"value\": ";
        close = true;
        break;
      case detail::SharedLabels::Place::kPrint:
        break;
    }
    active_.push_back(v.identity());
    compound(v, depth + 1);
    active_.pop_back();
    if (close) out += "}";
  }

 private:
  void newline(std::size_t depth) {
    if (opt_.indent <= 0) return;
    out.push_back('\n');
    out.append(depth * static_cast<std::size_t>(opt_.indent), ' ');
  }
  void array(const std::vector<IValue>& items, std::size_t depth) {
    out.push_back('[');
    for (std::size_t i = 0; i < items.size(); ++i) {
      if (i) out += ", ";
      newline(depth);
      value(items[i], depth);
    }
    out.push_back(']');
  }
  void ints(const std::vector<std::int64_t>& v) {
    out.push_back('[');
    for (std::size_t i = 0; i < v.size(); ++i) {
      if (i) out += ", ";
      out += std::to_string(v[i]);
    }
    out.push_back(']');
  }
  // `depth`: the tensor's nesting; its python_state is one level deeper.
  void tensor(const Tensor& t, std::size_t depth) {
    out += "{\"tensor\": {";
    if (t.defined()) {
      out += "\"dtype\": ";
      json_string(out, scalar_type_name(t.dtype()));
      out += ", \"shape\": ";
      ints(t.sizes());
      // Keys and values as `ptio tensors --json` names them: a sparse tensor has no strides
      // (PyTorch's stride() raises for it) and its layout is "sparse_coo", not "torch.sparse_coo".
      if (!t.is_sparse()) {
        out += ", \"strides\": ";
        ints(t.strides());
        out += ", \"storage_offset\": " + std::to_string(t.is_meta() ? 0 : t.storage_offset());
      }
      out += std::string(", \"requires_grad\": ") + (t.requires_grad() ? "true" : "false");
      if (t.is_sparse()) {
        std::string_view layout = layout_name(t.layout());
        if (layout.starts_with("torch.")) layout.remove_prefix(6);
        out += ", \"layout\": \"" + std::string(layout) + "\"";
      }
      if (!t.is_meta() && !t.is_sparse() && !t.device().is_cpu())
        out += ", \"device\": \"" + t.device().str() + "\"";
      if (t.is_meta()) out += ", \"device\": \"meta\"";
      if (t.is_parameter()) out += ", \"is_parameter\": true";
      // A subclass / a tensor with Python attributes (torch._tensor._rebuild_from_type_v2).
      if (!t.python_type().empty()) {
        out += ", \"python_type\": ";
        json_string(out, t.python_type().qualified_name());
      }
      if (!t.python_state().is_none()) {
        out += ", \"python_state\": ";
        if (depth + 1 >= opt_.max_depth)
          out += "{\"truncated\": \"" + std::string(t.python_state().kind_name()) + "\"}";
        else
          value(t.python_state(), depth + 1);
      }
      if (const auto& q = t.quantizer()) {
        if (q->qscheme == QScheme::kPerTensorAffine) {
          out += ", \"qscheme\": \"per_tensor_affine\", \"q_scale\": ";
          json_double(out, q->scale);
          out += ", \"q_zero_point\": " + std::to_string(q->zero_point);
        } else {
          out += std::string(", \"qscheme\": \"") +
                 (q->qscheme == QScheme::kPerChannelAffine ? "per_channel_affine"
                                                           : "per_channel_affine_float_qparams") +
                 "\", \"q_per_channel_axis\": " + std::to_string(q->axis);
        }
      }
      if (opt_.tensor_sha256 && !t.is_meta() && !t.is_sparse()) {
        // Once per tensor (a tensor reached again, or the second pass, reuses it).
        auto it = sha256s_.find(t.id());
        if (it == sha256s_.end()) it = sha256s_.emplace(t.id(), opt_.tensor_sha256(t)).first;
        if (!it->second.empty()) out += ", \"sha256\": \"" + it->second + "\"";
      }
    }
    out += "}}";
  }
  void dict_entries(const ivalue::Dict& d, std::size_t depth) {
    out += "[";
    bool first = true;
    for (const auto& [k, val] : d.items()) {
      if (!first) out += ", ";
      first = false;
      newline(depth);
      out += "[";
      value(k, depth);
      out += ", ";
      value(val, depth);
      out += "]";
    }
    out += "]";
  }
  void compound(const IValue& v, std::size_t depth) {
    switch (v.kind()) {
      case Kind::Tuple:
        out += "{\"tuple\": ";
        array(v.as_tuple().elements(), depth);
        out += "}";
        return;
      case Kind::List:
        array(v.as_list().elements, depth);
        return;
      case Kind::Dict: {
        const auto& d = v.as_dict();
        out += "{\"dict\": ";
        dict_entries(d, depth);
        if (!d.build_state.is_none()) {
          out += ", \"state\": ";
          value(d.build_state, depth);
        }
        out += "}";
        return;
      }
      case Kind::Set:
      case Kind::FrozenSet:
        out += v.kind() == Kind::Set ? "{\"set\": " : "{\"frozenset\": ";
        array(v.as_set().items(), depth);
        out += "}";
        return;
      case Kind::Enum: {
        const auto& e = v.as_enum();
        out += "{\"enum\": ";
        json_string(out, e.type.qualified_name() + "." + e.name);
        out += ", \"value\": ";
        value(e.value, depth);
        out += "}";
        return;
      }
      case Kind::Object: {
        const auto& o = v.as_object();
        out += "{\"object\": ";
        json_string(out, o.type.qualified_name());
        out += ", \"state\": ";
        if (o.has_state && o.attributes.empty()) {
          value(o.state, depth);
        } else {
          out += "{\"dict\": [";
          for (std::size_t i = 0; i < o.attributes.size(); ++i) {
            if (i) out += ", ";
            newline(depth);
            out += "[";
            json_string(out, o.attributes[i].first);
            out += ", ";
            value(o.attributes[i].second, depth);
            out += "]";
          }
          out += "]}";
          if (o.has_state) {
            out += ", \"setstate\": ";
            value(o.state, depth);
          }
        }
        out += "}";
        return;
      }
      case Kind::Opaque:
        opaque(v.as_opaque(), depth);
        return;
      default:
        out += "null";
        return;
    }
  }
  void opaque(const ivalue::Opaque& o, std::size_t depth) {
    if (o.kind == ivalue::Opaque::Kind::kPersistentId) {
      out += "{\"persistent_id\": ";
      value(o.persistent_id, depth);
    } else {
      out += "{\"global\": ";
      json_string(out, o.qualified_name());
    }
    // The usual shapes (one call, then BUILD / items) get flat keys; anything else is listed.
    int calls = 0, builds = 0;
    bool items_before_call = false;
    for (const auto& a : o.applied) {
      if (a.op == ivalue::Op::kReduce || a.op == ivalue::Op::kNewObj ||
          a.op == ivalue::Op::kNewObjEx) {
        ++calls;
        if (builds) items_before_call = true;
      } else if (a.op == ivalue::Op::kBuild) {
        ++builds;
      }
    }
    static constexpr const char* kOpNames[] = {"reduce", "newobj",  "newobj_ex", "build",
                                               "append", "setitem", "additem"};
    if (calls > 1 || builds > 1 || items_before_call) {
      out += ", \"applied\": [";
      for (std::size_t i = 0; i < o.applied.size(); ++i) {
        if (i) out += ", ";
        out += "[\"" + std::string(kOpNames[static_cast<int>(o.applied[i].op)]) + "\", ";
        value(o.applied[i].arg, depth);
        out += "]";
      }
      out += "]}";
      return;
    }
    std::vector<const IValue*> list_items, dict_items, set_items;
    for (const auto& a : o.applied) {
      switch (a.op) {
        case ivalue::Op::kReduce:
          out += ", \"args\": ";
          value(a.arg, depth);
          break;
        case ivalue::Op::kNewObj:
          out += ", \"newobj_args\": ";
          value(a.arg, depth);
          break;
        case ivalue::Op::kNewObjEx:
          out += ", \"newobj_ex_args\": ";
          value(a.arg, depth);
          break;
        case ivalue::Op::kBuild:
          out += ", \"state\": ";
          value(a.arg, depth);
          break;
        case ivalue::Op::kAppend:
          list_items.push_back(&a.arg);
          break;
        case ivalue::Op::kSetItem:
          dict_items.push_back(&a.arg);
          break;
        case ivalue::Op::kAddItem:
          set_items.push_back(&a.arg);
          break;
      }
    }
    auto emit = [&](const char* key, const std::vector<const IValue*>& items) {
      if (items.empty()) return;
      out += std::string(", \"") + key + "\": [";
      for (std::size_t i = 0; i < items.size(); ++i) {
        if (i) out += ", ";
        if (items[i]->is_tuple() && key[0] == 'd')
          array(items[i]->as_tuple().elements(), depth);
        else
          value(*items[i], depth);
      }
      out += "]";
    };
    emit("listitems", list_items);
    emit("dictitems", dict_items);
    emit("setitems", set_items);
    out += "}";
  }

  const JsonOptions& opt_;
  std::unordered_map<const void*, std::string>& sha256s_;
  std::vector<const void*> active_;
  detail::SharedLabels labels_;
};

}  // namespace

std::string to_json(const IValue& v, const JsonOptions& options) {
  JsonOptions o = options;
  if (o.max_depth > detail::kMaxValueNesting) o.max_depth = detail::kMaxValueNesting;
  // As to_repr: pass 1 finds the containers reached more than once; with none its output is the
  // answer, else pass 2 labels them (pass 1's output is never longer, so its budget check holds).
  std::unordered_map<const void*, std::string> sha256s;
  JsonWriter discover(o, nullptr, sha256s);
  discover.value(v, 0);
  if (discover.found().empty()) return std::move(discover.out);
  discover.out = std::string();
  JsonWriter w(o, &discover.found(), sha256s);
  w.value(v, 0);
  return std::move(w.out);
}

}  // namespace ptio
