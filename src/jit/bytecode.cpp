// bytecode.pkl of lite-interpreter archives (spec-torchscript 11.3): version and function names,
// and the best-effort module of a bytecode-only archive.
#include "import_impl.h"
#include "ptio/error.h"
#include "serialization/cycle_guard.h"
#include "serialization/zip_storages.h"

namespace ptio::jit::detail {

namespace {

IValue read_bytecode(const zip::ArchiveReader& ar, CompilationUnit& cu, const Limits& limits) {
  // Tensors of bytecode constants live in constants/ (v5+) or bytecode/ (v4): spec 11.1.
  bool v4_layout = false;
  for (const auto& r : ar.record_names()) v4_layout = v4_layout || r.starts_with("bytecode/");
  LoadOptions lo;
  lo.limits = limits;
  ptio::detail::ZipStorageLoader storages(ar, v4_layout ? "bytecode/" : "constants/", lo, true,
                                          ptio::detail::big_endian_archive(ar));
  storages.empty_without_record = true;
  storages.torchscript = true;  // the C++ unpickler's location rule
  pickle::Resolver resolver = make_resolver(cu);
  // Classes of a bytecode-only archive have no code: the mobile loader creates them on the fly.
  CompilationUnit* unit = &cu;
  resolver.add_module_prefix("__torch__", [unit](std::string_view module, std::string_view name) {
    const std::string qn = std::string(module) + "." + std::string(name);
    const ClassType* t = unit->get_class(qn);
    if (!t)
      t = qn.starts_with("__torch__.torch.classes.") ? unit->add_torchbind(qn)
                                                     : unit->add_module_class(qn);
    auto h = std::make_shared<pickle::GlobalHandler>();
    const QualifiedName type(qn);
    h->new_object = [type](const IValue&, const pickle::CallContext&) {
      return IValue::object(type);
    };
    h->call = [type](const IValue& value, const pickle::CallContext&) {
      return IValue::enum_value(type, "", value);
    };
    return std::shared_ptr<const pickle::GlobalHandler>(std::move(h));
  });
  return unpickle_record(
      ar, "bytecode.pkl", resolver,
      [&](const IValue& pid, const pickle::CallContext&) { return IValue(storages.load(pid)); },
      limits.pickle);
}

}  // namespace

void read_bytecode_info(const zip::ArchiveReader& ar, CompilationUnit& cu, ArchiveInfo& info,
                        const Limits& limits) {
  // A scratch unit: classes made up for bytecode constants must not leak into the real one.
  CompilationUnit scratch;
  for (const ClassType* t : cu.classes())
    if (t->kind() == TypeKind::kTorchBind) scratch.add_torchbind(t->name().qualified_name());
  IValue bc = read_bytecode(ar, ar.has_record("data.pkl") ? scratch : cu, limits);
  const ptio::detail::CycleGuard drop{bc};  // only names are kept: its cycles are freed
  const auto err = [&](const std::string& what) {
    return Error(ErrorCode::kMobileBadFormat, what, ar.file_name(),
                 ar.record("bytecode.pkl").full_name);
  };
  if (!bc.is_tuple())
    throw err("bytecode.pkl must hold a tuple, got " + std::string(bc.kind_name()));
  const auto& items = bc.as_tuple().elements();
  std::size_t first = 0;
  if (!items.empty() && items[0].is_int()) {
    info.bytecode_version = items[0].as_int();
    first = 1;
  } else {
    info.bytecode_version = 3;  // no leading int: treated as version 3 (spec 11.2)
  }
  for (std::size_t i = first; i < items.size(); ++i) {
    const IValue& fn = items[i];
    if (!fn.is_tuple() || fn.as_tuple().size() < 2 || !fn.as_tuple().elements()[0].is_string())
      throw err("function " + std::to_string(i) + " of bytecode.pkl is not (name, code, ...)");
    info.bytecode_functions.push_back(fn.as_tuple().elements()[0].as_string());
  }
}

Module load_bytecode_only(const zip::ArchiveReader& ar, std::shared_ptr<CompilationUnit> cu,
                          std::shared_ptr<ArchiveInfo> info) {
  // The root class is the owner of the first function (`__torch__.m.M.forward` → `__torch__.m.M`).
  std::string root = "__torch__.Module";
  if (!info->bytecode_functions.empty()) {
    const std::string& f = info->bytecode_functions.front();
    const auto dot = f.rfind('.');
    if (dot != std::string::npos && dot > 0) root = f.substr(0, dot);
  }
  cu->add_module_class(root);
  cu->finalize();
  (void)ar;
  return Module(IValue::object(QualifiedName(root)), std::move(cu), std::move(info));
}

}  // namespace ptio::jit::detail
