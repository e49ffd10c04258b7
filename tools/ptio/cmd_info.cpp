// `ptio info FILE [--json]`: what a file is (kind, versions, producer hints, counts and sizes);
// for TorchScript archives the module: class, methods with schemas, submodule tree, extra files.
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>

#include "command.h"
#include "common.h"
#include "jit_common.h"
#include "ptio/error.h"
#include "ptio/jit/import.h"
#include "ptio/serialization/format.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/state_dict.h"
#include "ptio/zip/archive_reader.h"

namespace ptio::cli {
namespace {

using json = nlohmann::ordered_json;

std::string attribute_kind(const jit::ClassAttribute& a) {
  if (a.is_parameter) return "parameter";
  if (a.is_buffer) return "buffer";
  if (a.is_module) return "module";
  return "attribute";
}

json tensor_totals(const std::vector<std::pair<std::string, Tensor>>& tensors) {
  std::set<const void*> storages;
  std::uint64_t bytes = 0;
  for (const auto& [n, t] : tensors) {
    if (t.is_sparse() || t.is_meta() || !t.storage().defined()) continue;
    if (storages.insert(t.storage().id()).second) bytes += t.storage().nbytes();
  }
  return json{{"tensors", tensors.size()}, {"storages", storages.size()}, {"storage_bytes", bytes}};
}

json module_json(const jit::Module& root) {
  json j;
  const jit::ArchiveInfo& a = root.archive();
  json archive;
  archive["prefix"] = a.prefix;
  archive["version"] = a.version;
  archive["version_record"] = a.version_record;
  if (!a.byteorder.empty()) archive["byteorder"] = a.byteorder;
  if (a.bytecode_version) archive["bytecode_version"] = *a.bytecode_version;
  if (!a.producer.empty()) archive["producer"] = a.producer;
  archive["records"] = a.records.size();
  archive["code_files"] = root.compilation_unit().files().size();
  archive["constants"] = root.compilation_unit().constants().is_tuple()
                             ? root.compilation_unit().constants().as_tuple().size()
                             : 0;
  if (!a.bytecode_functions.empty()) archive["bytecode_functions"] = a.bytecode_functions;
  j["archive"] = archive;
  j["class"] = root.qualified_name().qualified_name();
  j["training"] = root.is_training();
  const auto sd = root.state_dict();
  std::vector<std::pair<std::string, Tensor>> entries(sd.items().begin(), sd.items().end());
  j["state_dict"] = tensor_totals(entries);
  json modules = json::array();
  for (const auto& [name, m] : root.named_modules()) {
    json mj;
    mj["name"] = name;
    mj["class"] = m.qualified_name().qualified_name();
    json attrs = json::array();
    for (const auto& at : m.type().attributes())
      attrs.push_back({{"name", at.name}, {"type", at.type}, {"kind", attribute_kind(at)}});
    mj["attributes"] = attrs;
    json methods = json::array();
    for (const jit::Method& me : m.type().methods()) {
      json x{{"name", me.name()}, {"schema", me.schema()}};
      if (me.is_hook()) x["hook"] = true;
      if (const auto& loc = me.original_location())
        x["original"] = {{"file", loc->file}, {"line", loc->line}};
      methods.push_back(x);
    }
    mj["methods"] = methods;
    json constants = json::array();
    for (const auto& c : m.type().constants())
      constants.push_back({{"name", c.name}, {"type", c.type}, {"value", c.value}});
    if (!constants.empty()) mj["constants"] = constants;
    modules.push_back(mj);
  }
  j["modules"] = modules;
  json classes = json::array();
  for (const jit::ClassType* t : root.compilation_unit().classes())
    classes.push_back({{"name", t->name().qualified_name()},
                       {"kind", std::string(jit::type_kind_name(t->kind()))},
                       {"file", t->file()}});
  j["classes"] = classes;
  j["extra_files"] = a.extra_files;
  return j;
}

// `arrays` of a safetensors or npz file: {"tensors": N, "data_bytes": B} from the safetensors
// header (every entry but __metadata__, B the bytes its data_offsets span) or the npz records
// (B their uncompressed sizes, .npy headers included). Throws Error(kUnknownFormat) for a
// safetensors header that is no JSON object of tensors.
json foreign_arrays(const io::ReadAdapter& in, FileFormat f) {
  std::uint64_t n = 0, bytes = 0;
  if (f == FileFormat::kNpz) {
    zip::ReaderOptions ro;
    static_cast<zip::Limits&>(ro) = zip_limits();
    ro.strict = false;
    const zip::ArchiveReader ar{std::make_shared<io::MmapReadAdapter>(in.name()), ro};
    for (const zip::RecordInfo& r : ar.records())
      if (!r.full_name.ends_with("/")) {
        ++n;
        bytes += r.size;
      }
    return json{{"tensors", n}, {"data_bytes", bytes}};
  }
  std::byte len[8];
  in.read(0, len, sizeof len);
  std::uint64_t hn = 0;
  for (int k = 8; k-- > 0;) hn = (hn << 8) | std::to_integer<std::uint64_t>(len[k]);
  const std::vector<std::byte> h = in.read_vector(8, static_cast<std::size_t>(hn));  // <= 100 MB
  const json header =
      json::parse(reinterpret_cast<const char*>(h.data()),
                  reinterpret_cast<const char*>(h.data()) + h.size(), nullptr, false);
  if (!header.is_object())
    throw Error(ErrorCode::kUnknownFormat, "safetensors header is not a JSON object", in.name(), "",
                8);
  for (const auto& [name, v] : header.items()) {
    if (name == "__metadata__") continue;
    ++n;
    const auto it = v.is_object() ? v.find("data_offsets") : v.end();
    if (it != v.end() && it->is_array() && it->size() == 2 && (*it)[0].is_number_unsigned() &&
        (*it)[1].is_number_unsigned() && (*it)[1] >= (*it)[0])
      bytes += (*it)[1].get<std::uint64_t>() - (*it)[0].get<std::uint64_t>();
  }
  return json{{"tensors", n}, {"data_bytes", bytes}};
}

// `j` with every string as printable() writes it: names from the file (the archive folder, extra
// files, submodule and class names) print without bytes a terminal would act on.
json printable_strings(json j) {
  if (j.is_string()) return printable(j.get<std::string>());
  if (j.is_structured())  // (a number or bool iterates as itself)
    for (auto& v : j) v = printable_strings(std::move(v));
  return j;
}

void print_text(const json& j) {
  std::cout << j["file"].get<std::string>() << ": " << j["kind"].get<std::string>() << " ("
            << j["format"].get<std::string>() << "), " << human_size(j["size"].get<std::uint64_t>())
            << "\n";
  if (j.contains("diagnosis")) std::cout << "  " << j["diagnosis"].get<std::string>() << "\n";
  if (j.contains("load_error"))
    std::cout << "  cannot be loaded: " << j["load_error"].get<std::string>() << "\n";
  if (j.contains("archive"))
    for (const auto& [k, v] : j["archive"].items())
      std::cout << "  " << k << ": " << (v.is_string() ? v.get<std::string>() : v.dump()) << "\n";
  if (j.contains("arrays"))
    std::cout << "  tensors: " << j["arrays"]["tensors"] << ", "
              << human_size(j["arrays"]["data_bytes"].get<std::uint64_t>()) << "\n";
  if (j.contains("tensors"))
    std::cout << "  tensors: " << j["tensors"]["tensors"] << " in "
              << count_of(j["tensors"]["storages"].get<std::uint64_t>(), "storage") << ", "
              << human_size(j["tensors"]["storage_bytes"].get<std::uint64_t>()) << "\n";
  if (!j.contains("module")) return;
  const json& m = j["module"];
  const json& a = m["archive"];
  std::cout << "  archive folder: " << a["prefix"].get<std::string>() << ", version "
            << a["version"] << " (" << a["version_record"].get<std::string>() << ")";
  if (a.contains("bytecode_version")) std::cout << ", bytecode version " << a["bytecode_version"];
  if (a.contains("producer")) std::cout << ", producer " << a["producer"].get<std::string>();
  std::cout << "\n  records: " << a["records"] << ", code files: " << a["code_files"]
            << ", constants: " << a["constants"] << "\n";
  std::cout << "  module: " << m["class"].get<std::string>()
            << (m["training"].get<bool>() ? " (training)" : " (eval)") << "\n";
  std::cout << "  state_dict: "
            << count_of(m["state_dict"]["tensors"].get<std::uint64_t>(), "tensor") << ", "
            << human_size(m["state_dict"]["storage_bytes"].get<std::uint64_t>()) << "\n";
  for (const auto& me : m["modules"][0]["methods"])
    std::cout << "  method " << me["schema"].get<std::string>() << "\n";
  std::cout << "  submodules:\n";
  for (const auto& sm : m["modules"]) {
    const std::string name = sm["name"].get<std::string>();
    const auto depth = name.empty() ? 0 : std::count(name.begin(), name.end(), '.') + 1;
    std::cout << "    " << std::string(static_cast<std::size_t>(depth) * 2, ' ')
              << (name.empty() ? "<root>" : name.substr(name.rfind('.') + 1)) << ": "
              << sm["class"].get<std::string>() << "\n";
  }
  if (!m["extra_files"].empty()) {
    std::cout << "  extra files:";
    for (const auto& e : m["extra_files"]) std::cout << " " << e.get<std::string>();
    std::cout << "\n";
  }
}

int run_info(const std::string& path, bool as_json) {
  begin_reading({path});
  const auto adapter = std::make_shared<io::MmapReadAdapter>(path);
  const FormatInfo fi = detect_format(*adapter);
  json j;
  j["file"] = path;
  j["size"] = adapter->size();
  j["format"] = std::string(file_format_name(fi.format));
  const bool jit_kind = fi.format == FileFormat::kTorchScript || fi.format == FileFormat::kMobile;
  if (!fi.diagnosis.empty() && !jit_kind) j["diagnosis"] = fi.diagnosis;
  std::string kind;
  switch (fi.format) {
    case FileFormat::kZip:
      kind = "torch.save";
      break;
    case FileFormat::kLegacy:
      kind = "torch.save-legacy";
      break;
    case FileFormat::kTar:
      kind = "torch.save-tar";
      break;
    case FileFormat::kTorchScript:
      kind = "torchscript";
      break;
    case FileFormat::kMobile:
      kind = "mobile-bytecode";
      break;
    case FileFormat::kFlatbuffer:
      kind = "flatbuffer";
      break;
    case FileFormat::kPickle:
      kind = "pickle";
      break;
    case FileFormat::kSafetensors:
      kind = "safetensors";
      break;
    case FileFormat::kNpz:
      kind = "npz";
      break;
    default:
      kind = "unknown";
      break;
  }
  int rc = kExitOk;
  try {
    if (fi.format == FileFormat::kZip || fi.format == FileFormat::kLegacy ||
        fi.format == FileFormat::kTar) {
      LoadOptions lo;
      lo.weights_only = false;  // inspection: nothing runs
      lo.limits = cli_limits();
      apply_cli_map_location(lo);
      IValue obj = load(std::shared_ptr<const io::ReadAdapter>(adapter), lo);
      std::vector<std::pair<std::string, Tensor>> tensors;
      try {
        for (auto& nt : named_tensors(obj, listing_limits()))
          tensors.emplace_back(nt.path, nt.tensor);
      } catch (...) {
        break_cycles(obj);
        throw;
      }
      break_cycles(obj);  // a pickle may hold reference cycles (no GC); the tensors stay alive
      j["tensors"] = tensor_totals(tensors);
      if (fi.format == FileFormat::kZip) {  // version records and producer hints
        zip::ReaderOptions ro;
        static_cast<zip::Limits&>(ro) = zip_limits();
        const zip::ArchiveReader ar{std::shared_ptr<const io::ReadAdapter>(adapter), ro};
        json z{{"prefix", ar.prefix()}, {"records", ar.record_names().size()}};
        for (const char* r : {".data/version", "version", "byteorder", ".data/serialization_id"})
          if (ar.has_record(r) && ar.record(r).size <= 64) {
            auto b = ar.read(r);
            std::string v(reinterpret_cast<const char*>(b.data()), b.size());
            while (!v.empty() && (v.back() == '\n' || v.back() == '\r')) v.pop_back();
            z[r] = v;
          }
        j["archive"] = z;
      }
    } else if (jit_kind) {
      const jit::Module m = jit::load(std::shared_ptr<const io::ReadAdapter>(adapter),
                                      cli_jit_device(), nullptr, true, cli_limits());
      if (m.archive().kind == jit::ArchiveKind::kLegacy) kind = "torchscript-legacy";
      j["module"] = module_json(m);
    } else if (fi.format == FileFormat::kSafetensors || fi.format == FileFormat::kNpz) {
      j["arrays"] = foreign_arrays(*adapter, fi.format);
    } else if (fi.format == FileFormat::kPickle) {
      // Legacy streams start with the magic number (FileFormat::kLegacy): this one does not.
      j["diagnosis"] = plain_pickle_diagnosis(path);
    } else if (kind == "unknown") {
      rc = kExitUnreadable;
    }
  } catch (const Error& e) {
    // The kind is known but the content cannot be read (or is refused, e.g. a blocked global):
    // still say what the file is.
    // A bound (a decompression bomb, ...) says how to raise it, and a location tag torch.load
    // cannot restore names --map-location, as other commands' errors do.
    j["load_error"] = e.code() == ErrorCode::kLimitExceeded || e.code() == ErrorCode::kBadDevice
                          ? error_line(e)
                          : std::string(e.what());
    j["load_error_code"] = std::string(error_code_name(e.code()));
    rc = kExitUnreadable;
  }
  j["kind"] = kind;
  if (as_json)
    std::cout << j.dump(1, ' ', false, json::error_handler_t::replace) << "\n";
  else
    print_text(printable_strings(std::move(j)));
  return rc;
}

Registrar reg{{"info",
               "Say what a file is: kind, versions, counts and sizes; for TorchScript archives "
               "the module's class, methods, submodules and extra files",
               [](CLI::App& sub) -> std::function<int()> {
                 auto path = std::make_shared<std::string>();
                 auto as_json = std::make_shared<bool>(false);
                 sub.add_option("file", *path, "any PyTorch file")->required();
                 sub.add_flag("--json", *as_json, "machine-readable output (docs/cli.md)");
                 set_examples(sub, {"ptio info model.pt", "ptio info scripted.pt --json"});
                 return [=] { return run_info(*path, *as_json); };
               }}};

}  // namespace
}  // namespace ptio::cli
