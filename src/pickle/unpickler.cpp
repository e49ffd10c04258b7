// The Unpickler VM's driver: the opcode loop, error context, and the public Unpickler API.
#include <array>

#include "pickle/arg_layout.h"
#include "pickle/unpickler_impl.h"

namespace ptio::pickle {

const Resolver& detail_vm::default_resolver() {
  static const Resolver r = Resolver::with_python_builtins();
  return r;
}

namespace {

// Bytes of an opcode's inline argument when that size is fixed (kNone 0, uint1 1, ... 8-byte
// values 8); 0xFF for variable-length arguments and for bytes that are no opcode. The fast paths
// below take opcodes whose whole argument is present from here and leave everything else
// (including every error) to the generic decoding.
constexpr std::uint8_t fixed_arg_size(ArgKind k) {
  const ArgLayout l = arg_layout(k);
  return l.length_prefix || l.lines ? 0xFF : l.fixed;
}

constexpr std::array<std::uint8_t, 256> kFixedArgSize = [] {
  std::array<std::uint8_t, 256> t{};
  t.fill(0xFF);
#define PTIO_X(name, byte, proto, arg) t[byte] = fixed_arg_size(ArgKind::arg);
  PTIO_PICKLE_OPCODES(PTIO_X)
#undef PTIO_X
  return t;
}();

std::uint32_t le32_at(const std::uint8_t* p) {
  return std::uint32_t{p[0]} | (std::uint32_t{p[1]} << 8) | (std::uint32_t{p[2]} << 16) |
         (std::uint32_t{p[3]} << 24);
}

}  // namespace

// Decodes the opcodes from `pos` to STOP (the same decoding run() does, without executing them),
// records which memo indices BINGET/LONG_BINGET read and counts the memo writes (BINPUT,
// LONG_BINPUT, PUT, MEMOIZE), which size the memo up front. The reads are undecided
// (memo_reads_known = false, every memo entry kept) when the pickle uses GET/PUT/MEMOIZE (text
// or implicit indices, rare and not worth simulating) or when an index is so large that its bit
// would cost more than the input justifies; the writes are still counted to the STOP. Nothing is
// scanned when the caller asked for the memoized set. Where decoding fails (truncated, unknown
// opcode) run() fails at the same opcode, so the reads seen before it are all it does.
void Unpickler::Impl::scan_memo_reads() {
  memo_reads.clear();
  memo_reads_known = false;
  memo_writes = 0;
  memo_top = 0;
  if (opt.record_memoized) return;
  const std::size_t saved_pos = pos, saved_op_pos = op_pos;
  const std::uint8_t saved_op = op;
  // The bitmap costs at most one byte per input byte (plus 8 KiB): a larger index keeps the
  // whole memo instead.
  const std::uint64_t max_bits = std::min<std::uint64_t>(
      opt.limits.max_memo_entries, 8 * std::uint64_t{remaining()} + (std::uint64_t{1} << 16));
  bool decided = true;
  auto note_read = [&](std::uint64_t idx) {
    if (!decided) return;
    if (idx >= max_bits) {
      // Out of the memo's range: the VM fails on this read (nothing can define it). Beyond
      // what the input justifies but in range: keep everything.
      if (idx < opt.limits.max_memo_entries) decided = false;
      return;
    }
    const std::size_t w = static_cast<std::size_t>(idx / 64);
    if (w >= memo_reads.size())
      memo_reads.resize(std::clamp<std::size_t>(2 * memo_reads.size(), w + 1,
                                                static_cast<std::size_t>(max_bits / 64 + 1)),
                        0);
    memo_reads[w] |= std::uint64_t{1} << (idx % 64);
  };
  try {
    while (pos < size) {
      // Fast path, on locals: opcodes with a fixed-size argument that is all there, and
      // BINUNICODEs whose text is all there (torch.save's state_dict keys). Anything else (and
      // every error) goes to the generic decoding below, one opcode at a time.
      {
        const std::uint8_t* const d = data;
        const std::size_t n = size;
        std::size_t p = pos;
        std::uint64_t writes = memo_writes;
        std::uint64_t top = memo_top;
        bool stop = false;
        while (p < n) {
          const std::uint8_t b = d[p];
          const std::uint8_t fixed = kFixedArgSize[b];
          if (fixed != 0xFF && n - p - 1 >= fixed) {
            const std::uint8_t* arg = d + p + 1;
            p += 1u + fixed;
            switch (static_cast<OpCode>(b)) {
              case OpCode::STOP:
                stop = true;
                break;
              case OpCode::BINPUT:
                ++writes;
                top = std::max<std::uint64_t>(top, arg[0] + 1u);
                continue;
              case OpCode::LONG_BINPUT:
                ++writes;
                top = std::max<std::uint64_t>(top, std::uint64_t{le32_at(arg)} + 1u);
                continue;
              case OpCode::MEMOIZE:
                ++writes;
                top = std::max(top, writes);
                decided = false;
                continue;
              case OpCode::BINGET:
                note_read(arg[0]);
                continue;
              case OpCode::LONG_BINGET:
                note_read(le32_at(arg));
                continue;
              default:
                continue;
            }
            break;  // STOP
          }
          if (b == static_cast<std::uint8_t>(OpCode::BINUNICODE) && n - p - 1 >= 4) {
            const std::uint32_t len = le32_at(d + p + 1);
            if (n - p - 5 >= len) {
              p += 5u + len;
              continue;
            }
          }
          break;
        }
        pos = p;
        memo_writes = writes;
        memo_top = top;
        if (stop) break;
        if (pos >= size) break;
      }
      op_pos = pos;
      op = data[pos++];
      const OpcodeInfo* info = opcode_info(op);
      if (info == nullptr) break;
      const Arg a = read_arg(info->arg);
      const OpCode code = info->code;
      if (code == OpCode::STOP) break;
      if (code == OpCode::BINPUT || code == OpCode::LONG_BINPUT || code == OpCode::PUT ||
          code == OpCode::MEMOIZE) {
        ++memo_writes;
        memo_top =
            std::max(memo_top,
                     code == OpCode::BINPUT || code == OpCode::LONG_BINPUT ? a.u + 1 : memo_writes);
      }
      if (code == OpCode::GET || code == OpCode::PUT || code == OpCode::MEMOIZE) decided = false;
      if (code == OpCode::BINGET || code == OpCode::LONG_BINGET) note_read(a.u);
    }
  } catch (const Error&) {
    // Undecodable from here on: run() stops with an error at this opcode.
  }
  pos = saved_pos;
  op_pos = saved_op_pos;
  op = saved_op;
  if (!decided) {
    memo_reads.clear();
    return;
  }
  memo_reads_known = true;
}

namespace {
// The opcodes torch::jit::Unpickler::readInstruction (PyTorch 1.13) implements (each checked
// with torch.jit.load 1.13 in a data.pkl).
constexpr std::array<bool, 256> kTorchScriptOpcodes = [] {
  std::array<bool, 256> t{};
  for (OpCode c : {OpCode::PROTO,       OpCode::STOP,     OpCode::MARK,        OpCode::NONE,
                   OpCode::NEWTRUE,     OpCode::NEWFALSE, OpCode::BININT,      OpCode::BININT1,
                   OpCode::BININT2,     OpCode::LONG1,    OpCode::BINFLOAT,    OpCode::BINUNICODE,
                   OpCode::EMPTY_LIST,  OpCode::LIST,     OpCode::APPENDS,     OpCode::EMPTY_TUPLE,
                   OpCode::TUPLE,       OpCode::TUPLE1,   OpCode::TUPLE2,      OpCode::TUPLE3,
                   OpCode::EMPTY_DICT,  OpCode::DICT,     OpCode::SETITEMS,    OpCode::BINPUT,
                   OpCode::LONG_BINPUT, OpCode::BINGET,   OpCode::LONG_BINGET, OpCode::GLOBAL,
                   OpCode::REDUCE,      OpCode::BUILD,    OpCode::NEWOBJ,      OpCode::BINPERSID})
    t[static_cast<std::uint8_t>(c)] = true;
  return t;
}();
}  // namespace

void Unpickler::Impl::check_torchscript_opcode(const OpcodeInfo& info) const {
  if (!kTorchScriptOpcodes[op])
    fail(ErrorCode::kPickleUnknownOpcode,
         detail::concat("Unknown opcode for unpickling: ", info.name, " (0x",
                        detail::hex(op).substr(2),
                        "; PyTorch's C++ unpickler of TorchScript pickles does not implement it)"));
  // LONG1 is read as an int64: "Expected length to be 8, got N".
  if (info.code == OpCode::LONG1 && pos < size && data[pos] != 8)
    fail(ErrorCode::kPickleBadLength,
         detail::concat("LONG1: Expected length to be 8, got ", static_cast<int>(data[pos]),
                        " (PyTorch's C++ unpickler of TorchScript pickles)"));
}

IValue Unpickler::Impl::run() {
  reset();
  stopped = false;
  try {
    while (!stopped) {
      op_pos = pos;
      if (pos >= size) fail(ErrorCode::kPickleMissingStop, "the pickle ends without a STOP opcode");
      op = data[pos++];
      // The memo opcodes (over half of a torch.save pickle's) straight to memo_put/memo_get when
      // their index is all there; the same calls step() makes, without the generic decoding.
      switch (static_cast<OpCode>(op)) {
        case OpCode::BINPUT:
          if (pos < size) {
            memo_put(data[pos++]);
            continue;
          }
          break;
        case OpCode::BINGET:
          if (pos < size) {
            memo_get(data[pos++]);
            continue;
          }
          break;
        case OpCode::LONG_BINPUT:
          if (size - pos >= 4) {
            const std::uint32_t idx = le32_at(data + pos);
            pos += 4;
            memo_put(idx);
            continue;
          }
          break;
        case OpCode::LONG_BINGET:
          if (size - pos >= 4) {
            const std::uint32_t idx = le32_at(data + pos);
            pos += 4;
            memo_get(idx);
            continue;
          }
          break;
        default:
          break;
      }
      const OpcodeInfo* info = opcode_info(op);
      if (info == nullptr) [[unlikely]]
        fail(ErrorCode::kPickleUnknownOpcode,
             detail::concat("unknown opcode 0x", detail::hex(op).substr(2)));
      if (opt.torchscript_dialect) [[unlikely]]
        check_torchscript_opcode(*info);
      const Arg a = read_arg(info->arg);
      step(*info, a);
    }
  } catch (Error& e) {
    e.add_context(opt.file, opt.record, opt.base_offset + op_pos);
    release_garbage(IValue());
    throw;
  } catch (const std::bad_alloc&) {
    release_garbage(IValue());
    throw Error(ErrorCode::kPickleAllocationLimit, "out of memory", opt.file, opt.record,
                opt.base_offset + op_pos);
  } catch (const std::length_error&) {
    release_garbage(IValue());
    throw Error(ErrorCode::kPickleAllocationLimit, "allocation too large", opt.file, opt.record,
                opt.base_offset + op_pos);
  }
  IValue out = std::move(result);
  result = IValue();
  release_garbage(out);
  return out;
}

Unpickler::Unpickler(std::span<const std::byte> data, UnpicklerOptions options, std::size_t start)
    : impl_(std::make_unique<Impl>(data, std::move(options), start)) {}
Unpickler::~Unpickler() = default;

IValue Unpickler::load() {
  return impl_->run();
}
std::size_t Unpickler::position() const noexcept {
  return impl_->pos;
}
std::uint64_t Unpickler::offset() const noexcept {
  return impl_->opt.base_offset + impl_->pos;
}
bool Unpickler::at_end() const noexcept {
  return impl_->pos >= impl_->size;
}
int Unpickler::protocol() const noexcept {
  return impl_->proto;
}
const std::unordered_set<const void*>& Unpickler::memoized() const noexcept {
  return impl_->memoized;
}

IValue unpickle(std::span<const std::byte> data, const UnpicklerOptions& options) {
  Unpickler u(data, options);
  return u.load();
}

}  // namespace ptio::pickle
