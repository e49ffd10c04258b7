// ptio::scan: finds every pickle of a file (zip records, legacy stream, tar members, raw pickles)
// and runs the symbolic VM of scan_pickle.cpp over each.
#include "ptio/serialization/scan.h"

#include <memory>
#include <optional>

#include "ptio/error.h"
#include "ptio/io/magic.h"
#include "ptio/pickle/opcodes.h"
#include "ptio/zip/archive_reader.h"
#include "serialization/scan_internal.h"
#include "serialization/tar_container.h"

namespace ptio {

namespace {

using detail::scan_one_pickle;

// Bytes handed to the VM: a zero-copy view when the adapter has one, else a copy.
io::ByteView bytes_of(const io::ReadAdapter& in, std::uint64_t pos, std::uint64_t n) {
  if (in.supports_view()) return in.view(pos, static_cast<std::size_t>(n));
  return io::ByteView(in.read_vector(pos, static_cast<std::size_t>(n)));
}

// Scans pickles stacked from the start of `bytes`: `max_pickles` of them (0 = while bytes remain).
// The first must be there; a later one that fails at its very first byte is trailing data (a
// note), one that fails further in is a finding (recorded by the VM).
void scan_stacked(std::span<const std::byte> bytes, std::uint64_t base, const std::string& record,
                  unsigned max_pickles, const ScanOptions& options, ScanReport& report) {
  ScanRecord rec{record, base, bytes.size(), 0, false};
  std::size_t pos = 0;
  for (unsigned i = 0; max_pickles == 0 || i < max_pickles; ++i) {
    if (pos >= bytes.size()) {
      if (i == 0)
        report.findings.push_back(
            {Verdict::kSuspicious, record, base, "empty record where a pickle was expected"});
      break;
    }
    if (i > 0 && pickle::opcode_info(static_cast<std::uint8_t>(bytes[pos])) == nullptr) {
      report.findings.push_back({Verdict::kSafe, record, base + pos,
                                 detail::concat(bytes.size() - pos,
                                                " bytes after the last pickle are not a pickle "
                                                "(not scanned; Python does not read them)")});
      break;
    }
    const detail::PickleScan r = scan_one_pickle(bytes, pos, base, record, options, report);
    if (!r.completed) break;
    ++rec.pickles;
    pos = static_cast<std::size_t>(r.end);
  }
  report.records.push_back(std::move(rec));
}

// True when PyTorch unpickles records of this name (torch.load: data.pkl; torch.jit.load:
// constants.pkl, data.pkl, *.debug_pkl; mobile: bytecode.pkl, mobile_debug_handles*.pkl).
bool pickle_record_name(std::string_view name) {
  return name.ends_with(".pkl") || name.ends_with("_pkl");
}

// Could these bytes be a pickle? (first byte PROTO or an opcode that starts values, last STOP)
bool looks_like_pickle(std::span<const std::byte> b) {
  if (b.size() < 2 || static_cast<std::uint8_t>(b.back()) != '.') return false;
  const auto c = static_cast<std::uint8_t>(b[0]);
  if (c == 0x80) return static_cast<std::uint8_t>(b[1]) <= 5;
  switch (c) {
    case '(':
    case ']':
    case '}':
    case ')':
    case 'c':
    case 'V':
    case 'X':
    case 0x8c:
    case 'N':
    case 'I':
    case 'J':
    case 'K':
    case 'S':
    case 'U':
    case 0x95:
      return true;
    default:
      return false;
  }
}

void scan_zip(const io::ReadAdapter& in, std::shared_ptr<const io::ReadAdapter> shared,
              const ScanOptions& options, ScanReport& report) {
  zip::ReaderOptions ro;
  static_cast<zip::Limits&>(ro) = options.limits.zip;
  ro.strict = false;      // odd layouts PyTorch (miniz) still reads
  ro.verify_crc = false;  // CRC-zeroed or wrong CRCs: the bytes are what matters
  zip::ArchiveReader ar(std::move(shared), ro);
  if (ar.archive_start() != 0)
    report.findings.push_back(
        {Verdict::kSafe, "<file>", 0,
         detail::concat(ar.archive_start(), " bytes before the zip archive")});
  std::map<std::string, int> seen;
  for (const zip::RecordInfo& r : ar.records()) {
    if (r.full_name.empty() || r.full_name.back() == '/') continue;
    if (++seen[r.full_name] == 2)
      report.findings.push_back({Verdict::kSuspicious, r.full_name, r.local_header_offset,
                                 "duplicate entry name: the archive holds two records of this "
                                 "name (every copy is scanned)"});
    const bool named = pickle_record_name(r.name) || pickle_record_name(r.full_name);
    if (!named &&
        (options.max_content_probe_bytes == 0 || r.size > options.max_content_probe_bytes))
      continue;
    io::ByteView data;
    try {
      if (r.is_stored()) {
        // Raw bytes whatever the flags say: an encryption bit on a stored pickle hides it from
        // zipfile-based scanners, not from readers that take the data offset (PyTorch's mmap).
        data = bytes_of(in, r.data_offset, r.compressed_size);
      } else {
        data = io::ByteView(ar.read(r));
      }
    } catch (const Error& e) {
      if (named)
        report.findings.push_back({Verdict::kSuspicious, r.full_name, r.data_offset,
                                   detail::concat("pickle record not scanned: ", e.message())});
      continue;
    }
    if (r.is_encrypted() && named)
      report.findings.push_back(
          {Verdict::kSuspicious, r.full_name, r.local_header_offset,
           "encryption flag set on a pickle record (a trick to hide it from zipfile-based "
           "scanners; read as stored data)"});
    if (named) {
      scan_stacked(data.span(), r.data_offset, r.full_name, 1, options, report);
      continue;
    }
    if (!looks_like_pickle(data.span())) continue;
    // A record PyTorch never unpickles: report it only when it is a complete pickle.
    ScanReport probe;
    const detail::PickleScan p =
        scan_one_pickle(data.span(), 0, r.data_offset, r.full_name, options, probe);
    if (!p.completed || p.end != data.size()) continue;
    for (auto& g : probe.globals) report.globals.push_back(std::move(g));
    for (auto& f : probe.findings) report.findings.push_back(std::move(f));
    report.records.push_back({r.full_name, r.data_offset, r.size, 1, true});
  }
}

void scan_tar(const io::ReadAdapter& in, const ScanOptions& options, ScanReport& report) {
  const auto members = detail::read_tar_members(in);
  for (const auto& [name, m] : members) {
    // sys_info and pickle are single pickles; storages and tensors start with a pickled count,
    // followed by per-entry pickles interleaved with raw data (only the first is scanned).
    if (name != "sys_info" && name != "pickle" && name != "storages" && name != "tensors") continue;
    const io::ByteView v = bytes_of(in, m.offset, m.size);
    scan_stacked(v.span(), m.offset, name, 1, options, report);
  }
}

ScanReport scan_adapter(const io::ReadAdapter& in, std::shared_ptr<const io::ReadAdapter> shared,
                        const ScanOptions& options) {
  ScanReport report;
  report.file = in.name();
  const FormatInfo info = detect_format(in);
  report.format = info.format;
  const io::FileMagic magic = io::identify_magic(in);
  bool scanned = false;
  if (!shared) shared = std::shared_ptr<const io::ReadAdapter>(&in, [](const io::ReadAdapter*) {});

  if (magic == io::FileMagic::kTar) {
    scan_tar(in, options, report);
    scanned = true;
  } else if (magic != io::FileMagic::kZip && in.size() > 0) {
    // torch.load reads any non-zip as a legacy stream: its first pickle runs whatever comes
    // after it. Legacy streams hold five pickles, then raw storage bytes.
    std::uint8_t first = 0;
    in.read(0, &first, 1);
    // Protocol-0 pickles are text, so text files are tried too.
    if (pickle::opcode_info(first) != nullptr && magic != io::FileMagic::kFlatbuffer) {
      const io::ByteView all = bytes_of(in, 0, in.size());
      const bool legacy = magic == io::FileMagic::kLegacyTorchSave;
      scan_stacked(all.span(), 0, "<file>", legacy ? 5 : 0, options, report);
      if (legacy)
        report.findings.push_back({Verdict::kSafe, "<file>", 0,
                                   "legacy stream: the storage bytes after its five pickles are "
                                   "raw data (not scanned)"});
      scanned = true;
    }
  }
  if (magic == io::FileMagic::kZip || magic == io::FileMagic::kZipWithPrefix ||
      info.format == FileFormat::kZip || info.format == FileFormat::kTorchScript ||
      info.format == FileFormat::kMobile || info.format == FileFormat::kZipOther) {
    scan_zip(in, shared, options, report);
    scanned = true;
  } else if (scanned && magic != io::FileMagic::kTar) {
    // A pickle followed by a zip: torch.load runs the pickle, a zip tool shows the archive.
    try {
      zip::ReaderOptions ro;
      static_cast<zip::Limits&>(ro) = options.limits.zip;
      ro.strict = false;
      zip::ArchiveReader probe(shared, ro);
      (void)probe;
      scan_zip(in, shared, options, report);
    } catch (const Error&) {
      // no archive after the pickle
    }
  }
  if (!scanned) {
    if (info.format == FileFormat::kFlatbuffer) {
      report.findings.push_back(
          {Verdict::kSafe, "<file>", 0, "mobile flatbuffer module: holds no pickle"});
    } else {
      throw Error(ErrorCode::kUnknownFormat,
                  detail::concat("nothing to scan: ", file_format_name(info.format),
                                 info.diagnosis.empty() ? "" : " (", info.diagnosis,
                                 info.diagnosis.empty() ? "" : ")"),
                  in.name());
    }
  }
  detail::finish_verdict(report);
  return report;
}

}  // namespace

ScanReport scan(const std::filesystem::path& path, const ScanOptions& options) {
  auto in = std::make_shared<io::MmapReadAdapter>(path);
  return scan_adapter(*in, in, options);
}

ScanReport scan(const io::ReadAdapter& in, const ScanOptions& options) {
  return scan_adapter(in, nullptr, options);
}

ScanReport scan_pickle_bytes(std::span<const std::byte> bytes, std::string record,
                             std::uint64_t base_offset, const ScanOptions& options) {
  ScanReport report;
  report.file = record;
  report.format = FileFormat::kPickle;
  scan_stacked(bytes, base_offset, record, 0, options, report);
  detail::finish_verdict(report);
  return report;
}

}  // namespace ptio
