// `ptio verify FILE`: checks every structural rule and every CRC-32 of a PyTorch zip archive.
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "command.h"
#include "ptio/error.h"
#include "ptio/zip/archive_reader.h"

namespace ptio::cli {
namespace {

// Errors meaning "this is not a zip archive at all" (exit 2) rather than "a broken one" (exit 1).
bool unreadable(ErrorCode c) {
  switch (c) {
    case ErrorCode::kZipEmptyFile:
    case ErrorCode::kZipNotAnArchive:
    case ErrorCode::kZipGitLfsPointer:
    case ErrorCode::kZipHtmlPage:
    case ErrorCode::kZipPreviewFormat:
    case ErrorCode::kIoOpenFailed:
    case ErrorCode::kIoMmapFailed:
    case ErrorCode::kIoReadFailed:
      return true;
    default:
      return false;
  }
}

int run_verify(const std::string& path) {
  const std::filesystem::path p(path);
  // The lenient reader sees as much of the archive as can be seen; PyTorch's rules are checked
  // with a strict open on top, so that one rule violation does not hide CRC errors.
  std::optional<zip::ArchiveReader> reader;
  try {
    zip::ReaderOptions lenient;
    lenient.strict = false;
    reader.emplace(p, lenient);
  } catch (const Error& e) {
    if (unreadable(e.code())) {
      print_error(e);
      return kExitUnreadable;
    }
    std::cout << "error: " << e.what() << "\n";
    return kExitFinding;
  }
  int problems = 0, notes = 0;
  try {
    zip::ArchiveReader strict(p, zip::ReaderOptions{});
  } catch (const Error& e) {
    std::cout << "error: " << e.what() << " [" << error_code_name(e.code()) << "]\n";
    ++problems;
  }
  for (const zip::RecordInfo& r : reader->records()) {
    try {
      const std::uint32_t actual = reader->compute_crc32(r);
      if (!r.crc_recorded) {
        if (actual != 0) {
          std::cout << "note: " << path << ": " << r.full_name
                    << ": CRC-32 not computed by the writer (recorded as 0; PyTorch's "
                       "set_crc32_options(False)); data not checked\n";
          ++notes;
        }
      } else if (actual != r.crc32) {
        throw Error(ErrorCode::kZipCrcMismatch,
                    "CRC-32 of the data is " + std::to_string(actual) +
                        " but the archive records " + std::to_string(r.crc32),
                    path, r.full_name, r.data_offset);
      }
    } catch (const Error& e) {
      std::cout << "error: " << e.what() << " [" << error_code_name(e.code()) << "]\n";
      ++problems;
    }
  }
  if (problems) return kExitFinding;
  std::cout << "ok: " << path << ": " << reader->records().size() << " records, archive folder '"
            << reader->prefix() << "'" << (notes ? ", with notes" : "") << "\n";
  return kExitOk;
}

Registrar reg{{"verify",
               "Check the structure and every CRC-32 of a PyTorch zip archive (exit 0 sound, 1 "
               "problems found, 2 not readable as an archive)",
               [](CLI::App& sub) -> std::function<int()> {
                 auto path = std::make_shared<std::string>();
                 sub.add_option("file", *path, "archive to check")->required();
                 return [=] { return run_verify(*path); };
               }}};

}  // namespace
}  // namespace ptio::cli
