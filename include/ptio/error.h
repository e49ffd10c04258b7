// ptio::Error, the one exception type of the library, and its stable ErrorCode values.
#pragma once

#include <cstdint>
#include <optional>
#include <stdexcept>
#include <string>
#include <string_view>

#include "ptio/export.h"

namespace ptio {

/// Stable error codes, grouped by layer in blocks of 100. Tests assert these, never the wording.
/// New codes are appended to their block; existing values never change.
enum class ErrorCode : std::uint16_t {
  // ---- byte I/O (io/) -------------------------------------------------------------------
  kIoOpenFailed = 100,   ///< a file could not be opened or stat'ed
  kIoReadFailed = 101,   ///< the OS or the stream reported a read error
  kIoWriteFailed = 102,  ///< the OS or the stream reported a write error
  kIoOutOfBounds = 103,  ///< a read past the end of the source (truncated input)
  kIoShortWrite = 104,   ///< a write callback accepted fewer bytes than it was given
  kIoMmapFailed = 105,   ///< mmap(2) failed
  kIoRenameFailed = 106, ///< the temporary file could not be renamed into place
  kIoInvalidArgument = 107,  ///< a caller passed an argument that cannot be honoured
  kIoWriterClosed = 108, ///< a write after commit() or after a failure

  // ---- zip container (zip/) ---------------------------------------------------------------
  kZipEmptyFile = 200,        ///< the file has no bytes at all
  kZipNotAnArchive = 201,     ///< no end of central directory record: not a zip
  kZipBadEocd = 202,          ///< EOCD / zip64 EOCD / locator inconsistent or out of the file
  kZipBadCentralDirectory = 203,  ///< a central directory header is malformed or out of bounds
  kZipBadLocalHeader = 204,   ///< a local header is malformed or out of bounds
  kZipHeaderMismatch = 205,   ///< a local header disagrees with its central directory entry
  kZipOverlappingEntries = 206,  ///< two records' bytes overlap
  kZipCrcMismatch = 207,      ///< CRC-32 of the data differs from the recorded CRC-32
  kZipUnsupportedMethod = 208,    ///< a compression method other than stored (0) or deflate (8)
  kZipEncrypted = 209,        ///< an encrypted entry (general purpose flag bit 0 or 6)
  kZipDuplicateName = 210,    ///< two entries with the same name
  kZipUnsafeName = 211,       ///< an absolute name, a `..` component, a backslash or NUL in a name
  kZipNoPrefix = 212,         ///< PyTorch's archive-folder rule is violated
  kZipRecordNotFound = 213,   ///< no record of that name
  kZipInflateFailed = 214,    ///< deflate stream corrupt
  kZipSizeMismatch = 215,     ///< declared sizes disagree with each other or with the data
  kZipGitLfsPointer = 216,    ///< the file is a Git LFS pointer, not the archive
  kZipHtmlPage = 217,         ///< the file is an HTML page (a failed download)
  kZipWriterState = 218,      ///< ArchiveWriter used out of order (after finalize, nested record)
  kZipEmptyArchive = 219,     ///< the central directory has no entries
  kZipPreviewFormat = 220,    ///< the pre-1.0 `PYTORCH1` preview format
  kZipTruncated = 221,        ///< the archive ends early (a truncated download)
  kZipTooManyEntries = 222,   ///< more entries than Limits allow or the file can hold
  kZipBadName = 223,          ///< an entry name is empty, too long, or not valid
  kZipLeadingBytes = 224,     ///< bytes before the first `PK\3\4` (prefixed/self-extracting zip)

  // ---- pickle (pickle/) ------------------------------------------------------------------
  kPickleTruncated = 300,
  kPickleUnknownOpcode = 301,
  kPickleStackUnderflow = 302,
  kPickleMarkMismatch = 303,
  kPickleBadMemo = 304,
  kPickleBadLength = 305,
  kPickleDepthLimit = 306,
  kPickleMemoLimit = 307,
  kPickleContainerLimit = 308,
  kPickleAllocationLimit = 309,
  kPickleMissingStop = 310,
  kPickleUnknownGlobal = 311,
  kPickleBadValue = 312,
  kPickleTypeError = 313,
  kPickleUnsupported = 314,
  kPicklePersistentId = 315,
  /// STOP with other than exactly one value on the stack (TorchScript's C++ unpickler).
  kPickleLeftoverStack = 316,

  // ---- values (core/) --------------------------------------------------------------------
  kWrongKind = 400,           ///< an IValue accessor called on a value of another kind
  kBadDtype = 401,
  kBadShape = 402,            ///< negative sizes, sizes/strides reaching past the storage
  kBadDevice = 403,
  kOverflow = 404,            ///< arithmetic on file values overflowed

  // ---- torch.save / torch.load (serialization/) ------------------------------------------
  kUnknownFormat = 500,
  kUnsafeGlobal = 501,
  kMissingRecord = 502,
  kBadPersistentId = 503,
  kBadStorage = 504,
  kBadVersion = 505,
  kBadMapLocation = 506,
  kTorchScriptArchive = 507,  ///< a TorchScript archive given to torch.load-style loading
  kLegacyFormat = 508,
  kTarFormat = 509,
  kMobileArchive = 510,  ///< a mobile (.ptl bytecode or flatbuffer) module given to ptio::load

  // ---- TorchScript (jit/) ----------------------------------------------------------------
  kJitSyntax = 600,
  kJitMissingClass = 601,
  kJitBadModule = 602,
  kJitVersion = 603,
  kJitStateDict = 604,        ///< load_state_dict: missing/unexpected keys, shape or dtype mismatch
  kJitUnsupportedSave = 605,  ///< a module jit::save cannot write as PyTorch would (names what)
  kJitBadEdit = 606,          ///< an edit (setattr, extra file name) that would break the module

  // ---- mobile (mobile/) ------------------------------------------------------------------
  kMobileBadFormat = 700,

  // ---- limits ----------------------------------------------------------------------------
  kLimitExceeded = 900,       ///< a configured Limits value was exceeded

  kInternal = 999,            ///< a broken invariant inside ptio (a bug: please report it)
};

/// Returns the enumerator's name without the leading `k` (e.g. "ZipCrcMismatch").
PTIO_API std::string_view error_code_name(ErrorCode code) noexcept;

/// The exception every ptio function throws on bad input or failed I/O.
///
/// Carries a stable `code()`, the file (`file()`), the record inside it (`record()`, e.g.
/// `archive/data.pkl`), the absolute byte offset in the file where it applies (`offset()`),
/// and a message saying what was expected and what was found. `what()` joins them as
/// `model.pt: archive/data.pkl @ 0x1a3: BINGET memo index 17 is not defined`, each part through
/// ptio::printable (LineBreaks::kKeep): control bytes and invalid UTF-8 of a name read from a
/// file show as `\xNN` in what() (never a NUL that cuts it short); file(), record() and
/// message() keep the bytes as they are.
/// Layers that learn the file or record name later fill them in with `add_context()`.
class PTIO_API Error : public std::runtime_error {
 public:
  Error(ErrorCode code, std::string message, std::string file = {}, std::string record = {},
        std::optional<std::uint64_t> offset = std::nullopt);

  ErrorCode code() const noexcept { return code_; }
  const std::string& message() const noexcept { return message_; }
  const std::string& file() const noexcept { return file_; }
  const std::string& record() const noexcept { return record_; }
  std::optional<std::uint64_t> offset() const noexcept { return offset_; }
  const char* what() const noexcept override { return what_.c_str(); }

  /// Fills in the file, record and offset where they are still unknown; known ones are kept.
  Error& add_context(std::string_view file, std::string_view record = {},
                     std::optional<std::uint64_t> offset = std::nullopt);

 private:
  void rebuild_what();
  ErrorCode code_;
  std::string message_;
  std::string file_;
  std::string record_;
  std::optional<std::uint64_t> offset_;
  std::string what_;
};

}  // namespace ptio

/// Throws ptio::Error(code, message) when `cond` is false. The message is only built on failure.
#define PTIO_CHECK(cond, code, ...)                                            \
  do {                                                                         \
    if (!(cond)) [[unlikely]] throw ::ptio::Error((code), ::ptio::detail::concat(__VA_ARGS__)); \
  } while (0)

#include "ptio/detail/concat.h"
