// Pickler: PyTorch's C++ pickler dialect (pickler.cpp) and CPython's protocol-2 choices.
#include "ptio/pickle/pickler.h"

#include <algorithm>
#include <cstring>

#include "core/ivalue_detail.h"
#include "ptio/error.h"
#include "ptio/io/cursor.h"

namespace ptio::pickle {

Pickler::Pickler(io::Writer& out, PicklerOptions options)
    : out_(out),
      opt_(std::move(options)),
      buf_(new char[kBufferBytes]),
      latin1_(IValue("latin1")) {
  if (!opt_.memoize) opt_.memoize = [](const IValue& v) { return v.use_count() > 1; };
}

Pickler::~Pickler() = default;

void Pickler::dump(const IValue& v) {
  memo_id_ = 0;
  memo_.clear();  // keeps the table's size
  memo_keep_.clear();
  memo_str_.clear();
  memo_global_.clear();
  memo_device_.clear();
  depth_ = 0;
  protocol();
  push_value(v, 0);
  stop();
}

void Pickler::flush() {
  if (len_ == 0) return;
  const std::size_t n = len_;
  len_ = 0;
  out_.write(buf_.get(), n);
}

void Pickler::write_raw(std::string_view bytes) {
  if (bytes.size() > kBufferBytes / 4) {
    // Large strings and bytes go to the Writer as they are, after what is buffered.
    flush();
    out_.write(bytes.data(), bytes.size());
    return;
  }
  std::memcpy(room(bytes.size()), bytes.data(), bytes.size());
}

void Pickler::protocol() {
  push_opcode(OpCode::PROTO);
  put_byte(2);
}

void Pickler::stop() {
  push_opcode(OpCode::STOP);
  flush();
}

void Pickler::push_none() {
  push_opcode(OpCode::NONE);
}
void Pickler::push_bool(bool b) {
  push_opcode(b ? OpCode::NEWTRUE : OpCode::NEWFALSE);
}

void Pickler::push_int(std::int64_t n) {
  if (n >= 0 && n <= 0xff) {
    push_opcode(OpCode::BININT1);
    put_byte(static_cast<std::uint8_t>(n));
  } else if (n >= 0 && n <= 0xffff) {
    push_opcode(OpCode::BININT2);
    put_le(static_cast<std::uint64_t>(n), 2);
  } else if (n >= INT32_MIN && n <= INT32_MAX) {
    push_opcode(OpCode::BININT);
    put_le(static_cast<std::uint64_t>(n), 4);
  } else if (opt_.dialect == Dialect::kTorchScript) {
    push_opcode(OpCode::LONG1);  // PyTorch always writes 8 bytes
    put_byte(8);
    put_le(static_cast<std::uint64_t>(n), 8);
  } else {
    std::uint8_t b[8];
    for (int i = 0; i < 8; ++i)
      b[i] = static_cast<std::uint8_t>(static_cast<std::uint64_t>(n) >> (8 * i));
    int len = 8;  // minimal two's complement, as CPython's encode_long
    while (len > 1 && ((b[len - 1] == 0x00 && !(b[len - 2] & 0x80)) ||
                       (b[len - 1] == 0xff && (b[len - 2] & 0x80))))
      --len;
    push_long({b, static_cast<std::size_t>(len)});
  }
}

void Pickler::push_long(std::span<const std::uint8_t> bytes) {
  if (bytes.size() < 256) {
    push_opcode(OpCode::LONG1);
    put_byte(static_cast<std::uint8_t>(bytes.size()));
  } else {
    PTIO_CHECK(bytes.size() <= INT32_MAX, ErrorCode::kPickleUnsupported, "integer too large");
    push_opcode(OpCode::LONG4);
    put_le(bytes.size(), 4);
  }
  write_raw({reinterpret_cast<const char*>(bytes.data()), bytes.size()});
}

void Pickler::push_double(double d) {
  push_opcode(OpCode::BINFLOAT);
  std::uint64_t bits;
  std::memcpy(&bits, &d, 8);
  char* p = room(8);
  for (int i = 0; i < 8; ++i) p[i] = static_cast<char>((bits >> (8 * (7 - i))) & 0xff);
}

std::uint32_t Pickler::push_next_binput() {
  PTIO_CHECK(memo_id_ < UINT32_MAX, ErrorCode::kPickleMemoLimit, "more than 2^32 memo entries");
  if (memo_id_ <= 0xff) {
    char* p = room(2);
    p[0] = static_cast<char>(OpCode::BINPUT);
    p[1] = static_cast<char>(memo_id_);
  } else {
    char* p = room(5);
    p[0] = static_cast<char>(OpCode::LONG_BINPUT);
    for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<char>((memo_id_ >> (8 * i)) & 0xff);
  }
  return memo_id_++;
}

void Pickler::push_binget(std::uint32_t id) {
  if (id <= 0xff) {
    char* p = room(2);
    p[0] = static_cast<char>(OpCode::BINGET);
    p[1] = static_cast<char>(id);
  } else {
    char* p = room(5);
    p[0] = static_cast<char>(OpCode::LONG_BINGET);
    for (int i = 0; i < 4; ++i) p[1 + i] = static_cast<char>((id >> (8 * i)) & 0xff);
  }
}

void Pickler::push_string(std::string_view s) {
  if (opt_.dialect == Dialect::kTorchScript) {
    auto it = memo_str_.find(std::string(s));
    if (it != memo_str_.end()) return push_binget(it->second);
  }
  PTIO_CHECK(s.size() <= UINT32_MAX, ErrorCode::kPickleUnsupported, "string longer than 4 GiB");
  push_opcode(OpCode::BINUNICODE);
  put_le(s.size(), 4);
  write_raw(s);
  const std::uint32_t id = push_next_binput();
  if (opt_.dialect == Dialect::kTorchScript) memo_str_.emplace(std::string(s), id);
}

std::uint32_t Pickler::push_global(std::string_view module, std::string_view name) {
  // GLOBAL's arguments are two newline-terminated lines, and Python's find_class refuses an empty
  // module ("Empty module name"): anything else would write a pickle no unpickler reads as meant.
  PTIO_CHECK(!module.empty() && !name.empty() && module.find('\n') == std::string_view::npos &&
                 name.find('\n') == std::string_view::npos,
             ErrorCode::kPickleUnsupported, "cannot pickle the global '", module, "'.'", name,
             "': GLOBAL needs a non-empty module and name, without newlines");
  std::string key;
  key.reserve(module.size() + name.size() + 2);
  key.append(module).push_back('\n');
  key.append(name).push_back('\n');
  auto it = memo_global_.find(key);
  if (it != memo_global_.end()) {
    push_binget(it->second);
    return it->second;
  }
  push_opcode(OpCode::GLOBAL);
  write_raw(key);
  const std::uint32_t id = push_next_binput();
  memo_global_.emplace(std::move(key), id);
  return id;
}

void Pickler::push_persistent_id(const IValue& pid) {
  push_value(pid, depth_ + 1);
  push_opcode(OpCode::BINPERSID);
}

std::optional<std::uint32_t> Pickler::memo_find(const void* key) const { return memo_.find(key); }

void Pickler::reserve_memo(std::size_t n) {
  memo_.reserve(n);
  if (opt_.keep_memoized) memo_keep_.reserve(n);
}

void Pickler::memo_record(const void* key, std::uint32_t id) {
  PTIO_CHECK(key != nullptr, ErrorCode::kInternal, "memo_record: null key");
  bool found = false;
  memo_.at(key, found) = id;
}

void Pickler::py_memoize(const IValue& v) {
  if (opt_.dialect != Dialect::kPython || !v.is_heap()) return;
  // CPython memoizes every object, but only a payload that more than one IValue refers to can be
  // met again (a container's items hold a reference to it when they contain it): the others get
  // their memo id and no table entry. The table's cache misses were most of the time of pickling
  // a 20,000-tensor state_dict, and the output is the same.
  if (!may_recur(v)) {
    push_next_binput();
    return;
  }
  memo_record(v.identity(), push_next_binput());
  if (opt_.keep_memoized) memo_keep_.push_back(v);
}

std::string_view Pickler::builtins_module() const {
  // CPython's fix_imports writes Python 2 names below protocol 3.
  return opt_.dialect == Dialect::kPython ? "__builtin__" : "builtins";
}

void Pickler::push_ivalue(const IValue& v) {
  push_value(v, depth_ + 1);
}

void Pickler::push_value(const IValue& v, std::size_t depth) {
  PTIO_CHECK(depth <= detail::kMaxValueNesting, ErrorCode::kLimitExceeded,
             "value nested deeper than ", detail::kMaxValueNesting,
             " levels (or a cycle the dialect cannot express)");
  // Hooks re-enter through push_ivalue / push_persistent_id: they continue from this depth.
  struct DepthScope {
    std::size_t& d;
    std::size_t saved;
    ~DepthScope() { d = saved; }
  } scope{depth_, depth_};
  depth_ = depth;
  if (opt_.persistent_id) {
    if (auto pid = opt_.persistent_id(v)) return push_persistent_id(*pid);
  }
  if (!v.is_heap()) return push_impl(v, depth);
  if (opt_.dialect == Dialect::kPython) {
    // A payload only one IValue refers to is met once: no memo lookup (see py_memoize).
    if (may_recur(v))
      if (auto id = memo_find(v.identity())) return push_binget(*id);
    return push_impl(v, depth);
  }
  // PyTorch: memoize mutable/pointer values by identity when shared; strings and devices are
  // memoized by value inside their writers.
  const bool bare_global = v.is_opaque() && v.as_opaque().applied.empty() &&
                           v.as_opaque().kind == ivalue::Opaque::Kind::kGlobal;
  const bool by_pointer = !v.is_string() && !v.is_device() && !bare_global && opt_.memoize(v);
  if (!by_pointer) return push_impl(v, depth);
  if (auto id = memo_find(v.identity())) return push_binget(*id);
  push_impl(v, depth);
  memo_record(v.identity(), push_next_binput());
  if (opt_.keep_memoized) memo_keep_.push_back(v);
}

void Pickler::push_tuple_items(const std::vector<IValue>& items, const void* identity,
                               std::size_t depth) {
  const std::size_t n = items.size();
  if (n == 0) return push_opcode(OpCode::EMPTY_TUPLE);
  const bool py = opt_.dialect == Dialect::kPython;
  if (n <= 3) {
    for (const auto& x : items) push_value(x, depth + 1);
    if (py) {
      if (auto id = memo_find(identity)) {  // the tuple was reached through its own items
        for (std::size_t i = 0; i < n; ++i) push_opcode(OpCode::POP);
        return push_binget(*id);
      }
    }
    push_opcode(n == 1 ? OpCode::TUPLE1 : n == 2 ? OpCode::TUPLE2 : OpCode::TUPLE3);
    return;
  }
  push_opcode(OpCode::MARK);
  for (const auto& x : items) push_value(x, depth + 1);
  if (py) {
    if (auto id = memo_find(identity)) {
      push_opcode(OpCode::POP_MARK);
      return push_binget(*id);
    }
  }
  push_opcode(OpCode::TUPLE);
}

void Pickler::push_object(const IValue& v, std::size_t depth) {
  const auto& o = v.as_object();
  if (opt_.write_object && opt_.write_object(*this, o)) return py_memoize(v);
  const QualifiedName type = opt_.type_renamer ? opt_.type_renamer(o.type) : o.type;
  push_global(type.prefix(), type.name());
  push_opcode(OpCode::EMPTY_TUPLE);
  push_opcode(OpCode::NEWOBJ);
  py_memoize(v);
  if (o.has_state && o.attributes.empty()) {
    push_value(o.state, depth + 1);
  } else if (opt_.dialect == Dialect::kPython) {
    IValue state = IValue::dict();  // obj.__dict__, a fresh dict
    for (const auto& [name, value] : o.attributes)
      state.as_dict().insert_or_assign(IValue(name), value);
    push_value(state, depth + 1);
  } else {
    push_opcode(OpCode::EMPTY_DICT);
    push_opcode(OpCode::MARK);
    for (const auto& [name, value] : o.attributes) {
      push_string(name);
      push_value(value, depth + 1);
    }
    push_opcode(OpCode::SETITEMS);
  }
  push_opcode(OpCode::BUILD);
}

void Pickler::push_opaque(const IValue& v, std::size_t depth) {
  const auto& o = v.as_opaque();
  if (o.kind == ivalue::Opaque::Kind::kPersistentId)
    push_persistent_id(o.persistent_id);
  else
    push_global(o.module, o.name);
  bool memoized = o.kind == ivalue::Opaque::Kind::kPersistentId;
  for (const auto& a : o.applied) {
    switch (a.op) {
      case ivalue::Op::kReduce:
      case ivalue::Op::kNewObj:
        if (opt_.dialect == Dialect::kTorchScript && a.op == ivalue::Op::kReduce &&
            o.module == "torch._utils" && a.arg.is_tuple()) {
          // pushLiteralTensor writes the argument tuple and the size/stride/quantizer tuples
          // in it as MARK ... TUPLE, whatever their length.
          push_opcode(OpCode::MARK);
          for (const auto& x : a.arg.as_tuple().elements()) {
            if (!x.is_tuple()) {
              push_value(x, depth + 2);
              continue;
            }
            push_opcode(OpCode::MARK);
            for (const auto& y : x.as_tuple().elements()) push_value(y, depth + 3);
            push_opcode(OpCode::TUPLE);
          }
          push_opcode(OpCode::TUPLE);
          push_opcode(OpCode::REDUCE);
          break;
        }
        push_value(a.arg, depth + 1);
        push_opcode(a.op == ivalue::Op::kReduce ? OpCode::REDUCE : OpCode::NEWOBJ);
        break;
      case ivalue::Op::kNewObjEx:
        PTIO_CHECK(a.arg.is_tuple() && a.arg.as_tuple().size() == 2, ErrorCode::kPickleUnsupported,
                   "NEWOBJ_EX needs (args, kwargs)");
        push_value(a.arg.as_tuple().elements()[0], depth + 1);
        push_value(a.arg.as_tuple().elements()[1], depth + 1);
        push_opcode(OpCode::NEWOBJ_EX);
        break;
      case ivalue::Op::kBuild:
        if (!memoized) py_memoize(v), memoized = true;
        push_value(a.arg, depth + 1);
        push_opcode(OpCode::BUILD);
        continue;
      case ivalue::Op::kAppend:
        if (!memoized) py_memoize(v), memoized = true;
        push_value(a.arg, depth + 1);
        push_opcode(OpCode::APPEND);
        continue;
      case ivalue::Op::kSetItem:
        if (!memoized) py_memoize(v), memoized = true;
        PTIO_CHECK(a.arg.is_tuple() && a.arg.as_tuple().size() == 2, ErrorCode::kPickleUnsupported,
                   "SETITEM needs (key, value)");
        push_value(a.arg.as_tuple().elements()[0], depth + 1);
        push_value(a.arg.as_tuple().elements()[1], depth + 1);
        push_opcode(OpCode::SETITEM);
        continue;
      case ivalue::Op::kAddItem:
        if (!memoized) py_memoize(v), memoized = true;
        push_opcode(OpCode::MARK);
        push_value(a.arg, depth + 1);
        push_opcode(OpCode::ADDITEMS);
        continue;
    }
    // After a call: CPython memoizes the result of the first call (later calls are new objects
    // in Python; ptio folds them into one Opaque).
    if (!memoized) py_memoize(v), memoized = true;
  }
}

void Pickler::push_impl(const IValue& v, std::size_t depth) {
  const bool py = opt_.dialect == Dialect::kPython;
  switch (v.kind()) {
    case IValue::Kind::None:
      return push_none();
    case IValue::Kind::Bool:
      return push_bool(v.as_bool());
    case IValue::Kind::Int:
      return push_int(v.as_int());
    case IValue::Kind::Double:
      return push_double(v.as_double());
    case IValue::Kind::BigInt: {
      push_long(v.as_big_int().bytes());
      return;  // ints are atomic in CPython: never memoized
    }
    case IValue::Kind::Complex:
      push_global(builtins_module(), "complex");
      push_double(v.as_complex().real());
      push_double(v.as_complex().imag());
      push_opcode(OpCode::TUPLE2);
      if (py) push_next_binput();
      push_opcode(OpCode::REDUCE);
      return py_memoize(v);
    case IValue::Kind::String:
      if (!py) return push_string(v.as_string());
      push_opcode(OpCode::BINUNICODE);
      PTIO_CHECK(v.as_string().size() <= UINT32_MAX, ErrorCode::kPickleUnsupported,
                 "string longer than 4 GiB");
      put_le(v.as_string().size(), 4);
      write_raw(v.as_string());
      return py_memoize(v);
    case IValue::Kind::Bytes:
    case IValue::Kind::ByteArray:
      push_bytes_value(v.as_bytes(), v.kind() == IValue::Kind::ByteArray, depth);
      return py_memoize(v);
    case IValue::Kind::Tuple:
      push_tuple_items(v.as_tuple().elements(), v.identity(), depth);
      if (py && v.as_tuple().size() > 0 && (!may_recur(v) || !memo_find(v.identity())))
        py_memoize(v);
      return;
    case IValue::Kind::List:
      if (!py) return ts_list(v.as_list(), depth);
      push_opcode(OpCode::EMPTY_LIST);
      py_memoize(v);
      return py_list_items(v.as_list().elements, depth);
    case IValue::Kind::Dict: {
      const auto& d = v.as_dict();
      if (!py) return ts_dict(d, depth);
      if (!d.ordered_dict) {
        push_opcode(OpCode::EMPTY_DICT);
        py_memoize(v);
        return py_dict_items(d.items(), true, depth);
      }
      push_global("collections", "OrderedDict");
      push_opcode(OpCode::EMPTY_TUPLE);
      push_opcode(OpCode::REDUCE);
      py_memoize(v);
      py_dict_items(d.items(), false, depth);
      if (!d.build_state.is_none()) {
        push_value(d.build_state, depth + 1);
        push_opcode(OpCode::BUILD);
      }
      return;
    }
    case IValue::Kind::Set:
    case IValue::Kind::FrozenSet:
      push_set_value(v, depth);
      return py_memoize(v);
    case IValue::Kind::Tensor:
      PTIO_CHECK(opt_.write_tensor, ErrorCode::kPickleUnsupported,
                 "a Tensor needs PicklerOptions::write_tensor");
      opt_.write_tensor(*this, v.as_tensor());
      return py_memoize(v);
    case IValue::Kind::Storage:
      PTIO_CHECK(opt_.write_storage, ErrorCode::kPickleUnsupported,
                 "a Storage needs PicklerOptions::write_storage");
      opt_.write_storage(*this, v.as_storage());
      return py_memoize(v);
    case IValue::Kind::Device:
      push_device(v.as_device());
      return py_memoize(v);
    case IValue::Kind::Enum: {
      const auto& e = v.as_enum();
      const QualifiedName type = opt_.type_renamer ? opt_.type_renamer(e.type) : e.type;
      push_global(type.prefix(), type.name());
      push_value(e.value, depth + 1);
      push_opcode(OpCode::REDUCE);
      return py_memoize(v);
    }
    case IValue::Kind::Object:
      return push_object(v, depth);
    case IValue::Kind::Opaque:
      return push_opaque(v, depth);
  }
}

std::vector<std::byte> pickle_value(const IValue& v, const PicklerOptions& options) {
  io::MemoryWriter w;
  Pickler p(w, options);
  p.dump(v);
  return w.release();
}

}  // namespace ptio::pickle
