// `ptio extra MODEL.pt [--set NAME=FILE]... [--remove NAME]... -o OUT.pt` edits the `extra/` files
// of a TorchScript archive (what torch.jit.save's `_extra_files` writes and torch.jit.load's
// `_extra_files` reads); without edits, `ptio extra MODEL.pt [--json]` lists them.
//
// Edits apply to MODEL's extra files: `--set` adds or replaces NAME with the bytes of FILE,
// `--remove` drops NAME; OUT is MODEL re-saved by jit::save with the result (temporary file
// renamed into place). Exit: 0 done; 2 MODEL or FILE unreadable, MODEL not a TorchScript archive;
// 64 usage: a NAME that is empty, `.`, `..` or holds `/`, `\` or NUL (extra files are flat
// `extra/<NAME>` records), `--remove` of a name MODEL does not have, a name both set and removed,
// edits without `-o`, `--json` with edits.
#include <algorithm>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <vector>

#include "command.h"
#include "common.h"
#include "convert_torchscript.h"
#include "jit_common.h"
#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/jit/import.h"
#include "ptio/jit/module.h"
#include "ptio/jit/save.h"
#include "ptio/zip/archive_reader.h"

namespace ptio::cli {
namespace {

struct ExtraArgs {
  std::string model;
  std::vector<std::string> set;
  std::vector<std::string> remove;
  std::string out;
  bool json = false;
  bool force = false;
  bool out_given = false;  // -o was on the command line (`-o ""` is an empty OUT, not "no -o")
};

// Why `name` cannot be an extra file name (jit::save's rule), or empty.
std::string bad_name(const std::string& name) {
  if (name.empty()) return "is empty";
  if (name.find_first_of(std::string_view("/\\\0", 3)) != std::string::npos)
    return "contains '/', '\\' or NUL";
  if (name == "." || name == "..") return "is a relative path component";
  return {};
}

int usage(const std::string& msg) {
  std::cerr << "ptio: error: " << msg << "\n";
  return kExitUsage;
}

// The bytes of FILE of `--set NAME=FILE`. A directory, a FIFO or device, or a file that cannot
// be opened is one Error(kIoOpenFailed) naming FILE and why (exit 2).
std::string read_file(const std::string& name, const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    throw Error(ErrorCode::kIoOpenFailed,
                "is a directory; --set " + name + "=FILE takes the file whose bytes to store",
                path);
  refuse_unknown_size(path);                  // a /proc file: exit 2, "its size is unknown"
  const auto f = io::MappedFile::open(path);  // "cannot open: <errno text>", "not a regular file"
  if (f->size() == 0) return {};
  return std::string(reinterpret_cast<const char*>(f->data()), static_cast<std::size_t>(f->size()));
}

int list(const std::string& model, bool json) {
  const jit::ExtraFilesMap extra = jit::load_extra_files(std::filesystem::path(model));
  // In archive order (the records' order), without loading the module.
  std::vector<std::string> names;
  for (const std::string& r : zip::ArchiveReader(std::filesystem::path(model)).record_names())
    if (r.starts_with("extra/") && extra.count(r.substr(6))) names.push_back(r.substr(6));
  if (json) {
    nlohmann::json arr = nlohmann::json::array();
    for (const auto& n : names) arr.push_back({{"name", n}, {"size", extra.at(n).size()}});
    std::cout << nlohmann::json{{"extra_files", arr}}.dump(-1, ' ', false,
                                                           nlohmann::json::error_handler_t::replace)
              << "\n";
    return kExitOk;
  }
  for (const auto& n : names) std::cout << printable(n) << "\t" << extra.at(n).size() << "\n";
  return kExitOk;
}

int run_extra(const ExtraArgs& a) {
  const bool edits = !a.set.empty() || !a.remove.empty();
  // Every argument is checked before anything is read or written.
  std::map<std::string, std::string> sets;  // NAME -> FILE
  for (const auto& s : a.set) {
    const auto eq = s.find('=');
    if (eq == std::string::npos) return usage("--set takes NAME=FILE, got '" + s + "'");
    const std::string name = s.substr(0, eq);
    if (const auto why = bad_name(name); !why.empty())
      return usage("extra file name '" + name + "' " + why);
    sets[name] = s.substr(eq + 1);
  }
  for (const auto& name : a.remove) {
    if (const auto why = bad_name(name); !why.empty())
      return usage("extra file name '" + name + "' " + why);
    if (sets.count(name)) return usage("'" + name + "' is both set and removed");
  }
  if (edits && !a.out_given) return usage("edits need -o OUT");
  if (edits && a.json) return usage("--json lists extra files; it takes no edits");
  // `-o ""` is an empty OUT, not "no -o".
  if (a.out_given) check_output_path(a.out, "-o OUT", a.force);
  begin_reading({a.model}, a.out_given ? std::string_view(a.out) : std::string_view{});
  require_jit_archive(a.model, "MODEL");
  if (!edits && a.out.empty()) return list(a.model, a.json);

  verify_stored_crcs(a.model);  // OUT re-saves MODEL's storages with their recorded CRC-32s
  LoadedArchive arch = load_archive(a.model);
  for (const auto& name : a.remove) {
    if (!arch.extra_files.erase(name)) {
      std::string have;
      for (const auto& n : arch.module.archive().extra_files)
        have += (have.empty() ? "" : ", ") + n;
      return usage(a.model + ": no extra file '" + name +
                   "' to --remove (it has: " + (have.empty() ? "none" : have) + ")");
    }
  }
  for (const auto& [name, file] : sets) arch.extra_files[name] = read_file(name, file);
  save_archive(arch, a.out, a.model);
  return kExitOk;
}

const Registrar reg{
    {"extra", "List, add, replace or remove the extra files of a TorchScript archive",
     [](CLI::App& sub) -> std::function<int()> {
       auto a = std::make_shared<ExtraArgs>();
       sub.add_option("model", a->model, "TorchScript archive (torch.jit.save)")->required();
       sub.add_option("--set", a->set, "add or replace extra file NAME with the bytes of FILE")
           ->type_name("NAME=FILE");
       sub.add_option("--remove", a->remove, "remove extra file NAME")->type_name("NAME");
       CLI::Option* out =
           sub.add_option("-o,--output", a->out, "archive to write (MODEL with the edits)");
       sub.add_flag("--force", a->force, "replace a read-only OUT (as cp -f)");
       sub.add_flag("--json", a->json, "list as JSON: {\"extra_files\": [{\"name\", \"size\"}]}");
       return [a, out] {
         a->out_given = out->count() > 0;
         return run_extra(*a);
       };
     }}};

}  // namespace
}  // namespace ptio::cli
