// data.pkl / constants.pkl for jit::save: PyTorch 1.13's C++ Pickler as ScriptModuleSerializer
// drives it (torch/csrc/jit/serialization/pickler.cpp pushLiteralTensor, pushStorageOfTensor,
// pushIValue's memo rule; export_module.cpp writeArchive's storage keys).
#include <string>
#include <unordered_map>
#include <unordered_set>

#include "import_impl.h"
#include "ptio/error.h"
#include "ptio/io/writer.h"
#include "ptio/pickle/pickler.h"
#include "save_impl.h"
#include "serialization/torch_globals.h"
#include "value_walk.h"

namespace ptio::jit::detail {

namespace {

using pickle::OpCode;
using pickle::Pickler;

std::string_view qscheme_name(QScheme q) {
  switch (q) {
    case QScheme::kPerTensorAffine:
      return "per_tensor_affine";
    case QScheme::kPerChannelAffine:
      return "per_channel_affine";
    case QScheme::kPerTensorSymmetric:
      return "per_tensor_symmetric";
    case QScheme::kPerChannelSymmetric:
      return "per_channel_symmetric";
    case QScheme::kPerChannelAffineFloatQParams:
      return "per_channel_affine_float_qparams";
  }
  return "unknown";
}

// How often each heap value (not strings or devices, which the Pickler memoizes by value) is
// reached along the Pickler's own walk; a value reached twice needs a memo entry.
std::unordered_set<const void*> shared_values(const IValue& root) {
  std::unordered_set<const void*> seen, shared;
  std::vector<IValue> stack{root};
  while (!stack.empty()) {
    IValue v = std::move(stack.back());
    stack.pop_back();
    if (!v.is_heap() || v.is_string() || v.is_device()) continue;
    if (!seen.insert(v.identity()).second) {
      shared.insert(v.identity());
      continue;
    }
    for_each_child(v, [&](const IValue& c) { stack.push_back(c); },
                   {.object_attributes_and_state = false});  // an object: what push_object writes
  }
  return shared;
}

class ArchivePickler {
 public:
  ArchivePickler(const CompilationUnit& cu, const std::vector<IValue>& memoized, std::string record)
      : cu_(cu), record_(std::move(record)) {
    for (const IValue& v : memoized) memoized_.insert(v.identity());
  }

  PickledArchive run(const IValue& value) {
    shared_ = shared_values(value);
    pickle::PicklerOptions o;
    o.dialect = pickle::Dialect::kTorchScript;
    o.tag_aggregates = true;
    o.memoize = [this](const IValue& v) {
      return memoized_.contains(v.identity()) || shared_.contains(v.identity());
    };
    o.write_tensor = [this](Pickler& p, const Tensor& t) { push_literal_tensor(p, t); };
    o.write_object = [this](Pickler& p, const ivalue::Object& obj) {
      push_object(p, obj);
      return true;
    };
    io::MemoryWriter w;
    Pickler p(w, std::move(o));
    p.dump(value);
    PickledArchive out;
    out.pickle = w.release();
    out.storages = std::move(storages_);
    return out;
  }

 private:
  [[noreturn]] void unsupported(const std::string& what) const {
    throw Error(ErrorCode::kJitUnsupportedSave, what, "", record_);
  }

  // The location tag of a storage on `d`, one torch.jit.load reads back (a device string of a
  // type its unpickler accepts).
  std::string location(const Device& d) const {
    const std::string tag = d.str();
    try {
      (void)ptio::detail::torchscript_location_device(tag, std::nullopt);
    } catch (const Error& e) {
      unsupported("a tensor on device '" + tag + "': torch.jit.load could not read it back (" +
                  e.message() + ")");
    }
    return tag;
  }

  // pushStorageOfTensor: the persistent id (`storage`, torch.<T>Storage, key, location, numel),
  // memoized per storage; keys are "0", "1", ... in first-encounter order.
  void push_storage(Pickler& p, const Tensor& t) {
    const Storage& s = t.storage();
    if (auto id = p.memo_find(s.id())) return p.push_binget(*id);
    const auto& info = scalar_type_info(t.dtype());
    if (info.storage_name.empty() || info.element_size == 0)
      unsupported("a " + std::string(info.name) +
                  " tensor: TorchScript archives of PyTorch 1.13 have no storage class for it");
    p.push_opcode(OpCode::MARK);
    p.push_string("storage");
    p.push_global("torch", info.storage_name);
    p.push_string(std::to_string(storages_.size()));
    p.push_string(location(t.device()));
    p.push_int(static_cast<std::int64_t>(s.nbytes() / info.element_size));
    p.push_opcode(OpCode::TUPLE);
    p.push_opcode(OpCode::BINPERSID);
    p.memo_record(s.id(), p.push_next_binput());
    storages_.push_back(s);
  }

  void push_int_tuple(Pickler& p, const std::vector<std::int64_t>& v) {
    p.push_opcode(OpCode::MARK);
    for (const std::int64_t x : v) p.push_int(x);
    p.push_opcode(OpCode::TUPLE);
  }

  // pushLiteralTensor: the `torch.save` reduce of a dense (or quantized) tensor.
  void push_literal_tensor(Pickler& p, const Tensor& t) {
    // torch.jit.load (like torch.load) refuses requires_grad on a non-float tensor; PyTorch cannot
    // make one to save. Pickling happens before any byte is written.
    ptio::detail::check_saved_requires_grad(t);
    if (t.is_sparse())
      unsupported(
          "a sparse tensor (PyTorch 1.13's TorchScript pickler writes dense and "
          "quantized tensors only)");
    if (t.is_meta() || !t.storage().defined())
      unsupported(
          "a tensor without storage (meta): PyTorch 1.13 cannot save it in a "
          "TorchScript archive either");
    const auto& q = t.quantizer();
    p.push_global("torch._utils", q ? "_rebuild_qtensor" : "_rebuild_tensor_v2");
    p.push_opcode(OpCode::MARK);
    push_storage(p, t);
    p.push_int(t.storage_offset());
    push_int_tuple(p, t.sizes());
    push_int_tuple(p, t.strides());
    if (q) {
      p.push_opcode(OpCode::MARK);
      p.push_global("torch", qscheme_name(q->qscheme));
      switch (q->qscheme) {
        case QScheme::kPerTensorAffine:
          p.push_double(q->scale);
          p.push_int(q->zero_point);
          break;
        case QScheme::kPerChannelAffine:
        case QScheme::kPerChannelAffineFloatQParams:
          if (!q->scales || !q->zero_points)
            unsupported("a per-channel quantized tensor without scales or zero points");
          push_literal_tensor(p, *q->scales);  // pushTensor: not through the memo
          push_literal_tensor(p, *q->zero_points);
          p.push_int(q->axis);
          break;
        default:
          unsupported("a quantized tensor with qscheme " + std::string(qscheme_name(q->qscheme)) +
                      " (PyTorch's pickler rejects it: \"Unsupported tensor quantization type "
                      "in serialization\")");
      }
      p.push_opcode(OpCode::TUPLE);
    }
    p.push_bool(t.requires_grad());
    p.push_global("collections", "OrderedDict");
    p.push_opcode(OpCode::EMPTY_TUPLE);
    p.push_opcode(OpCode::REDUCE);
    p.push_opcode(OpCode::TUPLE);
    p.push_opcode(OpCode::REDUCE);
  }

  // Objects: GLOBAL, EMPTY_TUPLE, NEWOBJ, then the `__getstate__` state the object was loaded
  // with, or a dict of every attribute slot in class order; BUILD.
  void push_object(Pickler& p, const ivalue::Object& o) {
    const std::string qn = o.type.qualified_name();
    const ClassType* cls = cu_.get_class(qn);
    if (!cls)
      unsupported("an object of class " + qn + ", which the module's code does not declare");
    p.push_global(o.type.prefix(), o.type.name());
    p.push_opcode(OpCode::EMPTY_TUPLE);
    p.push_opcode(OpCode::NEWOBJ);
    if (o.has_state) {
      p.push_ivalue(o.state);
    } else {
      p.push_opcode(OpCode::EMPTY_DICT);
      p.push_opcode(OpCode::MARK);
      const auto& attrs = cls->attributes();
      if (attrs.empty() && cls->kind() == TypeKind::kTorchBind) {
        for (const auto& [name, value] : o.attributes) {
          p.push_string(name);
          p.push_ivalue(value);
        }
      }
      for (std::size_t i = 0; i < attrs.size(); ++i) {
        const IValue* v = i < o.attributes.size() && o.attributes[i].first == attrs[i].name
                              ? &o.attributes[i].second
                              : o.attribute(attrs[i].name);
        if (!v)
          throw Error(
              ErrorCode::kJitBadModule,
              "object of class " + qn + " has no value for attribute '" + attrs[i].name + "'", "",
              record_);
        p.push_string(attrs[i].name);
        p.push_ivalue(*v);
      }
      p.push_opcode(OpCode::SETITEMS);
    }
    p.push_opcode(OpCode::BUILD);
  }

  const CompilationUnit& cu_;
  std::string record_;
  std::unordered_set<const void*> memoized_;
  std::unordered_set<const void*> shared_;
  std::vector<Storage> storages_;
};

}  // namespace

PickledArchive pickle_archive(const IValue& value, const CompilationUnit& cu,
                              const std::vector<IValue>& memoized, const std::string& record) {
  return ArchivePickler(cu, memoized, record).run(value);
}

}  // namespace ptio::jit::detail
