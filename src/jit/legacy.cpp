// PyTorch 1.0-1.2 `model.json` archives (spec-torchscript 13; import_legacy.cpp).
#include "import_impl.h"
#include "ptio/error.h"

namespace ptio::jit::detail {

Module load_legacy(const zip::ArchiveReader& ar, std::shared_ptr<CompilationUnit> cu,
                   std::shared_ptr<ArchiveInfo> info, const std::optional<Device>& device,
                   bool allow_view) {
  (void)cu, (void)info, (void)device, (void)allow_view;
  throw Error(ErrorCode::kJitVersion, "legacy model.json archives are not supported yet",
              ar.file_name(), ar.record("model.json").full_name);
}

}  // namespace ptio::jit::detail
