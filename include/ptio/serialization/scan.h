// ptio::scan: a static safety scan of a model file's pickles (the job of picklescan/modelscan).
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "ptio/export.h"
#include "ptio/io/read_adapter.h"
#include "ptio/limits.h"
#include "ptio/serialization/format.h"

namespace ptio {

/// How a global referenced by a pickle is judged (see classify_global()).
enum class GlobalClass : std::uint8_t {
  /// PyTorch's weights_only allowlist (spec-torch-save.md 8.3) plus the globals PyTorch itself
  /// writes into checkpoints and TorchScript archives: rebuild functions, storage/tensor classes,
  /// dtypes, `torch.Size`, `torch.device`, `collections.OrderedDict`, `_codecs.encode`, plain
  /// builtins (`set`, `frozenset`, `bytearray`, `complex`...), `torch.jit._pickle.*`,
  /// `__torch__.*` TorchScript classes and numpy's array reconstructors.
  kAllowed,
  /// Anything else: a class the file's author defined (`torch.save(model)` names the model's
  /// class), a library object. Unpickling it in Python imports and calls it.
  kUnknown,
  /// A global known to run code or touch the system: `builtins.eval`/`exec`/`getattr`/...,
  /// modules `os`, `subprocess`, `socket`, `pickle`, `runpy`, ... and the bypasses named in public
  /// scanner advisories (picklescan GHSA-*, modelscan, fickling). The table is
  /// `dangerous_globals()`.
  kDangerous,
};

/// The overall judgement of a file, ordered: the verdict is the worst class found.
enum class Verdict : std::uint8_t {
  kSafe,        ///< only allowed globals, every pickle read to its STOP
  kSuspicious,  ///< unknown globals, or a pickle the scan could not fully follow
  kDangerous,   ///< a dangerous global or a known attack construct
};

/// "allowed" | "unknown" | "dangerous".
PTIO_API std::string_view global_class_name(GlobalClass c) noexcept;
/// "safe" | "suspicious" | "dangerous".
PTIO_API std::string_view verdict_name(Verdict v) noexcept;

/// One global a pickle references (GLOBAL, STACK_GLOBAL, INST, or the class of OBJ). OBJ is its
/// own occurrence (opcode "OBJ", the OBJ's offset) besides the opcode that pushed the class.
struct ScanGlobal {
  std::string module;        ///< as written in the file (`__builtin__`, not mapped to `builtins`)
  std::string name;          ///< as written (may be dotted: `Bdb.run`)
  std::string record;        ///< the record holding the pickle (`archive/data.pkl`, `<file>`, ...)
  /// Absolute byte offset of the opcode in the file; in a compressed (deflated) zip record, the
  /// offset in the record's uncompressed bytes.
  std::uint64_t offset = 0;
  std::string opcode;        ///< "GLOBAL", "STACK_GLOBAL", "INST" or "OBJ"
  GlobalClass cls = GlobalClass::kUnknown;
  std::string reason;  ///< why it is dangerous / allowed (the table row), empty for unknown
};

/// Something other than a global that affects the verdict (or a note that does not).
struct ScanFinding {
  /// kSafe = a note only (e.g. storage bytes after a legacy stream were not read as pickles).
  Verdict severity = Verdict::kSuspicious;
  std::string record;
  std::uint64_t offset = 0;  ///< absolute byte offset in the file (see ScanGlobal::offset)
  std::string message;       ///< what was found and what was expected
};

/// One byte range read as pickles.
struct ScanRecord {
  std::string name;           ///< record name (`archive/data.pkl`) or `<file>`
  std::uint64_t offset = 0;   ///< absolute offset of its first byte (0 for a compressed record)
  std::uint64_t size = 0;     ///< bytes
  std::uint32_t pickles = 0;  ///< pickles read to their STOP
  /// True when the record is not one PyTorch unpickles but its bytes parse as a pickle
  /// (`data/0` holding a pickle, an extra file...); scanned for defence in depth.
  bool by_content = false;
};

/// The result of scan().
struct ScanReport {
  std::string file;
  FileFormat format = FileFormat::kUnknown;
  Verdict verdict = Verdict::kSafe;
  std::vector<ScanGlobal> globals;    ///< in file order, every occurrence
  std::vector<ScanFinding> findings;  ///< in file order
  std::vector<ScanRecord> records;    ///< what was scanned
};

/// Options of scan().
struct PTIO_API ScanOptions {
  /// `pickle` bounds the symbolic VM (max_depth: open MARKs, max_stack, max_memo_entries);
  /// `zip` bounds the archive directory. Exceeding a bound is a kSuspicious finding, never a
  /// crash or an exception.
  Limits limits;
  /// Records that PyTorch does not unpickle are still tried as pickles when they start like one
  /// and are at most this many bytes (0 disables this).
  std::uint64_t max_content_probe_bytes = std::uint64_t{16} << 20;
};

/// Scans every pickle of a PyTorch file without running or even building anything, like
/// picklescan/modelscan but with a symbolic pickle VM: the operands of STACK_GLOBAL are followed
/// through the stack and memo (PUT/GET/MEMOIZE/DUP), so `'os' 'system' STACK_GLOBAL` built from
/// memo entries is still named; when they are not literal strings (a computed name) that is a
/// kSuspicious finding at the opcode.
///
/// What is read: a zip (at byte 0, or after leading bytes) through the *lenient* ArchiveReader —
/// every central-directory entry including shadowed duplicates, stored entries read raw whatever
/// their encryption flag or CRC says; records named `*.pkl` / `*_pkl` (`data.pkl`,
/// `constants.pkl`, `bytecode.pkl`, `*.debug_pkl`) and any other record that parses as a pickle
/// (see ScanOptions::max_content_probe_bytes). The legacy stream's five pickles (stopping at the
/// storage bytes), a raw pickle file and all the pickles stacked after it, every pickle of the tar
/// format: `sys_info`, `pickle`, and in `storages` / `tensors` the count, each entry's header
/// (the raw bytes between headers are skipped by the sizes the headers give) and the storage view
/// list. A pickle before a zip (torch.load would run it) is scanned too.
///
/// Never gives up silently: an unknown opcode, a truncated pickle, a stack underflow, an
/// undefined memo index or an exceeded limit is a kSuspicious finding with its offset, and the
/// scan continues with the next record. The walk of each pickle is held to the Unpickler's
/// allocation budget (`limits.pickle.alloc_*`: stack slots, memo entries, kept strings, globals
/// and findings; a deflated record counts at most `alloc_inflate_ratio` input bytes per
/// compressed byte), so a flood of cheap opcodes is a finding naming `Limits::pickle.alloc_*`
/// where the walk stopped, not gigabytes of memory. Mutating a global directly (BUILD,
/// SETITEM(S), APPEND(S) on a class or module rather than on an instance — the
/// `__dict__`/`__setstate__` tricks that rebind `torch._utils` attributes to `builtins.eval`) is
/// kDangerous.
///
/// Throws ptio::Error only when nothing can be scanned: I/O errors (kIoOpenFailed, ...), and
/// kUnknownFormat for files holding no pickle and no zip (text, HTML, LFS pointers, empty or
/// zero-filled files; a text or unidentified file whose first byte is an opcode but in which no
/// pickle completes, no global is named and nothing but the parse error is found) and for zips with no pickle record and no finding (a plain archive: there
/// was nothing to judge, so it is not reported safe).
///
/// The legacy stream expects five pickles: where bytes that are not the next pickle stand between
/// them (a finding), the scan resumes at the next PROTO opcode (0x80 and protocol 2-5; at most 16
/// times per record), with a note at each resumption and, when none is left, a note giving the
/// offset where the scan of the record stopped.
PTIO_API ScanReport scan(const std::filesystem::path& path, const ScanOptions& options = {});
/// Same over any ReadAdapter.
PTIO_API ScanReport scan(const io::ReadAdapter& in, const ScanOptions& options = {});

/// Scans the pickles stacked in `bytes` (as a raw pickle file), naming `record` in the report.
/// `base_offset` is added to every offset. Never throws.
PTIO_API ScanReport scan_pickle_bytes(std::span<const std::byte> bytes,
                                      std::string record = "<pickle>",
                                      std::uint64_t base_offset = 0,
                                      const ScanOptions& options = {});

/// The class of `module.name` and, in `reason` when given, the table row that decided it.
/// Python 2 spellings are judged as their Python 3 names (`__builtin__`, `__builtins__` ->
/// `builtins`, `copy_reg` -> `copyreg`, `httplib` -> `http.client`...). Dangerous rules win over
/// allowed ones; dotted names (attribute chains, `Bdb.run`) and dunder components
/// (`__globals__`) outside the allowlist are dangerous.
PTIO_API GlobalClass classify_global(std::string_view module, std::string_view name,
                                     std::string* reason = nullptr);

/// One row of the dangerous-globals table.
struct DangerousGlobal {
  std::string_view module;  ///< module (a prefix: matches itself and its submodules)
  std::string_view name;    ///< empty = the whole module; else one name in it
  std::string_view why;     ///< what it does / which advisory
};
/// The dangerous-globals table, in one place (src/serialization/scan_globals.cpp).
PTIO_API std::span<const DangerousGlobal> dangerous_globals() noexcept;

}  // namespace ptio
