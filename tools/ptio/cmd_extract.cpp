// `ptio extract FILE (--code DIR | --extra DIR | RECORD -o OUT)`: copies records of a zip archive
// out, never writing outside DIR. RECORD is a full entry name or a name inside the archive folder.
#include <unistd.h>

#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "command.h"
#include "common.h"
#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/format.h"
#include "ptio/zip/archive_reader.h"

namespace ptio::cli {
namespace {

struct ExtractArgs {
  std::string file;
  std::string code_dir;
  std::string extra_dir;
  std::string record;
  std::string out;
  bool out_given = false;   // -o was on the command line (an empty OUT is then a usage error)
  bool code_given = false;  // --code, --extra, RECORD on the command line (empty: a usage error)
  bool extra_given = false;
  bool record_given = false;
  bool force = false;
};

// A record name is only used below DIR when it is relative and has no empty, `.` or `..`
// component, no backslash and no NUL.
bool safe_relative(std::string_view name) {
  if (name.empty() || name.front() == '/') return false;
  std::size_t pos = 0;
  while (pos <= name.size()) {
    const std::size_t slash = std::min(name.find('/', pos), name.size());
    const std::string_view part = name.substr(pos, slash - pos);
    if (part.empty() || part == "." || part == ".." ||
        part.find_first_of(std::string_view("\\\0:", 3)) != std::string_view::npos)
      return false;
    pos = slash + 1;
  }
  return true;
}

// Copies record `r` of `ar` to `path` in 1 MiB pieces, never whole in memory (a stored data
// record may be GBs; it was read into one buffer first); its CRC-32 is checked after the last
// piece, before the file is renamed into place. Returns the bytes written.
std::uint64_t write_record(const zip::ArchiveReader& ar, const zip::RecordInfo& r,
                           const std::filesystem::path& path) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  io::FileWriter w(path);
  std::uint64_t n = 0;
  if (&ar.record(r.name) == &r) {
    ar.read_chunks(r.name, [&](std::span<const std::byte> piece) {
      w.write(piece);
      n += piece.size();
    });
  } else {  // a duplicate the name does not reach (lenient mode): read() takes the entry
    const auto data = ar.read(r);
    w.write(data);
    n = data.size();
  }
  w.commit();
  return n;
}

// The longest file name component the folder `dir` takes (NAME_MAX), 255 when unknown.
std::size_t name_max(const std::string& dir) {
  std::filesystem::path p = dir;
  std::error_code ec;
  while (!p.empty() && !std::filesystem::exists(p, ec)) p = p.parent_path();
  const long n = ::pathconf(p.empty() ? "." : p.c_str(), _PC_NAME_MAX);
  return n > 0 ? static_cast<std::size_t>(n) : 255;
}

// Why `rel` (a record name below the folder) cannot be written under DIR, or "" when it can:
// a name that would leave DIR, a component longer than NAME_MAX, or a clash with another record
// (`a` both a file and the folder of `a/b`).
std::string unwritable(const std::string& rel, std::size_t max_component,
                       const std::set<std::string>& files, const std::set<std::string>& folders) {
  if (!safe_relative(rel))
    return "is absolute or has an empty, '.', '..' component, a backslash, ':' or NUL: it would "
           "leave the output folder";
  std::size_t pos = 0;
  while (pos <= rel.size()) {
    const std::size_t slash = std::min(rel.find('/', pos), rel.size());
    if (slash - pos > max_component)
      return "has a name component of " + std::to_string(slash - pos) +
             " bytes; the file system takes at most " + std::to_string(max_component);
    if (slash < rel.size() && files.count(rel.substr(0, slash)))
      return "needs '" + rel.substr(0, slash) + "' as a folder, but it is also a record";
    pos = slash + 1;
  }
  if (folders.count(rel)) return "is also the folder of other records";
  return {};
}

// Writes every record under `folder/` (without that prefix) to `dir`. Every name is checked
// first, so a name that cannot be written stops the command before any file is written (exit 3,
// each such name reported); a write that still fails (permissions, a full disk) is reported and
// the others are still written (exit 4). Prints each name written, then the "wrote" line.
int extract_folder(const zip::ArchiveReader& ar, std::string_view folder, const std::string& dir,
                   bool code_only) {
  // DIR must be a folder (or not exist yet): a regular file there would fail every write.
  std::error_code ec;
  if (std::filesystem::exists(dir, ec) && !std::filesystem::is_directory(dir, ec))
    throw ExitError(kExitOutput, dir +
                                     ": exists and is not a folder; give a folder to write the "
                                     "files into (nothing was extracted)");
  std::vector<std::pair<std::string, std::string>> todo;  // record, name below DIR
  std::set<std::string> files, folders;
  for (const std::string& r : ar.record_names()) {
    if (!r.starts_with(folder) || r.size() == folder.size()) continue;
    const std::string rel = r.substr(folder.size());
    if (code_only && !rel.ends_with(".py")) continue;
    todo.emplace_back(r, rel);
    files.insert(rel);
    for (std::size_t s = rel.find('/'); s != std::string::npos; s = rel.find('/', s + 1))
      folders.insert(rel.substr(0, s));
  }
  const std::size_t max_component = name_max(dir);
  int refused = 0;
  for (const auto& [r, rel] : todo)
    if (const std::string why = unwritable(rel, max_component, files, folders); !why.empty()) {
      print_error(
          Error(ErrorCode::kZipUnsafeName, "record name '" + r + "' " + why, ar.file_name(), r));
      ++refused;
    }
  if (refused) {
    std::cerr << "ptio: error: " << ar.file_name() << ": " << refused << " of " << todo.size()
              << " record name(s) cannot be written as files; nothing was extracted (`ptio "
                 "extract FILE RECORD -o OUT` copies one record under a name of your choice)\n";
    return kExitUnsupported;
  }
  int failed = 0;
  std::uint64_t bytes = 0;
  for (const auto& [r, rel] : todo) {
    const auto path = std::filesystem::path(dir) / rel;
    try {
      write_output(
          path.string(), [&] { bytes += write_record(ar, ar.record(r), path); }, ar.file_name());
      std::cout << printable(rel) << "\n";
    } catch (const ExitError& e) {              // this file could not be written: report it, go on
      if (e.exit_code() != kExitOutput) throw;  // the input (read as it is written) failed
      print_error(e);
      ++failed;
    }
  }
  std::cout << "wrote " << count_of(todo.size() - static_cast<std::size_t>(failed), "file")
            << " to " << dir << " (" << human_size(bytes) << ")\n";
  if (failed) {
    std::cerr << "ptio: error: " << failed << " of " << todo.size()
              << " files could not be written\n";
    return kExitOutput;
  }
  return kExitOk;
}

int run_extract(const ExtractArgs& a) {
  // An empty value says so, as an empty -o OUT does (not "give exactly one of ...").
  if (a.code_given && a.code_dir.empty())
    throw ExitError(kExitUsage,
                    "--code DIR is an empty folder name; give the folder to write code/ into");
  if (a.extra_given && a.extra_dir.empty())
    throw ExitError(kExitUsage,
                    "--extra DIR is an empty folder name; give the folder to write extra/ into");
  if (a.record_given && a.record.empty())
    throw ExitError(kExitUsage,
                    "RECORD is an empty record name; `ptio ls " + a.file + "` lists the records");
  const int modes = !a.code_dir.empty() + !a.extra_dir.empty() + !a.record.empty();
  if (modes != 1) {
    std::cerr << "ptio: error: give exactly one of --code DIR, --extra DIR or RECORD -o OUT\n";
    return kExitUsage;
  }
  if (!a.record.empty() && !a.out_given) {
    std::cerr << "ptio: error: RECORD needs -o OUT\n";
    return kExitUsage;
  }
  if (!a.record.empty()) check_output_path(a.out, "-o OUT", a.force);
  begin_reading({a.file}, a.record.empty() ? std::string_view{} : std::string_view(a.out));
  zip::ReaderOptions ro;
  static_cast<zip::Limits&>(ro) = zip_limits();
  std::optional<zip::ArchiveReader> reader;
  try {
    reader.emplace(std::filesystem::path(a.file), ro);
  } catch (const Error& e) {
    // A record name that would leave a folder (`extra/../../x`, absolute): the strict reader
    // refuses the archive, but it reads (PyTorch loads it, `ls` lists it); the lenient reader
    // opens it and every name is then checked below, before anything is written (exit 3 for
    // --code/--extra: a readable input the command cannot do what was asked with).
    if (e.code() != ErrorCode::kZipUnsafeName) throw;
    ro.strict = false;
    reader.emplace(std::filesystem::path(a.file), ro);
  }
  const zip::ArchiveReader& ar = *reader;
  if (!a.code_dir.empty() || !a.extra_dir.empty()) {
    // code/ and extra/ exist only in TorchScript archives; say so instead of extracting nothing.
    const FileFormat f = detect_format(io::MmapReadAdapter(a.file)).format;
    if (f != FileFormat::kTorchScript && f != FileFormat::kMobile)
      throw ExitError(
          kExitUnsupported,
          std::make_exception_ptr(Error(
              ErrorCode::kJitBadModule,
              std::string(file_format_name(f)) +
                  ", not a TorchScript archive: it has no code/ or extra/ records; `ptio ls " +
                  a.file + "` lists its records and `ptio extract " + a.file +
                  " RECORD -o OUT` copies one",
              a.file)));
  }
  if (!a.code_dir.empty()) return extract_folder(ar, "code/", a.code_dir, true);
  if (!a.extra_dir.empty()) return extract_folder(ar, "extra/", a.extra_dir, false);
  if (!safe_relative(a.record)) {
    std::cerr << "ptio: error: record name '" << a.record
              << "' is absolute or has an empty, '.' or '..' component\n";
    return kExitUsage;
  }
  // RECORD as `ptio scan` prints it (the full entry name, `archive/data.pkl`) first, else inside
  // the archive folder (`data.pkl`, what getRecord takes); neither: a name the archive does not
  // hold, a usage error (exit 64) as `cat` with a wrong NAME.
  const zip::RecordInfo* info = nullptr;
  for (const zip::RecordInfo& r : ar.records())
    if (r.full_name == a.record) {
      info = &r;
      break;
    }
  try {
    if (info == nullptr) info = &ar.record(a.record);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kZipRecordNotFound) throw;
    // Names inside the archive folder (data.pkl) first, else full entry names (archive/data.pkl).
    std::vector<std::string> names, full_names;
    for (const zip::RecordInfo& r : ar.records()) {
      names.push_back(r.name);
      full_names.push_back(r.full_name);
    }
    std::string near = close_names(a.record, names);
    if (near.empty()) near = close_names(a.record, full_names);
    throw ExitError(kExitUsage, a.file + ": no record named '" + a.record + "' in the archive" +
                                    (near.empty() ? "" : " (did you mean: " + near + "?)") +
                                    "; `ptio ls " + a.file + "` lists the records");
  }
  std::error_code ec;
  if (std::filesystem::equivalent(a.file, a.out, ec)) {  // would replace the archive being read
    std::cerr << "ptio: error: " << a.out << ": is the input archive itself; give another -o OUT\n";
    return kExitUsage;
  }
  std::uint64_t n = 0;
  write_output(
      a.out, [&] { n = write_record(ar, *info, a.out); }, a.file);
  std::cout << "wrote " << a.out << " (" << human_size(n) << ")\n";
  return kExitOk;
}

const Registrar reg{
    {"extract",
     "Copy records out of a zip archive: the code/ files, the extra/ files, or one record",
     [](CLI::App& sub) -> std::function<int()> {
       auto args = std::make_shared<ExtractArgs>();
       sub.add_option("file", args->file, "zip archive (TorchScript, torch.save)")->required();
       CLI::Option* record =
           sub.add_option("record", args->record,
                          "record name: the full entry name (archive/data.pkl, as `ptio scan` "
                          "prints it) or the name inside the archive folder (data.pkl)");
       CLI::Option* code =
           sub.add_option("--code", args->code_dir, "write every code/*.py file under DIR");
       CLI::Option* extra =
           sub.add_option("--extra", args->extra_dir, "write every extra/ file under DIR");
       CLI::Option* out = sub.add_option("-o,--output", args->out, "output file for RECORD");
       sub.add_flag("--force", args->force, "replace a read-only OUT (as cp -f)");
       set_examples(
           sub, {"ptio extract scripted.pt --code src/", "ptio extract scripted.pt --extra extra/",
                 "ptio extract model.pt data.pkl -o data.pkl"});
       return [args, out, record, code, extra] {
         args->out_given = out->count() > 0;
         args->record_given = record->count() > 0;
         args->code_given = code->count() > 0;
         args->extra_given = extra->count() > 0;
         return run_extract(*args);
       };
     }}};

}  // namespace
}  // namespace ptio::cli
