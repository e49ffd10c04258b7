// The stderr warning for files whose pickles would run code in torch.load (see code_warning.h).
#include "code_warning.h"

#include <iostream>
#include <map>
#include <set>

#include "common.h"
#include "ptio/serialization/scan.h"

namespace ptio::cli {
namespace {

std::map<std::string, std::set<std::string>>& noted() {  // file -> dangerous `module.name`s
  static std::map<std::string, std::set<std::string>> m;
  return m;
}

}  // namespace

void note_code_global(const std::string& file, std::string_view module, std::string_view name) {
  if (classify_global(module, name) != GlobalClass::kDangerous) return;
  noted()[file].insert(std::string(module) + "." + std::string(name));
}

pickle::Resolver noting_resolver(const std::string& file) {
  pickle::Resolver r = pickle::Resolver::with_python_builtins();
  r.set_fallback([file](std::string_view module,
                        std::string_view name) -> pickle::Resolver::HandlerPtr {
    note_code_global(file, module, name);
    return nullptr;  // inspection policy: an Opaque value, nothing runs
  });
  return r;
}

void warn_code_globals(const std::string& file) {
  const auto it = noted().find(file);
  if (it == noted().end() || it->second.empty()) return;
  const std::set<std::string>& names = it->second;
  std::string listed;
  std::size_t shown = 0;
  for (const std::string& n : names) {
    if (shown++ == 5) break;
    listed += (listed.empty() ? "" : ", ") + printable(n);
  }
  if (names.size() > 5) listed += " and " + std::to_string(names.size() - 5) + " more";
  std::cerr << "ptio: warning: " << file << ": its pickle references "
            << count_of(names.size(), "callable")
            << " that would run code when Python unpickles it (torch.load with "
               "weights_only=False, pickle.load): "
            << listed
            << "; ptio ran nothing (it shows them as unresolved globals); `ptio scan " << file
            << "` lists every global with its offset and judges the file\n";
}

}  // namespace ptio::cli
