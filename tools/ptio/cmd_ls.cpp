// `ptio ls FILE [--json] [--strict]`: lists the records of a PyTorch zip archive.
#include <cinttypes>
#include <cstdio>
#include <iostream>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "command.h"
#include "common.h"
#include "json_out.h"
#include "ptio/error.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/crc32.h"

namespace ptio::cli {
namespace {

int run_ls(const std::string& path, bool json, bool strict) {
  begin_reading({path});
  zip::ReaderOptions opt;
  // Listing is inspection: by default it shows odd zips too (entries outside a folder, leading
  // bytes, encrypted entries). --strict applies PyTorch's rules, as `verify` does.
  opt.strict = strict;
  std::optional<zip::ArchiveReader> opened;
  try {
    opened.emplace(std::filesystem::path(path), opt);
  } catch (const Error& e) {
    // The library's hint names its option ("open in lenient mode"); here that is plain `ls`.
    const std::string lib_hint = "open in lenient mode to skip them";
    const std::size_t at = e.message().find(lib_hint);
    if (!strict || at == std::string::npos) throw;
    std::string msg = e.message();
    msg.replace(at, lib_hint.size(), "`ptio ls` without --strict lists the archive after them");
    throw Error(e.code(), msg, e.file(), e.record(), e.offset());
  }
  const zip::ArchiveReader& reader = *opened;
  if (json) {
    // Written record by record (an archive may hold 2^20 entries: their JSON tree was ~1 GB).
    JsonObjectWriter out(std::cout, 2);
    out.member("prefix", reader.prefix());
    const auto& records = reader.records();
    out.array_member("records", records.size(), [&](std::size_t i) {
      const zip::RecordInfo& r = records[i];
      nlohmann::ordered_json j;
      j["name"] = r.name;
      j["size"] = r.size;
      j["compressed_size"] = r.compressed_size;
      j["data_offset"] = r.data_offset;
      j["crc32"] = zip::crc_hex(r.crc32);  // as in the table, `ptio verify` and `unzip -v`
      j["method"] = zip::compression_method_name(r.method);
      return j;
    });
    out.finish();
    return kExitOk;
  }
  std::cout << "archive folder: "
            << (reader.prefix().empty() ? "(none)" : printable(reader.prefix()))
            << "   records: " << reader.records().size();
  if (reader.archive_start()) std::cout << "   leading bytes: " << reader.archive_start();
  std::cout << "\n";
  std::printf("%14s %14s %12s  %-8s  %-8s  %s\n", "size", "compressed", "data offset", "crc32",
              "method", "name");
  for (const zip::RecordInfo& r : reader.records()) {
    std::printf("%14" PRIu64 " %14" PRIu64 " %12" PRIu64 "  %s  %-8s  %s%s\n", r.size,
                r.compressed_size, r.data_offset, zip::crc_hex(r.crc32).c_str(),
                zip::compression_method_name(r.method).c_str(), printable(r.name).c_str(),
                r.crc_recorded ? "" : "  (CRC not computed by the writer)");
  }
  return kExitOk;
}

Registrar reg{{"ls", "List the records of a PyTorch zip archive (torch.save / torch.jit.save)",
               [](CLI::App& sub) -> std::function<int()> {
                 auto path = std::make_shared<std::string>();
                 auto json = std::make_shared<bool>(false);
                 auto strict = std::make_shared<bool>(false);
                 sub.add_option("file", *path, "archive to list")->required();
                 sub.add_flag("--json", *json,
                              "print {\"prefix\": ..., \"records\": [{name, size, compressed_size, "
                              "data_offset, crc32 (8 hex digits), method}]}");
                 sub.add_flag("--strict", *strict,
                              "apply PyTorch's rules (archive folder, no leading bytes)");
                 set_examples(sub, {"ptio ls model.pt", "ptio ls scripted.pt --json"});
                 return [=] { return run_ls(*path, *json, *strict); };
               }}};

}  // namespace
}  // namespace ptio::cli
