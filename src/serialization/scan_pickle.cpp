// The scan's symbolic pickle VM: follows stack, marks and memo with symbols (string / global /
// call result / other) instead of values, so that STACK_GLOBAL operands and mutated globals can be
// named without building or running anything.
#include <cstring>
#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

#include "pickle/text.h"
#include "ptio/detail/concat.h"
#include "ptio/pickle/opcodes.h"
#include "serialization/scan_internal.h"

namespace ptio::detail {

namespace {

using pickle::ArgKind;
using pickle::OpCode;

// Strings longer than this are not kept as text (a module or global name never is that long);
// STACK_GLOBAL over one is reported as undetermined.
constexpr std::size_t kMaxKeptString = 4096;

// 8 bytes: a pickle of one-byte pushes (NONE...) makes one per input byte.
struct Sym {
  enum class Kind : std::uint8_t { kOther, kString, kGlobal, kCall };
  Kind kind = Kind::kOther;
  // kString: index into SymbolicVm::texts_; kGlobal: index into report.globals, -1 when the name
  // is undetermined.
  std::int32_t ref = -1;
};

// What one stack slot, memo entry, kept string, global or finding is charged against the
// allocation budget beyond its text (approximate, as the Unpickler's accounting).
constexpr std::uint64_t kSlotCost = 16;
constexpr std::uint64_t kMemoEntryCost = 64;
constexpr std::uint64_t kTextCost = 32;
constexpr std::uint64_t kRecordCost = 128;

// Thrown inside the VM to end the current pickle; the finding is already recorded.
struct Stop {};

class SymbolicVm {
 public:
  SymbolicVm(std::span<const std::byte> bytes, std::size_t start, std::uint64_t base,
             std::uint64_t stored_size, const std::string& record, const ScanOptions& options,
             ScanReport& report)
      : b_(bytes),
        pos_(start),
        base_(base),
        record_(record),
        limits_(options.limits.pickle),
        report_(report) {
    // The Unpickler's budget (pickle::Limits::alloc_*): base + per input byte, where a pickle
    // inflated from a deflated record counts at most alloc_inflate_ratio x its compressed bytes.
    std::uint64_t in = start <= bytes.size() ? bytes.size() - start : 0;
    if (stored_size != 0 && limits_.alloc_inflate_ratio != 0 &&
        stored_size <= UINT64_MAX / limits_.alloc_inflate_ratio)
      in = std::min(in, stored_size * limits_.alloc_inflate_ratio);
    budget_input_ = in;
    const std::uint64_t per = limits_.alloc_bytes_per_input_byte;
    budget_ = in > UINT64_MAX / (per + 1) ? UINT64_MAX / 2 : limits_.alloc_base_bytes + in * per;
    if (budget_ < limits_.alloc_base_bytes) budget_ = UINT64_MAX / 2;
  }

  PickleScan run() {
    PickleScan r;
    if (pos_ >= b_.size()) {
      r.empty_input = true;
      r.end = pos_;
      return r;
    }
    try {
      for (;;) {
        if (pos_ >= b_.size()) {
          finding(Verdict::kSuspicious, pos_,
                  "the pickle ends without STOP (truncated); Python stops here with an error");
          break;
        }
        op_at_ = pos_;
        const auto byte = static_cast<std::uint8_t>(b_[pos_++]);
        const pickle::OpcodeInfo* info = pickle::opcode_info(byte);
        if (!info) {
          finding(
              Verdict::kSuspicious, op_at_,
              concat("unknown opcode 0x", hex(byte), "; the rest of this pickle is not scanned"));
          break;
        }
        if (step(*info)) {
          r.completed = true;
          break;
        }
      }
    } catch (const Stop&) {
    }
    r.end = pos_;
    return r;
  }

 private:
  static std::string hex(unsigned v) {
    const char* d = "0123456789abcdef";
    return std::string{d[(v >> 4) & 15], d[v & 15]};
  }

  void finding(Verdict severity, std::size_t at, std::string message) {
    charge(kRecordCost + record_.size() + message.size());
    report_.findings.push_back({severity, record_, base_ + at, std::move(message)});
  }
  // The allocation budget: a pickle that makes the scan hold more than its bytes justify (a
  // deflated flood of NONE opcodes) is a finding, and the rest of it is not scanned.
  void charge(std::uint64_t n) {
    allocated_ += n;
    if (allocated_ <= budget_ || over_budget_) return;
    over_budget_ = true;  // the finding below is not charged again
    fail(concat("allocation limit of ", budget_,
                " bytes (Limits::pickle.alloc_*: ", limits_.alloc_base_bytes, " + ",
                limits_.alloc_bytes_per_input_byte, " x ", budget_input_,
                " input bytes) exceeded: the pickle builds more than its bytes in "
                "the file justify (an amplification attack; a deflated record counts at most ",
                limits_.alloc_inflate_ratio, " input bytes per compressed byte)"));
  }
  [[noreturn]] void fail(std::string message) {
    finding(Verdict::kSuspicious, op_at_,
            concat(opname(), ": ", message, "; the rest of this pickle is not scanned"));
    throw Stop{};
  }
  std::string opname() const {
    return std::string(pickle::opcode_name(static_cast<std::uint8_t>(b_[op_at_])));
  }

  // ---- argument reading -------------------------------------------------------------------
  std::span<const std::byte> take(std::uint64_t n) {
    if (n > b_.size() - pos_) fail(concat("argument of ", n, " bytes runs past the end"));
    auto s = b_.subspan(pos_, static_cast<std::size_t>(n));
    pos_ += static_cast<std::size_t>(n);
    return s;
  }
  std::uint64_t le(std::size_t n) {
    const auto s = take(n);
    std::uint64_t v = 0;
    for (std::size_t i = 0; i < n; ++i)
      v |= std::uint64_t(std::to_integer<std::uint8_t>(s[i])) << (8 * i);
    return v;
  }
  std::int64_t le_signed4() { return static_cast<std::int32_t>(static_cast<std::uint32_t>(le(4))); }
  std::string_view line() {
    const auto* begin = reinterpret_cast<const char*>(b_.data()) + pos_;
    const void* nl = std::memchr(begin, '\n', b_.size() - pos_);
    if (!nl) fail("no newline ends the text argument");
    const auto n = static_cast<std::size_t>(static_cast<const char*>(nl) - begin);
    pos_ += n + 1;
    return {begin, n};
  }
  static std::string_view as_text(std::span<const std::byte> s) {
    return {reinterpret_cast<const char*>(s.data()), s.size()};
  }
  std::optional<std::uint64_t> decimal(std::string_view s) {
    while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    while (!s.empty() && (s.back() == ' ' || s.back() == '\r' || s.back() == 'L'))
      s.remove_suffix(1);
    if (s.empty() || s.size() > 19) return std::nullopt;
    std::uint64_t v = 0;
    for (char c : s) {
      if (c < '0' || c > '9') return std::nullopt;
      v = v * 10 + static_cast<std::uint64_t>(c - '0');
    }
    return v;
  }

  // ---- stack ------------------------------------------------------------------------------
  std::size_t fence() const { return marks_.empty() ? 0 : marks_.back(); }
  void push(Sym s) {
    if (stack_.size() >= limits_.max_stack)
      fail(concat("more than ", limits_.max_stack,
                  " values on the stack (Limits::pickle.max_stack)"));
    charge(kSlotCost);
    stack_.push_back(s);
  }
  Sym pop() {
    if (stack_.size() <= fence()) fail("stack underflow; Python stops here with an error");
    Sym s = std::move(stack_.back());
    stack_.pop_back();
    return s;
  }
  Sym& top() {
    if (stack_.size() <= fence()) fail("stack underflow; Python stops here with an error");
    return stack_.back();
  }
  // Pops everything above the last MARK and the MARK itself.
  std::vector<Sym> pop_mark() {
    if (marks_.empty()) fail("no MARK to pop; Python stops here with an error");
    const std::size_t m = marks_.back();
    marks_.pop_back();
    std::vector<Sym> items(std::make_move_iterator(stack_.begin() + static_cast<long>(m)),
                           std::make_move_iterator(stack_.end()));
    stack_.resize(m);
    return items;
  }
  Sym str(std::string s) {
    Sym r;
    if (s.size() <= kMaxKeptString && texts_.size() < INT32_MAX) {
      charge(kTextCost + s.size());
      r.kind = Sym::Kind::kString;
      r.ref = static_cast<std::int32_t>(texts_.size());
      texts_.push_back(std::move(s));
    }
    return r;
  }

  // ---- globals ----------------------------------------------------------------------------
  Sym add_global(std::string module, std::string name) {
    ScanGlobal g;
    g.cls = classify_global(module, name, &g.reason);
    g.module = std::move(module);
    g.name = std::move(name);
    g.record = record_;
    g.offset = base_ + op_at_;
    g.opcode = opname();
    charge(kRecordCost + g.module.size() + g.name.size() + g.record.size() + g.reason.size());
    if (report_.globals.size() >= INT32_MAX) fail("more globals than the scan can list");
    report_.globals.push_back(std::move(g));
    Sym s;
    s.kind = Sym::Kind::kGlobal;
    s.ref = static_cast<std::int32_t>(report_.globals.size() - 1);
    return s;
  }
  std::string describe(const Sym& s) const {
    if (s.kind == Sym::Kind::kGlobal && s.ref >= 0) {
      const ScanGlobal& g = report_.globals[static_cast<std::size_t>(s.ref)];
      return g.module + "." + g.name;
    }
    return "an undetermined global";
  }
  // BUILD/SETITEM/APPEND... applied to a class or module itself instead of an instance rewrites
  // its attributes: `torch._utils` BUILD {'_rebuild_tensor': eval} makes an allowed name run eval.
  void check_mutation(const Sym& target) {
    if (target.kind == Sym::Kind::kGlobal)
      finding(Verdict::kDangerous, op_at_,
              concat(opname(), " modifies ", describe(target),
                     " itself (a module or class, not an instance): rebinding attributes of "
                     "imported objects is an attack construct (sys.modules / __dict__ override)"));
  }
  void check_callable(const Sym& callee) {
    if (callee.kind != Sym::Kind::kGlobal)
      finding(Verdict::kSuspicious, op_at_,
              concat(opname(), " calls a value that is not a global (",
                     callee.kind == Sym::Kind::kCall ? "the result of another call" : "data",
                     "); what runs cannot be determined statically"));
  }

  // ---- one opcode; returns true at STOP -----------------------------------------------------
  bool step(const pickle::OpcodeInfo& info) {
    switch (info.code) {
      case OpCode::PROTO: {
        const auto v = le(1);
        if (v > 5) fail(concat("unsupported protocol ", v));
        return false;
      }
      case OpCode::FRAME: {
        const auto n = le(8);
        if (n > b_.size() - pos_) fail(concat("frame of ", n, " bytes runs past the end"));
        return false;
      }
      case OpCode::STOP:
        (void)pop();
        return true;
      case OpCode::MARK:
        if (marks_.size() >= limits_.max_depth)
          fail(concat("more than ", limits_.max_depth, " open MARKs (Limits::pickle.max_depth)"));
        marks_.push_back(stack_.size());
        return false;
      case OpCode::POP:
        if (!marks_.empty() && marks_.back() == stack_.size()) {
          marks_.pop_back();  // CPython: POP right after MARK discards the mark
        } else {
          (void)pop();
        }
        return false;
      case OpCode::POP_MARK:
        (void)pop_mark();
        return false;
      case OpCode::DUP: {
        Sym t = top();
        push(std::move(t));
        return false;
      }
      // ---- strings (names for STACK_GLOBAL)
      case OpCode::SHORT_BINUNICODE:
      case OpCode::SHORT_BINSTRING:
        push(str(std::string(as_text(take(le(1))))));
        return false;
      case OpCode::BINUNICODE:
        push(str(std::string(as_text(take(le(4))))));
        return false;
      case OpCode::BINSTRING: {
        const auto n = le_signed4();
        if (n < 0) fail("negative length");
        push(str(std::string(as_text(take(static_cast<std::uint64_t>(n))))));
        return false;
      }
      case OpCode::BINUNICODE8:
        push(str(std::string(as_text(take(le(8))))));
        return false;
      case OpCode::UNICODE: {
        auto s = pickle::text::decode_raw_unicode_escape(line());
        if (!s) fail("malformed raw-unicode-escape text");
        push(str(std::move(*s)));
        return false;
      }
      case OpCode::STRING: {
        std::string_view t = line();
        while (!t.empty() && (t.back() == ' ' || t.back() == '\r')) t.remove_suffix(1);
        if (t.size() < 2 || (t.front() != '\'' && t.front() != '"') || t.back() != t.front())
          fail("the STRING argument is not quoted");
        auto s = pickle::text::decode_string_escape(t.substr(1, t.size() - 2));
        if (!s) fail("malformed string escape");
        push(str(std::move(*s)));
        return false;
      }
      // ---- other scalars and byte strings
      case OpCode::INT:
      case OpCode::LONG:
      case OpCode::FLOAT:
        (void)line();
        push({});
        return false;
      case OpCode::BININT:
        (void)le(4);
        push({});
        return false;
      case OpCode::BININT1:
        (void)le(1);
        push({});
        return false;
      case OpCode::BININT2:
        (void)le(2);
        push({});
        return false;
      case OpCode::BINFLOAT:
        (void)le(8);
        push({});
        return false;
      case OpCode::LONG1:
        (void)take(le(1));
        push({});
        return false;
      case OpCode::LONG4: {
        const auto n = le_signed4();
        if (n < 0) fail("negative length");
        (void)take(static_cast<std::uint64_t>(n));
        push({});
        return false;
      }
      case OpCode::SHORT_BINBYTES:
        (void)take(le(1));
        push({});
        return false;
      case OpCode::BINBYTES:
        (void)take(le(4));
        push({});
        return false;
      case OpCode::BINBYTES8:
      case OpCode::BYTEARRAY8:
        (void)take(le(8));
        push({});
        return false;
      case OpCode::NONE:
      case OpCode::NEWTRUE:
      case OpCode::NEWFALSE:
      case OpCode::EMPTY_TUPLE:
      case OpCode::EMPTY_LIST:
      case OpCode::EMPTY_DICT:
      case OpCode::EMPTY_SET:
        push({});
        return false;
      // ---- containers
      case OpCode::TUPLE:
      case OpCode::LIST:
      case OpCode::DICT:
      case OpCode::FROZENSET:
        (void)pop_mark();
        push({});
        return false;
      case OpCode::TUPLE1:
      case OpCode::TUPLE2:
      case OpCode::TUPLE3: {
        const int n = info.code == OpCode::TUPLE1 ? 1 : info.code == OpCode::TUPLE2 ? 2 : 3;
        for (int i = 0; i < n; ++i) (void)pop();
        push({});
        return false;
      }
      case OpCode::APPEND:
        (void)pop();
        check_mutation(top());
        return false;
      case OpCode::SETITEM:
        (void)pop();
        (void)pop();
        check_mutation(top());
        return false;
      case OpCode::APPENDS:
      case OpCode::SETITEMS:
      case OpCode::ADDITEMS:
        (void)pop_mark();
        check_mutation(top());
        return false;
      case OpCode::BUILD:
        (void)pop();
        check_mutation(top());
        return false;
      // ---- memo
      case OpCode::PUT:
      case OpCode::BINPUT:
      case OpCode::LONG_BINPUT:
      case OpCode::MEMOIZE: {
        std::uint64_t idx = 0;
        if (info.code == OpCode::PUT) {
          const auto v = decimal(line());
          if (!v) fail("malformed memo index");
          idx = *v;
        } else if (info.code == OpCode::BINPUT) {
          idx = le(1);
        } else if (info.code == OpCode::LONG_BINPUT) {
          idx = le(4);
        } else {
          idx = memo_.size();
        }
        Sym t = top();
        if (!memo_.count(idx)) {
          if (memo_.size() >= limits_.max_memo_entries)
            fail(concat("more than ", limits_.max_memo_entries,
                        " memo entries (Limits::pickle.max_memo_entries)"));
          charge(kMemoEntryCost);
        }
        memo_[idx] = t;
        return false;
      }
      case OpCode::GET:
      case OpCode::BINGET:
      case OpCode::LONG_BINGET: {
        std::uint64_t idx = 0;
        if (info.code == OpCode::GET) {
          const auto v = decimal(line());
          if (!v) fail("malformed memo index");
          idx = *v;
        } else {
          idx = le(info.code == OpCode::BINGET ? 1 : 4);
        }
        const auto it = memo_.find(idx);
        if (it == memo_.end())
          fail(concat("memo index ", idx, " is not defined; Python stops here with an error"));
        push(it->second);
        return false;
      }
      // ---- globals and calls
      case OpCode::GLOBAL: {
        std::string module(line());
        std::string name(line());
        push(add_global(std::move(module), std::move(name)));
        return false;
      }
      case OpCode::STACK_GLOBAL: {
        Sym name = pop();
        Sym module = pop();
        if (module.kind == Sym::Kind::kString && name.kind == Sym::Kind::kString) {
          push(add_global(texts_[static_cast<std::size_t>(module.ref)],
                          texts_[static_cast<std::size_t>(name.ref)]));
        } else {
          finding(Verdict::kSuspicious, op_at_,
                  "STACK_GLOBAL: the module or name is not a literal string (computed at run "
                  "time, or a module attribute rebound earlier); the global cannot be determined "
                  "statically");
          Sym g;
          g.kind = Sym::Kind::kGlobal;
          push(std::move(g));
        }
        return false;
      }
      case OpCode::INST: {
        std::string module(line());
        std::string name(line());
        (void)pop_mark();
        Sym g = add_global(std::move(module), std::move(name));
        (void)g;
        push(Sym{Sym::Kind::kCall, -1});
        return false;
      }
      case OpCode::OBJ: {
        std::vector<Sym> items = pop_mark();
        if (items.empty()) fail("OBJ without a class; Python stops here with an error");
        // OBJ instantiates the class below its arguments: listed as its own occurrence (opcode
        // "OBJ" at this offset), whichever opcode pushed the class.
        const Sym& cls = items.front();
        if (cls.kind == Sym::Kind::kGlobal && cls.ref >= 0) {
          ScanGlobal g = report_.globals[static_cast<std::size_t>(cls.ref)];
          g.record = record_;
          g.offset = base_ + op_at_;
          g.opcode = opname();
          charge(kRecordCost + g.module.size() + g.name.size() + g.record.size() + g.reason.size());
          report_.globals.push_back(std::move(g));
        }
        check_callable(cls);
        push(Sym{Sym::Kind::kCall, -1});
        return false;
      }
      case OpCode::REDUCE: {
        (void)pop();  // arguments
        check_callable(pop());
        push(Sym{Sym::Kind::kCall, -1});
        return false;
      }
      case OpCode::NEWOBJ:
        (void)pop();
        check_callable(pop());
        push(Sym{Sym::Kind::kCall, -1});
        return false;
      case OpCode::NEWOBJ_EX:
        (void)pop();
        (void)pop();
        check_callable(pop());
        push(Sym{Sym::Kind::kCall, -1});
        return false;
      case OpCode::PERSID:
        (void)line();
        push({});
        return false;
      case OpCode::BINPERSID:
        (void)pop();
        push({});
        return false;
      case OpCode::EXT1:
      case OpCode::EXT2:
      case OpCode::EXT4:
        (void)le(info.code == OpCode::EXT1 ? 1 : info.code == OpCode::EXT2 ? 2 : 4);
        fail("a global named through copyreg's extension registry cannot be determined statically");
      case OpCode::NEXT_BUFFER:
        fail("out-of-band buffers are not given by torch.load; Python stops here with an error");
      case OpCode::READONLY_BUFFER:
        (void)top();
        return false;
    }
    fail("opcode not handled by the scanner");
  }

  std::span<const std::byte> b_;
  std::size_t pos_;
  std::size_t op_at_ = 0;
  std::uint64_t base_;
  const std::string& record_;
  const pickle::Limits& limits_;
  ScanReport& report_;
  std::vector<Sym> stack_;
  std::vector<std::size_t> marks_;
  std::unordered_map<std::uint64_t, Sym> memo_;
  std::vector<std::string> texts_;  // the strings kept for STACK_GLOBAL (Sym::ref)
  std::uint64_t budget_ = 0, budget_input_ = 0, allocated_ = 0;
  bool over_budget_ = false;
};

}  // namespace

PickleScan scan_one_pickle(std::span<const std::byte> bytes, std::size_t start,
                           std::uint64_t base_offset, const std::string& record,
                           const ScanOptions& options, ScanReport& report,
                           std::uint64_t stored_size) {
  try {
    return SymbolicVm(bytes, start, base_offset, stored_size, record, options, report).run();
  } catch (const std::bad_alloc&) {
    report.findings.push_back({Verdict::kSuspicious, record, base_offset + start,
                               "out of memory while scanning this pickle"});
    return {};
  }
}

void finish_verdict(ScanReport& report) {
  Verdict v = Verdict::kSafe;
  for (const ScanGlobal& g : report.globals) {
    if (g.cls == GlobalClass::kDangerous) v = Verdict::kDangerous;
    if (g.cls == GlobalClass::kUnknown && v == Verdict::kSafe) v = Verdict::kSuspicious;
  }
  for (const ScanFinding& f : report.findings)
    if (f.severity > v) v = f.severity;
  report.verdict = v;
}

}  // namespace ptio::detail
