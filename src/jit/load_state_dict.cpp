// jit::load_state_dict: `nn.Module.load_state_dict(state_dict, strict)` (torch/nn/modules/
// module.py, PyTorch 1.13) for a loaded TorchScript Module, without running anything.
//
// Matching, as PyTorch's `load` recursion + `_load_from_state_dict` do it:
// - modules are visited in pre-order (slot order, a submodule reachable along two paths is
//   visited once per path, as PyTorch's recursion does); each module's local state is its
//   parameter slots then its buffer slots holding a Tensor (None slots are skipped), named
//   `<prefix><slot>`: exactly Module::state_dict()'s names and order;
// - a local name absent from the input is a missing key; an input key under the module's prefix
//   whose first component after the prefix is neither a local name nor a submodule slot is an
//   unexpected key (so a key equal to a submodule's name is ignored, as in PyTorch). Both lists
//   are computed whatever `strict` is (PyTorch 1.13 computes them the same way);
// - a 0-dim module tensor takes element 0 of a 1-dim input (PyTorch's 0.3 compatibility rule);
// - the input's shape must equal the module tensor's: otherwise PyTorch's "size mismatch for
//   <key>: copying a param with shape torch.Size([..]) from checkpoint, the shape in current model
//   is torch.Size([..]).";
// - dtypes are converted as `copy_` converts them (copy_cast.h: bool, integers up to int64,
//   float16, bfloat16, float32, float64, complex64/128; complex -> real keeps the real part and
//   the key is listed in IncompatibleKeys::discarded_imaginary, where PyTorch warns). Other
//   dtype pairs (quantized, float8, uint16/32/64, complex32: no copy_ ptio reproduces) are
//   refused: "dtype mismatch for <key>: copying a param with dtype torch.qint8 from checkpoint,
//   the dtype in current model is torch.float32." (ptio's message; PyTorch has none); sparse, meta and sub-byte packed (quint4x2/quint2x4) tensors on either side are refused with
//   a "While copying the parameter named ..." message.
//
// Errors: if any mismatch exists, or `strict` and any key is missing or unexpected, nothing is
// modified and Error(kJitStateDict) is thrown with PyTorch's RuntimeError text, every problem
// listed: "Error(s) in loading state_dict for RecursiveScriptModule:\n\tMissing key(s) in
// state_dict: "a", "b". \n\tUnexpected key(s) in state_dict: "c". \n\tsize mismatch for ..."
// (RecursiveScriptModule is the class name PyTorch prints for every loaded TorchScript module).
//
// Copying mirrors `param.copy_(input)`: the module tensor keeps its sizes, strides, storage
// offset, requires_grad and device, and tensors that shared a storage still share one. Because
// loaded storages may be read-only file mappings, each storage written to is replaced by an owned
// copy holding the new values (the input's storage is never shared with the module), and every
// Tensor of the module's object graph viewing the old storage (slots of objects, list elements,
// dict values, tuples) is replaced by the same view of the new one; a tensor reached twice stays
// one tensor. A quantized tensor takes the input's quantizer, as `copy_` between quantized
// tensors does.
#include "ptio/jit/load_state_dict.h"

#include <cstring>
#include <map>
#include <set>
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "jit/copy_cast.h"
#include "ptio/error.h"

namespace ptio::jit {

namespace {

std::string torch_size(const std::vector<std::int64_t>& sizes) {
  std::string s = "torch.Size([";
  for (std::size_t i = 0; i < sizes.size(); ++i)
    s += (i ? ", " : "") + std::to_string(sizes[i]);
  return s + "])";
}

std::string quoted_list(const std::vector<std::string>& keys) {
  std::string s;
  for (std::size_t i = 0; i < keys.size(); ++i) s += (i ? ", \"" : "\"") + keys[i] + "\"";
  return s;
}

bool copyable(const Tensor& t) {
  return t.defined() && !t.is_sparse() && !t.is_meta() && t.dtype() != ScalarType::QUInt4x2 &&
         t.dtype() != ScalarType::QUInt2x4 && element_size(t.dtype()) != 0;
}

// One planned copy: the input's row-major bytes into the module tensor `dst`.
struct Copy {
  Tensor dst;
  std::vector<std::byte> bytes;  // src elements in row-major order
  std::optional<Quantizer> quantizer;
};

// Writes `src` (row-major elements) into `buf` at the view (sizes, strides, offset) of `dst`.
void scatter(const Tensor& dst, const std::vector<std::byte>& src, std::vector<std::byte>& buf) {
  const std::size_t es = dst.element_size();
  const auto& sizes = dst.sizes();
  const auto& strides = dst.strides();
  const auto offset = static_cast<std::size_t>(dst.storage_offset());
  const auto n = static_cast<std::size_t>(dst.numel());
  if (n == 0) return;
  if (dst.is_contiguous()) {
    std::memcpy(buf.data() + offset * es, src.data(), n * es);
    return;
  }
  std::vector<std::int64_t> index(sizes.size(), 0);
  for (std::size_t k = 0; k < n; ++k) {
    std::int64_t at = static_cast<std::int64_t>(offset);
    for (std::size_t d = 0; d < sizes.size(); ++d) at += index[d] * strides[d];
    std::memcpy(buf.data() + static_cast<std::size_t>(at) * es, src.data() + k * es, es);
    for (std::size_t d = sizes.size(); d-- > 0;) {
      if (++index[d] < sizes[d]) break;
      index[d] = 0;
    }
  }
}

// Replaces, everywhere in the object graph under `root`, tensors whose storage is a key of
// `storages` by the same view over the new storage. Objects, lists and dicts are updated in
// place (iteratively); tuples, which are immutable, are rebuilt when an element changes.
class Rewriter {
 public:
  Rewriter(const std::unordered_map<const void*, Storage>& storages,
           const std::unordered_map<const void*, std::optional<Quantizer>>& quantizers)
      : storages_(storages), quantizers_(quantizers) {}

  void run(const IValue& root) {
    stack_.push_back(root);
    while (!stack_.empty()) {
      IValue v = std::move(stack_.back());
      stack_.pop_back();
      if (!seen_.insert(v.identity()).second) continue;
      if (v.is_object()) {
        auto& o = v.as_object();
        for (auto& a : o.attributes) a.second = fix(a.second, 0);
        if (o.has_state) o.state = fix(o.state, 0);
      } else if (v.is_list()) {
        for (auto& e : v.as_list().elements) e = fix(e, 0);
      } else if (v.is_dict()) {
        auto& d = v.as_dict();
        // Values only (keys are hashed; a tensor key keeps its identity-based place).
        std::vector<std::pair<IValue, IValue>> changed;
        for (const auto& [k, e] : d.items()) {
          IValue f = fix(e, 0);
          if (!f.is_same(e)) changed.emplace_back(k, std::move(f));
        }
        for (auto& [k, e] : changed) d.insert_or_assign(k, std::move(e));
      }
    }
  }

 private:
  IValue fix(const IValue& v, std::size_t depth) {
    if (v.is_tensor()) {
      const Tensor& t = v.as_tensor();
      if (auto done = tensors_.find(t.id()); done != tensors_.end()) return done->second;
      if (!t.defined() || t.is_sparse() || t.is_meta()) return v;
      const auto s = storages_.find(t.storage().id());
      if (s == storages_.end()) return v;
      Tensor n = Tensor::make(s->second, t.dtype(), t.sizes(), t.strides(), t.storage_offset());
      n.set_requires_grad(t.requires_grad());
      n.set_is_parameter(t.is_parameter());
      const auto q = quantizers_.find(t.id());
      if (q != quantizers_.end() && q->second)
        n.set_quantizer(*q->second);
      else if (t.quantizer())
        n.set_quantizer(*t.quantizer());
      IValue out(n);
      tensors_.emplace(t.id(), out);
      return out;
    }
    if (v.is_tuple()) {
      // Tuples nest only through other tuples here (lists, dicts and objects go on the stack),
      // so this recursion is bounded by the tuple nesting; beyond 200 levels it stops.
      if (depth > 200) return v;
      if (auto done = tuples_.find(v.identity()); done != tuples_.end()) return done->second;
      std::vector<IValue> elements;
      bool changed = false;
      for (const auto& e : v.as_tuple().elements()) {
        elements.push_back(fix(e, depth + 1));
        changed = changed || !elements.back().is_same(e);
      }
      IValue out = changed ? IValue::tuple(std::move(elements)) : v;
      tuples_.emplace(v.identity(), out);
      return out;
    }
    if (v.is_object() || v.is_list() || v.is_dict()) stack_.push_back(v);
    return v;
  }

  const std::unordered_map<const void*, Storage>& storages_;
  const std::unordered_map<const void*, std::optional<Quantizer>>& quantizers_;
  std::vector<IValue> stack_;
  std::unordered_set<const void*> seen_;
  std::unordered_map<const void*, IValue> tensors_;
  std::unordered_map<const void*, IValue> tuples_;
};

}  // namespace

IncompatibleKeys load_state_dict(Module& module, const StateDict& state_dict, bool strict) {
  // Validates the module tree (a module containing itself throws kJitBadModule) and gives the
  // pre-order the recursion follows.
  (void)module.state_dict();

  IncompatibleKeys result;
  std::vector<std::string> errors;  // PyTorch's error_msgs, in order
  std::vector<Copy> copies;

  struct Entry {
    std::string prefix;
    Module m;
  };
  std::vector<Entry> stack{{"", module}};
  while (!stack.empty()) {
    Entry e = std::move(stack.back());
    stack.pop_back();
    const auto& obj = e.m.ivalue().as_object();
    const auto& attrs = e.m.type().attributes();
    std::set<std::string, std::less<>> local_names, child_names;
    for (const bool params : {true, false}) {
      for (std::size_t i = 0; i < attrs.size(); ++i) {
        const ClassAttribute& a = attrs[i];
        if (!(params ? a.is_parameter : a.is_buffer)) continue;
        const IValue* v = obj.attribute(a.name);
        if (!v || !v->is_tensor()) continue;
        local_names.insert(a.name);
        const Tensor& dst = v->as_tensor();
        const std::string key = e.prefix + a.name;
        if (!state_dict.contains(key)) {
          result.missing_keys.push_back(key);
          continue;
        }
        Tensor src = state_dict.at(key);
        if (!copyable(src) || !copyable(dst)) {
          errors.push_back("While copying the parameter named \"" + key + "\", " +
                           (copyable(dst) ? "the checkpoint's tensor" : "the model's tensor") +
                           " is sparse, meta or of a packed sub-byte dtype, which ptio cannot "
                           "copy.");
          continue;
        }
        std::vector<std::byte> bytes;
        if (dst.dim() == 0 && src.dim() == 1) {
          // `input_param = input_param[0]` (0.3 checkpoints stored scalars as 1-element vectors).
          if (src.numel() == 0) {
            errors.push_back("size mismatch for " + key + ": copying a param with shape " +
                             torch_size(src.sizes()) +
                             " from checkpoint, the shape in current model is " +
                             torch_size(dst.sizes()) + ".");
            continue;
          }
          const auto b = src.contiguous_bytes();
          bytes.assign(b.begin(), b.begin() + static_cast<std::ptrdiff_t>(src.element_size()));
          src = Tensor::from_bytes(src.dtype(), {}, bytes);
        }
        if (src.sizes() != dst.sizes()) {
          errors.push_back("size mismatch for " + key + ": copying a param with shape " +
                           torch_size(src.sizes()) +
                           " from checkpoint, the shape in current model is " +
                           torch_size(dst.sizes()) + ".");
          continue;
        }
        if (src.dtype() != dst.dtype() && !detail::copy_castable(src.dtype(), dst.dtype())) {
          errors.push_back("dtype mismatch for " + key + ": copying a param with dtype torch." +
                           std::string(scalar_type_name(src.dtype())) +
                           " from checkpoint, the dtype in current model is torch." +
                           std::string(scalar_type_name(dst.dtype())) + ".");
          continue;
        }
        if (bytes.empty()) bytes = src.contiguous_bytes();
        if (src.dtype() != dst.dtype()) {  // copy_ converts (c10::convert)
          const bool to_real = scalar_type_info(src.dtype()).is_complex &&
                               !scalar_type_info(dst.dtype()).is_complex;
          if (to_real) result.discarded_imaginary.push_back(key);
          bytes = detail::copy_cast(bytes, src.dtype(), dst.dtype());
          copies.push_back({dst, std::move(bytes), std::nullopt});
          continue;
        }
        copies.push_back({dst, std::move(bytes), src.quantizer()});
      }
    }
    const auto children = e.m.named_children();
    for (const auto& a : attrs)
      if (a.is_module) child_names.insert(a.name);
    for (const auto& [key, t] : state_dict.items()) {
      if (key.compare(0, e.prefix.size(), e.prefix) != 0) continue;
      const std::string_view rest = std::string_view(key).substr(e.prefix.size());
      const std::string_view first = rest.substr(0, rest.find('.'));
      if (!local_names.contains(first) && !child_names.contains(first))
        result.unexpected_keys.push_back(key);
    }
    for (auto it = children.rbegin(); it != children.rend(); ++it)
      stack.push_back({e.prefix + it->first + ".", it->second});
  }

  if (strict) {
    std::vector<std::string> head;
    if (!result.missing_keys.empty())
      head.push_back("Missing key(s) in state_dict: " + quoted_list(result.missing_keys) + ". ");
    if (!result.unexpected_keys.empty())
      head.push_back("Unexpected key(s) in state_dict: " + quoted_list(result.unexpected_keys) +
                     ". ");
    errors.insert(errors.begin(), head.begin(), head.end());
  }
  if (!errors.empty()) {
    std::string msg = "Error(s) in loading state_dict for RecursiveScriptModule:";
    for (const auto& m : errors) msg += "\n\t" + m;
    throw Error(ErrorCode::kJitStateDict, msg);
  }

  // Apply: one owned copy per written storage, in the order storages are first written.
  std::unordered_map<const void*, std::vector<std::byte>> buffers;
  std::unordered_map<const void*, Storage> old_storages;
  for (const Copy& c : copies) {
    const Storage& s = c.dst.storage();
    auto [it, fresh] = buffers.try_emplace(s.id());
    if (fresh) {
      it->second.assign(s.bytes().begin(), s.bytes().end());
      old_storages.emplace(s.id(), s);
    }
    scatter(c.dst, c.bytes, it->second);
  }
  std::unordered_map<const void*, Storage> replaced;
  for (auto& [id, bytes] : buffers) {
    const Storage& old = old_storages.at(id);
    Storage n = Storage::from_bytes(std::move(bytes), old.device());
    n.set_dtype(old.dtype());
    replaced.emplace(id, std::move(n));
  }
  std::unordered_map<const void*, std::optional<Quantizer>> quantizers;
  for (const Copy& c : copies)
    if (c.quantizer) quantizers[c.dst.id()] = c.quantizer;
  Rewriter(replaced, quantizers).run(module.ivalue());
  return result;
}

}  // namespace ptio::jit
