// IValue: construction, reference counting with iterative destruction, accessors, payload types.
#include "ptio/core/ivalue.h"

#include <cmath>
#include <cstring>
#include <unordered_set>

#include "core/ivalue_detail.h"

namespace ptio {

namespace detail {

HeapObject::~HeapObject() = default;

namespace {
// Payloads whose count dropped to zero while another payload was being destroyed: deleting them
// from a loop instead of from the parent's destructor keeps destruction iterative. The first
// entries live on the stack: dropping a small tuple (an unpickler temporary) then allocates
// nothing; a large or deep value spills into the vector.
struct PendingDeletes {
  static constexpr std::size_t kInline = 32;
  HeapObject* inline_[kInline];
  std::size_t n = 0;
  std::vector<HeapObject*> spill;
  void push(HeapObject* p) {
    if (n < kInline)
      inline_[n++] = p;
    else
      spill.push_back(p);
  }
  HeapObject* pop() noexcept {
    if (!spill.empty()) {
      HeapObject* q = spill.back();
      spill.pop_back();
      return q;
    }
    return n > 0 ? inline_[--n] : nullptr;
  }
};
thread_local PendingDeletes* t_pending = nullptr;

struct TensorHolder final : HeapObject {
  explicit TensorHolder(Tensor t) : value(std::move(t)) {}
  Tensor value;
};
struct StorageHolder final : HeapObject {
  explicit StorageHolder(Storage s) : value(std::move(s)) {}
  Storage value;
};
struct DeviceHolder final : HeapObject {
  explicit DeviceHolder(Device d) : value(std::move(d)) {}
  Device value;
};
struct ComplexHolder final : HeapObject {
  explicit ComplexHolder(std::complex<double> c) : value(c) {}
  std::complex<double> value;
};
}  // namespace

const std::string& string_payload(const HeapObject* p) noexcept {
  return static_cast<const StringHolder*>(p)->value;
}

}  // namespace detail

using detail::HeapObject;

// ---- IValue --------------------------------------------------------------------------------

IValue::IValue(std::string v) : IValue(Kind::String, new detail::StringHolder(std::move(v))) {}
IValue::IValue(std::string_view v)
    : IValue(Kind::String, new detail::StringHolder(std::string(v))) {}
IValue::IValue(Tensor t) : IValue(Kind::Tensor, new detail::TensorHolder(std::move(t))) {}
IValue::IValue(Storage s) : IValue(Kind::Storage, new detail::StorageHolder(std::move(s))) {}
IValue::IValue(Device d) : IValue(Kind::Device, new detail::DeviceHolder(std::move(d))) {}
IValue::IValue(std::complex<double> c) : IValue(Kind::Complex, new detail::ComplexHolder(c)) {}

IValue IValue::from_long_bytes(std::span<const std::uint8_t> b) {
  if (b.size() <= 8) {
    std::uint64_t u = 0;
    for (std::size_t i = 0; i < b.size(); ++i) u |= static_cast<std::uint64_t>(b[i]) << (8 * i);
    if (!b.empty() && b.size() < 8 && (b.back() & 0x80)) u |= ~std::uint64_t{0} << (8 * b.size());
    return IValue(static_cast<std::int64_t>(u));
  }
  auto big = new ivalue::BigInt(std::vector<std::uint8_t>(b.begin(), b.end()));
  if (big->bytes().size() <= 8) {  // it had redundant sign bytes
    std::vector<std::uint8_t> copy = big->bytes();
    delete big;
    return from_long_bytes(copy);
  }
  return IValue(Kind::BigInt, big);
}

IValue IValue::bytes(std::string_view data) {
  return IValue(Kind::Bytes, new detail::StringHolder(std::string(data)));
}
IValue IValue::bytearray(std::string_view data) {
  return IValue(Kind::ByteArray, new detail::StringHolder(std::string(data)));
}
IValue IValue::tuple(std::vector<IValue> e) {
  return IValue(Kind::Tuple, new ivalue::Tuple(std::move(e)));
}
IValue IValue::list(std::vector<IValue> e) {
  return IValue(Kind::List, new ivalue::List(std::move(e)));
}
IValue IValue::dict() {
  return IValue(Kind::Dict, new ivalue::Dict());
}
IValue IValue::set() {
  return IValue(Kind::Set, new ivalue::Set());
}
IValue IValue::frozenset() {
  return IValue(Kind::FrozenSet, new ivalue::Set());
}
IValue IValue::object(QualifiedName type) {
  return IValue(Kind::Object, new ivalue::Object(std::move(type)));
}
IValue IValue::enum_value(QualifiedName type, std::string name, IValue value) {
  return IValue(Kind::Enum, new ivalue::Enum(std::move(type), std::move(name), std::move(value)));
}
IValue IValue::opaque(std::string module, std::string name) {
  return IValue(Kind::Opaque, new ivalue::Opaque(std::move(module), std::move(name)));
}
IValue IValue::persistent_id(IValue pid) {
  auto* o = new ivalue::Opaque({}, {});
  IValue v(Kind::Opaque, o);
  o->kind = ivalue::Opaque::Kind::kPersistentId;
  o->persistent_id = std::move(pid);
  return v;
}

void IValue::destroy(HeapObject* p) noexcept {
  if (detail::t_pending != nullptr) {
    detail::t_pending->push(p);
    return;
  }
  detail::PendingDeletes pending;
  detail::t_pending = &pending;
  delete p;
  while (HeapObject* q = pending.pop()) delete q;
  detail::t_pending = nullptr;
}

std::string_view IValue::kind_name(Kind k) noexcept {
  switch (k) {
    case Kind::None:
      return "NoneType";
    case Kind::Bool:
      return "bool";
    case Kind::Int:
      return "int";
    case Kind::Double:
      return "float";
    case Kind::BigInt:
      return "int";
    case Kind::Complex:
      return "complex";
    case Kind::String:
      return "str";
    case Kind::Bytes:
      return "bytes";
    case Kind::ByteArray:
      return "bytearray";
    case Kind::Tuple:
      return "tuple";
    case Kind::List:
      return "list";
    case Kind::Dict:
      return "dict";
    case Kind::Set:
      return "set";
    case Kind::FrozenSet:
      return "frozenset";
    case Kind::Tensor:
      return "Tensor";
    case Kind::Storage:
      return "Storage";
    case Kind::Device:
      return "device";
    case Kind::Enum:
      return "Enum";
    case Kind::Object:
      return "object";
    case Kind::Opaque:
      return "global";
  }
  return "?";
}

void IValue::wrong_kind(Kind wanted) const {
  throw Error(ErrorCode::kWrongKind, detail::concat("expected a value of type ", kind_name(wanted),
                                                    ", found ", kind_name(kind_)));
}

bool IValue::as_bool() const {
  if (kind_ != Kind::Bool) wrong_kind(Kind::Bool);
  return u_.b;
}
std::int64_t IValue::as_int() const {
  if (kind_ != Kind::Int) wrong_kind(Kind::Int);
  return u_.i;
}
double IValue::as_double() const {
  if (kind_ == Kind::Double) return u_.d;
  if (kind_ == Kind::Int) return static_cast<double>(u_.i);
  if (kind_ == Kind::Bool) return u_.b ? 1.0 : 0.0;
  wrong_kind(Kind::Double);
}
const ivalue::BigInt& IValue::as_big_int() const {
  return payload_as<ivalue::BigInt>(Kind::BigInt);
}
std::complex<double> IValue::as_complex() const {
  return payload_as<detail::ComplexHolder>(Kind::Complex).value;
}
const std::string& IValue::as_string() const {
  return payload_as<detail::StringHolder>(Kind::String).value;
}
std::string_view IValue::as_bytes() const {
  if (kind_ == Kind::ByteArray) return static_cast<detail::StringHolder*>(u_.p)->value;
  return payload_as<detail::StringHolder>(Kind::Bytes).value;
}
const ivalue::Tuple& IValue::as_tuple() const {
  return payload_as<ivalue::Tuple>(Kind::Tuple);
}
ivalue::List& IValue::as_list() const {
  return payload_as<ivalue::List>(Kind::List);
}
ivalue::Dict& IValue::as_dict() const {
  return payload_as<ivalue::Dict>(Kind::Dict);
}
ivalue::Set& IValue::as_set() const {
  if (kind_ == Kind::FrozenSet) return *static_cast<ivalue::Set*>(u_.p);
  return payload_as<ivalue::Set>(Kind::Set);
}
ivalue::Object& IValue::as_object() const {
  return payload_as<ivalue::Object>(Kind::Object);
}
ivalue::Enum& IValue::as_enum() const {
  return payload_as<ivalue::Enum>(Kind::Enum);
}
ivalue::Opaque& IValue::as_opaque() const {
  return payload_as<ivalue::Opaque>(Kind::Opaque);
}
const Tensor& IValue::as_tensor() const {
  return payload_as<detail::TensorHolder>(Kind::Tensor).value;
}
const Storage& IValue::as_storage() const {
  return payload_as<detail::StorageHolder>(Kind::Storage).value;
}
const Device& IValue::as_device() const {
  return payload_as<detail::DeviceHolder>(Kind::Device).value;
}

bool IValue::is_same(const IValue& o) const noexcept {
  if (kind_ != o.kind_) return false;
  if (is_heap()) return u_.p == o.u_.p;
  return std::memcmp(&u_, &o.u_, sizeof u_) == 0;
}

// ---- payloads ------------------------------------------------------------------------------

namespace ivalue {

BigInt::BigInt(std::vector<std::uint8_t> b) : bytes_(std::move(b)) {
  // Drop redundant sign-extension bytes: 0x00 above a byte with a clear top bit, 0xff above a
  // byte with a set top bit.
  while (bytes_.size() > 1) {
    const std::uint8_t top = bytes_.back(), next = bytes_[bytes_.size() - 2];
    if ((top == 0x00 && !(next & 0x80)) || (top == 0xff && (next & 0x80)))
      bytes_.pop_back();
    else
      break;
  }
}

std::string BigInt::to_string() const {
  // Magnitude, little-endian.
  std::vector<std::uint8_t> mag = bytes_;
  const bool neg = negative();
  if (neg) {  // two's complement negate
    unsigned carry = 1;
    for (auto& byte : mag) {
      const unsigned v = static_cast<std::uint8_t>(~byte) + carry;
      byte = static_cast<std::uint8_t>(v);
      carry = v >> 8;
    }
  }
  while (!mag.empty() && mag.back() == 0) mag.pop_back();
  if (mag.empty()) return "0";
  std::string out;
  if (mag.size() > 1024) {
    static constexpr char kHex[] = "0123456789abcdef";
    for (auto it = mag.rbegin(); it != mag.rend(); ++it) {
      out.push_back(kHex[*it >> 4]);
      out.push_back(kHex[*it & 15]);
    }
    const auto nz = out.find_first_not_of('0');
    return (neg ? "-0x" : "0x") + out.substr(nz);
  }
  // Repeated division by 10^9 over 32-bit limbs.
  std::vector<std::uint32_t> limbs((mag.size() + 3) / 4, 0);
  for (std::size_t i = 0; i < mag.size(); ++i)
    limbs[i / 4] |= std::uint32_t{mag[i]} << (8 * (i % 4));
  std::vector<std::uint32_t> chunks;
  while (!limbs.empty()) {
    std::uint64_t rem = 0;
    for (std::size_t i = limbs.size(); i-- > 0;) {
      const std::uint64_t cur = (rem << 32) | limbs[i];
      limbs[i] = static_cast<std::uint32_t>(cur / 1000000000u);
      rem = cur % 1000000000u;
    }
    chunks.push_back(static_cast<std::uint32_t>(rem));
    while (!limbs.empty() && limbs.back() == 0) limbs.pop_back();
  }
  if (neg) out.push_back('-');
  out += std::to_string(chunks.back());
  for (std::size_t i = chunks.size() - 1; i-- > 0;) {
    std::string part = std::to_string(chunks[i]);
    out.append(9 - part.size(), '0');
    out += part;
  }
  return out;
}

double BigInt::to_double() const noexcept {
  double v = 0;
  const bool neg = negative();
  for (std::size_t i = bytes_.size(); i-- > 0;) {
    const std::uint8_t b = neg ? static_cast<std::uint8_t>(~bytes_[i]) : bytes_[i];
    v = v * 256.0 + b;
  }
  return neg ? -(v + 1.0) : v;
}

Tuple::Tuple(std::vector<IValue> e) : elements_(std::move(e)) {}
List::List(std::vector<IValue> e) : elements(std::move(e)) {}

Object::Object(QualifiedName t) : type(std::move(t)) {}
Object::~Object() = default;
const IValue* Object::attribute(std::string_view n) const noexcept {
  for (const auto& [k, v] : attributes)
    if (k == n) return &v;
  return nullptr;
}
void Object::set_attribute(std::string_view n, IValue v) {
  for (auto& [k, old] : attributes)
    if (k == n) {
      old = std::move(v);
      return;
    }
  attributes.emplace_back(std::string(n), std::move(v));
}

Enum::Enum(QualifiedName t, std::string n, IValue v)
    : type(std::move(t)), name(std::move(n)), value(std::move(v)) {}
Enum::~Enum() = default;

Opaque::Opaque(std::string m, std::string n) : module(std::move(m)), name(std::move(n)) {}
Opaque::~Opaque() = default;
std::string Opaque::qualified_name() const {
  return module.empty() ? name : module + "." + name;
}

}  // namespace ivalue

// ---- break_cycles --------------------------------------------------------------------------

void break_cycles(IValue& root) noexcept {
  try {
    std::vector<IValue> work;
    work.push_back(std::move(root));
    root = IValue();
    std::unordered_set<const void*> seen;
    while (!work.empty()) {
      IValue x = std::move(work.back());
      work.pop_back();
      if (!x.is_heap() || !seen.insert(x.identity()).second) continue;
      switch (x.kind()) {
        case IValue::Kind::Tuple:
          for (const auto& e : x.as_tuple().elements()) work.push_back(e);
          break;
        case IValue::Kind::List: {
          auto& l = x.as_list().elements;
          for (auto& e : l) work.push_back(std::move(e));
          l.clear();
          break;
        }
        case IValue::Kind::Dict: {
          auto& d = x.as_dict();
          for (const auto& [k, v] : d.items()) {
            work.push_back(k);
            work.push_back(v);
          }
          d.clear();
          work.push_back(std::move(d.build_state));
          d.build_state = IValue();
          break;
        }
        case IValue::Kind::Set:
        case IValue::Kind::FrozenSet: {
          auto& s = x.as_set();
          for (const auto& e : s.items()) work.push_back(e);
          s.clear();
          break;
        }
        case IValue::Kind::Object: {
          auto& o = x.as_object();
          for (auto& a : o.attributes) work.push_back(std::move(a.second));
          o.attributes.clear();
          work.push_back(std::move(o.state));
          o.state = IValue();
          break;
        }
        case IValue::Kind::Enum:
          work.push_back(std::move(x.as_enum().value));
          x.as_enum().value = IValue();
          break;
        case IValue::Kind::Opaque: {
          auto& o = x.as_opaque();
          for (auto& a : o.applied) work.push_back(std::move(a.arg));
          o.applied.clear();
          work.push_back(std::move(o.persistent_id));
          o.persistent_id = IValue();
          break;
        }
        case IValue::Kind::Tensor: {
          // A tensor's Python state (attributes) can hold the tensor, or a container holding it.
          Tensor t = x.as_tensor();
          if (t.defined() && !t.python_state().is_none()) {
            work.push_back(t.python_state());
            t.set_python_state(IValue());
          }
          break;
        }
        default:
          break;
      }
    }
  } catch (...) {
    // Out of memory while walking: leave the rest to leak rather than terminate.
  }
}

}  // namespace ptio
