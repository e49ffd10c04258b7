// Unpickler: a pickle VM for protocols 0-5 that never runs code; globals resolve through a table.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/export.h"
#include "ptio/pickle/limits.h"
#include "ptio/pickle/opcodes.h"
#include "ptio/pickle/resolver.h"

namespace ptio::pickle {

/// What an unknown global (one the resolver has no handler for) becomes.
enum class Policy : std::uint8_t {
  /// Error(kPickleUnknownGlobal) naming `module.name`; a persistent id with no callback is
  /// Error(kPicklePersistentId). For loading.
  kStrict,
  /// An `Opaque` value recording the global and everything applied to it; a persistent id with
  /// no callback becomes an Opaque of kind kPersistentId. For `ptio show` / `ptio scan`.
  kInspection,
};

/// Called for PERSID / BINPERSID with the id (a String for PERSID; usually a Tuple such as
/// `('storage', FloatStorage, '0', 'cpu', 4)` for BINPERSID); returns the value to push.
/// Throw ptio::Error to reject (the unpickler adds the location).
using PersistentLoad = std::function<IValue(const IValue& pid, const CallContext& ctx)>;

/// How an Unpickler reads: resolver, policy, limits, and names for error messages.
struct PTIO_API UnpicklerOptions {
  /// Globals table; nullptr means `Resolver::with_python_builtins()`. Borrowed: it must outlive
  /// the Unpickler.
  const Resolver* resolver = nullptr;
  Policy policy = Policy::kStrict;
  /// Persistent-id callback; empty means "no persistent ids expected" (see Policy).
  PersistentLoad persistent_load;
  Limits limits;
  /// For error messages: the file, the record inside it (e.g. `archive/data.pkl`), and the
  /// absolute file offset of the first byte of the span given to the Unpickler.
  std::string file;
  std::string record;
  std::uint64_t base_offset = 0;
  /// Bytes the input occupies in the file when it was inflated from compressed data (a deflated
  /// zip record: its compressed size), or 0 when the span is the file's own bytes (a stored
  /// record, a legacy file, a tar member). Caps the input size the allocation budget counts
  /// (Limits::alloc_inflate_ratio), so a small compressed record cannot justify a large budget.
  std::uint64_t stored_size = 0;
  /// When true, `memoized()` reports the payloads that PUT/BINPUT/LONG_BINPUT/MEMOIZE stored, so
  /// a Pickler can reproduce the file's memoization (`PicklerOptions::memoize`).
  bool record_memoized = false;
  /// When true, the pickle is read as PyTorch's C++ `torch::jit::Unpickler` (PyTorch 1.13) reads
  /// every TorchScript pickle (data.pkl, constants.pkl, bytecode.pkl, .debug_pkl, the legacy
  /// attributes.pkl), which is stricter than CPython's pickle (torch.load; ptio::load leaves this
  /// false):
  /// - only the opcodes it implements: PROTO, STOP, MARK, NONE, NEWTRUE, NEWFALSE, BININT,
  ///   BININT1, BININT2, LONG1 (of 8 bytes only), BINFLOAT, BINUNICODE, EMPTY_LIST, LIST,
  ///   APPENDS, EMPTY_TUPLE, TUPLE, TUPLE1-3, EMPTY_DICT, DICT, SETITEMS, BINPUT, LONG_BINPUT,
  ///   BINGET, LONG_BINGET, GLOBAL, REDUCE, BUILD, NEWOBJ, BINPERSID; any other is
  ///   Error(kPickleUnknownOpcode) ("Unknown opcode for unpickling"), a LONG1 of another length
  ///   Error(kPickleBadLength);
  /// - STOP requires exactly one value on the stack, the result (`parse_ivalue`: "Unpickler
  ///   expected 1 element on the stack, but found N"): Error(kPickleLeftoverStack) otherwise.
  bool torchscript_dialect = false;
};

/// Mirrors CPython's `pickle.Unpickler` (Modules/_pickle.c: same stack/mark/memo semantics and
/// underflow rules) and `torch/csrc/jit/serialization/unpickler.cpp` (which handles a protocol-2
/// subset), without ever executing anything: GLOBAL, REDUCE, NEWOBJ and BUILD go through the
/// `Resolver`; persistent ids through `UnpicklerOptions::persistent_load`.
///
/// The VM is iterative (no recursion on input nesting). Every length is checked against the bytes
/// that remain before anything is allocated, and `Limits` bound depth, memo, container sizes and
/// total allocation. Errors are ptio::Error carrying the file, record and absolute offset of the
/// opcode, e.g. `model.pt: archive/data.pkl @ 0x1a3: BINGET memo index 17 is not defined`:
/// kPickleTruncated (input ends inside an opcode, or no STOP: kPickleMissingStop when the input
/// ends between opcodes), kPickleUnknownOpcode, kPickleStackUnderflow, kPickleMarkMismatch (no
/// MARK to pop), kPickleBadMemo, kPickleBadLength (negative or impossible length),
/// kPickleBadValue (bad text number, bad UTF-8, bad protocol), kPickleTypeError (e.g. APPEND onto
/// a non-list, unhashable dict key, calling a non-callable), kPickleUnknownGlobal,
/// kPicklePersistentId, kPickleUnsupported (EXT1/2/4, out-of-band buffers, protocol > 5), and the
/// Limits codes. Nothing else escapes (std::bad_alloc becomes kPickleAllocationLimit).
///
/// The span is borrowed for the Unpickler's lifetime; values own copies of their bytes.
class PTIO_API Unpickler {
 public:
  /// Reads from `data`, starting at `start` (an index into `data`).
  explicit Unpickler(std::span<const std::byte> data, UnpicklerOptions options = {},
                     std::size_t start = 0);
  ~Unpickler();
  Unpickler(const Unpickler&) = delete;
  Unpickler& operator=(const Unpickler&) = delete;

  /// Runs one pickle from `position()` up to and including its STOP and returns the value STOP
  /// popped; afterwards `position()` is just past the STOP, ready for the next pickle (the legacy
  /// torch.save format stacks several). Each load() starts with an empty stack and memo, like
  /// a fresh `pickle.load`.
  IValue load();

  /// Index into the span of the next byte to read.
  std::size_t position() const noexcept;
  /// Absolute offset (`base_offset + position()`).
  std::uint64_t offset() const noexcept;
  bool at_end() const noexcept;
  /// The protocol number of the last PROTO seen by load() (0 when the pickle had none).
  int protocol() const noexcept;
  /// Identities (`IValue::identity()`) of the values the last load() stored in its memo; only
  /// filled when `UnpicklerOptions::record_memoized` is set.
  const std::unordered_set<const void*>& memoized() const noexcept;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

/// Unpickles the one pickle at the start of `data` (trailing bytes after STOP are ignored, as in
/// `pickle.loads`). Throws as Unpickler::load().
PTIO_API IValue unpickle(std::span<const std::byte> data, const UnpicklerOptions& options = {});

}  // namespace ptio::pickle
