// Pickler: writes IValues as protocol-2 pickles the way PyTorch's C++ pickler or CPython's does.
#pragma once

#include <bit>
#include <cstddef>
#include <cstring>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/export.h"
#include "ptio/io/writer.h"
#include "ptio/pickle/identity_map.h"
#include "ptio/pickle/opcodes.h"

namespace ptio::pickle {

class Pickler;

/// Whose opcode choices and memo rules to reproduce byte for byte.
enum class Dialect : std::uint8_t {
  /// `torch/csrc/jit/serialization/pickler.cpp` (torch.jit.save's data.pkl/constants.pkl):
  /// strings, globals and devices memoized by value; other heap values memoized only when
  /// `PicklerOptions::memoize` says so (default: use count > 1, as PyTorch does); ints as
  /// BININT1/BININT2/BININT, else LONG1 with 8 bytes; one MARK…APPENDS / MARK…SETITEMS per
  /// container, written even when empty; lists/dicts with a `type_tag` wrapped in
  /// `torch.jit._pickle.restore_type_tag` (or `build_intlist` & co for
  /// List[int|float|bool|Tensor]);
  /// objects as GLOBAL, EMPTY_TUPLE, NEWOBJ, state, BUILD.
  kTorchScript,
  /// CPython's `pickle.Pickler(protocol=2)` (Modules/_pickle.c; what torch.save uses): every
  /// non-atomic value memoized by identity (BINPUT right after it is built); minimal LONG1/LONG4;
  /// single items as APPEND/SETITEM, batches of 1000 otherwise; bytes as `_codecs.encode`,
  /// sets as `__builtin__.set([...])`, OrderedDict as REDUCE + items + BUILD.
  kPython,
};

/// Hooks and choices of a Pickler. Every hook is optional.
struct PTIO_API PicklerOptions {
  Dialect dialect = Dialect::kTorchScript;
  /// kTorchScript only: whether a heap value (not a string, device or storage) gets a BINPUT
  /// after it is written so later references become BINGETs. Default: `use_count() > 1`, PyTorch's
  /// rule. To reproduce a file's memoization, pass the set from `Unpickler::memoized()`.
  std::function<bool(const IValue&)> memoize;
  /// Called for every value first (CPython's `persistent_id`): a returned id is written instead
  /// of the value, followed by BINPERSID.
  std::function<std::optional<IValue>(const IValue&)> persistent_id;
  /// Writes a Tensor (torch.save's `_rebuild_tensor_v2` reduce, the jit exporter's literal
  /// tensors). Without it, a Tensor is Error(kPickleUnsupported). The Pickler adds the memo entry.
  std::function<void(Pickler&, const Tensor&)> write_tensor;
  /// Writes a Storage; without it, Error(kPickleUnsupported).
  std::function<void(Pickler&, const Storage&)> write_storage;
  /// Writes an Object and returns true, or returns false to let the Pickler write it.
  std::function<bool(Pickler&, const ivalue::Object&)> write_object;
  /// Renames class types on output (PyTorch's `type_renamer`, e.g. for mangled names).
  std::function<QualifiedName(const QualifiedName&)> type_renamer;
  /// kTorchScript: write `restore_type_tag` / `build_*list` for lists and dicts with a type_tag
  /// (PyTorch's `tag_aggregates`, true for archives).
  bool tag_aggregates = true;
  /// Whether the Pickler holds a reference to every value it memoizes until the next dump(), so
  /// that no memoized value is freed and its address reused by another while pickling. Only a
  /// caller whose hooks create no temporaries (every value written is part of the object being
  /// dumped, which the caller keeps alive) may turn it off, saving a reference count per value.
  bool keep_memoized = true;
};

/// Writes protocol-2 pickles of IValues. Mirrors `torch::jit::Pickler`
/// (`torch/csrc/jit/serialization/pickler.h`): `dump()` = protocol() + push_ivalue() + stop();
/// the push_* members are public so hooks can write what PyTorch writes for tensors, storages and
/// objects. Output is buffered and handed to the Writer in chunks and at `stop()`.
///
/// Throws Error(kPickleUnsupported) for values the dialect cannot express (a Tensor without
/// `write_tensor`, an Opaque persistent id in a dialect, ...), Error(kLimitExceeded) for values
/// nested deeper than 1000 levels or with a cycle through tuples only, and the Writer's errors.
/// Cycles through lists, dicts and objects are written as CPython does (via the memo) in the
/// kPython dialect, and when memoized in the kTorchScript dialect; otherwise kLimitExceeded.
/// kPython memo: every value gets its BINPUT as in CPython, but only a payload more than one
/// IValue refers to (IValue::use_count() > 1) enters the identity table and can be written again
/// as BINGET; one with a single reference is met once in a tree. A caller pushing one value
/// twice through the building blocks must hold it by two handles.
class PTIO_API Pickler {
 public:
  /// Writes to `out` (borrowed; it must outlive the Pickler).
  explicit Pickler(io::Writer& out, PicklerOptions options = {});
  ~Pickler();
  Pickler(const Pickler&) = delete;
  Pickler& operator=(const Pickler&) = delete;

  /// PROTO 2, `v`, STOP; then flushes to the Writer. May be called again for another pickle on
  /// the same Writer (the memo is reset each time, as for a new `pickle.Pickler`).
  void dump(const IValue& v);

  // ---- the building blocks (PyTorch's Pickler methods of the same names) ----------------------
  void protocol();
  void stop();
  void push_ivalue(const IValue& v);
  void push_opcode(OpCode op) { put_byte(static_cast<std::uint8_t>(op)); }
  void push_none();
  void push_bool(bool b);
  /// Dialect rules: kTorchScript uses LONG1 with 8 bytes beyond int32, kPython minimal LONG1.
  void push_int(std::int64_t n);
  /// LONG1 (or LONG4 beyond 255 bytes) with `twos_complement` little-endian bytes.
  void push_long(std::span<const std::uint8_t> twos_complement);
  void push_double(double d);
  /// BINUNICODE; kTorchScript memoizes by value (BINPUT, later BINGET); kPython writes the
  /// string and a BINPUT without remembering it (use push_ivalue for identity memoization).
  void push_string(std::string_view s);
  /// GLOBAL `module\nname\n` followed by BINPUT, or BINGET when written before (by value).
  /// Returns the global's memo id (a caller writing it again may push_binget() it).
  std::uint32_t push_global(std::string_view module, std::string_view name);
  /// `pid` then BINPERSID.
  void push_persistent_id(const IValue& pid);
  /// BINPUT/LONG_BINPUT with the next memo id; returns the id.
  std::uint32_t push_next_binput();
  void push_binget(std::uint32_t memo_id);
  /// Raw bytes into the output (no framing).
  void write_raw(std::string_view bytes);

  /// Memo by identity, for hooks that memoize what they write (e.g. storages):
  /// the id recorded for `key`, if any, and recording one.
  std::optional<std::uint32_t> memo_find(const void* key) const;
  void memo_record(const void* key, std::uint32_t memo_id);
  /// Sizes the identity memo for about `n` entries before dump() (saves regrowing it for large
  /// values; no effect on the output). Kept across dump() calls.
  void reserve_memo(std::size_t n);

  /// Appends buffered bytes to the Writer.
  void flush();
  const PicklerOptions& options() const noexcept { return opt_; }

 private:
  // kPython: whether `v` can be met again in this pickle, so that it is memoized by identity: a
  // payload more than one IValue refers to, or the Pickler's own 'latin1' str (pushed for every
  // bytes object and held only by the Pickler, one object in CPython's pickle too).
  bool may_recur(const IValue& v) const noexcept {
    return v.use_count() > 1 || v.identity() == latin1_.identity();
  }
  // Starts loading the memo slot push_value() will look up for `v` (IdentityMap::prefetch).
  void prefetch_memo(const IValue& v) const noexcept;
  void push_value(const IValue& v, std::size_t depth);
  void push_impl(const IValue& v, std::size_t depth);
  void ts_list(const ivalue::List& l, std::size_t depth);
  void ts_dict(const ivalue::Dict& d, std::size_t depth);
  void py_list_items(const std::vector<IValue>& items, std::size_t depth);
  void py_dict_items(const std::vector<std::pair<IValue, IValue>>& items, bool exact,
                     std::size_t depth);
  void push_object(const IValue& v, std::size_t depth);
  void push_opaque(const IValue& v, std::size_t depth);
  void push_bytes_value(std::string_view b, bool bytearray, std::size_t depth);
  void push_set_value(const IValue& v, std::size_t depth);
  void push_device(const Device& d);
  void push_tuple_items(const std::vector<IValue>& items, const void* identity, std::size_t depth);
  void py_memoize(const IValue& v);
  std::string_view builtins_module() const;

  // Output bytes gathered for the Writer: room(n) hands out n bytes (n <= kBufferBytes),
  // flushing when the buffer is full.
  static constexpr std::size_t kBufferBytes = std::size_t{64} << 10;
  char* room(std::size_t n) {
    if (kBufferBytes - len_ < n) flush();
    char* p = buf_.get() + len_;
    len_ += n;
    return p;
  }
  void put_byte(std::uint8_t b) { *room(1) = static_cast<char>(b); }
  // `width` bytes of `v`, little-endian.
  void put_le(std::uint64_t v, int width) {
    char* p = room(static_cast<std::size_t>(width));
    if constexpr (std::endian::native == std::endian::little) {
      switch (width) {  // fixed-size copies: one store each
        case 2: return put_fixed<2>(p, v);
        case 4: return put_fixed<4>(p, v);
        case 8: return put_fixed<8>(p, v);
        default: break;
      }
    }
    for (int i = 0; i < width; ++i) p[i] = static_cast<char>((v >> (8 * i)) & 0xff);
  }
  template <int N>
  static void put_fixed(char* p, std::uint64_t v) {
    std::memcpy(p, &v, N);  // the low N bytes on a little-endian host
  }

  io::Writer& out_;
  PicklerOptions opt_;
  std::unique_ptr<char[]> buf_;
  std::size_t len_ = 0;
  std::uint32_t memo_id_ = 0;
  IdentityMap memo_{1024};  // identity memo: payload or hook key -> memo id
  std::vector<IValue> memo_keep_;  // keeps memoized payloads alive so identities stay unique
  std::unordered_map<std::string, std::uint32_t> memo_str_;
  std::unordered_map<std::string, std::uint32_t> memo_global_;
  std::unordered_map<std::string, std::uint32_t> memo_device_;
  IValue latin1_;
  std::size_t depth_ = 0;  // nesting of the value being written (bounds hook re-entry too)  //
                           // CPython shares one 'latin1' string object across bytes reductions
};

/// Pickles `v` into a byte vector (PROTO 2 … STOP).
PTIO_API std::vector<std::byte> pickle_value(const IValue& v, const PicklerOptions& options = {});

}  // namespace ptio::pickle
