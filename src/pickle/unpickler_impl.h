// Internal state and helpers of the Unpickler VM (shared by unpickler.cpp and unpickler_ops.cpp).
#pragma once

#include <algorithm>
#include <charconv>
#include <cstring>
#include <new>

#include "pickle/text.h"
#include "ptio/pickle/unpickler.h"

namespace ptio::pickle {

namespace detail_vm {

struct Arg {
  std::uint64_t u = 0;
  std::int64_t i = 0;
  double d = 0;
  std::string_view s, s2;  // borrowed from the input
};

const Resolver& default_resolver();

}  // namespace detail_vm
using detail_vm::Arg;

struct Unpickler::Impl {
  Impl(std::span<const std::byte> d, UnpicklerOptions o, std::size_t start)
      : data(reinterpret_cast<const std::uint8_t*>(d.data())),
        size(d.size()),
        pos(start > d.size() ? d.size() : start),
        opt(std::move(o)),
        resolver(opt.resolver ? opt.resolver : &detail_vm::default_resolver()) {}

  const std::uint8_t* data;
  std::size_t size;
  std::size_t pos;
  UnpicklerOptions opt;
  const Resolver* resolver;

  std::vector<IValue> stack;
  std::vector<std::size_t> marks;
  // The memo: indices below memo_len are "in the vector" (charged, never sparse); the vectors
  // themselves may be longer (sized up front from the scan's count of memo writes, entries past
  // memo_len None and undefined), so a put that extends memo_len rarely resizes them.
  std::vector<IValue> memo;
  std::vector<std::uint8_t> memo_defined;
  std::size_t memo_len = 0;
  std::unordered_map<std::uint64_t, IValue> sparse_memo;
  std::size_t memo_count = 0;
  std::unordered_set<const void*> memoized;
  std::uint64_t allocated = 0;
  std::uint64_t budget = 0;
  std::uint64_t budget_input = 0;  // the input size the budget counts (see reset())
  std::size_t start_pos = 0;       // where the current load() started
  int proto = 0;
  std::size_t op_pos = 0;
  std::uint8_t op = 0;

  // ---- errors and accounting -----------------------------------------------------------------
  [[noreturn]] void fail(ErrorCode code, std::string msg) const {
    throw Error(code, std::move(msg), opt.file, opt.record, opt.base_offset + op_pos);
  }
  std::string_view op_name() const { return opcode_name(op); }
  void charge(std::uint64_t n) {
    allocated += n;
    if (allocated > budget) [[unlikely]]
      fail(ErrorCode::kPickleAllocationLimit, budget_message());
  }
  // What the budget was derived from, for the error: the pickle builds more than its bytes in
  // the file justify.
  std::string budget_message() const {
    const auto& L = opt.limits;
    const std::uint64_t in = size - start_pos;
    const bool capped = budget_input < in;
    return detail::concat(
        op_name(), ": allocation limit of ", budget,
        " bytes (Limits::pickle.alloc_*: ", L.alloc_base_bytes, " + ", L.alloc_bytes_per_input_byte,
        " x ", budget_input,
        capped ? detail::concat(" input bytes; ", in, " bytes inflated from ", opt.stored_size,
                                " compressed bytes count as at most ", L.alloc_inflate_ratio, " x ",
                                opt.stored_size)
               : std::string(" input bytes"),
        ") exceeded: expected a pickle that builds at most ", L.alloc_bytes_per_input_byte,
        " bytes of values per byte it occupies in the file (a flood of cheap opcodes such as "
        "NONE or MEMOIZE is an amplification attack)");
  }
  CallContext context(std::string_view module, std::string_view name) {
    CallContext c;
    c.module = module;
    c.name = name;
    c.offset = opt.base_offset + op_pos;
    c.allocated = &allocated;
    c.budget = budget;
    return c;
  }

  // ---- input ---------------------------------------------------------------------------------
  std::size_t remaining() const { return size - pos; }
  void need(std::uint64_t n) const {
    if (n > remaining()) [[unlikely]] {
      const bool absurd = n > opt.limits.max_container_length;
      fail(absurd ? ErrorCode::kPickleBadLength : ErrorCode::kPickleTruncated,
           detail::concat(op_name(), " needs ", n, " bytes but only ", remaining(), " remain"));
    }
  }
  std::uint64_t uint_le(int n) {
    need(static_cast<std::uint64_t>(n));
    std::uint64_t v = 0;
    for (int k = 0; k < n; ++k)
      v |= std::uint64_t{data[pos + static_cast<std::size_t>(k)]} << (8 * k);
    pos += static_cast<std::size_t>(n);
    return v;
  }
  std::string_view take(std::uint64_t n) {
    need(n);
    std::string_view s(reinterpret_cast<const char*>(data + pos), static_cast<std::size_t>(n));
    pos += static_cast<std::size_t>(n);
    return s;
  }
  std::string_view line() {
    const void* nl = std::memchr(data + pos, '\n', remaining());
    if (nl == nullptr)
      fail(ErrorCode::kPickleTruncated, detail::concat(op_name(), ": line not terminated by \\n"));
    const std::size_t n =
        static_cast<std::size_t>(static_cast<const std::uint8_t*>(nl) - (data + pos));
    std::string_view s(reinterpret_cast<const char*>(data + pos), n);
    pos += n + 1;
    return s;
  }
  std::uint64_t length(int width, bool is_signed) {
    const std::uint64_t raw = uint_le(width);
    if (is_signed && (raw & 0x80000000u))
      fail(ErrorCode::kPickleBadLength, detail::concat(op_name(), ": negative length"));
    return raw;
  }

  Arg read_arg(ArgKind kind) {
    Arg a;
    switch (kind) {
      case ArgKind::kNone:
        break;
      case ArgKind::kUint1:
        a.u = uint_le(1);
        break;
      case ArgKind::kUint2:
        a.u = uint_le(2);
        break;
      case ArgKind::kInt4:
        a.i = static_cast<std::int32_t>(static_cast<std::uint32_t>(uint_le(4)));
        break;
      case ArgKind::kUint4:
        a.u = uint_le(4);
        break;
      case ArgKind::kUint8:
        a.u = uint_le(8);
        break;
      case ArgKind::kFloat8: {
        need(8);
        std::uint64_t bits = 0;
        for (int k = 0; k < 8; ++k) bits = (bits << 8) | data[pos + static_cast<std::size_t>(k)];
        pos += 8;
        std::memcpy(&a.d, &bits, 8);
        break;
      }
      case ArgKind::kLong1:
      case ArgKind::kString1:
      case ArgKind::kBytes1:
      case ArgKind::kUnicode1:
        a.s = take(length(1, false));
        break;
      case ArgKind::kLong4:
      case ArgKind::kString4:
        a.s = take(length(4, true));
        break;
      case ArgKind::kBytes4:
      case ArgKind::kUnicode4:
        a.s = take(length(4, false));
        break;
      case ArgKind::kBytes8:
      case ArgKind::kUnicode8:
        a.s = take(length(8, false));
        break;
      case ArgKind::kDecimalNlShort:
      case ArgKind::kDecimalNlLong:
      case ArgKind::kFloatNl:
      case ArgKind::kStringNl:
      case ArgKind::kStringNlNoEscape:
      case ArgKind::kUnicodeNl:
        a.s = line();
        break;
      case ArgKind::kStringNlPair:
        a.s = line();
        a.s2 = line();
        break;
    }
    return a;
  }

  // ---- stack ---------------------------------------------------------------------------------
  std::size_t floor() const { return marks.empty() ? 0 : marks.back(); }
  void require(std::size_t n) const {
    if (stack.size() - floor() < n) [[unlikely]]
      fail(ErrorCode::kPickleStackUnderflow,
           detail::concat(op_name(), " needs ", n, " value(s) on the stack, found ",
                          stack.size() - floor()));
  }
  void push(IValue v) {
    if (stack.size() >= opt.limits.max_stack) [[unlikely]]
      fail(ErrorCode::kPickleContainerLimit,
           detail::concat("more than ", opt.limits.max_stack, " values on the stack"));
    charge(sizeof(IValue));
    stack.push_back(std::move(v));
  }
  IValue pop() {
    require(1);
    IValue v = std::move(stack.back());
    stack.pop_back();
    return v;
  }
  IValue& top() {
    require(1);
    return stack.back();
  }
  std::size_t pop_mark() {
    if (marks.empty()) [[unlikely]]
      fail(ErrorCode::kPickleMarkMismatch, detail::concat(op_name(), " without a MARK"));
    const std::size_t k = marks.back();
    marks.pop_back();
    return k;
  }
  // Moves stack[k..] into a vector and shrinks the stack to k.
  std::vector<IValue> take_from(std::size_t k) {
    std::vector<IValue> items(
        std::make_move_iterator(stack.begin() + static_cast<std::ptrdiff_t>(k)),
        std::make_move_iterator(stack.end()));
    stack.resize(k);
    return items;
  }
  void check_length(std::size_t n) const {
    if (n > opt.limits.max_container_length) [[unlikely]]
      fail(ErrorCode::kPickleContainerLimit,
           detail::concat(op_name(), ": container of ", n, " items exceeds the limit of ",
                          opt.limits.max_container_length));
  }

  // ---- memo ----------------------------------------------------------------------------------
  void memo_put(std::uint64_t idx) {
    const IValue& v = top();
    if (idx >= opt.limits.max_memo_entries)
      fail(ErrorCode::kPickleMemoLimit,
           detail::concat(op_name(), " memo index ", idx, " exceeds the limit of ",
                          opt.limits.max_memo_entries));
    bool fresh;
    if (idx < memo_len) {
      fresh = !memo_defined[idx];
      if (memo_wanted(idx)) memo[idx] = v;
      memo_defined[idx] = 1;
    } else if (idx < 2 * memo_len + 4096) {
      charge((idx + 1 - memo_len) * (sizeof(IValue) + 1));
      memo_len = static_cast<std::size_t>(idx) + 1;
      if (memo_len > memo.size()) {
        memo.resize(memo_len);
        memo_defined.resize(memo_len, 0);
      }
      if (memo_wanted(idx)) memo[idx] = v;
      memo_defined[idx] = 1;
      fresh = true;
    } else {
      charge(64);
      auto [it, inserted] = sparse_memo.insert_or_assign(idx, v);
      fresh = inserted;
    }
    if (fresh && ++memo_count > opt.limits.max_memo_entries)
      fail(ErrorCode::kPickleMemoLimit, "too many memo entries");
    if (opt.record_memoized && v.is_heap()) memoized.insert(v.identity());
  }
  // Memo entries no BINGET/LONG_BINGET of this pickle reads (found by scan_memo_reads before
  // the run) are counted and marked defined but do not keep their value: torch.save memoizes
  // every tuple of every tensor (persistent id, size, stride, arguments) and reads back only a
  // few globals and strings, so the rest is freed as soon as it is consumed instead of at STOP.
  // `memo_reads` is empty (keep everything) when the scan could not decide.
  bool memo_wanted(std::uint64_t idx) const {
    if (!memo_reads_known) return true;
    const std::uint64_t w = idx / 64;
    return w < memo_reads.size() && ((memo_reads[w] >> (idx % 64)) & 1u);
  }
  void scan_memo_reads();
  std::vector<std::uint64_t> memo_reads;  // bit i: memo index i is read by a BINGET/LONG_BINGET
  bool memo_reads_known = false;
  std::uint64_t memo_writes = 0;  // BINPUT/LONG_BINPUT/PUT/MEMOIZE before the STOP (the scan's)
  std::uint64_t memo_top = 0;     // largest memo index written + 1 (PUT/MEMOIZE: writes so far)

  void memo_get(std::uint64_t idx) {
    if (idx < memo_len && memo_defined[idx]) return push(memo[idx]);
    if (!sparse_memo.empty()) {
      auto it = sparse_memo.find(idx);
      if (it != sparse_memo.end()) return push(it->second);
    }
    fail(ErrorCode::kPickleBadMemo,
         detail::concat(op_name(), " memo index ", idx, " is not defined"));
  }

  // ---- globals, calls, persistent ids
  // -------------------------------------------------------------
  IValue resolve_global(std::string_view module, std::string_view name) {
    if (!text::valid_utf8(module) || !text::valid_utf8(name))
      fail(ErrorCode::kPickleBadValue, detail::concat(op_name(), ": global name is not UTF-8"));
    if (auto h = resolver->find(module, name)) {
      if (h->has_value) return h->value;
      IValue marker = IValue::opaque(std::string(module), std::string(name));
      marker.as_opaque().handler = std::static_pointer_cast<const void>(h);
      return marker;
    }
    if (opt.policy == Policy::kInspection)
      return IValue::opaque(std::string(module), std::string(name));
    fail(ErrorCode::kPickleUnknownGlobal,
         detail::concat(op_name(), ": unknown global '", module, ".", name, "'"));
  }

  IValue call(const IValue& callee, IValue args, ivalue::Op how) {
    if (!callee.is_opaque())
      fail(ErrorCode::kPickleTypeError,
           detail::concat(op_name(), ": '", callee.kind_name(), "' object is not callable"));
    const auto& o = callee.as_opaque();
    if (o.handler) {
      const auto* h = static_cast<const GlobalHandler*>(o.handler.get());
      const bool is_new = how == ivalue::Op::kNewObj || how == ivalue::Op::kNewObjEx;
      const GlobalHandler::Fn& fn = (is_new && h->new_object) ? h->new_object : h->call;
      if (!fn)
        fail(ErrorCode::kPickleTypeError,
             detail::concat(op_name(), ": '", o.qualified_name(), "' cannot be called this way"));
      return fn(args, context(o.module, o.name));
    }
    // Unresolved: a new Opaque that remembers the call (each call makes a distinct object).
    charge(96 + 32 * o.applied.size());
    IValue r = IValue::opaque(o.module, o.name);
    auto& ro = r.as_opaque();
    ro.kind = o.kind;
    ro.persistent_id = o.persistent_id;
    ro.applied.reserve(o.applied.size() + 1);
    for (const auto& a : o.applied) ro.applied.push_back({a.op, a.arg});
    ro.applied.push_back({how, std::move(args)});
    return r;
  }

  void persistent(IValue pid) {
    if (opt.persistent_load) return push(opt.persistent_load(pid, context({}, {})));
    if (opt.policy == Policy::kInspection) return push(IValue::persistent_id(std::move(pid)));
    fail(ErrorCode::kPicklePersistentId,
         detail::concat(op_name(), ": persistent id ",
                        to_repr(pid, {.max_depth = 4, .max_items = 8}),
                        " but no persistent_load callback was given"));
  }

  void build(IValue state) {
    IValue& inst = top();
    note_mutation(inst);
    if (const auto& hook = resolver->build_hook(); hook && hook(inst, state, context({}, {})))
      return;
    switch (inst.kind()) {
      case IValue::Kind::Object: {
        auto& obj = inst.as_object();
        // CPython's default __setstate__: a dict (or (dict, slots-dict)) updates attributes.
        const IValue* parts[2] = {&state, nullptr};
        if (state.is_tuple() && state.as_tuple().size() == 2 &&
            (state.as_tuple().elements()[0].is_dict() ||
             state.as_tuple().elements()[0].is_none()) &&
            (state.as_tuple().elements()[1].is_dict() ||
             state.as_tuple().elements()[1].is_none())) {
          parts[0] = &state.as_tuple().elements()[0];
          parts[1] = &state.as_tuple().elements()[1];
        }
        bool as_attributes = true;
        for (const IValue* p : parts)
          if (p && p->is_dict())
            for (const auto& [k, v] : p->as_dict().items()) as_attributes &= k.is_string();
          else if (p && !p->is_none())
            as_attributes = false;
        if (as_attributes) {
          for (const IValue* p : parts)
            if (p && p->is_dict())
              for (const auto& [k, v] : p->as_dict().items()) obj.set_attribute(k.as_string(), v);
        } else {
          obj.state = std::move(state);
          obj.has_state = true;
        }
        return;
      }
      case IValue::Kind::Dict:
        inst.as_dict().build_state = std::move(state);
        return;
      case IValue::Kind::Opaque:
        inst.as_opaque().applied.push_back({ivalue::Op::kBuild, std::move(state)});
        return;
      default:
        fail(ErrorCode::kPickleTypeError,
             detail::concat("BUILD: cannot set the state of a '", inst.kind_name(), "'"));
    }
  }

  void append_items(std::size_t k) {  // stack[k..] appended to stack[k-1]
    if (k == 0 || k - 1 < floor())
      fail(ErrorCode::kPickleStackUnderflow,
           detail::concat(op_name(), " has no list to append to"));
    IValue& target = stack[k - 1];
    note_mutation(target);
    // The element slots (vector growth keeps up to twice what is used) and the allocation
    // itself: uncharged, 3M nested one-element lists from a 6 MB pickle took 873 MB.
    charge(32 + 2 * sizeof(IValue) * (stack.size() - k));
    if (target.is_list()) {
      auto& l = target.as_list().elements;
      check_length(l.size() + (stack.size() - k));
      l.insert(l.end(), std::make_move_iterator(stack.begin() + static_cast<std::ptrdiff_t>(k)),
               std::make_move_iterator(stack.end()));
    } else if (target.is_opaque()) {
      auto& o = target.as_opaque();
      for (std::size_t j = k; j < stack.size(); ++j)
        o.applied.push_back({ivalue::Op::kAppend, std::move(stack[j])});
    } else {
      fail(ErrorCode::kPickleTypeError,
           detail::concat(op_name(), ": cannot append to a '", target.kind_name(), "'"));
    }
    stack.resize(k);
  }

  void set_items(std::size_t k) {  // pairs stack[k..] set into stack[k-1]
    if (k == 0 || k - 1 < floor())
      fail(ErrorCode::kPickleStackUnderflow, detail::concat(op_name(), " has no dict to set into"));
    if ((stack.size() - k) % 2 != 0)
      fail(ErrorCode::kPickleBadValue, detail::concat(op_name(), ": odd number of items"));
    IValue& target = stack[k - 1];
    note_mutation(target);
    if (target.is_dict()) {
      auto& d = target.as_dict();
      check_length(d.size() + (stack.size() - k) / 2);
      for (std::size_t j = k; j < stack.size(); j += 2) {
        try {
          d.insert_or_assign(std::move(stack[j]), std::move(stack[j + 1]));
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kWrongKind) throw;
          fail(ErrorCode::kPickleTypeError, detail::concat(op_name(), ": ", e.message()));
        }
      }
    } else if (target.is_opaque()) {
      auto& o = target.as_opaque();
      for (std::size_t j = k; j < stack.size(); j += 2)
        o.applied.push_back(
            {ivalue::Op::kSetItem, IValue::tuple({std::move(stack[j]), std::move(stack[j + 1])})});
    } else {
      fail(ErrorCode::kPickleTypeError,
           detail::concat(op_name(), ": cannot set items of a '", target.kind_name(), "'"));
    }
    stack.resize(k);
  }

  void add_items(std::size_t k) {
    if (k == 0 || k - 1 < floor())
      fail(ErrorCode::kPickleStackUnderflow, "ADDITEMS has no set to add to");
    IValue& target = stack[k - 1];
    note_mutation(target);
    if (target.kind() == IValue::Kind::Set) {
      auto& s = target.as_set();
      check_length(s.size() + (stack.size() - k));
      for (std::size_t j = k; j < stack.size(); ++j) {
        try {
          s.insert(std::move(stack[j]));
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kWrongKind) throw;
          fail(ErrorCode::kPickleTypeError, detail::concat("ADDITEMS: ", e.message()));
        }
      }
    } else if (target.is_opaque()) {
      for (std::size_t j = k; j < stack.size(); ++j)
        target.as_opaque().applied.push_back({ivalue::Op::kAddItem, std::move(stack[j])});
    } else {
      fail(ErrorCode::kPickleTypeError,
           detail::concat("ADDITEMS: cannot add to a '", target.kind_name(), "'"));
    }
    stack.resize(k);
  }

  IValue make_set(std::vector<IValue> items, bool frozen) {
    IValue s = frozen ? IValue::frozenset() : IValue::set();
    for (auto& x : items) {
      try {
        s.as_set().insert(std::move(x));
      } catch (const Error& e) {
        if (e.code() != ErrorCode::kWrongKind) throw;
        fail(ErrorCode::kPickleTypeError, detail::concat(op_name(), ": ", e.message()));
      }
    }
    return s;
  }

  // Protocol 0-1 byte strings (STRING, BINSTRING, SHORT_BINSTRING): str when ASCII (CPython's
  // default encoding='ASCII'), bytes otherwise.
  IValue py2_string(std::string_view raw) {
    charge(raw.size() + 32);
    for (unsigned char c : raw)
      if (c >= 0x80) return IValue::bytes(raw);
    return IValue(raw);
  }
  IValue unicode(std::string_view s) {
    charge(s.size() + 32);
    if (!text::valid_utf8(s))
      fail(ErrorCode::kPickleBadValue, detail::concat(op_name(), ": string is not valid UTF-8"));
    return IValue(s);
  }
  IValue decimal(std::string_view digits) {
    // A well-formed integer longer than the bound is a limit (as CPython's int_max_str_digits
    // ValueError), not malformed text.
    const std::string_view magnitude =
        digits.starts_with('-') || digits.starts_with('+') ? digits.substr(1) : digits;
    if (magnitude.size() > opt.limits.max_decimal_digits &&
        magnitude.find_first_not_of("0123456789") == std::string_view::npos)
      fail(ErrorCode::kLimitExceeded,
           detail::concat(op_name(), ": integer text of ", magnitude.size(),
                          " digits exceeds the limit of ", opt.limits.max_decimal_digits,
                          " digits (Limits::pickle.max_decimal_digits, CPython's "
                          "int_max_str_digits: Python refuses it too)"));
    auto v = text::parse_decimal_int(digits, opt.limits.max_decimal_digits);
    if (!v)
      fail(ErrorCode::kPickleBadValue,
           detail::concat(op_name(), ": invalid integer text '", digits.substr(0, 40), "'"));
    return std::move(*v);
  }

  void reset() {
    stack.clear();
    marks.clear();
    memo.clear();
    memo_defined.clear();
    memo_len = 0;
    sparse_memo.clear();
    memo_count = 0;
    memoized.clear();
    proto = 0;
    allocated = 0;
    start_pos = pos;
    std::uint64_t in = size - pos;
    const auto& L = opt.limits;
    // A pickle inflated from compressed bytes counts at most alloc_inflate_ratio bytes per byte
    // it occupies in the file (Limits::alloc_inflate_ratio): what the file's bytes justify.
    if (opt.stored_size != 0 && L.alloc_inflate_ratio != 0 &&
        opt.stored_size <= UINT64_MAX / L.alloc_inflate_ratio)
      in = std::min(in, opt.stored_size * L.alloc_inflate_ratio);
    budget_input = in;
    budget = L.alloc_base_bytes + (in > UINT64_MAX / (L.alloc_bytes_per_input_byte + 1)
                                       ? UINT64_MAX / 2
                                       : in * L.alloc_bytes_per_input_byte);
    if (budget < L.alloc_base_bytes) budget = UINT64_MAX / 2;  // the sum overflowed
    scan_memo_reads();
    // One slot per memo write of this pickle (counted by the scan up to its STOP), made up
    // front (memo_put charges as memo_len reaches them): regrowing a multi-megabyte vector (and
    // the allocator consolidations that come with it) costs on large state_dicts, and so does a
    // resize call per put. Sized from the pickle, not from the bytes that follow it:
    // a legacy file's or a tar member's pickle is followed by its storage bytes, and a guess from
    // those reserved gigabytes of address space (one per header pickle of a tar member).
    // At most as many slots as the budget pays for: memo_put charges a slot only when memo_len
    // reaches it, and a flood of BINPUT 0 counts millions of writes to one index.
    // Never more slots than indices written (a flood of BINPUT 0 counts millions of writes to
    // one index), nor than half the budget pays for (memo_put charges a slot only when memo_len
    // reaches it, so the presized memory is on top of what is charged).
    const std::size_t want = static_cast<std::size_t>(std::min<std::uint64_t>(
        {memo_writes, memo_top, L.max_memo_entries, budget / (2 * (sizeof(IValue) + 1))}));
    memo.resize(want);
    memo_defined.resize(want, 0);
  }

  // Containers the pickle mutated (APPEND/SETITEM/ADDITEMS/BUILD targets): the only places a
  // reference cycle can be closed. release_garbage() clears the ones that did not end up in the
  // result, so cycles a pickle builds and drops (or leaves behind on an error) are freed.
  void note_mutation(const IValue& target) {
    if (target.is_heap() && mutated_ids.insert(target.identity()).second) {
      charge(64 + sizeof(IValue));  // the hash node and bucket, and the slot in `mutated`
      mutated.push_back(target);
    }
  }
  void release_garbage(const IValue& result) noexcept;
  std::vector<IValue> mutated;
  std::unordered_set<const void*> mutated_ids;

  IValue run();
  // UnpicklerOptions::torchscript_dialect: refuses an opcode torch::jit::Unpickler lacks.
  void check_torchscript_opcode(const OpcodeInfo& info) const;
  void step(const OpcodeInfo& info, const Arg& a);
  bool stopped = false;
  IValue result;
};

}  // namespace ptio::pickle
