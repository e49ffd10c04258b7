// detect_format: magic sniffing plus a look into zip directories (spec-torch-save.md sections
// 1, 2.6).
#include "ptio/serialization/format.h"

#include <memory>

#include "ptio/error.h"
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
    case FileFormat::kPreviewFormat:
      return "PyTorch preview-release archive";
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

void classify_zip(const io::ReadAdapter& in, FormatInfo& info) {
  try {
    zip::ReaderOptions opts;
    opts.strict = false;
    opts.verify_crc = false;
    zip::ArchiveReader ar(borrow(in), opts);
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
    } else {
      info.format = FileFormat::kZipOther;
      info.diagnosis = "this zip archive has no data.pkl record, so torch.save did not write it";
    }
    if (info.format == FileFormat::kZip && info.magic == io::FileMagic::kZipWithPrefix) {
      info.diagnosis =
          "the zip archive starts after leading bytes; torch.load only recognises a zip that "
          "begins at byte 0";
    }
  } catch (const Error& e) {
    info.format = FileFormat::kTruncatedZip;
    info.diagnosis = std::string(
                         "the file starts like a zip archive but its directory cannot be "
                         "read (a truncated or damaged download?): ") +
                     e.message();
  }
}

}  // namespace

FormatInfo detect_format(const io::ReadAdapter& in) {
  FormatInfo info;
  info.magic = io::identify_magic(in);
  info.diagnosis = std::string(io::file_magic_advice(info.magic));
  using M = io::FileMagic;
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
      info.format = FileFormat::kZeroFilled;
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
    case FileFormat::kZip:
      if (info.magic != io::FileMagic::kZipWithPrefix) return;
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
    case FileFormat::kPreviewFormat:
      code = ErrorCode::kZipPreviewFormat;
      break;
    case FileFormat::kZipOther:
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
