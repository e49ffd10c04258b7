// IValue equality and hashing (Python semantics, cycle-safe) and the Dict/Set hash index.
#include <cmath>
#include <cstring>
#include <functional>

#include "core/ivalue_detail.h"
#include "ptio/core/content_equal.h"
#include "ptio/core/ivalue.h"

namespace ptio {

namespace {

using Kind = IValue::Kind;

std::size_t mix(std::uint64_t h) noexcept {
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdULL;
  h ^= h >> 33;
  h *= 0xc4ceb9fe1a85ec53ULL;
  h ^= h >> 33;
  return static_cast<std::size_t>(h);
}

bool is_real_number(Kind k) {
  return k == Kind::Bool || k == Kind::Int || k == Kind::Double;
}

// Exact comparison of an int64 with a double (Python compares int and float exactly).
bool int_eq_double(std::int64_t i, double d) {
  if (!(d >= -9223372036854775808.0 && d < 9223372036854775808.0)) return false;
  if (std::trunc(d) != d) return false;
  return static_cast<std::int64_t>(d) == i;
}

bool real_eq(const IValue& a, const IValue& b) {
  if (a.is_double() && b.is_double()) return a.as_double() == b.as_double();
  if (a.is_double()) return int_eq_double(b.is_bool() ? b.as_bool() : b.as_int(), a.as_double());
  if (b.is_double()) return int_eq_double(a.is_bool() ? a.as_bool() : a.as_int(), b.as_double());
  const std::int64_t x = a.is_bool() ? a.as_bool() : a.as_int();
  const std::int64_t y = b.is_bool() ? b.as_bool() : b.as_int();
  return x == y;
}

// NaN never equals anything (ptio's doubles have no identity to match on), so each NaN gets a
// distinct hash: many NaN keys must not pile into one hash chain (quadratic inserts).
thread_local std::uint64_t t_nan_counter = 0;

std::size_t hash_double(double d) {
  if (std::isnan(d)) return mix(0x7ff8dead00000000ULL + ++t_nan_counter);
  if (d >= -9223372036854775808.0 && d < 9223372036854775808.0 && std::trunc(d) == d)
    return mix(static_cast<std::uint64_t>(static_cast<std::int64_t>(d)));
  std::uint64_t bits;
  std::memcpy(&bits, &d, sizeof bits);
  return mix(bits ^ 0x5bd1e995ULL);
}

// Nesting of eq() calls on this thread, across Comparer instances (a dict lookup inside a
// comparison starts a new Comparer): bounds the C stack whatever the path.
thread_local std::size_t t_eq_depth = 0;
struct EqDepth {
  EqDepth() {
    PTIO_CHECK(t_eq_depth < 2 * detail::kMaxValueNesting, ErrorCode::kLimitExceeded,
               "values nested deeper than ", detail::kMaxValueNesting, " levels");
    ++t_eq_depth;
  }
  ~EqDepth() { --t_eq_depth; }
  EqDepth(const EqDepth&) = delete;
  EqDepth& operator=(const EqDepth&) = delete;
};

bool same_bits(double x, double y) {
  return std::memcmp(&x, &y, sizeof x) == 0;
}

// Python's `==` (content = false), or content_equal's rules (content = true; see its header).
class Comparer {
 public:
  explicit Comparer(bool content = false) : content_(content) {}

  bool eq(const IValue& a, const IValue& b, std::size_t depth) {
    PTIO_CHECK(depth <= detail::kMaxValueNesting, ErrorCode::kLimitExceeded,
               "values nested deeper than ", detail::kMaxValueNesting, " levels");
    EqDepth guard;
    const Kind ka = a.kind(), kb = b.kind();
    if (content_) {
      if (ka != kb) return false;
      if (ka == Kind::Double) return same_bits(a.as_double(), b.as_double());
      if (ka == Kind::Complex)
        return same_bits(a.as_complex().real(), b.as_complex().real()) &&
               same_bits(a.as_complex().imag(), b.as_complex().imag());
      if (ka == Kind::Tensor) return tensor_content_eq(a.as_tensor(), b.as_tensor(), depth);
      if (ka == Kind::Storage) return storage_content_eq(a.as_storage(), b.as_storage());
      if (ka == Kind::Dict && !a.is_same(b)) {
        if (assumed(a, b)) return true;
        Guard g(*this, a, b);
        return dict_in_order_eq(a.as_dict(), b.as_dict(), depth);
      }
    }
    if (is_real_number(ka) && is_real_number(kb)) return real_eq(a, b);
    if (ka == Kind::Complex || kb == Kind::Complex) {
      if (ka == Kind::Complex && kb == Kind::Complex) return a.as_complex() == b.as_complex();
      const IValue& c = ka == Kind::Complex ? a : b;
      const IValue& r = ka == Kind::Complex ? b : a;
      if (!is_real_number(r.kind())) return false;
      return c.as_complex().imag() == 0 && real_eq(IValue(c.as_complex().real()), r);
    }
    if (a.is_bytes() && b.is_bytes()) return a.as_bytes() == b.as_bytes();
    if (a.is_set() && b.is_set()) {
      if (a.is_same(b)) return true;
      const auto& sa = a.as_set();
      const auto& sb = b.as_set();
      if (sa.size() != sb.size()) return false;
      for (const auto& x : sa.items())
        if (!sb.contains(x)) return false;
      return true;
    }
    if (ka != kb) return false;
    if (a.is_heap() && a.is_same(b)) return true;
    switch (ka) {
      case Kind::None:
        return true;
      case Kind::BigInt:
        return a.as_big_int().bytes() == b.as_big_int().bytes();
      case Kind::String:
        return a.as_string() == b.as_string();
      case Kind::Tensor:
        return a.as_tensor().is_same(b.as_tensor());
      case Kind::Storage:
        return a.as_storage().is_same(b.as_storage());
      case Kind::Device:
        return a.as_device() == b.as_device();
      case Kind::Tuple:
        return seq_eq(a.as_tuple().elements(), b.as_tuple().elements(), depth);
      case Kind::List: {
        if (assumed(a, b)) return true;
        Guard g(*this, a, b);
        return seq_eq(a.as_list().elements, b.as_list().elements, depth);
      }
      case Kind::Dict: {
        if (assumed(a, b)) return true;
        Guard g(*this, a, b);
        const auto& da = a.as_dict();
        const auto& db = b.as_dict();
        if (da.size() != db.size()) return false;
        for (const auto& [k, v] : da.items()) {
          const IValue* w = db.find(k);
          if (w == nullptr || !eq(v, *w, depth + 1)) return false;
        }
        return true;
      }
      case Kind::Object: {
        if (assumed(a, b)) return true;
        Guard g(*this, a, b);
        const auto& oa = a.as_object();
        const auto& ob = b.as_object();
        if (!(oa.type == ob.type) || oa.attributes.size() != ob.attributes.size() ||
            oa.has_state != ob.has_state)
          return false;
        for (std::size_t i = 0; i < oa.attributes.size(); ++i)
          if (oa.attributes[i].first != ob.attributes[i].first ||
              !eq(oa.attributes[i].second, ob.attributes[i].second, depth + 1))
            return false;
        return eq(oa.state, ob.state, depth + 1);
      }
      case Kind::Enum: {
        const auto& ea = a.as_enum();
        const auto& eb = b.as_enum();
        return ea.type == eb.type && ea.name == eb.name && eq(ea.value, eb.value, depth + 1);
      }
      case Kind::Opaque: {
        if (assumed(a, b)) return true;
        Guard g(*this, a, b);
        const auto& oa = a.as_opaque();
        const auto& ob = b.as_opaque();
        if (oa.kind != ob.kind || oa.module != ob.module || oa.name != ob.name ||
            oa.applied.size() != ob.applied.size() ||
            !eq(oa.persistent_id, ob.persistent_id, depth + 1))
          return false;
        for (std::size_t i = 0; i < oa.applied.size(); ++i)
          if (oa.applied[i].op != ob.applied[i].op ||
              !eq(oa.applied[i].arg, ob.applied[i].arg, depth + 1))
            return false;
        return true;
      }
      default:
        return false;
    }
  }

 private:
  // Pairs of mutable payloads currently being compared: meeting one again means a cycle, which
  // is taken as equal (the comparison is then decided by the rest of the structure).
  struct Guard {
    Guard(Comparer& c, const IValue& a, const IValue& b) : c_(c) {
      c_.active_.emplace_back(a.identity(), b.identity());
    }
    ~Guard() { c_.active_.pop_back(); }
    Comparer& c_;
  };
  bool assumed(const IValue& a, const IValue& b) const {
    for (const auto& [x, y] : active_)
      if (x == a.identity() && y == b.identity()) return true;
    return false;
  }
  bool seq_eq(const std::vector<IValue>& x, const std::vector<IValue>& y, std::size_t depth) {
    if (x.size() != y.size()) return false;
    for (std::size_t i = 0; i < x.size(); ++i)
      if (!eq(x[i], y[i], depth + 1)) return false;
    return true;
  }
  bool dict_in_order_eq(const ivalue::Dict& x, const ivalue::Dict& y, std::size_t depth) {
    if (x.size() != y.size()) return false;
    auto iy = y.items().begin();
    for (auto ix = x.items().begin(); ix != x.items().end(); ++ix, ++iy)
      if (!eq(ix->first, iy->first, depth + 1) || !eq(ix->second, iy->second, depth + 1))
        return false;
    return true;
  }
  static bool storage_content_eq(const Storage& x, const Storage& y) {
    if (x.defined() != y.defined()) return false;
    if (!x.defined()) return true;
    const auto bx = x.bytes(), by = y.bytes();
    return x.dtype() == y.dtype() && x.device() == y.device() && bx.size() == by.size() &&
           (bx.empty() || std::memcmp(bx.data(), by.data(), bx.size()) == 0);
  }
  bool tensor_content_eq(const Tensor& x, const Tensor& y, std::size_t depth) {
    if (x.defined() != y.defined()) return false;
    if (!x.defined()) return true;
    if (x.dtype() != y.dtype() || x.layout() != y.layout() || !(x.device() == y.device()) ||
        x.sizes() != y.sizes() || x.requires_grad() != y.requires_grad() ||
        x.is_meta() != y.is_meta() || !(x.python_type() == y.python_type()))
      return false;
    // The Python attributes (a state may hold the tensor itself: eq's cycle rule ends that).
    if (!eq(x.python_state(), y.python_state(), depth + 1)) return false;
    if (x.is_sparse()) {
      const auto& cx = x.sparse_components();
      const auto& cy = y.sparse_components();
      if (cx.size() != cy.size()) return false;
      for (std::size_t i = 0; i < cx.size(); ++i)
        if (!eq(IValue(cx[i]), IValue(cy[i]), depth + 1)) return false;
      return true;
    }
    if (x.strides() != y.strides()) return false;
    return x.is_meta() || x.contiguous_bytes() == y.contiguous_bytes();
  }
  bool content_;
  std::vector<std::pair<const void*, const void*>> active_;
};

std::size_t hash_impl(const IValue& v, std::size_t depth);

// The hash of a part of an object, or a constant when that part is unhashable.
std::size_t optional_hash(const IValue& v, std::size_t depth) {
  switch (v.kind()) {
    case Kind::List:
    case Kind::Dict:
    case Kind::Set:
    case Kind::ByteArray:
      return 0x51ed27;
    default:
      break;
  }
  try {
    return hash_impl(v, depth);
  } catch (const Error& e) {
    if (e.code() != ErrorCode::kWrongKind) throw;
    return 0x51ed27;
  }
}

std::size_t hash_impl(const IValue& v, std::size_t depth) {
  PTIO_CHECK(depth <= detail::kMaxValueNesting, ErrorCode::kLimitExceeded,
             "values nested deeper than ", detail::kMaxValueNesting, " levels");
  switch (v.kind()) {
    case Kind::None:
      return 0x9e3779b9u;
    case Kind::Bool:
      return mix(v.as_bool() ? 1 : 0);
    case Kind::Int:
      return mix(static_cast<std::uint64_t>(v.as_int()));
    case Kind::Double:
      return hash_double(v.as_double());
    case Kind::Complex: {
      const auto c = v.as_complex();
      if (std::isnan(c.real()) || std::isnan(c.imag())) return hash_double(c.real() + c.imag());
      if (c.imag() == 0) return hash_double(c.real());
      return hash_double(c.real()) * 31 + hash_double(c.imag());
    }
    case Kind::BigInt: {
      const auto& b = v.as_big_int().bytes();
      return std::hash<std::string_view>{}(
          std::string_view(reinterpret_cast<const char*>(b.data()), b.size()));
    }
    case Kind::String:
      return std::hash<std::string_view>{}(v.as_string());
    case Kind::Bytes:
      return std::hash<std::string_view>{}(v.as_bytes()) ^ 0x2545F491u;
    case Kind::Tuple: {
      std::size_t h = 0x345678;
      for (const auto& e : v.as_tuple().elements()) h = (h ^ hash_impl(e, depth + 1)) * 1000003u;
      return h ^ v.as_tuple().size();
    }
    case Kind::FrozenSet: {
      std::size_t h = 0;  // order-independent
      for (const auto& e : v.as_set().items()) h += mix(hash_impl(e, depth + 1));
      return h;
    }
    case Kind::Tensor:
      return mix(reinterpret_cast<std::uintptr_t>(v.as_tensor().id()));
    case Kind::Storage:
      return mix(reinterpret_cast<std::uintptr_t>(v.as_storage().id()));
    case Kind::Device:
      return std::hash<std::string>{}(v.as_device().str());
    case Kind::Enum:
      return std::hash<std::string>{}(v.as_enum().type.qualified_name()) ^
             std::hash<std::string>{}(v.as_enum().name);
    // Objects and unresolved globals compare structurally, so their hash covers their content
    // (unhashable parts are skipped): equal type names alone would make many distinct keys
    // collide.
    case Kind::Object: {
      const auto& o = v.as_object();
      std::size_t h = std::hash<std::string>{}(o.type.qualified_name());
      for (const auto& [name, x] : o.attributes) h = h * 31 + optional_hash(x, depth + 1);
      return h * 31 + optional_hash(o.state, depth + 1);
    }
    case Kind::Opaque: {
      const auto& o = v.as_opaque();
      std::size_t h = std::hash<std::string>{}(o.qualified_name());
      h = h * 31 + optional_hash(o.persistent_id, depth + 1);
      for (const auto& a : o.applied)
        h = (h * 31 + static_cast<std::size_t>(a.op)) * 31 + optional_hash(a.arg, depth + 1);
      return h;
    }
    case Kind::ByteArray:
    case Kind::List:
    case Kind::Dict:
    case Kind::Set:
      break;
  }
  throw Error(ErrorCode::kWrongKind, detail::concat("unhashable type: '", v.kind_name(), "'"));
}

// ---- hash index shared by Dict and Set --------------------------------------------------------

constexpr std::size_t kLinearMax = 8;

template <typename KeyAt>
std::ptrdiff_t index_find(const detail::KeyIndex& ix, std::size_t h, const IValue& key,
                          KeyAt key_at) {
  if (ix.slots.empty()) {
    for (std::size_t i = 0; i < ix.hashes.size(); ++i)
      if (ix.hashes[i] == h && key_at(i) == key) return static_cast<std::ptrdiff_t>(i);
    return -1;
  }
  const std::size_t mask = ix.slots.size() - 1;
  for (std::size_t pos = mix(h) & mask;; pos = (pos + 1) & mask) {
    const std::uint32_t s = ix.slots[pos];
    if (s == 0) return -1;
    if (ix.hashes[s - 1] == h && key_at(s - 1) == key) return static_cast<std::ptrdiff_t>(s - 1);
  }
}

void index_place(detail::KeyIndex& ix, std::size_t i) {
  const std::size_t mask = ix.slots.size() - 1;
  std::size_t pos = mix(ix.hashes[i]) & mask;
  while (ix.slots[pos] != 0) pos = (pos + 1) & mask;
  ix.slots[pos] = static_cast<std::uint32_t>(i + 1);
}

// Records the hash of the entry just appended (index hashes.size()) and keeps the table sized
// at least twice the entry count.
void index_add(detail::KeyIndex& ix, std::size_t h) {
  ix.hashes.push_back(h);
  const std::size_t n = ix.hashes.size();
  if (n <= kLinearMax) return;
  if (ix.slots.size() < 2 * n) {
    std::size_t cap = 32;
    while (cap < 4 * n) cap *= 2;
    ix.slots.assign(cap, 0);
    for (std::size_t i = 0; i < n; ++i) index_place(ix, i);
  } else {
    index_place(ix, n - 1);
  }
}

void index_reserve(detail::KeyIndex& ix, std::size_t n) {
  ix.hashes.reserve(n);
}

}  // namespace

bool operator==(const IValue& a, const IValue& b) {
  Comparer c;
  return c.eq(a, b, 0);
}

bool content_equal(const IValue& a, const IValue& b) {
  Comparer c(true);
  return c.eq(a, b, 0);
}

std::size_t IValue::hash() const {
  return hash_impl(*this, 0);
}

namespace ivalue {

Dict::Dict() = default;
Dict::~Dict() = default;

const IValue* Dict::find(const IValue& key) const {
  const std::size_t h = key.hash();
  const auto i = index_find(index_, h, key,
                            [this](std::size_t j) -> const IValue& { return entries_[j].first; });
  return i < 0 ? nullptr : &entries_[static_cast<std::size_t>(i)].second;
}
IValue* Dict::find(const IValue& key) {
  return const_cast<IValue*>(static_cast<const Dict*>(this)->find(key));
}
const IValue* Dict::find(std::string_view key) const {
  auto is_key = [&](std::size_t j) {
    return entries_[j].first.is_string() && entries_[j].first.as_string() == key;
  };
  if (index_.slots.empty()) {
    for (std::size_t j = 0; j < entries_.size(); ++j)
      if (is_key(j)) return &entries_[j].second;
    return nullptr;
  }
  // Same probe sequence as index_find, with the hash a String key gets from hash_impl.
  const std::size_t h = std::hash<std::string_view>{}(key);
  const std::size_t mask = index_.slots.size() - 1;
  for (std::size_t pos = mix(h) & mask;; pos = (pos + 1) & mask) {
    const std::uint32_t slot = index_.slots[pos];
    if (slot == 0) return nullptr;
    if (index_.hashes[slot - 1] == h && is_key(slot - 1)) return &entries_[slot - 1].second;
  }
}
void Dict::insert_or_assign(IValue key, IValue value) {
  const std::size_t h = key.hash();
  const auto i = index_find(index_, h, key,
                            [this](std::size_t j) -> const IValue& { return entries_[j].first; });
  if (i >= 0) {
    entries_[static_cast<std::size_t>(i)].second = std::move(value);
    return;
  }
  entries_.emplace_back(std::move(key), std::move(value));
  index_add(index_, h);
}
void Dict::reserve(std::size_t n) {
  entries_.reserve(n);
  index_reserve(index_, n);
}
void Dict::clear() noexcept {
  entries_.clear();
  index_ = {};
}

Set::Set() = default;
Set::~Set() = default;
bool Set::contains(const IValue& item) const {
  return index_find(index_, item.hash(), item,
                    [this](std::size_t j) -> const IValue& { return items_[j]; }) >= 0;
}
void Set::insert(IValue item) {
  const std::size_t h = item.hash();
  if (index_find(index_, h, item, [this](std::size_t j) -> const IValue& { return items_[j]; }) >=
      0)
    return;
  items_.push_back(std::move(item));
  index_add(index_, h);
}
void Set::clear() noexcept {
  items_.clear();
  index_ = {};
}

}  // namespace ivalue

}  // namespace ptio
