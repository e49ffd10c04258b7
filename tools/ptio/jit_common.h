// Helpers shared by the commands that read TorchScript archives (info, tensors, show, extract).
#pragma once

#include <exception>
#include <memory>
#include <string>

#include "command.h"
#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/serialization/format.h"

namespace ptio::cli {

/// True when `path` holds a TorchScript or lite-interpreter zip archive (ptio::jit::load's input).
inline bool is_jit_archive(const std::string& path) {
  const FileFormat f = detect_format(io::MmapReadAdapter(path)).format;
  return f == FileFormat::kTorchScript || f == FileFormat::kMobile;
}

/// Returns when `path` holds a TorchScript or lite-interpreter archive; otherwise throws the one
/// line the loading commands give for it: require_loadable's diagnosis for what no command reads
/// (Git LFS pointer, HTML page, truncated download, ...), else Error(kJitBadModule) "<format>, not
/// a TorchScript archive: <role> must be a torch.jit.save archive" (a torch.save checkpoint, a
/// bare pickle), wrapped in ExitError(kExitUnsupported): the file reads, but is the wrong kind.
/// `role` names the argument, e.g. "MODEL".
inline void require_jit_archive(const std::string& path, const std::string& role) {
  const FormatInfo fi = detect_format(io::MmapReadAdapter(path));
  switch (fi.format) {
    case FileFormat::kTorchScript:
    case FileFormat::kMobile:
      return;
    case FileFormat::kZip:
    case FileFormat::kLegacy:
    case FileFormat::kTar:
    case FileFormat::kPickle:
      break;
    default:
      require_loadable(fi, path);  // throws for every other format
      break;
  }
  throw ExitError(kExitUnsupported,
                  std::make_exception_ptr(Error(ErrorCode::kJitBadModule,
                                                std::string(file_format_name(fi.format)) +
                                                    ", not a TorchScript archive: " + role +
                                                    " must be a torch.jit.save archive",
                                                path)));
}

}  // namespace ptio::cli
