// `ptio extract FILE (--code DIR | --extra DIR | RECORD -o OUT)`: copies records of a zip archive
// out, never writing outside DIR. RECORD is a full entry name or a name inside the archive folder.
#include <filesystem>
#include <iostream>
#include <memory>
#include <string>

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

void write_file(const std::filesystem::path& path, std::span<const std::byte> bytes) {
  if (path.has_parent_path()) std::filesystem::create_directories(path.parent_path());
  io::FileWriter w(path);
  w.write(bytes);
  w.commit();
}

// Writes every record under `folder/` (without that prefix) to `dir`; returns how many.
int extract_folder(const zip::ArchiveReader& ar, std::string_view folder, const std::string& dir,
                   bool code_only) {
  int n = 0;
  for (const std::string& r : ar.record_names()) {
    if (!r.starts_with(folder) || r.size() == folder.size()) continue;
    const std::string rel = r.substr(folder.size());
    if (code_only && !rel.ends_with(".py")) continue;
    if (!safe_relative(rel))
      throw Error(ErrorCode::kZipUnsafeName,
                  "record name '" + r + "' would leave the output folder; not extracted",
                  ar.file_name(), r);
    write_file(std::filesystem::path(dir) / rel, ar.read(r));
    std::cout << rel << "\n";
    ++n;
  }
  return n;
}

int run_extract(const ExtractArgs& a) {
  const int modes = !a.code_dir.empty() + !a.extra_dir.empty() + !a.record.empty();
  if (modes != 1) {
    std::cerr << "ptio: error: give exactly one of --code DIR, --extra DIR or RECORD -o OUT\n";
    return kExitUsage;
  }
  zip::ReaderOptions ro;
  static_cast<zip::Limits&>(ro) = zip_limits();
  const zip::ArchiveReader ar{std::filesystem::path(a.file), ro};
  if (!a.code_dir.empty() || !a.extra_dir.empty()) {
    // code/ and extra/ exist only in TorchScript archives; say so instead of extracting nothing.
    const FileFormat f = detect_format(io::MmapReadAdapter(a.file)).format;
    if (f != FileFormat::kTorchScript && f != FileFormat::kMobile)
      throw Error(ErrorCode::kJitBadModule,
                  std::string(file_format_name(f)) +
                      ", not a TorchScript archive: it has no code/ or extra/ records; `ptio ls " +
                      a.file + "` lists its records and `ptio extract " + a.file +
                      " RECORD -o OUT` copies one",
                  a.file);
  }
  if (!a.code_dir.empty()) {
    extract_folder(ar, "code/", a.code_dir, true);
    return kExitOk;
  }
  if (!a.extra_dir.empty()) {
    extract_folder(ar, "extra/", a.extra_dir, false);
    return kExitOk;
  }
  if (a.out.empty()) {
    std::cerr << "ptio: error: RECORD needs -o OUT\n";
    return kExitUsage;
  }
  if (!safe_relative(a.record)) {
    std::cerr << "ptio: error: record name '" << a.record
              << "' is absolute or has an empty, '.' or '..' component\n";
    return kExitUsage;
  }
  // RECORD as `ptio scan` prints it (the full entry name, `archive/data.pkl`) first, else inside
  // the archive folder (`data.pkl`, what getRecord takes); neither: kZipRecordNotFound.
  const zip::RecordInfo* info = nullptr;
  for (const zip::RecordInfo& r : ar.records())
    if (r.full_name == a.record) {
      info = &r;
      break;
    }
  if (info == nullptr) info = &ar.record(a.record);
  std::error_code ec;
  if (std::filesystem::equivalent(a.file, a.out, ec)) {  // would replace the archive being read
    std::cerr << "ptio: error: " << a.out << ": is the input archive itself; give another -o OUT\n";
    return kExitUsage;
  }
  write_file(a.out, ar.read(*info));
  return kExitOk;
}

const Registrar reg{
    {"extract",
     "Copy records out of a zip archive: the code/ files, the extra/ files, or one record",
     [](CLI::App& sub) -> std::function<int()> {
       auto args = std::make_shared<ExtractArgs>();
       sub.add_option("file", args->file, "zip archive (TorchScript, torch.save)")->required();
       sub.add_option("record", args->record,
                      "record name: the full entry name (archive/data.pkl, as `ptio scan` "
                      "prints it) or the name inside the archive folder (data.pkl)");
       sub.add_option("--code", args->code_dir, "write every code/*.py file under DIR");
       sub.add_option("--extra", args->extra_dir, "write every extra/ file under DIR");
       sub.add_option("-o,--output", args->out, "output file for RECORD");
       set_examples(sub, {"ptio extract scripted.pt --code src/", "ptio extract scripted.pt --extra extra/",
                          "ptio extract model.pt data.pkl -o data.pkl"});
       return [args] { return run_extract(*args); };
     }}};

}  // namespace
}  // namespace ptio::cli
