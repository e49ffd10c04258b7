// Helpers shared by the commands that read TorchScript archives (info, tensors, show, extract).
#pragma once

#include <memory>
#include <string>

#include "ptio/io/read_adapter.h"
#include "ptio/serialization/format.h"

namespace ptio::cli {

/// True when `path` holds a TorchScript or lite-interpreter zip archive (ptio::jit::load's input).
inline bool is_jit_archive(const std::string& path) {
  const FileFormat f = detect_format(io::MmapReadAdapter(path)).format;
  return f == FileFormat::kTorchScript || f == FileFormat::kMobile;
}

}  // namespace ptio::cli
