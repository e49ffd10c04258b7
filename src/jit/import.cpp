// ptio::jit::load: reads a TorchScript archive (import.cpp ScriptModuleDeserializer::deserialize).
#include "ptio/jit/import.h"

#include <algorithm>
#include <cctype>
#include <istream>
#include <iterator>
#include <unordered_set>

#include "import_impl.h"
#include "io/stream_bytes.h"
#include "ptio/error.h"
#include "ptio/io/magic.h"
#include "ptio/jit/frontend/printer.h"
#include "ptio/pickle/unpickler.h"
#include "serialization/cycle_guard.h"
#include "serialization/torch_globals.h"
#include "serialization/unpickle.h"
#include "serialization/zip_storages.h"
#include "value_walk.h"
#include "zip/stream_version.h"

namespace ptio::jit {

namespace detail {

namespace {

// The globals torch::jit::Unpickler::readGlobal (PyTorch 1.13) knows besides `__torch__.*`
// classes: checked by torch.jit.load 1.13 with each name in a data.pkl.
bool torchscript_global(std::string_view module, std::string_view name) {
  if (module == "torch._utils")
    return name == "_rebuild_tensor_v2" || name == "_rebuild_qtensor" ||
           name == "_rebuild_sparse_tensor";
  if (module == "torch") {
    if (name == "device") return true;
    // `torch.<ScalarType>Storage` (pushed as the scalar type) and the qscheme names.
    if (name != "UntypedStorage" && name != "TypedStorage" &&
        ptio::detail::is_storage_class_name(name))
      return true;
    return name == "per_tensor_affine" || name == "per_channel_affine" ||
           name == "per_tensor_symmetric" || name == "per_channel_symmetric" ||
           name == "per_channel_affine_float_qparams";
  }
  if (module == "builtins") return name == "complex";
  if (module == "collections") return name == "OrderedDict";
  // Its own names (build_intlist, ...; the resolver refuses others), the legacy `__main__`
  // classes, RRefs.
  return module == "torch.jit._pickle" || module == "__main__" ||
         (module == "torch.distributed.rpc" && name == "rref");
}

}  // namespace

pickle::Resolver make_resolver(CompilationUnit& cu) {
  LoadOptions lo;
  lo.weights_only = false;
  pickle::Resolver full = ptio::detail::make_torch_resolver(lo);
  full.add_torchscript_pickle_globals();
  // Only the C++ unpickler's globals: torch.load's others (torch.Size, dtypes, builtins.set,
  // _codecs.encode, _rebuild_parameter, ...) are errors in a TorchScript pickle.
  pickle::Resolver r;
  r.set_build_hook(full.build_hook());
  r.set_fallback(
      [full](std::string_view module, std::string_view name) -> pickle::Resolver::HandlerPtr {
        if (!torchscript_global(module, name)) {
          const std::string qn = std::string(module) + "." + std::string(name);
          throw Error(ErrorCode::kPickleUnknownGlobal,
                      module == "torch"
                          ? "Unpickler found unknown torch global, '" + qn +
                                "' (a TorchScript pickle holds no such value)"
                          : "Unknown type name '" + qn +
                                "': a TorchScript pickle names only __torch__ classes and the few "
                                "globals PyTorch's C++ unpickler knows");
        }
        return full.find(module, name);
      });
  CompilationUnit* unit = &cu;
  r.add_module_prefix("__torch__", [unit](std::string_view module, std::string_view name) {
    const std::string qn = std::string(module) + "." + std::string(name);
    const ClassType* t = unit->get_class(qn);
    if (!t && qn.starts_with("__torch__.torch.classes.")) t = unit->add_torchbind(qn);
    if (!t) {
      std::string file(module);
      for (char& c : file)
        if (c == '.') c = '/';
      file = "code/" + file + ".py";
      throw Error(ErrorCode::kJitMissingClass, "the pickle names class " + qn +
                                                   ", which no code file declares (expected in " +
                                                   file + ")");
    }
    auto h = std::make_shared<pickle::GlobalHandler>();
    const QualifiedName type(qn);
    h->new_object = [type](const IValue&, const pickle::CallContext&) {
      return IValue::object(type);
    };
    h->call = [t, type](const IValue& value, const pickle::CallContext& ctx) -> IValue {
      if (t->kind() != TypeKind::kEnum)
        ctx.fail(ErrorCode::kJitBadModule,
                 "REDUCE on class " + type.qualified_name() + ", which is not an enum");
      for (const auto& [member, v] : t->enum_values())
        if (v.kind() == value.kind() && v == value) return IValue::enum_value(type, member, v);
      ctx.fail(ErrorCode::kJitBadModule,
               "enum " + type.qualified_name() + " has no member of value " + to_repr(value));
    };
    return std::shared_ptr<const pickle::GlobalHandler>(std::move(h));
  });
  return r;
}

std::string record_text(const zip::ArchiveReader& ar, std::string_view record, std::uint64_t max) {
  const auto& info = ar.record(record);
  if (info.size > max)
    throw Error(ErrorCode::kLimitExceeded,
                "record is " + std::to_string(info.size) + " bytes; at most " +
                    std::to_string(max) + " expected",
                ar.file_name(), info.full_name, info.data_offset);
  const auto b = ar.read(info);
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

namespace {

// The values reachable from `root` whose identity is in `ids` (iteratively, each payload once).
std::vector<IValue> reachable_memoized(const IValue& root,
                                       const std::unordered_set<const void*>& ids) {
  std::vector<IValue> out;
  if (ids.empty()) return out;
  for_each_reachable(root, [&](const IValue& v) {
    // Strings and devices are memoized by value whatever happens; only the others matter.
    if (ids.contains(v.identity()) && !v.is_string() && !v.is_device()) out.push_back(v);
  });
  return out;
}

}  // namespace

IValue unpickle_record(const zip::ArchiveReader& ar, std::string_view record,
                       const pickle::Resolver& resolver, pickle::PersistentLoad persistent_load,
                       const pickle::Limits& limits, std::vector<IValue>* memoized) {
  const auto& info = ar.record(record);
  const io::ByteView bytes = ar.view(record);
  pickle::UnpicklerOptions o;
  o.resolver = &resolver;
  o.policy = pickle::Policy::kStrict;
  o.persistent_load = std::move(persistent_load);
  o.limits = limits;
  o.file = ar.file_name();
  o.record = info.full_name;
  o.base_offset = info.is_stored() ? info.data_offset : 0;
  o.stored_size = info.is_stored() ? 0 : info.compressed_size;  // budget by the file's bytes
  o.record_memoized = memoized != nullptr;
  o.torchscript_dialect = true;  // torch::jit::Unpickler's opcodes and STOP
  pickle::Unpickler u(bytes.span(), o);
  IValue v = u.load();
  ptio::detail::CycleGuard guard{v};
  if (memoized) *memoized = reachable_memoized(v, u.memoized());
  guard.keep = true;
  return v;
}

}  // namespace detail

namespace {

std::uint64_t read_version(const zip::ArchiveReader& ar, ArchiveInfo& info) {
  zip::detail::StreamVersion v = zip::detail::read_stream_version(ar, ErrorCode::kJitVersion);
  info.version_record = std::move(v.record);
  return v.value;
}

// Reads the requested extra files (spec 9) and lists all of them.
void read_extra_files(const zip::ArchiveReader& ar, ExtraFilesMap* extra_files, ArchiveInfo& info) {
  for (const std::string& r : info.records)
    if (r.starts_with("extra/") && r.size() > 6) info.extra_files.push_back(r.substr(6));
  if (!extra_files) return;
  for (auto& [name, value] : *extra_files)
    if (ar.has_record("extra/" + name)) value = detail::record_text(ar, "extra/" + name);
}

std::uint64_t saturating_add(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

std::uint64_t saturating_mul(std::uint64_t a, std::uint64_t b) {
  return a != 0 && b > UINT64_MAX / a ? UINT64_MAX : a * b;
}

// Parses every code/ file. The trees of all files share one budget (SourceLimits::alloc_*):
// base + per byte x the source bytes read so far, a deflated record counting at most
// alloc_inflate_ratio bytes per compressed byte, so the trees stay proportional to the file's
// bytes however well the sources compress.
void parse_code(const zip::ArchiveReader& ar, CompilationUnit& cu, const ArchiveInfo& info,
                const frontend::SourceLimits& limits) {
  std::uint64_t source_bytes = 0;  // what the records justify
  std::uint64_t charged = 0;       // what the trees parsed so far took
  for (const std::string& r : info.records) {
    if (!r.starts_with("code/") || !r.ends_with(".py")) continue;
    std::string qualifier = r.substr(5, r.size() - 8);
    for (char& c : qualifier)
      if (c == '/') c = '.';
    const auto& rec = ar.record(r);
    const std::string full = rec.full_name;
    std::uint64_t justified = rec.size;
    if (!rec.is_stored() && limits.alloc_inflate_ratio != 0)
      justified =
          std::min(justified, saturating_mul(rec.compressed_size, limits.alloc_inflate_ratio));
    source_bytes = saturating_add(source_bytes, justified);
    const std::uint64_t budget = saturating_add(
        limits.alloc_base_bytes, saturating_mul(limits.alloc_bytes_per_source_byte, source_bytes));
    const std::string note = ptio::detail::concat(
        "Limits::jit.alloc_base_bytes (", limits.alloc_base_bytes, ") + ",
        limits.alloc_bytes_per_source_byte, " x ", source_bytes,
        " source bytes of the archive's code/ files so far (a deflated record counts at most ",
        limits.alloc_inflate_ratio, " x its compressed size), minus ", charged,
        " bytes taken by the files parsed before");
    try {
      charged = saturating_add(
          charged, cu.add_file(full, qualifier, detail::record_text(ar, r, limits.max_source_bytes),
                               limits, budget > charged ? budget - charged : 1, note));
    } catch (Error& e) {
      e.add_context(ar.file_name(), full);
      throw;
    }
  }
}

// PyTorch resolves the type names of a class's attributes when it imports the class
// (SourceImporter::resolveType): an unknown `__torch__.X` is "Unknown type name". Checks every
// `__torch__.*` name in attribute and constant annotations against the code files' classes
// (TorchBind classes, `__torch__.torch.classes.*`, are registered by name on first use).
void check_type_names(const CompilationUnit& cu) {
  auto check = [&](const ClassType& t, const std::string& what, const std::string& type) {
    for (std::size_t pos = type.find("__torch__."); pos != std::string::npos;
         pos = type.find("__torch__.", pos)) {
      std::size_t end = pos;
      while (end < type.size() && (std::isalnum(static_cast<unsigned char>(type[end])) ||
                                   type[end] == '_' || type[end] == '.'))
        ++end;
      const std::string name = type.substr(pos, end - pos);
      pos = end;
      if (name.starts_with("__torch__.torch.classes.") || cu.get_class(name)) continue;
      throw Error(ErrorCode::kJitMissingClass,
                  "Unknown type name '" + name + "': class " + t.name().qualified_name() +
                      " declares " + what + " of type " + type +
                      ", and no code file declares that class",
                  {}, t.file());
    }
  };
  for (const ClassType* t : cu.classes()) {
    for (const ClassAttribute& a : t->attributes()) check(*t, "attribute '" + a.name + "'", a.type);
    for (const auto& [name, type] : t->fields()) check(*t, "field '" + name + "'", type);
    // The method signatures too: importing a class defines its methods, whose parameter and
    // return annotations are resolved the same way.
    for (const Method& m : t->methods()) {
      const frontend::Def& d = m.def();
      for (const frontend::Param& p : d.params)
        if (p.type)
          check(*t, "method " + m.name() + " with parameter '" + p.name + "'",
                frontend::print_expr(*p.type));
      if (d.return_type)
        check(*t, "method " + m.name() + " returning", frontend::print_expr(*d.return_type));
    }
  }
}

Module load_archive(const std::shared_ptr<const io::ReadAdapter>& in,
                    const std::optional<Device>& device, ExtraFilesMap* extra_files,
                    bool load_debug_files, bool allow_view, const Limits& limits) {
  const io::FileMagic magic = io::identify_magic(*in);
  PTIO_CHECK(magic != io::FileMagic::kFlatbuffer, ErrorCode::kMobileArchive,
             "this is a flatbuffer (PTMF) module; ptio::jit::load reads zip archives only");
  PTIO_CHECK(magic != io::FileMagic::kPickle && magic != io::FileMagic::kLegacyTorchSave,
             ErrorCode::kUnknownFormat,
             "this is a file from torch.save() (a pickle), not a TorchScript archive; read it "
             "with ptio::load");
  zip::ReaderOptions ro;
  static_cast<zip::Limits&>(ro) = limits.zip;
  ro.verify_crc = true;
  zip::ArchiveReader ar(in, ro);
  auto info = std::make_shared<ArchiveInfo>();
  info->file = in->name();
  info->source = in;
  info->prefix = ar.prefix();
  info->records = ar.record_names();
  read_extra_files(ar, extra_files, *info);
  auto cu = std::make_shared<CompilationUnit>();
  if (ar.has_record("model.json") && !ar.has_record("data.pkl")) {
    info->kind = ArchiveKind::kLegacy;
    return detail::load_legacy(ar, cu, info, device, allow_view, limits);
  }
  info->version = read_version(ar, *info);
  if (ar.has_record("byteorder")) info->byteorder = detail::record_text(ar, "byteorder", 16);
  const bool swap = ptio::detail::big_endian_archive(ar);
  parse_code(ar, *cu, *info, limits.jit);
  check_type_names(*cu);
  if (ar.has_record("bytecode.pkl")) {
    info->kind = ArchiveKind::kMobile;
    detail::read_bytecode_info(ar, *cu, *info, limits);
    if (!ar.has_record("data.pkl")) {
      info->kind = ArchiveKind::kMobileBytecodeOnly;
      return detail::load_bytecode_only(ar, cu, info);
    }
  }
  PTIO_CHECK(ar.has_record("data.pkl"), ErrorCode::kMissingRecord,
             "the archive has no data.pkl record (the module object)");
  if (!ar.has_record("constants.pkl")) {
    // torch.save's zip checkpoints have data.pkl, data/ and version but no constants.pkl and
    // no code/ (the reverse of ptio::load's kTorchScriptArchive message).
    const bool has_code = std::any_of(info->records.begin(), info->records.end(),
                                      [](const std::string& r) { return r.starts_with("code/"); });
    PTIO_CHECK(has_code, ErrorCode::kMissingRecord,
               "this is a torch.save() checkpoint (a zip with data.pkl but no constants.pkl or "
               "code/), not a TorchScript archive; read it with ptio::load (torch.load)");
    PTIO_CHECK(false, ErrorCode::kMissingRecord,
               "the archive has no constants.pkl record (the code's constant table)");
  }
  LoadOptions lo;
  lo.limits = limits;
  const pickle::Resolver resolver = detail::make_resolver(*cu);
  // constants.pkl first (the code refers to it), then data.pkl (import.cpp deserialize()).
  ptio::detail::ZipStorageLoader constant_storages(ar, "constants/", lo, allow_view, swap);
  constant_storages.empty_without_record = true;
  constant_storages.torchscript = true;
  constant_storages.map_device = device;
  IValue constants = detail::unpickle_record(
      ar, "constants.pkl", resolver,
      [&](const IValue& pid, const pickle::CallContext&) {
        return IValue(constant_storages.load(pid));
      },
      limits.pickle, &info->constants_memoized);
  // Cycles the pickles built are broken if any check below throws (the compilation unit holding
  // the constants goes with the exception, and reference counting never frees a cycle).
  ptio::detail::CycleGuard constants_guard{constants};
  const std::string file = in->name();
  PTIO_CHECK(constants.is_tuple(), ErrorCode::kJitBadModule,
             "constants.pkl must hold a tuple, got ", constants.kind_name());
  detail::check_objects(constants, *cu, file, ar.record("constants.pkl").full_name);
  cu->set_constants(constants);
  ptio::detail::ZipStorageLoader data_storages(ar, "data/", lo, allow_view, swap);
  data_storages.empty_without_record = true;
  data_storages.torchscript = true;
  data_storages.map_device = device;
  IValue root = detail::unpickle_record(
      ar, "data.pkl", resolver,
      [&](const IValue& pid, const pickle::CallContext&) {
        return IValue(data_storages.load(pid));
      },
      limits.pickle, &info->data_memoized);
  ptio::detail::CycleGuard root_guard{root};
  const std::string data_record = ar.record("data.pkl").full_name;
  if (!root.is_object() || !cu->get_class(root.as_object().type.qualified_name()) ||
      !cu->get_class(root.as_object().type.qualified_name())->is_module())
    throw Error(ErrorCode::kJitBadModule,
                "data.pkl must hold a module object, got " +
                    (root.is_object() ? root.as_object().type.qualified_name()
                                      : std::string(root.kind_name())),
                file, data_record);
  detail::check_objects(root, *cu, file, data_record);
  cu->finalize();
  if (info->version <= 2) detail::restore_accurate_type_tags(root, *cu);
  if (load_debug_files) {
    detail::load_debug_info(ar, *cu, limits);
    info->debug_loaded = true;
  }
  constants_guard.keep = root_guard.keep = true;
  return Module(std::move(root), std::move(cu), std::move(info));
}

Module load_checked(const std::shared_ptr<const io::ReadAdapter>& in,
                    const std::optional<Device>& device, ExtraFilesMap* extra_files,
                    bool load_debug_files, bool allow_view, const Limits& limits) {
  try {
    return load_archive(in, device, extra_files, load_debug_files, allow_view, limits);
  } catch (Error& e) {
    e.add_context(in->name());
    throw;
  } catch (const std::bad_alloc&) {
    throw Error(ErrorCode::kLimitExceeded, "out of memory while loading", in->name());
  }
}

}  // namespace

Module load(const std::filesystem::path& path, std::optional<Device> device,
            ExtraFilesMap* extra_files, bool load_debug_files, const Limits& limits) {
  return load(std::shared_ptr<const io::ReadAdapter>(std::make_shared<io::MmapReadAdapter>(path)),
              device, extra_files, load_debug_files, limits);
}

Module load(std::shared_ptr<const io::ReadAdapter> in, std::optional<Device> device,
            ExtraFilesMap* extra_files, bool load_debug_files, const Limits& limits) {
  PTIO_CHECK(in != nullptr, ErrorCode::kIoInvalidArgument, "jit::load: null ReadAdapter");
  return load_checked(in, device, extra_files, load_debug_files, true, limits);
}

Module load(std::istream& in, std::optional<Device> device, ExtraFilesMap* extra_files,
            bool load_debug_files, const Limits& limits) {
  // Read whole (the Module keeps its archive's bytes: ArchiveInfo::source), within
  // limits.io.max_stream_bytes, into one buffer the zero-copy storages point into: a seekable
  // stream from byte 0 (as caffe2's IStreamAdapter), one that cannot seek from its position.
  if (io::detail::seekable(in)) in.seekg(0, std::ios::beg);
  auto adapter = std::make_shared<io::MemoryReadAdapter>(
      io::detail::read_stream(in, limits.io.max_stream_bytes, "<istream>"), "<istream>");
  return load_checked(adapter, device, extra_files, load_debug_files, true, limits);
}

Module load(std::span<const std::byte> bytes, std::optional<Device> device,
            ExtraFilesMap* extra_files, bool load_debug_files, const Limits& limits) {
  auto adapter = std::make_shared<io::MemoryReadAdapter>(io::MemoryReadAdapter::copy_of(
      std::string_view(reinterpret_cast<const char*>(bytes.data()), bytes.size())));
  return load_checked(adapter, device, extra_files, load_debug_files, true, limits);
}

Module load(const std::filesystem::path& path, std::optional<Device> device,
            ExtraFilesMap* extra_files, bool load_debug_files) {
  return load(path, device, extra_files, load_debug_files, Limits{});
}

Module load(std::shared_ptr<const io::ReadAdapter> in, std::optional<Device> device,
            ExtraFilesMap* extra_files, bool load_debug_files) {
  return load(std::move(in), device, extra_files, load_debug_files, Limits{});
}

Module load(std::istream& in, std::optional<Device> device, ExtraFilesMap* extra_files,
            bool load_debug_files) {
  return load(in, device, extra_files, load_debug_files, Limits{});
}

Module load(std::span<const std::byte> bytes, std::optional<Device> device,
            ExtraFilesMap* extra_files, bool load_debug_files) {
  return load(bytes, device, extra_files, load_debug_files, Limits{});
}

ExtraFilesMap load_extra_files(const std::filesystem::path& path) {
  return load_extra_files(
      std::shared_ptr<const io::ReadAdapter>(std::make_shared<io::MmapReadAdapter>(path)));
}

ExtraFilesMap load_extra_files(std::shared_ptr<const io::ReadAdapter> in) {
  PTIO_CHECK(in != nullptr, ErrorCode::kIoInvalidArgument, "load_extra_files: null ReadAdapter");
  zip::ArchiveReader ar(in);
  ExtraFilesMap out;
  for (const std::string& r : ar.record_names())
    if (r.starts_with("extra/") && r.size() > 6) out[r.substr(6)] = detail::record_text(ar, r);
  return out;
}

}  // namespace ptio::jit
