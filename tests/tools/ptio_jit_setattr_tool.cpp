// ptio_jit_setattr_tool IN OUT [PATH=JSON]...
// Loads the TorchScript archive IN, applies Module::setattr for each PATH=JSON (PATH may be
// dotted: `leaf.scale` sets `scale` on submodule `leaf`; JSON 3 is an int, 3.0 or 3e0 a float,
// true/false a bool, "s" a str, [..] a list, {"k": v} a dict with str keys, null None,
// {"$enum": NAME, "value": V} a member NAME (value V) of the enum class the attribute holds now,
// not checked here: Module::setattr checks it) and writes
// the result with ptio::jit::save, keeping IN's extra files. test_jit_edit.py checks the result in
// PyTorch. Exit 0 on success, 2 with the error on stderr (Error kJitBadEdit for a refused value).
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>
#include <string>

#include "ptio/error.h"
#include "ptio/jit/import.h"
#include "ptio/jit/save.h"

using namespace ptio;

namespace {

IValue from_json(const nlohmann::json& j) {
  if (j.is_null()) return IValue();
  if (j.is_boolean()) return IValue(j.get<bool>());
  if (j.is_number_integer()) return IValue(j.get<std::int64_t>());
  if (j.is_number_float()) return IValue(j.get<double>());
  if (j.is_string()) return IValue(j.get<std::string>());
  if (j.is_array()) {
    std::vector<IValue> items;
    for (const auto& e : j) items.push_back(from_json(e));
    return IValue::list(std::move(items));
  }
  IValue d = IValue::dict();
  for (const auto& [k, v] : j.items()) d.as_dict().insert_or_assign(IValue(k), from_json(v));
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: ptio_jit_setattr_tool IN OUT [PATH=JSON]...\n";
    return 64;
  }
  try {
    const std::filesystem::path in = argv[1], out = argv[2];
    jit::Module m = jit::load(in);
    for (int i = 3; i < argc; ++i) {
      const std::string arg = argv[i];
      const auto eq = arg.find('=');
      if (eq == std::string::npos) {
        std::cerr << "expected PATH=JSON, got " << arg << "\n";
        return 64;
      }
      std::string path = arg.substr(0, eq);
      jit::Module target = m;
      for (auto dot = path.find('.'); dot != std::string::npos; dot = path.find('.')) {
        target = target.child(path.substr(0, dot));
        path = path.substr(dot + 1);
      }
      const auto j = nlohmann::json::parse(arg.substr(eq + 1));
      if (j.is_object() && j.contains("$enum")) {
        const IValue& now = target.attr(path);
        target.setattr(path, IValue::enum_value(now.as_enum().type, j["$enum"].get<std::string>(),
                                                from_json(j["value"])));
        continue;
      }
      target.setattr(path, from_json(j));
    }
    jit::save(m, out, jit::load_extra_files(in));
  } catch (const std::exception& e) {
    std::cerr << "ptio_jit_setattr_tool: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
