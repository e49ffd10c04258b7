// ptio::Error: message assembly and error code names.
#include "ptio/error.h"

#include <cstdio>

#include "ptio/printable.h"

namespace ptio {

namespace detail {
std::string hex(unsigned long long v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "0x%llx", v);
  return buf;
}
}  // namespace detail

std::string_view error_code_name(ErrorCode code) noexcept {
  switch (code) {
// clang-format off
#define PTIO_CASE(x) case ErrorCode::k##x: return #x;
    PTIO_CASE(IoOpenFailed)
    PTIO_CASE(IoReadFailed)
    PTIO_CASE(IoWriteFailed)
    PTIO_CASE(IoOutOfBounds)
    PTIO_CASE(IoShortWrite)
    PTIO_CASE(IoMmapFailed)
    PTIO_CASE(IoRenameFailed)
    PTIO_CASE(IoInvalidArgument)
    PTIO_CASE(IoWriterClosed)
    PTIO_CASE(ZipEmptyFile)
    PTIO_CASE(ZipNotAnArchive)
    PTIO_CASE(ZipBadEocd)
    PTIO_CASE(ZipBadCentralDirectory)
    PTIO_CASE(ZipBadLocalHeader)
    PTIO_CASE(ZipHeaderMismatch)
    PTIO_CASE(ZipOverlappingEntries)
    PTIO_CASE(ZipCrcMismatch)
    PTIO_CASE(ZipUnsupportedMethod)
    PTIO_CASE(ZipEncrypted)
    PTIO_CASE(ZipDuplicateName)
    PTIO_CASE(ZipUnsafeName)
    PTIO_CASE(ZipNoPrefix)
    PTIO_CASE(ZipRecordNotFound)
    PTIO_CASE(ZipInflateFailed)
    PTIO_CASE(ZipSizeMismatch)
    PTIO_CASE(ZipGitLfsPointer)
    PTIO_CASE(ZipHtmlPage)
    PTIO_CASE(ZipWriterState)
    PTIO_CASE(ZipEmptyArchive)
    PTIO_CASE(ZipPreviewFormat)
    PTIO_CASE(ZipTruncated)
    PTIO_CASE(ZipTooManyEntries)
    PTIO_CASE(ZipBadName)
    PTIO_CASE(ZipLeadingBytes)
    PTIO_CASE(PickleTruncated)
    PTIO_CASE(PickleUnknownOpcode)
    PTIO_CASE(PickleStackUnderflow)
    PTIO_CASE(PickleMarkMismatch)
    PTIO_CASE(PickleBadMemo)
    PTIO_CASE(PickleBadLength)
    PTIO_CASE(PickleDepthLimit)
    PTIO_CASE(PickleMemoLimit)
    PTIO_CASE(PickleContainerLimit)
    PTIO_CASE(PickleAllocationLimit)
    PTIO_CASE(PickleMissingStop)
    PTIO_CASE(PickleUnknownGlobal)
    PTIO_CASE(PickleBadValue)
    PTIO_CASE(PickleTypeError)
    PTIO_CASE(PickleUnsupported)
    PTIO_CASE(PicklePersistentId)
    PTIO_CASE(PickleLeftoverStack)
    PTIO_CASE(WrongKind)
    PTIO_CASE(BadDtype)
    PTIO_CASE(BadShape)
    PTIO_CASE(BadDevice)
    PTIO_CASE(Overflow)
    PTIO_CASE(UnknownFormat)
    PTIO_CASE(UnsafeGlobal)
    PTIO_CASE(MissingRecord)
    PTIO_CASE(BadPersistentId)
    PTIO_CASE(BadStorage)
    PTIO_CASE(BadVersion)
    PTIO_CASE(BadMapLocation)
    PTIO_CASE(TorchScriptArchive)
    PTIO_CASE(LegacyFormat)
    PTIO_CASE(TarFormat)
    PTIO_CASE(MobileArchive)
    PTIO_CASE(JitSyntax)
    PTIO_CASE(JitMissingClass)
    PTIO_CASE(JitBadModule)
    PTIO_CASE(JitVersion)
    PTIO_CASE(JitStateDict)
    PTIO_CASE(JitUnsupportedSave)
    PTIO_CASE(JitBadEdit)
    PTIO_CASE(MobileBadFormat)
    PTIO_CASE(LimitExceeded)
    PTIO_CASE(Internal)
#undef PTIO_CASE
    // clang-format on
  }
  return "Unknown";
}

Error::Error(ErrorCode code, std::string message, std::string file, std::string record,
             std::optional<std::uint64_t> offset)
    : std::runtime_error(message),
      code_(code),
      message_(std::move(message)),
      file_(std::move(file)),
      record_(std::move(record)),
      offset_(offset) {
  rebuild_what();
}

Error& Error::add_context(std::string_view file, std::string_view record,
                          std::optional<std::uint64_t> offset) {
  if (file_.empty()) file_ = file;
  if (record_.empty()) record_ = record;
  if (!offset_) offset_ = offset;
  rebuild_what();
  return *this;
}

void Error::rebuild_what() {
  // `FILE: RECORD @ 0x1a3: message`; a part that is unknown leaves no empty slot (an error of a
  // file being written has no record: `out.pt @ 0x10000: write failed`, not `out.pt: @ ...`).
  // Names come from files: a NUL would cut what() short, an escape sequence would act on the
  // terminal that prints it, so control bytes and invalid UTF-8 are written as `\xNN`.
  std::string w = printable(file_, LineBreaks::kKeep);
  if (!record_.empty()) w += (w.empty() ? "" : ": ") + printable(record_, LineBreaks::kKeep);
  if (offset_) w += (w.empty() ? "@ " : " @ ") + detail::hex(*offset_);
  if (!w.empty()) w += ": ";
  w += printable(message_, LineBreaks::kKeep);
  what_ = std::move(w);
}

}  // namespace ptio
