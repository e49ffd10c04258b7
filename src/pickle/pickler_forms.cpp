// Pickler: how lists, dicts, bytes, sets and devices are written in each dialect (CPython's
// batching rules and reductions; PyTorch's type-tagged and specialised lists).
#include <cstring>

#include "ptio/io/cursor.h"
#include "ptio/pickle/pickler.h"

namespace ptio::pickle {

namespace {
constexpr std::size_t kBatchSize = 1000;  // CPython's BATCHSIZE
// How many items ahead the item loops prefetch memo slots (IdentityMap::prefetch).
constexpr std::size_t kPrefetchAhead = 8;

std::string latin1_to_utf8(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (unsigned char c : s) {
    if (c < 0x80) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back(static_cast<char>(0xc0 | (c >> 6)));
      out.push_back(static_cast<char>(0x80 | (c & 0x3f)));
    }
  }
  return out;
}
}  // namespace

void Pickler::prefetch_memo(const IValue& v) const noexcept {
  // Only a payload more than one IValue refers to is looked up (py_memoize).
  if (may_recur(v)) memo_.prefetch(v.identity());
}

void Pickler::py_list_items(const std::vector<IValue>& items, std::size_t depth) {
  const std::size_t n = items.size();
  if (n == 0) return;
  if (n == 1) {
    push_value(items[0], depth + 1);
    return push_opcode(OpCode::APPEND);
  }
  std::size_t total = 0;
  do {
    push_opcode(OpCode::MARK);
    std::size_t batch = 0;
    while (total < n) {
      if (total + kPrefetchAhead < n) prefetch_memo(items[total + kPrefetchAhead]);
      push_value(items[total++], depth + 1);
      if (++batch == kBatchSize) break;
    }
    push_opcode(OpCode::APPENDS);
  } while (total < n);
}

void Pickler::py_dict_items(const std::vector<std::pair<IValue, IValue>>& items, bool exact,
                            std::size_t depth) {
  const std::size_t n = items.size();
  auto entry = [&](std::size_t i) {
    // The memo lookups of an entry a few ahead start loading now (a large dict's memo table does
    // not fit in the cache: one miss after another was most of a 20,000-tensor pickle's time).
    if (i + kPrefetchAhead < n) {
      prefetch_memo(items[i + kPrefetchAhead].first);
      prefetch_memo(items[i + kPrefetchAhead].second);
    }
    push_value(items[i].first, depth + 1);
    push_value(items[i].second, depth + 1);
  };
  if (exact) {  // batch_dict_exact: a full last batch is followed by an empty MARK SETITEMS
    if (n == 0) return;
    if (n == 1) {
      entry(0);
      return push_opcode(OpCode::SETITEM);
    }
    std::size_t pos = 0, batch;
    do {
      push_opcode(OpCode::MARK);
      batch = 0;
      while (pos < n) {
        entry(pos++);
        if (++batch == kBatchSize) break;
      }
      push_opcode(OpCode::SETITEMS);
    } while (batch == kBatchSize);
    return;
  }
  // batch_dict (iterator form, used for OrderedDict's dictitems): a last batch of one is SETITEM.
  std::size_t pos = 0;
  while (pos < n) {
    if (n - pos == 1) {
      entry(pos);
      return push_opcode(OpCode::SETITEM);
    }
    push_opcode(OpCode::MARK);
    std::size_t batch = 0;
    while (pos < n && batch < kBatchSize) {
      entry(pos++);
      ++batch;
    }
    push_opcode(OpCode::SETITEMS);
    if (batch < kBatchSize) return;
  }
}

void Pickler::ts_list(const ivalue::List& l, std::size_t depth) {
  const std::string& tag = l.type_tag;
  const char* special = nullptr;
  if (opt_.tag_aggregates) {
    if (tag == "List[int]")
      special = "build_intlist";
    else if (tag == "List[float]")
      special = "build_doublelist";
    else if (tag == "List[bool]")
      special = "build_boollist";
    else if (tag == "List[Tensor]")
      special = "build_tensorlist";
  }
  if (special != nullptr) {
    push_global("torch.jit._pickle", special);
    push_opcode(OpCode::MARK);
    push_opcode(OpCode::EMPTY_LIST);
    push_opcode(OpCode::MARK);
    for (const auto& x : l.elements) {
      if (special[6] == 'i')
        push_int(x.as_int());  // build_intlist
      else if (special[6] == 'd')
        push_double(x.as_double());
      else if (special[6] == 'b')
        push_bool(x.as_bool());
      else
        push_value(x, depth + 1);
    }
    push_opcode(OpCode::APPENDS);
    push_opcode(OpCode::TUPLE);
    push_opcode(OpCode::REDUCE);
    return;
  }
  const bool tagged = opt_.tag_aggregates && !tag.empty();
  if (tagged) push_global("torch.jit._pickle", "restore_type_tag");
  push_opcode(OpCode::EMPTY_LIST);
  push_opcode(OpCode::MARK);
  for (const auto& x : l.elements) push_value(x, depth + 1);
  push_opcode(OpCode::APPENDS);
  if (tagged) {
    push_string(tag);
    push_opcode(OpCode::TUPLE2);
    push_opcode(OpCode::REDUCE);
  }
}

void Pickler::ts_dict(const ivalue::Dict& d, std::size_t depth) {
  const bool tagged = opt_.tag_aggregates && !d.type_tag.empty();
  if (tagged) push_global("torch.jit._pickle", "restore_type_tag");
  push_opcode(OpCode::EMPTY_DICT);
  push_opcode(OpCode::MARK);
  for (const auto& [k, v] : d.items()) {
    push_value(k, depth + 1);
    push_value(v, depth + 1);
  }
  push_opcode(OpCode::SETITEMS);
  if (tagged) {
    push_string(d.type_tag);
    push_opcode(OpCode::TUPLE2);
    push_opcode(OpCode::REDUCE);
  }
}

void Pickler::push_bytes_value(std::string_view b, bool bytearray, std::size_t depth) {
  const bool py = opt_.dialect == Dialect::kPython;
  if (bytearray) {
    // bytearray.__reduce_ex__(2) == (bytearray, (bytes(self),)) or (bytearray, ()) when empty.
    push_global(builtins_module(), "bytearray");
    if (b.empty()) {
      push_opcode(OpCode::EMPTY_TUPLE);
    } else {
      push_bytes_value(b, false, depth);
      if (py) push_next_binput();  // the temporary bytes object
      push_opcode(OpCode::TUPLE1);
      if (py) push_next_binput();
    }
    push_opcode(OpCode::REDUCE);
    return;
  }
  if (b.empty()) {  // save_bytes: bytes() for the empty value
    push_global(builtins_module(), "bytes");
    push_opcode(OpCode::EMPTY_TUPLE);
    push_opcode(OpCode::REDUCE);
    return;
  }
  push_global("_codecs", "encode");
  if (py) {
    push_string(latin1_to_utf8(b));  // a fresh str object: BINUNICODE + BINPUT
    push_value(latin1_, depth + 1);  // one shared 'latin1' object
    push_opcode(OpCode::TUPLE2);
    push_next_binput();
  } else {
    push_string(latin1_to_utf8(b));
    push_string("latin1");
    push_opcode(OpCode::TUPLE2);
  }
  push_opcode(OpCode::REDUCE);
}

void Pickler::push_set_value(const IValue& v, std::size_t depth) {
  const bool py = opt_.dialect == Dialect::kPython;
  push_global(builtins_module(), v.kind() == IValue::Kind::FrozenSet ? "frozenset" : "set");
  push_opcode(OpCode::EMPTY_LIST);  // list(self), a temporary
  if (py) push_next_binput();
  const auto& items = v.as_set().items();
  if (py) {
    py_list_items(items, depth);
  } else {
    push_opcode(OpCode::MARK);
    for (const auto& x : items) push_value(x, depth + 1);
    push_opcode(OpCode::APPENDS);
  }
  push_opcode(OpCode::TUPLE1);
  if (py) push_next_binput();
  push_opcode(OpCode::REDUCE);
}

void Pickler::push_device(const Device& d) {
  const std::string s = d.str();
  if (opt_.dialect == Dialect::kTorchScript) {
    auto it = memo_device_.find(s);
    if (it != memo_device_.end()) return push_binget(it->second);
    push_global("torch", "device");
    push_string(s);
    push_opcode(OpCode::TUPLE1);
    push_opcode(OpCode::REDUCE);
    memo_device_.emplace(s, push_next_binput());
    return;
  }
  // torch.device.__reduce__: (torch.device, (type,) or (type, index)).
  push_global("torch", "device");
  push_string(d.type_name());
  if (d.has_index()) push_int(d.index());
  push_opcode(d.has_index() ? OpCode::TUPLE2 : OpCode::TUPLE1);
  push_next_binput();
  push_opcode(OpCode::REDUCE);
}

}  // namespace ptio::pickle
