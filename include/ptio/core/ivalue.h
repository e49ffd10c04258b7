// IValue: the dynamically typed value the pickle layer builds and writes (c10::IValue's role).
#pragma once

#include <atomic>
#include <complex>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>
#include <vector>

#include "ptio/core/device.h"
#include "ptio/core/qualified_name.h"
#include "ptio/core/storage.h"
#include "ptio/core/tensor.h"
#include "ptio/error.h"
#include "ptio/export.h"

namespace ptio {

class IValue;

namespace detail {

/// Base of every heap payload of an IValue: an intrusive reference count (one allocation per
/// value) and a virtual destructor. Payloads are destroyed iteratively (never recursively), so
/// dropping a 10^6-deep nested list does not exhaust the C stack.
class PTIO_API HeapObject {
 public:
  HeapObject() = default;
  HeapObject(const HeapObject&) = delete;
  HeapObject& operator=(const HeapObject&) = delete;
  virtual ~HeapObject();
  /// Number of IValues referring to this payload (c10's `use_count()`).
  std::uint32_t use_count() const noexcept { return refs_.load(std::memory_order_relaxed); }

 private:
  friend class ptio::IValue;
  mutable std::atomic<std::uint32_t> refs_{0};
};

/// Hash index over the keys of an insertion-ordered container (Dict, Set): an open-addressing
/// table of positions, built only once the container has more than 8 entries.
struct PTIO_API KeyIndex {
  std::vector<std::size_t> hashes;   ///< hash of entry i (always kept)
  std::vector<std::uint32_t> slots;  ///< 0 = empty, else entry index + 1; empty until size > 8
};

}  // namespace detail

namespace ivalue {
class BigInt;
class Tuple;
class List;
class Dict;
class Set;
class Object;
class Enum;
class Opaque;
}  // namespace ivalue

/// Options of `to_repr` (the Python-repr-like printer).
struct PTIO_API ReprOptions {
  /// Containers nested deeper than this print as `...`.
  std::size_t max_depth = 1000;
  /// Containers with more items print the first `max_items` then `...` (0 = all).
  std::size_t max_items = 0;
  /// Bytes of output (UTF-8) beyond which `to_repr` throws Error(kLimitExceeded) naming this
  /// limit (checked before each value is printed, so the output may pass it by one scalar:
  /// a string or a tensor summary). Default 256 MiB; SIZE_MAX for none.
  std::size_t max_output_bytes = std::size_t{256} << 20;
};

/// A dynamically typed value: mirrors `c10::IValue` (TorchScript values) extended with what
/// Python pickles can hold (BigInt, Bytes, Set, Opaque). 16 bytes: scalars inline, everything
/// else an intrusively counted shared payload.
///
/// Equality (`==`) follows Python: numbers compare by value across Bool/Int/Double/Complex
/// (`1 == 1.0 == True`), bytes == bytearray, set == frozenset; Tensor and Storage compare by
/// identity; Object, Enum and Opaque compare structurally. Cycles (a list appended into itself
/// through the memo) are allowed: comparison, hashing and printing terminate on them. Values
/// with cycles are never freed unless `break_cycles()` is called (there is no garbage
/// collector). Nesting beyond 1000 levels makes `==` and `hash()` throw Error(kLimitExceeded).
class PTIO_API IValue {
 public:
  enum class Kind : std::uint8_t {
    None,
    Bool,
    Int,
    Double,  // inline
    BigInt,
    Complex,
    String,
    Bytes,
    ByteArray,
    Tuple,
    List,
    Dict,
    Set,
    FrozenSet,
    Tensor,
    Storage,
    Device,
    Enum,
    Object,
    Opaque,
  };

  IValue() noexcept : kind_(Kind::None) { u_.i = 0; }
  IValue(bool v) noexcept : kind_(Kind::Bool) {
    u_.i = 0;
    u_.b = v;
  }
  /// Any integer type but bool; unsigned values above INT64_MAX become BigInt.
  template <typename T,
            std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
  IValue(T v) : kind_(Kind::Int) {
    u_.i = static_cast<std::int64_t>(v);
    if constexpr (std::is_unsigned_v<T> && sizeof(T) >= sizeof(std::int64_t)) {
      if (v > static_cast<T>(INT64_MAX)) {
        std::uint8_t b[9] = {};
        for (int k = 0; k < 8; ++k)
          b[k] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(v) >> (8 * k));
        *this = from_long_bytes(b);
      }
    }
  }
  IValue(double v) noexcept : kind_(Kind::Double) { u_.d = v; }
  IValue(std::string v);
  IValue(std::string_view v);
  IValue(const char* v) : IValue(std::string_view(v)) {}
  IValue(Tensor t);
  IValue(Storage s);
  IValue(Device d);
  IValue(std::complex<double> c);

  /// An int from pickle LONG bytes (little-endian two's complement): Int when it fits int64,
  /// else BigInt.
  static IValue from_long_bytes(std::span<const std::uint8_t> twos_complement);
  static IValue bytes(std::string_view data);
  static IValue bytearray(std::string_view data);
  static IValue tuple(std::vector<IValue> elements);
  static IValue list(std::vector<IValue> elements = {});
  static IValue dict();
  static IValue set();
  static IValue frozenset();
  static IValue object(QualifiedName type);
  static IValue enum_value(QualifiedName type, std::string name, IValue value);
  static IValue opaque(std::string module, std::string name);
  static IValue persistent_id(IValue pid);

  IValue(const IValue& o) noexcept : kind_(o.kind_), u_(o.u_) { retain(); }
  IValue(IValue&& o) noexcept : kind_(o.kind_), u_(o.u_) {
    o.kind_ = Kind::None;
    o.u_.i = 0;
  }
  IValue& operator=(const IValue& o) noexcept {
    IValue(o).swap(*this);
    return *this;
  }
  IValue& operator=(IValue&& o) noexcept {
    IValue(std::move(o)).swap(*this);
    return *this;
  }
  ~IValue() {
    if (is_heap() && u_.p->refs_.fetch_sub(1, std::memory_order_acq_rel) == 1) destroy(u_.p);
  }
  void swap(IValue& o) noexcept {
    std::swap(kind_, o.kind_);
    std::swap(u_, o.u_);
  }

  Kind kind() const noexcept { return kind_; }
  /// Python's type name of the kind ("int", "list", "Tensor", ...), for messages.
  static std::string_view kind_name(Kind k) noexcept;
  std::string_view kind_name() const noexcept { return kind_name(kind_); }

  bool is_none() const noexcept { return kind_ == Kind::None; }
  bool is_bool() const noexcept { return kind_ == Kind::Bool; }
  bool is_int() const noexcept { return kind_ == Kind::Int; }
  bool is_double() const noexcept { return kind_ == Kind::Double; }
  bool is_big_int() const noexcept { return kind_ == Kind::BigInt; }
  bool is_complex() const noexcept { return kind_ == Kind::Complex; }
  bool is_string() const noexcept { return kind_ == Kind::String; }
  /// Bytes or ByteArray.
  bool is_bytes() const noexcept { return kind_ == Kind::Bytes || kind_ == Kind::ByteArray; }
  bool is_tuple() const noexcept { return kind_ == Kind::Tuple; }
  bool is_list() const noexcept { return kind_ == Kind::List; }
  bool is_dict() const noexcept { return kind_ == Kind::Dict; }
  /// Set or FrozenSet.
  bool is_set() const noexcept { return kind_ == Kind::Set || kind_ == Kind::FrozenSet; }
  bool is_tensor() const noexcept { return kind_ == Kind::Tensor; }
  bool is_storage() const noexcept { return kind_ == Kind::Storage; }
  bool is_device() const noexcept { return kind_ == Kind::Device; }
  bool is_enum() const noexcept { return kind_ == Kind::Enum; }
  bool is_object() const noexcept { return kind_ == Kind::Object; }
  bool is_opaque() const noexcept { return kind_ == Kind::Opaque; }
  /// True for kinds held in a shared payload (everything but None/Bool/Int/Double).
  bool is_heap() const noexcept { return kind_ > Kind::Double; }

  // Accessors: each throws Error(kWrongKind) naming both kinds when called on another kind.
  bool as_bool() const;
  std::int64_t as_int() const;
  /// Double; also accepts Int and Bool (Python's implicit widening), not BigInt.
  double as_double() const;
  const ivalue::BigInt& as_big_int() const;
  std::complex<double> as_complex() const;
  const std::string& as_string() const;
  /// The bytes of a Bytes or ByteArray value (borrowed; valid while the payload lives).
  std::string_view as_bytes() const;
  const ivalue::Tuple& as_tuple() const;
  /// Shared payloads: mutating them mutates every reference (hence non-const from const).
  ivalue::List& as_list() const;
  ivalue::Dict& as_dict() const;
  ivalue::Set& as_set() const;
  ivalue::Object& as_object() const;
  ivalue::Enum& as_enum() const;
  ivalue::Opaque& as_opaque() const;
  const Tensor& as_tensor() const;
  const Storage& as_storage() const;
  const Device& as_device() const;

  /// Python's `is`: same payload (heap kinds) or same kind and bits (inline kinds).
  bool is_same(const IValue& o) const noexcept;
  /// The payload's address (stable identity for memo tables), nullptr for inline kinds.
  const void* identity() const noexcept { return is_heap() ? u_.p : nullptr; }
  /// References to the payload (0 for inline kinds); PyTorch's pickler memoizes values whose
  /// use count is above 1.
  std::uint32_t use_count() const noexcept { return is_heap() ? u_.p->use_count() : 0; }

  /// Python's hash: consistent with `==`. Throws Error(kWrongKind) for unhashable kinds (list,
  /// dict, set, bytearray, or a tuple holding one), Error(kLimitExceeded) when nested > 1000.
  std::size_t hash() const;
  /// Structural equality as described on the class. Throws Error(kLimitExceeded) when nested
  /// deeper than 1000 levels.
  friend PTIO_API bool operator==(const IValue& a, const IValue& b);

  /// Internal: the payload pointer (nullptr for inline kinds).
  detail::HeapObject* payload() const noexcept { return is_heap() ? u_.p : nullptr; }

 private:
  IValue(Kind k, detail::HeapObject* p) noexcept : kind_(k) {
    u_.p = p;
    p->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  void retain() const noexcept {
    if (is_heap()) u_.p->refs_.fetch_add(1, std::memory_order_relaxed);
  }
  /// Deletes a payload whose count reached zero (iteratively, see HeapObject).
  static void destroy(detail::HeapObject* p) noexcept;
  [[noreturn]] void wrong_kind(Kind wanted) const;
  template <typename T>
  T& payload_as(Kind k) const {
    if (kind_ != k) [[unlikely]]
      wrong_kind(k);
    return *static_cast<T*>(u_.p);
  }

  Kind kind_;
  union {
    bool b;
    std::int64_t i;
    double d;
    detail::HeapObject* p;
  } u_;
};

/// Payload types of the container and object kinds. They are shared: every IValue copy refers to
/// the same payload, so a list mutated through one reference is mutated for all (Python's
/// semantics, needed for the pickle memo). Mirrors `c10::ivalue::Tuple`, `c10::List`,
/// `c10::Dict`, `c10::ivalue::Object`, `c10::ivalue::EnumHolder`.
namespace ivalue {

/// An integer that does not fit int64 (pickle LONG1/LONG4): every digit is kept.
class PTIO_API BigInt final : public detail::HeapObject {
 public:
  /// `twos_complement` is little-endian two's complement (pickle's LONG encoding); it is
  /// normalised to its minimal length.
  explicit BigInt(std::vector<std::uint8_t> twos_complement);
  /// Minimal little-endian two's complement bytes (what LONG1/LONG4 carry).
  const std::vector<std::uint8_t>& bytes() const noexcept { return bytes_; }
  bool negative() const noexcept { return !bytes_.empty() && (bytes_.back() & 0x80); }
  /// Decimal text ("-123..."); magnitudes over 1024 bytes are given in hexadecimal ("0x..."
  /// / "-0x...") to keep the conversion linear in time.
  std::string to_string() const;
  /// The nearest double (may be inf).
  double to_double() const noexcept;

 private:
  std::vector<std::uint8_t> bytes_;
};

/// A tuple: immutable after construction.
class PTIO_API Tuple final : public detail::HeapObject {
 public:
  explicit Tuple(std::vector<IValue> elements);
  const std::vector<IValue>& elements() const noexcept { return elements_; }
  std::size_t size() const noexcept { return elements_.size(); }

 private:
  std::vector<IValue> elements_;
};

/// A list. `type_tag` is the TorchScript annotation a `torch.jit._pickle` global gave it
/// ("List[int]" from build_intlist, "List[str]" from restore_type_tag); empty for plain lists.
class PTIO_API List final : public detail::HeapObject {
 public:
  List() = default;
  explicit List(std::vector<IValue> elements);
  std::vector<IValue> elements;
  std::string type_tag;
  std::size_t size() const noexcept { return elements.size(); }
};

/// An insertion-ordered dict with any hashable key (Python `dict` / `collections.OrderedDict`).
class PTIO_API Dict final : public detail::HeapObject {
 public:
  using Entry = std::pair<IValue, IValue>;
  Dict();
  ~Dict() override;
  /// Entries in insertion order.
  const std::vector<Entry>& items() const noexcept { return entries_; }
  std::size_t size() const noexcept { return entries_.size(); }
  bool empty() const noexcept { return entries_.empty(); }
  /// The value for `key`, or nullptr. Throws Error(kWrongKind) for an unhashable key.
  const IValue* find(const IValue& key) const;
  IValue* find(const IValue& key);
  /// The value for a string key, or nullptr. (The const char* and std::string overloads make
  /// `find(name)` unambiguous: a std::string converts to both IValue and std::string_view.)
  const IValue* find(std::string_view key) const;
  const IValue* find(const char* key) const { return find(std::string_view(key)); }
  const IValue* find(const std::string& key) const { return find(std::string_view(key)); }
  IValue* find(std::string_view key) {
    return const_cast<IValue*>(static_cast<const Dict*>(this)->find(key));
  }
  IValue* find(const char* key) { return find(std::string_view(key)); }
  IValue* find(const std::string& key) { return find(std::string_view(key)); }
  /// `d[key] = value`: replaces the value of an existing key in place (keeping its position) or
  /// appends. Throws Error(kWrongKind) for an unhashable key (list, dict, set, bytearray).
  void insert_or_assign(IValue key, IValue value);
  void reserve(std::size_t n);
  /// Removes every entry.
  void clear() noexcept;

  /// TorchScript annotation from `restore_type_tag` ("Dict[str, int]"); empty otherwise.
  std::string type_tag;
  /// True when the file built it as `collections.OrderedDict` (state_dicts are).
  bool ordered_dict = false;
  /// State a BUILD applied to it (an OrderedDict's `__dict__`, e.g. `{'_metadata': ...}` of an
  /// nn.Module state_dict); None when there was none.
  IValue build_state;

 private:
  std::vector<Entry> entries_;
  detail::KeyIndex index_;
};

/// A set or frozenset in insertion order (Python does not keep order; ptio keeps file order).
class PTIO_API Set final : public detail::HeapObject {
 public:
  Set();
  ~Set() override;
  const std::vector<IValue>& items() const noexcept { return items_; }
  std::size_t size() const noexcept { return items_.size(); }
  /// Throws Error(kWrongKind) for an unhashable item.
  bool contains(const IValue& item) const;
  /// Adds `item` unless an equal item is present. Throws Error(kWrongKind) when unhashable.
  void insert(IValue item);
  /// Removes every item.
  void clear() noexcept;

 private:
  std::vector<IValue> items_;
  detail::KeyIndex index_;
};

/// An instance of a class the resolver knew (a TorchScript class/module, `__torch__.*`):
/// ordered attributes (BUILD with a dict, the TorchScript default) or an opaque `__setstate__`
/// state. Mirrors `c10::ivalue::Object` (whose slots are in class order).
class PTIO_API Object final : public detail::HeapObject {
 public:
  explicit Object(QualifiedName type);
  ~Object() override;
  QualifiedName type;
  std::vector<std::pair<std::string, IValue>> attributes;
  /// The state when BUILD gave a non-dict state (`__getstate__`/`__setstate__` classes).
  IValue state;
  bool has_state = false;
  /// The attribute `name`, or nullptr.
  const IValue* attribute(std::string_view name) const noexcept;
  /// Sets (or appends) attribute `name`.
  void set_attribute(std::string_view name, IValue value);
};

/// A member of a TorchScript enum (`c10::ivalue::EnumHolder`).
class PTIO_API Enum final : public detail::HeapObject {
 public:
  Enum(QualifiedName type, std::string name, IValue value);
  ~Enum() override;
  QualifiedName type;
  std::string name;
  IValue value;
};

/// What an Opaque value went through after its GLOBAL pushed it.
enum class Op : std::uint8_t {
  kReduce,    ///< REDUCE (a call): `arg` is the argument tuple
  kNewObj,    ///< NEWOBJ (`cls.__new__(cls, *arg)`): `arg` is the argument tuple
  kNewObjEx,  ///< NEWOBJ_EX: `arg` is the tuple (args, kwargs)
  kBuild,     ///< BUILD (`__setstate__`): `arg` is the state
  kAppend,    ///< APPEND/APPENDS onto it: `arg` is one item
  kSetItem,   ///< SETITEM/SETITEMS onto it: `arg` is a 2-tuple (key, value)
  kAddItem,   ///< ADDITEMS onto it: `arg` is one item
};

/// One step applied to an Opaque value.
struct PTIO_API Application {
  Op op;
  IValue arg;
};

/// An unresolved global (module, name) with everything applied to it, kept as a tree so nothing
/// in the file is lost (inspection policy: `ptio show`, `ptio scan`). A persistent id that no
/// callback handled is an Opaque of kind kPersistentId holding the id.
class PTIO_API Opaque final : public detail::HeapObject {
 public:
  enum class Kind : std::uint8_t { kGlobal, kPersistentId };
  Opaque(std::string module, std::string name);
  ~Opaque() override;
  Kind kind = Kind::kGlobal;
  std::string module;
  std::string name;
  /// For kPersistentId: the id (what BINPERSID/PERSID carried).
  IValue persistent_id;
  std::vector<Application> applied;
  /// `module + "." + name`.
  std::string qualified_name() const;
  /// Internal: the resolver handler that GLOBAL found (callable globals); not for callers.
  std::shared_ptr<const void> handler;
};

}  // namespace ivalue

/// Python's `repr()` of `v`, with tensors summarised as `tensor(float32, [2, 3])` (plus
/// `python_type=CLASS` and `python_state=REPR` for a subclass or a tensor with attributes: see
/// Tensor::python_type, python_state; the state prints one level deeper) and unresolved
/// globals as `module.name(args)`; class, attribute and global names (which a file sets,
/// unquoted) go through ptio::printable (control bytes and invalid UTF-8 as `\xNN`). Cycles print
/// `[...]` / `{...}` like Python (`...` in an OrderedDict). A container (tuple, list, dict, set,
/// object, enum, global...) reached more than once by identity (pickle's memo: BINGET of an already
/// built value), other than through a cycle, is printed in full at its first place prefixed `&N `
/// and as `*N` at every later place (YAML's anchors and aliases, as PyYAML dumps shared objects; N
/// counts from 1 in output order), so the output grows with the number of distinct values, never
/// with the number of paths: `d = {'t': 1}; {'a': d, 'b': d}` prints `{'a': &1 {'t': 1}, 'b': *1}`.
/// Values without shared containers print exactly as Python's repr (tensors and strings are never
/// labelled: tensors sharing a storage, or one tensor reached twice, print in full each time). Deep
/// values print `...` past `options.max_depth` (at most 1000). Throws Error(kLimitExceeded)
/// when the output would pass `options.max_output_bytes`; nothing else but std::bad_alloc.
PTIO_API std::string to_repr(const IValue& v, const ReprOptions& options = {});

/// Python's float repr (shortest round-trip digits: "0.1", "1e+100", "-0.0", "nan", "inf").
PTIO_API std::string float_repr(double d);

/// Drops every reference held by the mutable containers and objects reachable from `v` (lists,
/// dicts, sets, objects, opaque values, tensors' python_state()), so that cyclic values can be
/// freed. `v` is unusable as data afterwards. Iterative; safe on any depth and on cycles.
PTIO_API void break_cycles(IValue& v) noexcept;

/// Hash functor for unordered containers keyed by IValue.
struct IValueHash {
  std::size_t operator()(const IValue& v) const { return v.hash(); }
};

}  // namespace ptio
