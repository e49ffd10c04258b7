// The Unpickler VM's opcode semantics (CPython Modules/_pickle.c load_* functions, no execution).
#include <charconv>

#include "pickle/unpickler_impl.h"

namespace ptio::pickle {

namespace {
std::span<const std::uint8_t> as_u8(std::string_view s) {
  return {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()};
}
}  // namespace

void Unpickler::Impl::step(const OpcodeInfo& info, const Arg& a) {
  switch (info.code) {
    // ---- framing and control -------------------------------------------------------------------
    case OpCode::PROTO:
      if (a.u > 5)
        fail(ErrorCode::kPickleUnsupported, detail::concat("unsupported pickle protocol: ", a.u));
      proto = static_cast<int>(a.u);
      return;
    case OpCode::FRAME:
      // Framing is transparent to the VM; CPython requires the whole frame to be present.
      if (a.u > remaining())
        fail(ErrorCode::kPickleTruncated,
             detail::concat("FRAME of ", a.u, " bytes but only ", remaining(), " remain"));
      return;
    case OpCode::STOP:
      if (opt.torchscript_dialect && stack.size() != 1)
        fail(ErrorCode::kPickleLeftoverStack,
             detail::concat("Unpickler expected 1 element on the stack, but found ", stack.size(),
                            " (a TorchScript pickle leaves only its result at STOP)"));
      result = pop();
      stopped = true;
      return;
    case OpCode::MARK:
      if (marks.size() >= opt.limits.max_depth)
        fail(ErrorCode::kPickleDepthLimit, detail::concat("more than ", opt.limits.max_depth,
                                                          " nested MARKs (Limits::max_depth)"));
      marks.push_back(stack.size());
      return;
    case OpCode::POP:
      // CPython pops the mark when the stack is at the current mark.
      if (!marks.empty() && marks.back() == stack.size())
        marks.pop_back();
      else
        pop();
      return;
    case OpCode::POP_MARK:
      stack.resize(pop_mark());
      return;
    case OpCode::DUP:
      push(IValue(top()));
      return;

    // ---- scalars -------------------------------------------------------------------------------
    case OpCode::NONE:
      push(IValue());
      return;
    case OpCode::NEWTRUE:
      push(IValue(true));
      return;
    case OpCode::NEWFALSE:
      push(IValue(false));
      return;
    case OpCode::BININT:
      push(IValue(a.i));
      return;
    case OpCode::BININT1:
    case OpCode::BININT2:
      push(IValue(static_cast<std::int64_t>(a.u)));
      return;
    case OpCode::LONG1:
    case OpCode::LONG4:
      charge(a.s.size() + 32);
      push(IValue::from_long_bytes(as_u8(a.s)));
      return;
    case OpCode::BINFLOAT:
      push(IValue(a.d));
      return;
    case OpCode::INT:
      if (a.s == "00") return push(IValue(false));
      if (a.s == "01") return push(IValue(true));
      push(decimal(a.s));
      return;
    case OpCode::LONG: {
      std::string_view t = a.s;
      if (!t.empty() && t.back() == 'L') t.remove_suffix(1);
      push(decimal(t));
      return;
    }
    case OpCode::FLOAT: {
      std::string_view t = a.s;
      if (!t.empty() && t.front() == '+') t.remove_prefix(1);
      double d = 0;
      auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), d);
      if (ec != std::errc() || p != t.data() + t.size() || t.empty())
        fail(ErrorCode::kPickleBadValue,
             detail::concat("FLOAT: invalid float text '", a.s.substr(0, 40), "'"));
      push(IValue(d));
      return;
    }

    // ---- strings and bytes ---------------------------------------------------------------------
    case OpCode::BINUNICODE:
    case OpCode::SHORT_BINUNICODE:
    case OpCode::BINUNICODE8:
      push(unicode(a.s));
      return;
    case OpCode::UNICODE: {
      auto s = text::decode_raw_unicode_escape(a.s);
      if (!s) fail(ErrorCode::kPickleBadValue, "UNICODE: malformed raw-unicode-escape text");
      charge(s->size() + 32);
      push(IValue(std::move(*s)));
      return;
    }
    case OpCode::STRING: {
      std::string_view t = a.s;
      if (t.size() < 2 || t.front() != t.back() || (t.front() != '\'' && t.front() != '"'))
        fail(ErrorCode::kPickleBadValue, "STRING: the argument must be quoted");
      auto s = text::decode_string_escape(t.substr(1, t.size() - 2));
      if (!s) fail(ErrorCode::kPickleBadValue, "STRING: malformed escape");
      push(py2_string(*s));
      return;
    }
    case OpCode::BINSTRING:
    case OpCode::SHORT_BINSTRING:
      push(py2_string(a.s));
      return;
    case OpCode::BINBYTES:
    case OpCode::SHORT_BINBYTES:
    case OpCode::BINBYTES8:
      charge(a.s.size() + 32);
      push(IValue::bytes(a.s));
      return;
    case OpCode::BYTEARRAY8:
      charge(a.s.size() + 32);
      push(IValue::bytearray(a.s));
      return;

    // ---- containers ----------------------------------------------------------------------------
    case OpCode::EMPTY_TUPLE:
      charge(48);
      push(IValue::tuple({}));
      return;
    case OpCode::TUPLE1:
    case OpCode::TUPLE2:
    case OpCode::TUPLE3: {
      const std::size_t n =
          static_cast<std::size_t>(info.code) - static_cast<std::size_t>(OpCode::TUPLE1) + 1;
      require(n);
      charge(48 + n * sizeof(IValue));
      IValue t = IValue::tuple(take_from(stack.size() - n));
      push(std::move(t));
      return;
    }
    case OpCode::TUPLE: {
      const std::size_t k = pop_mark();
      check_length(stack.size() - k);
      charge(48 + (stack.size() - k) * sizeof(IValue));
      push(IValue::tuple(take_from(k)));
      return;
    }
    case OpCode::EMPTY_LIST:
      charge(64);
      push(IValue::list());
      return;
    case OpCode::LIST: {
      const std::size_t k = pop_mark();
      check_length(stack.size() - k);
      charge(64 + (stack.size() - k) * sizeof(IValue));
      push(IValue::list(take_from(k)));
      return;
    }
    case OpCode::EMPTY_DICT:
      charge(128);
      push(IValue::dict());
      return;
    case OpCode::DICT: {
      const std::size_t k = pop_mark();
      if ((stack.size() - k) % 2 != 0)
        fail(ErrorCode::kPickleBadValue, "DICT: odd number of items");
      charge(128 + (stack.size() - k) * 24);
      push(IValue::dict());
      // The dict was pushed above the items: set them, then move the dict down.
      IValue d = pop();
      auto items = take_from(k);
      for (std::size_t j = 0; j < items.size(); j += 2) {
        try {
          d.as_dict().insert_or_assign(std::move(items[j]), std::move(items[j + 1]));
        } catch (const Error& e) {
          if (e.code() != ErrorCode::kWrongKind) throw;
          fail(ErrorCode::kPickleTypeError, detail::concat("DICT: ", e.message()));
        }
      }
      push(std::move(d));
      return;
    }
    case OpCode::EMPTY_SET:
      charge(128);
      push(IValue::set());
      return;
    case OpCode::FROZENSET: {
      const std::size_t k = pop_mark();
      check_length(stack.size() - k);
      charge(128 + (stack.size() - k) * 24);
      push(make_set(take_from(k), true));
      return;
    }
    case OpCode::APPEND:
      require(2);
      append_items(stack.size() - 1);
      return;
    case OpCode::APPENDS:
      append_items(pop_mark());
      return;
    case OpCode::SETITEM:
      require(3);
      set_items(stack.size() - 2);
      return;
    case OpCode::SETITEMS:
      set_items(pop_mark());
      return;
    case OpCode::ADDITEMS:
      add_items(pop_mark());
      return;

    // ---- memo ----------------------------------------------------------------------------------
    case OpCode::BINPUT:
    case OpCode::LONG_BINPUT:
      memo_put(a.u);
      return;
    case OpCode::PUT: {
      auto v = text::parse_decimal_int(a.s, 20);
      if (!v || !v->is_int() || v->as_int() < 0)
        fail(ErrorCode::kPickleBadMemo, "PUT: invalid memo index");
      memo_put(static_cast<std::uint64_t>(v->as_int()));
      return;
    }
    case OpCode::MEMOIZE:
      memo_put(memo_count);
      return;
    case OpCode::BINGET:
    case OpCode::LONG_BINGET:
      memo_get(a.u);
      return;
    case OpCode::GET: {
      auto v = text::parse_decimal_int(a.s, 20);
      if (!v || !v->is_int() || v->as_int() < 0)
        fail(ErrorCode::kPickleBadMemo, "GET: invalid memo index");
      memo_get(static_cast<std::uint64_t>(v->as_int()));
      return;
    }

    // ---- globals and calls ---------------------------------------------------------------------
    case OpCode::GLOBAL:
      push(resolve_global(a.s, a.s2));
      return;
    case OpCode::STACK_GLOBAL: {
      IValue name = pop();
      IValue module = pop();
      if (!module.is_string() || !name.is_string())
        fail(ErrorCode::kPickleTypeError, "STACK_GLOBAL requires str module and name");
      push(resolve_global(module.as_string(), name.as_string()));
      return;
    }
    case OpCode::REDUCE: {
      IValue args = pop();
      IValue callee = pop();
      push(call(callee, std::move(args), ivalue::Op::kReduce));
      return;
    }
    case OpCode::NEWOBJ: {
      IValue args = pop();
      IValue cls = pop();
      push(call(cls, std::move(args), ivalue::Op::kNewObj));
      return;
    }
    case OpCode::NEWOBJ_EX: {
      IValue kwargs = pop();
      IValue args = pop();
      IValue cls = pop();
      push(call(cls, IValue::tuple({std::move(args), std::move(kwargs)}), ivalue::Op::kNewObjEx));
      return;
    }
    case OpCode::INST: {
      IValue cls = resolve_global(a.s, a.s2);
      const std::size_t k = pop_mark();
      IValue args = IValue::tuple(take_from(k));
      push(call(cls, std::move(args), ivalue::Op::kReduce));
      return;
    }
    case OpCode::OBJ: {
      const std::size_t k = pop_mark();
      if (stack.size() == k) fail(ErrorCode::kPickleStackUnderflow, "OBJ needs a class after MARK");
      auto items = take_from(k);
      IValue cls = std::move(items.front());
      items.erase(items.begin());
      push(call(cls, IValue::tuple(std::move(items)), ivalue::Op::kReduce));
      return;
    }
    case OpCode::BUILD:
      build(pop());
      return;
    case OpCode::PERSID: {
      for (unsigned char c : a.s)
        if (c >= 0x80) fail(ErrorCode::kPickleBadValue, "PERSID: the id is not ASCII");
      persistent(IValue(a.s));
      return;
    }
    case OpCode::BINPERSID:
      persistent(pop());
      return;

    // ---- refused -------------------------------------------------------------------------------
    case OpCode::EXT1:
    case OpCode::EXT2:
    case OpCode::EXT4:
      fail(ErrorCode::kPickleUnsupported,
           detail::concat(info.name, " (copyreg extension code ",
                          info.code == OpCode::EXT4 ? a.i : static_cast<std::int64_t>(a.u),
                          ") is not supported: ptio has no extension registry"));
    case OpCode::NEXT_BUFFER:
    case OpCode::READONLY_BUFFER:
      fail(ErrorCode::kPickleUnsupported,
           detail::concat(info.name,
                          ": out-of-band buffers (pickle protocol 5 buffer_callback) "
                          "are not supported"));
  }
  fail(ErrorCode::kInternal, detail::concat("opcode ", info.name, " has no implementation"));
}

}  // namespace ptio::pickle
