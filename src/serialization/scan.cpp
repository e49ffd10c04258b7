// ptio::scan: finds every pickle of a file (zip records, legacy stream, tar members, raw pickles)
// and runs the symbolic VM of scan_pickle.cpp over each.
#include "ptio/serialization/scan.h"

#include <map>
#include <memory>
#include <optional>
#include <string>

#include "ptio/error.h"
#include "ptio/io/magic.h"
#include "ptio/pickle/opcodes.h"
#include "ptio/pickle/unpickler.h"
#include "ptio/zip/archive_reader.h"
#include "serialization/scan_internal.h"
#include "serialization/tar_container.h"
#include "serialization/torch_globals.h"

namespace ptio {

namespace {

using detail::scan_one_pickle;

// Bytes handed to the VM: a zero-copy view when the adapter has one, else a copy.
io::ByteView bytes_of(const io::ReadAdapter& in, std::uint64_t pos, std::uint64_t n) {
  if (in.supports_view()) return in.view(pos, static_cast<std::size_t>(n));
  return io::ByteView(in.read_vector(pos, static_cast<std::size_t>(n)));
}

// Where a stream that expects several pickles (the legacy format's five) stops making sense,
// the scan looks for the next PROTO opcode (0x80 followed by protocol 2-5) and carries on from
// there, at most this many times per record (each resumption may read to the end of the record).
constexpr unsigned kMaxResynchronisations = 16;

// The offset of the next plausible PROTO opcode at or after `from`, or npos.
std::size_t next_proto(std::span<const std::byte> bytes, std::size_t from) {
  for (std::size_t i = from; i + 1 < bytes.size(); ++i)
    if (static_cast<std::uint8_t>(bytes[i]) == 0x80) {
      const auto v = static_cast<std::uint8_t>(bytes[i + 1]);
      if (v >= 2 && v <= 5) return i;
    }
  return std::string::npos;
}

// Scans pickles stacked from the start of `bytes`: `max_pickles` of them (0 = while bytes remain).
// The first must be there; in a raw pickle file (max_pickles 0) a later one that fails at its very
// first byte is trailing data (a note), one that fails further in is a finding (recorded by the
// VM) and ends the record. Where a fixed count is expected (the legacy stream's five), bytes that
// are not the next pickle are a finding and the scan resumes at the next PROTO opcode, so a pickle
// hidden after garbage is still read; where it cannot resume, a note says where it stopped.
// Returns the start of each pickle read and, last, where the last one ended, when every pickle
// expected was read back to back (no unreadable bytes between them); else empty. `stored_size`:
// as scan_one_pickle's (the compressed size of a deflated record, else 0).
std::vector<std::size_t> scan_stacked(std::span<const std::byte> bytes, std::uint64_t base,
                                      const std::string& record, unsigned max_pickles,
                                      const ScanOptions& options, ScanReport& report,
                                      std::uint64_t stored_size = 0) {
  ScanRecord rec{record, base, bytes.size(), 0, false};
  std::size_t pos = 0;
  unsigned resyncs = 0;
  std::vector<std::size_t> starts;
  bool clean = true;
  for (unsigned i = 0; max_pickles == 0 || i < max_pickles;) {
    if (pos >= bytes.size()) {
      if (i == 0 && rec.pickles == 0 && resyncs == 0)
        report.findings.push_back(
            {Verdict::kSuspicious, record, base, "empty record where a pickle was expected"});
      break;
    }
    const std::size_t at = pos;
    if (i > 0 && pickle::opcode_info(static_cast<std::uint8_t>(bytes[pos])) == nullptr) {
      if (max_pickles == 0) {
        report.findings.push_back({Verdict::kSafe, record, base + pos,
                                   detail::concat(bytes.size() - pos,
                                                  " bytes after the last pickle are not a pickle "
                                                  "(not scanned; Python does not read them)")});
        break;
      }
      report.findings.push_back(
          {Verdict::kSuspicious, record, base + pos,
           detail::concat("pickle ", i + 1, " of ", max_pickles,
                          " was expected here; these bytes are not a pickle (byte ",
                          static_cast<unsigned>(static_cast<std::uint8_t>(bytes[pos])),
                          " is no opcode)")});
    } else {
      const detail::PickleScan r =
          scan_one_pickle(bytes, pos, base, record, options, report, stored_size);
      if (r.completed) {
        ++rec.pickles;
        ++i;
        starts.push_back(pos);
        pos = static_cast<std::size_t>(r.end);
        continue;
      }
      if (max_pickles <= 1) break;  // the VM recorded why; one pickle expected: nothing follows
    }
    clean = false;
    // Resynchronise at the next PROTO after the unreadable bytes.
    const std::size_t next = resyncs < kMaxResynchronisations ? next_proto(bytes, at + 1)
                                                               : std::string::npos;
    if (next == std::string::npos) {
      report.findings.push_back(
          {Verdict::kSafe, record, base + at,
           resyncs < kMaxResynchronisations
               ? detail::concat("no PROTO opcode after offset ", base + at,
                                ": the scan of this record stops here (", bytes.size() - at,
                                " bytes not scanned)")
               : detail::concat("the scan of this record stops here after ", resyncs,
                                " resynchronisations (", bytes.size() - at,
                                " bytes not scanned)")});
      break;
    }
    ++resyncs;
    report.findings.push_back(
        {Verdict::kSafe, record, base + next,
         detail::concat("scan resumes at the PROTO opcode here, ", next - at,
                        " bytes after the unreadable data at offset ", base + at)});
    pos = next;
  }
  report.records.push_back(std::move(rec));
  if (!clean || (max_pickles != 0 && starts.size() != max_pickles)) return {};
  starts.push_back(pos);
  return starts;
}

// The legacy stream's storage bytes, after its five pickles: for each key of the key list (the
// fifth pickle) an int64 element count, then that many elements of the storage's dtype (named by
// the object pickle's persistent ids). They are walked, not read: a stream cut in its tensor data
// (every pickle intact: an interrupted download or save) is a finding, as torch.load fails there
// after having run the pickles. `starts` is scan_stacked's result (5 starts and the end).
void walk_legacy_storages(std::span<const std::byte> bytes, const std::vector<std::size_t>& starts,
                          const ScanOptions& options, ScanReport& report) {
  const std::string record = "<file>";
  auto finding = [&](std::uint64_t at, const std::string& what) {
    report.findings.push_back({Verdict::kSuspicious, record, at, what});
  };
  struct Root {
    std::uint64_t element_size;
    std::int64_t numel;
  };
  std::map<std::string, Root, std::less<>> roots;
  pickle::UnpicklerOptions o;
  o.policy = pickle::Policy::kInspection;
  o.limits = options.limits.pickle;
  o.persistent_load = [&roots](const IValue& pid, const pickle::CallContext&) -> IValue {
    try {
      const detail::StorageRef ref = detail::parse_storage_pid(pid);
      roots.emplace(ref.key, Root{element_size(ref.element_dtype()), ref.numel});
    } catch (const Error&) {
      // not a storage (a ('module', ...) id): nothing to walk
    }
    return IValue();
  };
  std::optional<IValue> object, keys;
  try {
    pickle::Unpickler u(bytes.first(starts[4]), o, starts[3]);
    object = u.load();
    pickle::Unpickler k(bytes.first(starts[5]), o, starts[4]);  // a list of keys: no ids
    keys = k.load();
  } catch (const Error& e) {
    report.findings.push_back({Verdict::kSafe, record, starts[3],
                               detail::concat("the storage bytes were not walked: ",
                                              e.message())});
  }
  if (object) break_cycles(*object);
  if (!keys) return;
  struct Drop {
    IValue& v;
    ~Drop() { break_cycles(v); }
  } drop{*keys};
  if (!keys->is_list()) {
    finding(starts[4], detail::concat("the storage key list is a ", keys->kind_name(),
                                      ", not a list (torch.load fails here)"));
    return;
  }
  std::uint64_t pos = starts[5];
  const std::uint64_t size = bytes.size();
  for (const IValue& k : keys->as_list().elements) {
    const std::string key =
        k.is_string() ? k.as_string() : k.is_int() ? std::to_string(k.as_int()) : to_repr(k);
    const auto it = roots.find(key);
    if (it == roots.end()) {
      finding(pos, detail::concat("the key list names storage '", key,
                                  "' that no tensor references (torch.load fails here)"));
      return;
    }
    if (size - pos < 8) {
      finding(pos, detail::concat("the file ends ", size - pos,
                                  " bytes into the element count of storage '", key,
                                  "': the file is truncated (an incomplete download or save?); "
                                  "torch.load runs its pickles, then fails"));
      return;
    }
    std::int64_t numel = 0;
    for (int b = 7; b >= 0; --b)
      numel = static_cast<std::int64_t>((static_cast<std::uint64_t>(numel) << 8) |
                                        std::to_integer<std::uint8_t>(bytes[pos + b]));
    const std::uint64_t es = it->second.element_size;
    if (numel < 0 || numel != it->second.numel) {
      finding(pos, detail::concat("storage '", key, "' is stored with ", numel,
                                  " elements but the object pickle declares ", it->second.numel,
                                  " (torch.load fails here)"));
      return;
    }
    pos += 8;
    const std::uint64_t left = size - pos;
    if (es != 0 && static_cast<std::uint64_t>(numel) > left / es) {
      finding(pos, detail::concat("storage '", key, "' needs ", static_cast<std::uint64_t>(numel),
                                  " x ", es, " bytes here but only ", left,
                                  " remain: the file is truncated (an incomplete download or "
                                  "save?); torch.load runs its pickles, then fails"));
      return;
    }
    pos += static_cast<std::uint64_t>(numel) * es;
  }
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
    // Offsets are absolute in the file for stored records; in a compressed record they count
    // from the start of its uncompressed bytes (ScanRecord::offset is then 0).
    const std::uint64_t base = r.is_stored() ? r.data_offset : 0;
    if (named) {
      scan_stacked(data.span(), base, r.full_name, 1, options, report,
                   r.is_stored() ? 0 : r.compressed_size);
      continue;
    }
    if (!looks_like_pickle(data.span())) continue;
    // A record PyTorch never unpickles: report it only when it is a complete pickle.
    ScanReport probe;
    const detail::PickleScan p = scan_one_pickle(data.span(), 0, base, r.full_name, options, probe,
                                                 r.is_stored() ? 0 : r.compressed_size);
    if (!p.completed || p.end != data.size()) continue;
    for (auto& g : probe.globals) report.globals.push_back(std::move(g));
    for (auto& f : probe.findings) report.findings.push_back(std::move(f));
    report.records.push_back({r.full_name, base, r.size, 1, true});
  }
}

// The value of the complete pickle at bytes[pos] (already walked by the symbolic VM), decoded
// with ptio's unpickler under the inspection policy: globals become Opaque values, nothing runs.
// Empty when it does not decode.
std::optional<IValue> decode(std::span<const std::byte> bytes, std::size_t pos,
                             const ScanOptions& options) {
  pickle::UnpicklerOptions o;
  o.policy = pickle::Policy::kInspection;
  o.limits = options.limits.pickle;
  try {
    pickle::Unpickler u(bytes, o, pos);
    return u.load();
  } catch (const Error&) {
    return std::nullopt;
  }
}

// The tar format's `storages` and `tensors` members: a pickled count, then per entry a header
// pickle followed by raw bytes whose length the header (storages: numel x the element size of
// the storage class it names) or the bytes themselves (tensors: ndim) give; `storages` ends with
// a pickled view list. Every pickle is scanned; where the walk cannot find the next pickle that
// is a finding naming the entry and offset.
void scan_tar_entries(std::span<const std::byte> bytes, std::uint64_t base,
                      const std::string& record, const ScanOptions& options, ScanReport& report) {
  ScanRecord rec{record, base, bytes.size(), 0, false};
  const bool storages = record == "storages";
  auto stop_here = [&](std::size_t at, const std::string& why) {
    report.findings.push_back({Verdict::kSuspicious, record, base + at,
                               detail::concat(why, "; the rest of the member is not scanned")});
  };
  auto read_le = [&](std::size_t at, std::size_t n) {
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v |= std::uint64_t(std::to_integer<std::uint8_t>(bytes[at + i])) << (8 * i);
    return v;
  };
  std::size_t pos = 0;
  // One pickle at `pos`: scanned, then decoded when `value` is wanted.
  auto one = [&](std::optional<IValue>* value) -> bool {
    if (pos >= bytes.size()) {
      stop_here(pos, "the member ends where a pickle was expected");
      return false;
    }
    const detail::PickleScan r = scan_one_pickle(bytes, pos, base, record, options, report);
    if (!r.completed) return false;  // the VM recorded why
    ++rec.pickles;
    if (value) *value = decode(bytes, pos, options);
    pos = static_cast<std::size_t>(r.end);
    return true;
  };
  // Decoded header values are read and dropped: a header pickle that holds a cycle is freed.
  struct DropDecoded {
    std::optional<IValue>& value;
    ~DropDecoded() {
      if (value) break_cycles(*value);
    }
  };
  std::optional<IValue> count;
  const DropDecoded drop_count{count};
  if (one(&count)) {
    if (!count || !count->is_int() || count->as_int() < 0) {
      stop_here(0, "the entry count is not a non-negative int");
    } else {
      bool ok = true;
      for (std::int64_t i = 0; ok && i < count->as_int(); ++i) {
        const std::size_t entry_at = pos;
        std::optional<IValue> head;
        const DropDecoded drop_head{head};
        if (!one(&head)) {
          ok = false;
          break;
        }
        const std::string what = detail::concat(storages ? "storage" : "tensor", " entry ", i);
        if (storages) {
          // (key, location, storage class), then int64 numel and numel elements.
          std::uint64_t es = 0;
          if (head && head->is_tuple() && head->as_tuple().size() == 3) {
            const IValue& c = head->as_tuple().elements()[2];
            if (c.is_opaque() && detail::is_storage_class_name(c.as_opaque().name)) {
              const auto t = scalar_type_from_storage_name(c.as_opaque().name);
              es = element_size(t.value_or(ScalarType::Byte));
            }
          }
          if (es == 0) {
            stop_here(entry_at, what + ": the header is not (key, location, storage class)");
            ok = false;
          } else if (bytes.size() - pos < 8) {
            stop_here(pos, what + ": the member ends before the element count");
            ok = false;
          } else {
            const std::uint64_t numel = read_le(pos, 8);
            pos += 8;
            if (numel > (bytes.size() - pos) / es) {
              stop_here(pos - 8, detail::concat(what, ": ", numel,
                                                " elements do not fit in the member"));
              ok = false;
            } else {
              pos += static_cast<std::size_t>(numel * es);
            }
          }
        } else {
          // (key, storage key, type), then int32 ndim, 4 pad bytes, sizes, strides, offset.
          if (bytes.size() - pos < 8) {
            stop_here(pos, what + ": the member ends before ndim");
            ok = false;
          } else {
            const auto ndim = static_cast<std::int32_t>(read_le(pos, 4));
            const std::uint64_t need =
                ndim < 0 ? UINT64_MAX : static_cast<std::uint64_t>(ndim) * 16 + 16;
            if (need > bytes.size() - pos) {
              stop_here(pos, detail::concat(what, ": ndim ", ndim, " does not fit in the member"));
              ok = false;
            } else {
              pos += static_cast<std::size_t>(need);
            }
          }
        }
      }
      // storages: the view list (PyTorch always writes it; some writers omit it at the end).
      if (ok && storages && pos < bytes.size()) ok = one(nullptr);
      if (ok && pos < bytes.size())
        report.findings.push_back(
            {Verdict::kSuspicious, record, base + pos,
             detail::concat(bytes.size() - pos,
                            " bytes after the member's last entry (not read by torch.load; "
                            "not scanned)")});
    }
  }
  report.records.push_back(std::move(rec));
}

void scan_tar(const io::ReadAdapter& in, const ScanOptions& options, ScanReport& report) {
  std::map<std::string, detail::TarMember> members;
  try {
    members = detail::read_tar_members(in);
  } catch (Error& e) {
    e.add_context(in.name());  // a truncated tar names the file, as the loaders do
    throw;
  }
  for (const auto& [name, m] : members) {
    // sys_info and pickle are single pickles; storages and tensors hold per-entry pickles
    // between raw data.
    if (name != "sys_info" && name != "pickle" && name != "storages" && name != "tensors") continue;
    const io::ByteView v = bytes_of(in, m.offset, m.size);
    if (name == "storages" || name == "tensors")
      scan_tar_entries(v.span(), m.offset, name, options, report);
    else
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
      const std::vector<std::size_t> starts =
          scan_stacked(all.span(), 0, "<file>", legacy ? 5 : 0, options, report);
      if (legacy) {
        report.findings.push_back({Verdict::kSafe, "<file>", 0,
                                   "legacy stream: the storage bytes after its five pickles are "
                                   "raw data (not scanned)"});
        if (starts.size() == 6) walk_legacy_storages(all.span(), starts, options, report);
      }
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
  // A text (or unidentified) file whose first byte happens to be an opcode (`abc`, a PNG's
  // 0x89...): when no pickle in it completes, it names no global and the only finding is the
  // error that ended the parse (no EXT code, computed STACK_GLOBAL or call of a non-global), it
  // is not a pickle (torch.load fails at once, having imported nothing): "nothing to scan", as
  // for a file starting with any other byte, not a "suspicious" verdict.
  bool any_pickle = false;
  for (const ScanRecord& r : report.records) any_pickle = any_pickle || r.pickles > 0;
  // A scan stopped by a limit (or memory) is not that: Python would read on, past where ptio
  // stopped looking (detail::kLimitFindingMarker is in every such finding's message).
  std::size_t problems = 0;
  bool stopped_early = false;
  for (const ScanFinding& f : report.findings) {
    problems += f.severity != Verdict::kSafe;
    stopped_early = stopped_early ||
                    f.message.find(detail::kLimitFindingMarker) != std::string::npos ||
                    f.message.find("out of memory") != std::string::npos;
  }
  if (scanned && (info.format == FileFormat::kText || info.format == FileFormat::kUnknown) &&
      magic != io::FileMagic::kTar && !any_pickle && report.globals.empty() && problems <= 1 &&
      !stopped_early)
    throw Error(ErrorCode::kUnknownFormat,
                detail::concat("nothing to scan: ", file_format_name(info.format),
                               " that holds no complete pickle and names no global; not a "
                               "PyTorch file"),
                in.name());
  if (scanned && report.records.empty() && report.verdict == Verdict::kSafe)
    // A zip none of whose records is a pickle: there was nothing to judge, so it is not "safe".
    throw Error(ErrorCode::kUnknownFormat,
                detail::concat("nothing to scan: ", file_format_name(info.format),
                               ", and none of its records is a pickle (no *.pkl record, none "
                               "that parses as one): not a PyTorch checkpoint or TorchScript "
                               "archive"),
                in.name());
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
