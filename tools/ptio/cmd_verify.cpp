// `ptio verify FILE`: checks every structural rule and every CRC-32 of a PyTorch zip archive.
#include <algorithm>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>

#include <nlohmann/json.hpp>
#include <vector>

#include "command.h"
#include "common.h"
#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/serialization/format.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/crc32.h"

namespace ptio::cli {
namespace {

// Errors of the file itself (it cannot be opened or read), not of its bytes.
bool io_failure(ErrorCode c) {
  return c == ErrorCode::kIoOpenFailed || c == ErrorCode::kIoMmapFailed ||
         c == ErrorCode::kIoReadFailed;
}

// Formats that `info`, `tensors`, `cat`... diagnose in plain words (a zero-filled file, a Git LFS
// pointer, a truncated download) rather than with the zip reader's error.
bool diagnosed(FileFormat f) {
  switch (f) {
    case FileFormat::kEmpty:
    case FileFormat::kZeroFilled:
    case FileFormat::kGitLfsPointer:
    case FileFormat::kHtml:
    case FileFormat::kText:
    case FileFormat::kUnknown:
    case FileFormat::kPreviewFormat:
    case FileFormat::kTruncatedZip:
    case FileFormat::kDamagedZip:
      return true;
    default:
      return false;
  }
}

struct Finding {
  std::string level;  // "error" or "note"
  std::string message;
  std::string code;
};

int report(const std::string& path, const std::vector<Finding>& findings, std::size_t records,
           const std::string& prefix, bool json) {
  int problems = 0, notes = 0;
  for (const auto& f : findings) (f.level == "error" ? problems : notes) += 1;
  if (json) {
    nlohmann::ordered_json j;
    j["file"] = path;
    j["ok"] = problems == 0;
    j["records"] = records;
    j["prefix"] = prefix;
    auto& arr = j["findings"] = nlohmann::ordered_json::array();
    for (const auto& f : findings)
      arr.push_back({{"level", f.level}, {"message", f.message}, {"code", f.code}});
    std::cout << j.dump(1, ' ', false, nlohmann::json::error_handler_t::replace) << "\n";
    return problems ? kExitFinding : kExitOk;
  }
  const bool col = color_enabled(1);
  for (const auto& f : findings)
    std::cout << (f.level == "error" ? paint("error", "31", col) : paint("note", "33", col)) << ": "
              << printable(f.message)
              << (f.code.empty() || f.level == "note" ? "" : " [" + f.code + "]") << "\n";
  if (problems) return kExitFinding;
  std::cout << paint("ok", "32", col) << ": " << path << ": " << count_of(records, "record")
            << ", archive folder '" << printable(prefix) << "'" << (notes ? ", with notes" : "")
            << "\n";
  return kExitOk;
}

int run_verify(const std::string& path, bool json) {
  begin_reading({path});
  const std::filesystem::path p(path);
  std::vector<Finding> findings;
  // The lenient reader sees as much of the archive as can be seen; PyTorch's rules are checked
  // with a strict open on top, so that one rule violation does not hide CRC errors.
  // Both keep records with a bad local header (a finding naming the record, exit 1) once the
  // end record and central directory parse.
  std::optional<zip::ArchiveReader> reader;
  try {
    zip::ReaderOptions lenient;
    static_cast<zip::Limits&>(lenient) = zip_limits();
    lenient.strict = false;
    lenient.keep_damaged_records = true;
    reader.emplace(p, lenient);
  } catch (const Error& e) {
    // Not readable as a zip archive at all (no directory even for the lenient reader: not a zip,
    // truncated, no end of central directory record): exit 2, as every other command gives for
    // the same file, with the diagnosis `info` gives where it has one ("zero-filled file: ...",
    // not the offset where the end record was searched for).
    if (!io_failure(e.code())) {
      const FormatInfo info = detect_format(io::MmapReadAdapter(path));
      if (diagnosed(info.format)) require_loadable(info, path);  // throws that diagnosis
    }
    print_error(e);
    return kExitUnreadable;
  }
  std::set<std::string> seen;  // a damaged record both readers see is one finding
  auto add_error = [&](const Error& e) {
    if (seen.insert(e.what()).second)
      findings.push_back({"error", e.what(), std::string(error_code_name(e.code()))});
  };
  std::vector<const Error*> strict_damage;  // e.g. a local name differing from the central one
  std::optional<zip::ArchiveReader> strict;
  try {
    zip::ReaderOptions so;
    so.keep_damaged_records = true;
    strict.emplace(p, so);
  } catch (const Error& e) {
    // No PK\3\4 at byte 0 because the record there is damaged (zeros over the file's start),
    // not bytes before the archive: the damaged record is the finding.
    const bool damaged_at_0 = std::any_of(
        reader->records().begin(), reader->records().end(),
        [](const zip::RecordInfo& r) { return r.damage && r.local_header_offset == 0; });
    if (!(e.code() == ErrorCode::kZipLeadingBytes && reader->archive_start() == 0 && damaged_at_0))
      add_error(e);
  }
  for (const zip::RecordInfo& r : reader->records())
    if (r.damage) add_error(*r.damage);
  if (strict)
    for (const zip::RecordInfo& r : strict->records())
      if (r.damage) add_error(*r.damage);
  // The CRC check streams (constant memory, nothing charged to the per-archive budget), so the
  // compression-ratio bound, which guards memory, is not applied to records of up to
  // kStreamUnboundedBytes (~1 s of CPU each): a second reader without it checks those. Beyond,
  // the ratio bound stays as a bound on the work (a few MB declaring many GB), lifted by
  // --max-inflated-bytes; max_inflated_size and deflate's 1032:1 maximum always apply.
  constexpr std::uint64_t kStreamUnboundedBytes = std::uint64_t{1} << 30;
  std::optional<zip::ArchiveReader> streaming;
  auto crc_reader = [&](const zip::RecordInfo& r) -> const zip::ArchiveReader& {
    const bool ratio_checked = r.method != 0 && reader->options().max_inflate_ratio != 0 &&
                               r.size > zip::Limits::kInflateRatioFloor;
    if (!ratio_checked || r.size > kStreamUnboundedBytes) return *reader;
    if (!streaming) {
      zip::ReaderOptions o = reader->options();
      o.max_inflate_ratio = 0;
      streaming.emplace(p, o);
    }
    return *streaming;
  };
  std::uint64_t total = 0;
  for (const zip::RecordInfo& r : reader->records()) total += r.compressed_size;
  Progress progress("verify", total);
  for (const zip::RecordInfo& r : reader->records()) {
    if (r.damage) continue;  // a finding above: its data cannot be found
    try {
      const zip::ArchiveReader& cr = crc_reader(r);
      const std::uint32_t actual = cr.compute_crc32(cr.records()[&r - reader->records().data()]);
      if (!r.crc_recorded) {
        if (actual != 0)
          findings.push_back({"note",
                              path + ": " + r.full_name +
                                  ": CRC-32 not computed by the writer (recorded as 0; PyTorch's "
                                  "set_crc32_options(False)); data not checked",
                              ""});
      } else if (actual != r.crc32) {
        throw Error(ErrorCode::kZipCrcMismatch,
                    "CRC-32 of the data is " + zip::crc_hex(actual) + " but the archive records " +
                        zip::crc_hex(r.crc32),
                    path, r.full_name, r.data_offset);
      }
    } catch (const Error& e) {
      // A record beyond --max-inflated-bytes / the ratio check is not inflated (its CRC would
      // cost ~1 s of CPU per GB it declares): a finding that says how to allow it.
      findings.push_back({"error", e.code() == ErrorCode::kLimitExceeded ? error_line(e) : e.what(),
                          std::string(error_code_name(e.code()))});
    }
    progress.advance(r.compressed_size);
  }
  progress.finish();
  return report(path, findings, reader->records().size(), reader->prefix(), json);
}

Registrar reg{{"verify",
               "Check the structure and every CRC-32 of a PyTorch zip archive (exit 0 sound, 1 "
               "problems found, 2 not readable as an archive: not a zip, truncated)",
               [](CLI::App& sub) -> std::function<int()> {
                 auto path = std::make_shared<std::string>();
                 auto json = std::make_shared<bool>(false);
                 sub.add_option("file", *path, "archive to check")->required();
                 sub.add_flag(
                     "--json", *json,
                     "print {file, ok, records, prefix, findings: [{level, message, code}]}");
                 set_examples(sub, {"ptio verify model.pt", "ptio verify scripted.pt --json"});
                 return [=] { return run_verify(*path, *json); };
               }}};

}  // namespace
}  // namespace ptio::cli
