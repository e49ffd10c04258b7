// `ptio scan FILE [--json]`: the static safety scan of every pickle in a PyTorch file (ptio::scan).
#include <algorithm>
#include <iomanip>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>

#include "command.h"
#include "common.h"
#include "ptio/error.h"
#include "ptio/serialization/scan.h"

namespace ptio::cli {
namespace {

std::string hex_offset(std::uint64_t v) {
  std::ostringstream s;
  s << "0x" << std::hex << v;
  return s.str();
}

void print_json(const ScanReport& r) {
  nlohmann::ordered_json out;
  out["file"] = r.file;
  out["format"] = std::string(file_format_name(r.format));
  out["verdict"] = std::string(verdict_name(r.verdict));
  auto& globals = out["globals"] = nlohmann::ordered_json::array();
  for (const ScanGlobal& g : r.globals) {
    globals.push_back({{"module", g.module},
                       {"name", g.name},
                       {"record", g.record},
                       {"offset", g.offset},
                       {"opcode", g.opcode},
                       {"class", std::string(global_class_name(g.cls))},
                       {"reason", g.reason}});
  }
  auto& findings = out["findings"] = nlohmann::ordered_json::array();
  for (const ScanFinding& f : r.findings) {
    findings.push_back(
        {{"severity", f.severity == Verdict::kSafe ? std::string("note")
                                                   : std::string(verdict_name(f.severity))},
         {"record", f.record},
         {"offset", f.offset},
         {"message", f.message}});
  }
  auto& records = out["records"] = nlohmann::ordered_json::array();
  for (const ScanRecord& s : r.records) {
    records.push_back({{"name", s.name},
                       {"offset", s.offset},
                       {"size", s.size},
                       {"pickles", s.pickles},
                       {"by_content", s.by_content}});
  }
  std::cout << out.dump(2, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
}

void print_text(const ScanReport& r) {
  std::cout << r.file << ": " << file_format_name(r.format) << ", " << r.records.size()
            << " pickle record(s) scanned\n";
  if (!r.globals.empty()) {
    // The record column fits the longest name (`archive/code/__torch__.py.debug_pkl`).
    int width = 28;
    for (const ScanGlobal& g : r.globals)
      width = std::max(
          width, static_cast<int>(std::min<std::size_t>(printable(g.record).size(), 200)) + 2);
    std::cout << std::left << std::setw(10) << "class" << std::setw(14) << "opcode" << std::setw(12)
              << "offset" << std::setw(width) << "record"
              << "global\n";
    for (const ScanGlobal& g : r.globals) {
      std::cout << std::left << std::setw(10) << global_class_name(g.cls) << std::setw(14)
                << g.opcode << std::setw(12) << hex_offset(g.offset) << std::setw(width)
                << printable(g.record) << printable(g.module) << "." << printable(g.name);
      if (g.cls == GlobalClass::kDangerous) std::cout << "  (" << g.reason << ")";
      std::cout << "\n";
    }
  }
  for (const ScanFinding& f : r.findings) {
    std::cout << (f.severity == Verdict::kSafe ? "note" : verdict_name(f.severity)) << ": "
              << printable(f.record) << " @ " << hex_offset(f.offset) << ": "
              << printable(f.message) << "\n";
  }
  std::cout << "verdict: " << verdict_name(r.verdict) << "\n";
}

int run_scan(const std::string& path, bool json) {
  begin_reading({path});
  ScanReport r;
  try {
    ScanOptions so;
    so.limits = cli_limits();
    r = scan(std::filesystem::path(path), so);
  } catch (const Error& e) {
    print_error(e);
    return kExitUnreadable;
  }
  if (json) {
    print_json(r);
  } else {
    print_text(r);
  }
  return r.verdict == Verdict::kSafe ? kExitOk : kExitFinding;
}

const Registrar reg{
    {"scan",
     "Scan every pickle of a file for globals that run code (exit 0 safe, 1 suspicious or "
     "dangerous, 2 unreadable)",
     [](CLI::App& sub) -> std::function<int()> {
       auto path = std::make_shared<std::string>();
       auto json = std::make_shared<bool>(false);
       sub.add_option("file", *path, "file to scan (torch.save, TorchScript, pickle...)")
           ->required();
       sub.add_flag("--json", *json,
                    "print {verdict, globals: [{module, name, record, offset, opcode, class}], "
                    "findings, records}");
       return [=] { return run_scan(*path, *json); };
     }}};

}  // namespace
}  // namespace ptio::cli
