// The Unpickler VM's driver: the opcode loop, error context, and the public Unpickler API.
#include "pickle/unpickler_impl.h"

namespace ptio::pickle {

const Resolver& detail_vm::default_resolver() {
  static const Resolver r = Resolver::with_python_builtins();
  return r;
}

IValue Unpickler::Impl::run() {
  reset();
  stopped = false;
  try {
    while (!stopped) {
      op_pos = pos;
      if (pos >= size) fail(ErrorCode::kPickleMissingStop, "the pickle ends without a STOP opcode");
      op = data[pos++];
      const OpcodeInfo* info = opcode_info(op);
      if (info == nullptr) [[unlikely]]
        fail(ErrorCode::kPickleUnknownOpcode,
             detail::concat("unknown opcode 0x", detail::hex(op).substr(2)));
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
