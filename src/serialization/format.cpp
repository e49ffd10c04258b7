// detect_format: magic sniffing plus a look into zip directories (spec-torch-save.md sections
// 1, 2.6).
#include "ptio/serialization/format.h"

#include <algorithm>
#include <cstring>
#include <memory>
#include <optional>
#include <vector>

#include "pickle/arg_layout.h"
#include "ptio/error.h"
#include "ptio/pickle/opcodes.h"
#include "ptio/zip/archive_reader.h"

namespace ptio {

std::string_view file_format_name(FileFormat f) noexcept {
  switch (f) {
    case FileFormat::kZip:
      return "torch.save zip archive";
    case FileFormat::kTorchScript:
      return "TorchScript archive";
    case FileFormat::kMobile:
      return "mobile (lite interpreter) archive";
    case FileFormat::kZipOther:
      return "zip archive without data.pkl";
    case FileFormat::kLegacy:
      return "legacy torch.save stream";
    case FileFormat::kPickle:
      return "pickle";
    case FileFormat::kTar:
      return "legacy torch.save tar archive";
    case FileFormat::kFlatbuffer:
      return "mobile flatbuffer module";
    case FileFormat::kGitLfsPointer:
      return "Git LFS pointer";
    case FileFormat::kHtml:
      return "HTML page";
    case FileFormat::kText:
      return "text file";
    case FileFormat::kEmpty:
      return "empty file";
    case FileFormat::kZeroFilled:
      return "zero-filled file";
    case FileFormat::kTruncatedZip:
      return "truncated zip archive";
    case FileFormat::kDamagedZip:
      return "damaged zip archive";
    case FileFormat::kPreviewFormat:
      return "PyTorch preview-release archive";
    case FileFormat::kSafetensors:
      return "safetensors file";
    case FileFormat::kNpz:
      return "NumPy .npz archive";
    case FileFormat::kUnknown:
      return "unknown";
  }
  return "unknown";
}

namespace {

// A non-owning shared_ptr for the zip reader (the caller keeps `in` alive during detect_format).
std::shared_ptr<const io::ReadAdapter> borrow(const io::ReadAdapter& in) {
  return std::shared_ptr<const io::ReadAdapter>(&in, [](const io::ReadAdapter*) {});
}

std::uint32_t le32_at(const std::byte* p) {
  return static_cast<std::uint32_t>(
      std::to_integer<unsigned>(p[0]) | (std::to_integer<unsigned>(p[1]) << 8) |
      (std::to_integer<unsigned>(p[2]) << 16) | (std::to_integer<unsigned>(p[3]) << 24));
}

// The last zip end of central directory record (`PK\5\6`) in the file's last 22 + 64 KiB: its
// offset and the central directory offset and size it declares (bytes; 0xFFFFFFFF: in the
// zip64 record).
struct EndRecord {
  std::uint64_t pos = 0;
  std::uint32_t cd_size = 0, cd_offset = 0;
};

std::optional<EndRecord> find_end_record(const io::ReadAdapter& in) {
  constexpr std::size_t kEocd = 22, kTail = kEocd + 0xFFFF;
  const std::uint64_t size = in.size();
  if (size < kEocd) return std::nullopt;
  const std::uint64_t start = size > kTail ? size - kTail : 0;
  const std::vector<std::byte> t = in.read_vector(start, static_cast<std::size_t>(size - start));
  for (std::size_t i = t.size() - kEocd + 1; i-- > 0;)
    if (std::memcmp(t.data() + i, "PK\x05\x06", 4) == 0)
      return EndRecord{start + i, le32_at(t.data() + i + 12), le32_at(t.data() + i + 16)};
  return std::nullopt;
}

// The diagnosis of a zip whose directory cannot be read (`e`, the lenient reader's error):
// truncated when no end record is left or the end record declares a central directory reaching
// past it (bytes are missing), damaged when the end record is where the file's length puts it.
void diagnose_unreadable_zip(const io::ReadAdapter& in, const Error& e, FormatInfo& info) {
  const std::optional<EndRecord> end = find_end_record(in);
  const bool zip64 = end && (end->cd_offset == 0xFFFFFFFFu || end->cd_size == 0xFFFFFFFFu);
  if (!end || (!zip64 && std::uint64_t{end->cd_offset} + end->cd_size > end->pos)) {
    info.format = FileFormat::kTruncatedZip;
    std::string why;
    if (end)
      why = "its end record at byte " + std::to_string(end->pos) +
            " declares a central directory of " + std::to_string(end->cd_size) + " bytes at byte " +
            std::to_string(end->cd_offset) + ", past the end record: at least " +
            std::to_string(std::uint64_t{end->cd_offset} + end->cd_size - end->pos) +
            " bytes are missing; ";
    info.diagnosis =
        "the file starts like a zip archive but its directory cannot be read (a "
        "truncated or damaged download?): " +
        why + e.message();
    return;
  }
  info.format = FileFormat::kDamagedZip;
  info.diagnosis =
      "the file's length agrees with its zip end record (at byte " + std::to_string(end->pos) +
      "), but the central directory or end record is damaged (bytes overwritten?): " + e.message() +
      (e.offset() ? " (at byte offset " + std::to_string(*e.offset()) + ")" : "");
}

// The number of records when every (non-folder) record of `ar` is an `.npy` array, else 0:
// numpy.savez writes `NAME.npy` records only (PyTorch never does).
std::size_t npy_records(const zip::ArchiveReader& ar) {
  std::size_t n = 0;
  for (const auto& r : ar.records()) {
    if (r.full_name.ends_with("/")) continue;
    if (!r.full_name.ends_with(".npy")) return 0;
    ++n;
  }
  return n;
}

// A safetensors file: a little-endian u64 N, then N bytes of a JSON object (`{"` or `{}`), ending
// in `}` and optional space padding, within the file and at most 100 MB (the format's bound).
// Checked before the pickle sniffing: N's low byte may read as a PROTO opcode or zero.
bool looks_like_safetensors(const io::ReadAdapter& in) {
  const std::uint64_t size = in.size();
  if (size < 10) return false;
  std::byte head[10];
  in.read(0, head, sizeof head);
  std::uint64_t n = 0;
  for (int k = 8; k-- > 0;) n = (n << 8) | std::to_integer<std::uint64_t>(head[k]);
  if (n < 2 || n > size - 8 || n > (std::uint64_t{100} << 20)) return false;
  if (head[8] != std::byte{'{'} || (head[9] != std::byte{'"'} && head[9] != std::byte{'}'}))
    return false;
  // The last non-space byte of the header closes the object.
  std::vector<std::byte> tail(static_cast<std::size_t>(std::min<std::uint64_t>(n, 4096)));
  in.read(8 + n - tail.size(), tail.data(), tail.size());
  for (std::size_t i = tail.size(); i-- > 0;) {
    if (tail[i] == std::byte{' '}) continue;
    return tail[i] == std::byte{'}'};
  }
  return false;
}

void classify_zip(const io::ReadAdapter& in, FormatInfo& info) {
  try {
    zip::ReaderOptions opts;
    opts.strict = false;
    opts.verify_crc = false;
    opts.keep_damaged_records = true;  // a bad local header does not hide what the archive is
    zip::ArchiveReader ar(borrow(in), opts);
    std::size_t damaged = 0;
    const Error* first_damage = nullptr;
    for (const auto& r : ar.records())
      if (r.damage && !damaged++) first_damage = r.damage.get();
    bool data = false, constants = false, bytecode = false, code = false, model_json = false;
    for (const auto& r : ar.records()) {
      // In lenient mode names may carry no prefix; look at the part after the first folder too.
      std::string_view n = r.name;
      if (ar.prefix().empty()) {
        const auto slash = n.find('/');
        if (slash != std::string_view::npos) n.remove_prefix(slash + 1);
      }
      data = data || n == "data.pkl";
      constants = constants || n == "constants.pkl";
      bytecode = bytecode || n == "bytecode.pkl";
      code = code || n.starts_with("code/");
      model_json = model_json || n == "model.json";
    }
    if (bytecode) {
      info.format = FileFormat::kMobile;
      info.diagnosis =
          "this is a mobile (lite interpreter, .ptl) module with bytecode.pkl, not a torch.save "
          "checkpoint; load it with ptio::jit::load";
    } else if (constants || code || model_json) {
      info.format = FileFormat::kTorchScript;
      info.diagnosis =
          "this is a TorchScript archive (torch.jit.save), not a torch.save checkpoint; load it "
          "with ptio::jit::load";
    } else if (data) {
      info.format = FileFormat::kZip;
    } else if (std::size_t arrays = npy_records(ar)) {
      info.format = FileFormat::kNpz;
      info.diagnosis = "a NumPy .npz archive of " + std::to_string(arrays) +
                       " array(s) (numpy.savez, or `ptio convert` to npz), not a torch.save "
                       "file; read it with numpy.load";
    } else {
      info.format = FileFormat::kZipOther;
      info.diagnosis = "this zip archive has no data.pkl record, so torch.save did not write it";
    }
    if (info.format == FileFormat::kZip && info.magic == io::FileMagic::kZipWithPrefix) {
      info.diagnosis =
          "the zip archive starts after leading bytes; torch.load only recognises a zip that "
          "begins at byte 0";
    }
    if (damaged) {
      info.diagnosis += std::string(info.diagnosis.empty() ? "" : "; ") +
                        "damaged zip archive: its central directory lists " +
                        std::to_string(ar.records().size()) + " records, " +
                        std::to_string(damaged) +
                        " of them unreadable (first: " + first_damage->what() + ")";
    }
  } catch (const Error& e) {
    diagnose_unreadable_zip(in, e, info);
  }
}

// A file whose first bytes are zero: zero-filled only when every byte examined is zero. Zeros
// over the start of a zip that still ends with its directory are a damaged zip archive.
void classify_zero_head(const io::ReadAdapter& in, FormatInfo& info) {
  info.diagnosis.clear();  // the magic's "only zero bytes" is said below only when it is true
  if (find_end_record(in)) {
    classify_zip(in, info);
    std::string lead =
        "the file's first bytes are zero (overwritten or never written) but it "
        "ends with a zip directory";
    info.diagnosis = info.diagnosis.empty() ? lead : lead + "; " + info.diagnosis;
    return;
  }
  // Scan for a non-zero byte: the whole file up to 1 GiB, then only its last 1 MiB.
  constexpr std::uint64_t kScan = std::uint64_t{1} << 30, kChunk = std::uint64_t{1} << 20;
  const std::uint64_t size = in.size();
  std::vector<std::byte> buf;
  auto nonzero_in = [&](std::uint64_t from, std::uint64_t to) -> std::optional<std::uint64_t> {
    for (std::uint64_t at = from; at < to; at += kChunk) {
      const std::size_t n = static_cast<std::size_t>(std::min(kChunk, to - at));
      buf.resize(n);
      in.read(at, buf.data(), n);
      const auto it =
          std::find_if(buf.begin(), buf.end(), [](std::byte b) { return b != std::byte{0}; });
      if (it != buf.end()) return at + static_cast<std::uint64_t>(it - buf.begin());
    }
    return std::nullopt;
  };
  std::optional<std::uint64_t> nz = nonzero_in(0, std::min(size, kScan));
  if (!nz && size > kScan) nz = nonzero_in(std::max(kScan, size - kChunk), size);
  if (nz) {
    info.format = FileFormat::kUnknown;
    info.diagnosis = "the file's first " + std::to_string(*nz) + " bytes are zero, but byte " +
                     std::to_string(*nz) +
                     " is not, and there is no zip end record: a damaged or partly written "
                     "file, not one ptio can read";
    return;
  }
  info.format = FileFormat::kZeroFilled;
  info.diagnosis =
      size <= kScan ? std::string(io::file_magic_advice(io::FileMagic::kZeroFilled))
                    : "the first " + std::to_string(kScan) + " and the last " +
                          std::to_string(kChunk) + " bytes of the file's " + std::to_string(size) +
                          " are all zero (the rest was not examined); the download or save "
                          "did not complete";
}

// A pickle without a PROTO opcode (protocols 0 and 1: `pickle.dumps(obj, protocol=0)` is text):
// the first MiB is a sequence of opcodes with well-formed arguments that ends with STOP (or
// runs on past that MiB). Text and random bytes fail at the first byte that is no opcode.
bool looks_like_pickle(const io::ReadAdapter& in) {
  const std::uint64_t size = in.size();
  const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(size, 1u << 20));
  const std::vector<std::byte> b = in.read_vector(0, n);
  auto u8 = [&](std::size_t at) { return std::to_integer<std::uint64_t>(b[at]); };
  auto le = [&](std::size_t at, int bytes) {
    std::uint64_t v = 0;
    for (int k = bytes; k-- > 0;) v = (v << 8) | u8(at + static_cast<std::size_t>(k));
    return v;
  };
  std::size_t i = 0, ops = 0;
  while (i < n) {
    const pickle::OpcodeInfo* op = pickle::opcode_info(static_cast<std::uint8_t>(u8(i)));
    if (op == nullptr) return false;
    if (op->code == pickle::OpCode::STOP) return ops > 0;
    ++i;
    ++ops;
    // Bytes the argument takes: fixed, length-prefixed (prefix bytes, then the length), or up to
    // one or two newlines.
    const pickle::ArgLayout layout = pickle::arg_layout(op->arg);
    std::uint64_t skip = layout.fixed;
    const int prefix = layout.length_prefix;
    int lines = layout.lines;
    if (prefix) {
      if (n - i < static_cast<std::size_t>(prefix)) return n < size;
      skip = le(i, prefix);
      i += static_cast<std::size_t>(prefix);
    }
    for (; lines > 0; --lines) {
      const auto nl =
          std::find(b.begin() + static_cast<std::ptrdiff_t>(i), b.end(), std::byte{'\n'});
      if (nl == b.end()) return n < size;
      i = static_cast<std::size_t>(nl - b.begin()) + 1;
    }
    if (skip > n - i) return n < size && skip <= size - i;
    i += static_cast<std::size_t>(skip);
  }
  return n < size;  // well-formed as far as looked
}

}  // namespace

FormatInfo detect_format(const io::ReadAdapter& in) {
  FormatInfo info;
  info.magic = io::identify_magic(in);
  info.diagnosis = std::string(io::file_magic_advice(info.magic));
  using M = io::FileMagic;
  if ((info.magic == M::kUnknown || info.magic == M::kPickle || info.magic == M::kZeroFilled ||
       info.magic == M::kText) &&
      looks_like_safetensors(in)) {
    info.format = FileFormat::kSafetensors;
    info.diagnosis =
        "a safetensors file (Hugging Face safetensors, or `ptio convert` to .safetensors), not a "
        "torch.save file; read it with safetensors.torch.load_file";
    return info;
  }
  if ((info.magic == M::kText || info.magic == M::kUnknown) && looks_like_pickle(in)) {
    info.format = FileFormat::kPickle;  // protocol 0 or 1: no PROTO opcode to sniff
    info.diagnosis.clear();
    return info;
  }
  switch (info.magic) {
    case M::kZip:
    case M::kZipWithPrefix:
      classify_zip(in, info);
      break;
    case M::kLegacyTorchSave:
      info.format = FileFormat::kLegacy;
      break;
    case M::kPickle:
      info.format = FileFormat::kPickle;
      break;
    case M::kTar:
      info.format = FileFormat::kTar;
      break;
    case M::kFlatbuffer:
      info.format = FileFormat::kFlatbuffer;
      info.diagnosis =
          "this is a mobile flatbuffer module (_save_for_lite_interpreter / save_jit_module), "
          "not a torch.save checkpoint";
      break;
    case M::kGitLfsPointer:
      info.format = FileFormat::kGitLfsPointer;
      break;
    case M::kHtml:
      info.format = FileFormat::kHtml;
      break;
    case M::kText:
      info.format = FileFormat::kText;
      break;
    case M::kEmpty:
      info.format = FileFormat::kEmpty;
      break;
    case M::kZeroFilled:
      classify_zero_head(in, info);
      break;
    case M::kPreviewFormat:
      info.format = FileFormat::kPreviewFormat;
      break;
    case M::kUnknown:
      info.format = FileFormat::kUnknown;
      info.diagnosis = "not a PyTorch file: neither a zip archive, a pickle nor a tar archive";
      break;
  }
  return info;
}

void require_loadable(const FormatInfo& info, const std::string& file) {
  ErrorCode code = ErrorCode::kUnknownFormat;
  switch (info.format) {
    case FileFormat::kZip:  // not at byte 0: leading bytes, or zeros over its start
      if (info.magic == io::FileMagic::kZip) return;
      break;
    case FileFormat::kLegacy:
    case FileFormat::kPickle:
    case FileFormat::kTar:
      return;
    case FileFormat::kTorchScript:
      code = ErrorCode::kTorchScriptArchive;
      break;
    case FileFormat::kMobile:
    case FileFormat::kFlatbuffer:
      code = ErrorCode::kMobileArchive;
      break;
    case FileFormat::kGitLfsPointer:
      code = ErrorCode::kZipGitLfsPointer;
      break;
    case FileFormat::kHtml:
      code = ErrorCode::kZipHtmlPage;
      break;
    case FileFormat::kEmpty:
    case FileFormat::kZeroFilled:
      code = ErrorCode::kZipEmptyFile;
      break;
    case FileFormat::kTruncatedZip:
      code = ErrorCode::kZipTruncated;
      break;
    case FileFormat::kDamagedZip:
      code = ErrorCode::kZipBadCentralDirectory;
      break;
    case FileFormat::kPreviewFormat:
      code = ErrorCode::kZipPreviewFormat;
      break;
    case FileFormat::kZipOther:
    case FileFormat::kSafetensors:
    case FileFormat::kNpz:
    case FileFormat::kText:
    case FileFormat::kUnknown:
      break;
  }
  throw Error(code,
              std::string(file_format_name(info.format)) +
                  (info.diagnosis.empty() ? std::string() : ": " + info.diagnosis),
              file);
}

}  // namespace ptio
