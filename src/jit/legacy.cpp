// PyTorch 1.0-1.2 `model.json` archives (spec-torchscript 13; import_legacy.cpp): the tensor table
// from model.json + tensors/<n>, attribute values from attributes.pkl (tensors by table index),
// and the module tree from the ModuleDef messages.
#include <map>

#include "import_impl.h"
#include "json_value.h"
#include "ptio/error.h"
#include "serialization/cycle_guard.h"
#include "serialization/torch_globals.h"
#include "value_walk.h"
#include "zip/stream_version.h"

namespace ptio::jit::detail {

namespace {

// caffe2 TensorProto.DataType names (caffe2/proto/caffe2.proto) → ScalarType.
ScalarType caffe2_dtype(const std::string& name) {
  static const std::map<std::string, ScalarType, std::less<>> kTypes = {
      {"FLOAT", ScalarType::Float},  {"INT32", ScalarType::Int},  {"BYTE", ScalarType::Byte},
      {"BOOL", ScalarType::Bool},    {"UINT8", ScalarType::Byte}, {"INT8", ScalarType::Char},
      {"INT16", ScalarType::Short},  {"INT64", ScalarType::Long}, {"FLOAT16", ScalarType::Half},
      {"DOUBLE", ScalarType::Double}};
  const auto it = kTypes.find(name);
  PTIO_CHECK(it != kTypes.end(), ErrorCode::kBadDtype, "model.json: unsupported tensor dataType '",
             name, "'");
  return it->second;
}

std::vector<std::int64_t> int_array(const JsonValue& v, std::string_view key) {
  std::vector<std::int64_t> out;
  for (const JsonValue& x : v.array(key)) {
    JsonValue holder;
    holder.kind = JsonValue::Kind::kObject;
    holder.members.emplace_back("v", x);
    out.push_back(holder.integer("v"));
  }
  return out;
}

// Class names: atoms that start with a digit get a `_` prefix (import_legacy.cpp sanitises names).
std::string sanitize(const std::string& atom) {
  if (atom.empty() || (atom[0] >= '0' && atom[0] <= '9')) return "_" + atom;
  return atom;
}

struct LegacyLoader {
  const zip::ArchiveReader& ar;
  CompilationUnit& cu;
  const std::optional<Device>& device;
  bool allow_view;
  const Limits& limits;
  std::vector<Tensor> tensors;
  std::vector<IValue> attribute_table;
  std::map<std::string, Storage, std::less<>> storages;
  IValue attribute_pickle;  // attributes.pkl as unpickled (its list or tuple is the table)

  Storage storage(const std::string& key, ScalarType dtype) {
    if (const auto it = storages.find(key); it != storages.end()) return it->second;
    PTIO_CHECK(ar.has_record(key), ErrorCode::kMissingRecord, "model.json names tensor record ",
               key, ", which the archive does not have");
    Storage s;
    const zip::RecordInfo& info = ar.record(key);
    const std::size_t align = std::max<std::size_t>(1, element_size(dtype));
    if (allow_view && info.is_stored() && ar.can_view(key)) {
      io::ByteView v = ar.view(key);
      if (reinterpret_cast<std::uintptr_t>(v.data()) % align == 0)
        s = Storage::from_view(std::move(v));
    }
    if (!s.defined()) s = Storage::from_bytes(ar.read(key));
    s.set_key(key);
    storages.emplace(key, s);
    return s;
  }

  void read_tensors(const JsonValue& model) {
    for (const JsonValue& td : model.array("tensors")) {
      const ScalarType dtype = caffe2_dtype(td.str("dataType", "FLOAT"));
      const JsonValue* data = td.find("data");
      PTIO_CHECK(data && !data->str("key").empty(), ErrorCode::kJitBadModule,
                 "model.json: a tensor has no data.key");
      Storage s = storage(data->str("key"), dtype);
      // import_legacy.cpp: `at::Device device(tensor_proto.device())` even under map_location.
      try {
        s.set_device(ptio::detail::torchscript_location_device(td.str("device", "cpu"), device));
      } catch (Error& e) {
        e.add_context(ar.file_name(), ar.record("model.json").full_name);
        throw;
      }
      Tensor t = Tensor::make(s, dtype, int_array(td, "dims"), int_array(td, "strides"),
                              td.integer("offset"));
      const JsonValue* rg = td.find("requiresGrad");
      // autograd::make_variable(tensor, requires_grad): AutogradMeta refuses requires_grad on a
      // tensor that is not floating point or complex, as torch.load does.
      try {
        ptio::detail::set_loaded_requires_grad(
            t, rg && rg->kind == JsonValue::Kind::kBool && rg->boolean);
      } catch (Error& e) {
        e.add_context(ar.file_name(), ar.record("model.json").full_name);
        throw;
      }
      tensors.push_back(std::move(t));
    }
  }

  void read_attributes(const JsonValue& model) {
    if (!ar.has_record("attributes.pkl")) return;
    pickle::Resolver resolver = make_resolver(cu);
    const auto by_id = [this](const IValue& args, const pickle::CallContext& ctx) -> IValue {
      const IValue* i = &args;
      if (args.is_tuple() && args.as_tuple().size() == 1) i = &args.as_tuple().elements()[0];
      if (!i->is_int() || i->as_int() < 0 ||
          static_cast<std::uint64_t>(i->as_int()) >= tensors.size())
        ctx.fail(ErrorCode::kJitBadModule, "tensor id out of the model.json tensor table");
      return IValue(tensors[static_cast<std::size_t>(i->as_int())]);
    };
    resolver.add_callable("torch.jit._pickle", "build_tensor_from_id", by_id);
    resolver.add_callable("__main__", "TensorID", by_id);
    attribute_pickle = unpickle_record(ar, "attributes.pkl", resolver, {}, limits.pickle);
    const IValue& table = attribute_pickle;
    // proto_version 2: a List; >= 3: a Tuple.
    if (table.is_list())
      attribute_table = table.as_list().elements;
    else if (table.is_tuple())
      attribute_table = table.as_tuple().elements();
    else
      throw Error(ErrorCode::kJitBadModule, "attributes.pkl must hold a list or tuple", {},
                  ar.record("attributes.pkl").full_name);
    (void)model;
  }

  // One ModuleDef → an Object of a new module class (submodules, then parameters and buffers,
  // then attributes, as convertModule registers them).
  IValue module(const JsonValue& def, const std::string& qn, int depth) {
    PTIO_CHECK(depth < 256, ErrorCode::kJitBadModule, "model.json: modules nested too deep");
    std::vector<ClassAttribute> attrs;
    IValue obj = IValue::object(QualifiedName(qn));
    auto& o = obj.as_object();
    for (const JsonValue& sub : def.array("submodules")) {
      const std::string name = sub.str("name");
      IValue child = module(sub, qn + "." + sanitize(name), depth + 1);
      attrs.push_back({name, qn + "." + sanitize(name), false, false, true});
      o.set_attribute(name, std::move(child));
    }
    for (const JsonValue& p : def.array("parameters")) {
      const std::int64_t id = p.integer("tensorId", -1);
      PTIO_CHECK(id >= 0 && static_cast<std::uint64_t>(id) < tensors.size(),
                 ErrorCode::kJitBadModule, "model.json: parameter '", p.str("name"),
                 "' names tensor ", id, " of a table of ", tensors.size());
      const JsonValue* b = p.find("isBuffer");
      const bool is_buffer = b && b->kind == JsonValue::Kind::kBool && b->boolean;
      Tensor t = tensors[static_cast<std::size_t>(id)];
      if (!is_buffer) t.set_is_parameter(true);
      attrs.push_back({p.str("name"), "Tensor", !is_buffer, is_buffer, false});
      o.set_attribute(p.str("name"), IValue(std::move(t)));
    }
    for (const JsonValue& a : def.array("attributes")) {
      const std::int64_t id = a.integer("id", -1);
      PTIO_CHECK(id >= 0 && static_cast<std::uint64_t>(id) < attribute_table.size(),
                 ErrorCode::kJitBadModule, "model.json: attribute '", a.str("name"),
                 "' names entry ", id, " of an attribute table of ", attribute_table.size());
      attrs.push_back({a.str("name"), a.str("type"), false, false, false});
      o.set_attribute(a.str("name"), attribute_table[static_cast<std::size_t>(id)]);
    }
    std::string record, code;
    if (const JsonValue* arena = def.find("torchscriptArena");
        arena && !arena->str("key").empty()) {
      const std::string key = arena->str("key");
      PTIO_CHECK(ar.has_record(key), ErrorCode::kMissingRecord, "model.json names code record ",
                 key, ", which the archive does not have");
      record = ar.record(key).full_name;
      code = record_text(ar, key, limits.jit.max_source_bytes);
    }
    try {
      cu.add_legacy_module(qn, std::move(attrs), record, code, limits.jit);
    } catch (Error& e) {
      e.add_context(ar.file_name(), record);
      throw;
    }
    return obj;
  }
};

}  // namespace

Module load_legacy(const zip::ArchiveReader& ar, std::shared_ptr<CompilationUnit> cu,
                   std::shared_ptr<ArchiveInfo> info, const std::optional<Device>& device,
                   bool allow_view, const Limits& limits) {
  const std::string record = ar.record("model.json").full_name;
  JsonValue model;
  try {
    model = parse_json(record_text(ar, "model.json"));
  } catch (Error& e) {
    e.add_context(ar.file_name(), record);
    throw;
  }
  PTIO_CHECK(model.kind == JsonValue::Kind::kObject, ErrorCode::kJitBadModule,
             "model.json must hold an object");
  const std::int64_t proto = model.integer("protoVersion", 0);
  if (proto < 1 || proto >= 6)
    throw Error(ErrorCode::kJitVersion,
                "model.json protoVersion " + std::to_string(proto) +
                    " is not supported: PyTorch's legacy importer reads 1 to 5",
                ar.file_name(), record);
  info->version = static_cast<std::uint64_t>(proto);
  info->version_record = "model.json";
  if (ar.has_record("version")) {
    if (const auto n = zip::detail::stoull_prefix(record_text(ar, "version", 64))) {
      info->version = *n;
      info->version_record = "version";
    }
  }
  info->producer = model.str("producerName") + " " + model.str("producerVersion");
  const JsonValue* main = model.find("mainModule");
  PTIO_CHECK(main && main->kind == JsonValue::Kind::kObject, ErrorCode::kJitBadModule,
             "model.json has no mainModule");
  LegacyLoader loader{ar, *cu, device, allow_view, limits, {}, {}, {}, {}};
  IValue root;
  // On an error the cycles attributes.pkl and the module built are freed (reference counting
  // alone never frees them).
  ptio::detail::CycleGuard drop_attributes{loader.attribute_pickle};
  ptio::detail::CycleGuard drop_root{root};
  try {
    loader.read_tensors(model);
    loader.read_attributes(model);
    root = loader.module(*main, "__torch__." + sanitize(main->str("name", "Module")), 0);
  } catch (Error& e) {
    e.add_context(ar.file_name(), record);
    throw;
  }
  cu->finalize();
  // The module holds the attributes it names (they are the caller's now). The table's own list,
  // unless the module reaches it through an attribute, is emptied: a table that holds itself is
  // freed too.
  drop_attributes.keep = drop_root.keep = true;
  if (loader.attribute_pickle.is_list()) {
    bool held = false;
    const void* table = loader.attribute_pickle.identity();
    for_each_reachable(root, [&](const IValue& v) { held = held || v.identity() == table; });
    if (!held) loader.attribute_pickle.as_list().elements.clear();
  }
  return Module(std::move(root), std::move(cu), std::move(info));
}

}  // namespace ptio::jit::detail
