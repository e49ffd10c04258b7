// ptio::jit::save: writes a TorchScript archive as PyTorch 1.13's ScriptModuleSerializer
// (torch/csrc/jit/serialization/export_module.cpp) does.
//
// Records, in ScriptModuleSerializer::serialize's order (spec-torchscript 3):
//   extra/<name>           the extra files: first those the module's archive had, in its order,
//                          then the others sorted by name (PyTorch iterates an unordered_map);
//                          stored. Names that are empty, contain `/`, `\`, NUL or are `.`/`..`
//                          are Error(kJitBadEdit) before anything is written.
//   data/<k>               each storage the module object references, k = 0, 1, ... in the
//                          order the pickler first meets it; the whole storage, stored. A
//                          storage that is still the mapped bytes of a stored record of the
//                          archive it was loaded from is written with that record's CRC-32
//                          instead of being read again to compute it.
//   data.pkl               the module object (save_pickle.cpp).
//   code/<q>.py            every code file of the module's compilation unit, in the order of the
//                          archive it came from, printed by the frontend printer (which gives the
//                          original text back for PyTorch's files; CR in strings is printed as
//                          `\015`, which PyTorch's importer accepts, where 1.13 wrote `\r`, which
//                          it rejects); deflated when larger than 200 bytes (kMinToCompress).
//   code/<q>.py.debug_pkl  the original source-range table of that file, copied when the
//                          original archive had one and the printed text equals the original
//                          text (its byte offsets index that text); deflated above 200 bytes.
//   constants/<k>          the storages of the constant table's tensors (own counter).
//   constants.pkl          the constant table (`CONSTANTS.c<i>`), a tuple.
//   version / .data/version  the file-format version: max(3, the loaded archive's version),
//                          in `.data/version` when >= 6 (writeEndOfFile).
// The version: PyTorch writes max(kMinProducedFileFormatVersion = 3, the largest minimum version
// of the operators its printer emitted). The code written here is the code that was loaded, whose
// operators were compiled against the loaded archive's version (older files get upgraders for
// div/full/linspace/logspace/gelu on load). Keeping that number keeps those semantics; raising
// it to what the operators would need today would silently change e.g. integer `torch.div` of a
// version-3 file. So an unmodified module keeps its version record (3 for files of version 1-2,
// whose pickles gain type tags here, the version-3 change).
//
// Type tags: a list or dict of the module that has no type tag (a value put there by an edit)
// gets the one its attribute's declared type gives, written into the value itself (what loading
// the archive back would give it), so PyTorch reads it with the declared element types.
//
// Byte identity: for an unmodified loaded module data.pkl and constants.pkl are byte-identical
// to the original (the memo entries the file had are reproduced, ArchiveInfo::data_memoized), and
// the code files have the original text. Stored records are laid out byte-identically to
// PyTorch's writer; deflated records are valid deflate but not miniz's bytes, so the archive as a
// whole is not byte-identical to a PyTorch save. Saving twice gives identical bytes.
#include "ptio/jit/save.h"

#include <algorithm>
#include <optional>
#include <ostream>
#include <set>

#include "import_impl.h"
#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/jit/frontend/printer.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"
#include "save_impl.h"

namespace ptio::jit {

namespace {

constexpr std::size_t kMinToCompress = 200;  // export_module.cpp

std::span<const std::byte> bytes_of(std::string_view s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

void check_extra_name(const std::string& name) {
  std::string why;
  if (name.empty())
    why = "is empty";
  else if (name.find('/') != std::string::npos || name.find('\\') != std::string::npos)
    why = "contains a path separator";
  else if (name == "." || name == "..")
    why = "is a relative path component";
  else if (name.find('\0') != std::string::npos)
    why = "contains a NUL byte";
  if (!why.empty())
    throw Error(ErrorCode::kJitBadEdit, "extra file name '" + name + "' " + why +
                                            " (extra files are stored as extra/<name>; use a "
                                            "plain file name)");
}

// The extra files in write order: the archive's own order for names it had, then by name.
std::vector<const std::pair<const std::string, std::string>*> extra_order(
    const ArchiveInfo& info, const ExtraFilesMap& extra_files) {
  std::vector<const std::pair<const std::string, std::string>*> out;
  std::set<std::string_view> done;
  for (const std::string& n : info.extra_files)
    if (auto it = extra_files.find(n); it != extra_files.end() && done.insert(n).second)
      out.push_back(&*it);
  std::vector<const std::pair<const std::string, std::string>*> rest;
  for (const auto& e : extra_files)
    if (!done.contains(e.first)) rest.push_back(&e);
  std::sort(rest.begin(), rest.end(), [](auto* a, auto* b) { return a->first < b->first; });
  out.insert(out.end(), rest.begin(), rest.end());
  return out;
}

struct CodeRecord {
  std::string name;  // code/<q>.py
  std::string text;
  std::vector<std::byte> debug;  // the original .debug_pkl, or empty
  bool has_debug = false;
};

// The archive the module was read from, reopened (cheap: its directory only), when it is a
// mapping or memory buffer (whose views are the module's own bytes); empty otherwise or if it
// cannot be read again (an adapter whose reads fail now), which only costs the .debug_pkl
// copies and known CRCs below.
std::optional<zip::ArchiveReader> reopen_source(const ArchiveInfo& info) {
  const io::ReadAdapter* src = info.source.get();
  if (!src || (!dynamic_cast<const io::MmapReadAdapter*>(src) &&
               !dynamic_cast<const io::MemoryReadAdapter*>(src)))
    return std::nullopt;
  try {
    return zip::ArchiveReader(info.source);
  } catch (const Error&) {
    return std::nullopt;
  }
}

// The CRC-32 the source archive records for `s` when `s` is exactly the bytes of the stored
// record `<dir><key>` there (an unmodified tensor storage mapped from it): jit::save then writes
// it without reading the bytes again. A source whose CRC-32 was wrong stays wrong (as a copy of
// the file would).
std::optional<std::uint32_t> known_crc(const std::optional<zip::ArchiveReader>& ar,
                                       const Storage& s, const std::string& dir) {
  if (!ar || !s.is_view() || s.key().empty() || s.nbytes() == 0) return std::nullopt;
  const std::string name = dir + s.key();
  if (!ar->has_record(name)) return std::nullopt;
  const zip::RecordInfo& ri = ar->record(name);
  if (!ri.is_stored() || !ri.crc_recorded || ri.size != s.nbytes()) return std::nullopt;
  if (ar->view(name).data() != s.data()) return std::nullopt;
  return ri.crc32;
}

// The known CRC-32s of `storages` (see known_crc; a storage loaded as a mapped view carries its
// own), appending the bytes of the others to `to_checksum` in write order.
std::vector<std::optional<std::uint32_t>> known_crcs(
    const std::vector<Storage>& storages, const std::optional<zip::ArchiveReader>& source,
    const std::string& dir, std::vector<std::span<const std::byte>>& to_checksum) {
  std::vector<std::optional<std::uint32_t>> out;
  out.reserve(storages.size());
  for (const Storage& s : storages) {
    out.push_back(s.source_crc32() ? s.source_crc32() : known_crc(source, s, dir));
    if (!out.back() && s.nbytes() > 0) to_checksum.push_back(s.bytes());
  }
  return out;
}

// The storages stay alive until finalize(): written pinned (no copy through the writer's buffer).
void write_storages(zip::ArchiveWriter& zw, const std::string& dir,
                    const std::vector<Storage>& storages,
                    const std::vector<std::optional<std::uint32_t>>& crcs) {
  for (std::size_t i = 0; i < storages.size(); ++i)
    zw.write_pinned_record(dir + std::to_string(i), storages[i].bytes(), crcs[i]);
}

std::vector<CodeRecord> code_records(const Module& module,
                                     const std::optional<zip::ArchiveReader>& source) {
  const ArchiveInfo& info = module.archive();
  const CompilationUnit& cu = module.compilation_unit();
  std::vector<CodeRecord> out;
  std::set<std::string> done;
  frontend::PrintOptions po;
  po.strings.cr_as_octal = true;
  const std::string prefix = info.prefix.empty() ? "" : info.prefix + "/";
  auto add = [&](const std::string& rel, const frontend::ParsedFile& file) {
    if (!done.insert(rel).second) return;
    out.push_back({rel, frontend::print_source(file, po), {}, false});
  };
  for (const std::string& r : info.records) {
    if (!r.starts_with("code/") || !r.ends_with(".py")) continue;
    if (auto it = cu.files().find(prefix + r); it != cu.files().end()) add(r, *it->second);
  }
  for (const auto& [full, file] : cu.files())
    add(full.starts_with(prefix) ? full.substr(prefix.size()) : full, *file);
  // The source-range tables stay valid where the text is the original text. They are optional
  // (PyTorch loads code without them).
  if (source) {
    const zip::ArchiveReader& ar = *source;
    try {
      for (CodeRecord& c : out) {
        const std::string debug = c.name + ".debug_pkl";
        if (!ar.has_record(c.name) || !ar.has_record(debug)) continue;
        const std::vector<std::byte> original = ar.read(c.name);
        if (original.size() != c.text.size() ||
            !std::equal(original.begin(), original.end(), bytes_of(c.text).begin()))
          continue;
        c.debug = ar.read(debug);
        c.has_debug = true;
      }
    } catch (const Error&) {
      for (CodeRecord& c : out) c.debug.clear(), c.has_debug = false;
    }
  }
  return out;
}

void write_archive(const Module& module, io::Writer& out, const std::string& archive_name,
                   const ExtraFilesMap& extra_files) {
  PTIO_CHECK(module.ivalue().is_object() && module.shared_compilation_unit() != nullptr,
             ErrorCode::kJitBadModule, "jit::save: the Module is empty (default-constructed)");
  const ArchiveInfo& info = module.archive();
  if (info.kind == ArchiveKind::kLegacy || info.kind == ArchiveKind::kMobileBytecodeOnly)
    throw Error(ErrorCode::kJitUnsupportedSave,
                std::string("jit::save: the module was loaded from a ") +
                    (info.kind == ArchiveKind::kLegacy ? "PyTorch 1.0-1.2 model.json archive"
                                                       : "bytecode-only mobile archive") +
                    ", whose classes have no code/ text to write",
                info.file);
  for (const auto& e : extra_files) check_extra_name(e.first);
  const CompilationUnit& cu = module.compilation_unit();
  detail::check_saved_objects(module.ivalue(), cu);
  // Lists and dicts built without a type tag (new attribute values) get the one their declared
  // attribute type gives, as PyTorch's typed containers always carry one.
  detail::restore_accurate_type_tags(module.ivalue(), cu);
  // Everything that can fail on the module's content happens before the first byte is written.
  const detail::PickledArchive data =
      detail::pickle_archive(module.ivalue(), cu, info.data_memoized, "data.pkl");
  const std::optional<zip::ArchiveReader> source = reopen_source(info);
  const std::vector<CodeRecord> code = code_records(module, source);
  const IValue constants = cu.constants().is_tuple() ? cu.constants() : IValue::tuple({});
  const detail::PickledArchive consts =
      detail::pickle_archive(constants, cu, info.constants_memoized, "constants.pkl");
  const std::uint64_t version = std::max<std::uint64_t>(3, info.version);

  // The archive's size, bounded (records stored; per record: headers, padding and directory entry),
  // for the writer to allocate at once (Writer::expect()).
  {
    constexpr std::uint64_t kPerRecord = 512;
    std::uint64_t bound = data.pickle.size() + consts.pickle.size() + 8 * kPerRecord;
    for (const auto* list : {&data.storages, &consts.storages})
      for (const Storage& s : *list) bound += s.nbytes() + kPerRecord;
    for (const CodeRecord& c : code) bound += c.text.size() + c.debug.size() + 2 * kPerRecord;
    for (const auto& e : extra_files) bound += e.first.size() + e.second.size() + kPerRecord;
    out.expect(bound);
  }
  zip::ArchiveWriter zw(out, archive_name);
  // Storages without a known CRC-32 are checksummed on a second thread while records are written.
  std::vector<std::span<const std::byte>> to_checksum;
  const auto data_crcs = known_crcs(data.storages, source, "data/", to_checksum);
  const auto const_crcs = known_crcs(consts.storages, source, "constants/", to_checksum);
  zw.prefetch_crc32(std::move(to_checksum));
  for (const auto* e : extra_order(info, extra_files))
    zw.write_record("extra/" + e->first, bytes_of(e->second));
  write_storages(zw, "data/", data.storages, data_crcs);
  zw.write_record("data.pkl", data.pickle);
  for (const CodeRecord& c : code) {
    zw.write_record(c.name, bytes_of(c.text), c.text.size() > kMinToCompress);
    if (c.has_debug)
      zw.write_record(c.name + ".debug_pkl", c.debug, c.debug.size() > kMinToCompress);
  }
  write_storages(zw, "constants/", consts.storages, const_crcs);
  zw.write_record("constants.pkl", consts.pickle);
  const std::string v = std::to_string(version) + "\n";
  zw.write_record(version >= 6 ? ".data/version" : "version", bytes_of(v));
  zw.finalize();
}

}  // namespace

void save(const Module& module, const std::filesystem::path& path,
          const ExtraFilesMap& extra_files) {
  for (const auto& e : extra_files) check_extra_name(e.first);
  const std::string archive_name = zip::archive_name_for_path(path.string());
  io::FileWriter w(path);
  write_archive(module, w, archive_name, extra_files);
}

void save(const Module& module, std::ostream& out, const ExtraFilesMap& extra_files) {
  io::OStreamWriter w(out);
  write_archive(module, w, "archive", extra_files);
}

void save(const Module& module, io::Writer& out, const ExtraFilesMap& extra_files) {
  write_archive(module, out, "archive", extra_files);
}

std::vector<std::byte> save_to_bytes(const Module& module, const ExtraFilesMap& extra_files) {
  io::MemoryWriter w;
  write_archive(module, w, "archive", extra_files);
  return w.release();
}

void save_to_write_func(const Module& module, const ExtraFilesMap& extra_files,
                        const WriteFunc& writer) {
  PTIO_CHECK(static_cast<bool>(writer), ErrorCode::kIoInvalidArgument,
             "save_to_write_func: empty writer function");
  io::CallbackWriter w(writer);
  write_archive(module, w, "archive", extra_files);
}

void Module::save(const std::filesystem::path& path, const ExtraFilesMap& extra_files) const {
  jit::save(*this, path, extra_files);
}

void Module::save(std::ostream& out, const ExtraFilesMap& extra_files) const {
  jit::save(*this, out, extra_files);
}

}  // namespace ptio::jit
