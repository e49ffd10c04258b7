// torch.load's resolver (allowlist + rebuild functions) and the bridge to pickle::Unpickler.
#include "serialization/unpickle.h"

#include <algorithm>
#include <set>

#include "ptio/error.h"
#include "ptio/pickle/unpickler.h"
#include "serialization/torch_globals.h"

namespace ptio::detail {

pickle::Resolver make_torch_resolver(const LoadOptions& options) {
  pickle::Resolver r = pickle::Resolver::with_python_builtins();
  // collections.Counter(dict) (allowlisted since 2.5): a plain dict of the counts.
  r.add_callable("collections", "Counter",
                 [](const IValue& args, const pickle::CallContext& ctx) -> IValue {
                   IValue d = IValue::dict();
                   if (!args.is_tuple() || args.as_tuple().size() > 1)
                     ctx.fail(ErrorCode::kPickleTypeError, "takes at most one argument");
                   if (args.as_tuple().size() == 1) {
                     const IValue& src = args.as_tuple().elements()[0];
                     if (!src.is_dict()) ctx.fail(ErrorCode::kPickleTypeError, "takes a dict");
                     for (const auto& [k, v] : src.as_dict().items())
                       d.as_dict().insert_or_assign(k, v);
                   }
                   return d;
                 });
  const bool weights_only = options.weights_only;
  const bool inspect_blocked = !weights_only && options.inspect_blocked_globals;
  const std::set<std::string, std::less<>> safe(options.safe_globals.begin(),
                                                options.safe_globals.end());
  r.set_fallback([weights_only, inspect_blocked, safe, report = options.on_unknown_global](
                     std::string_view module,
                     std::string_view name) -> pickle::Resolver::HandlerPtr {
    const TorchGlobal* g = find_torch_global(module, name);
    const std::string full = std::string(module) + "." + std::string(name);
    if (!g && report) report(module, name);
    if (g && weights_only && !g->weights_only_safe && !safe.count(full))
      throw Error(ErrorCode::kUnsafeGlobal,
                  "unsupported global " + full +
                      ": PyTorch's weights_only loading does not allow it; if you trust the "
                      "file, add it with LoadOptions::safe_globals or load with weights_only = "
                      "false");
    if (g) {
      auto h = std::make_shared<pickle::GlobalHandler>();
      if (g->call) {
        h->call = [g](const IValue& args, const pickle::CallContext& ctx) -> IValue {
          if (!args.is_tuple()) ctx.fail(ErrorCode::kPickleTypeError, "arguments must be a tuple");
          if (g->copy_bytes) ctx.charge(g->copy_bytes(args.as_tuple().elements()));
          return g->call(args.as_tuple().elements());
        };
      } else {
        h->has_value = true;
        h->value = IValue::opaque(std::string(module), std::string(name));
      }
      return h;
    }
    if (is_blocked_module(module) && !inspect_blocked)
      throw Error(ErrorCode::kUnsafeGlobal, "global " + full + " is in a blocked module (" +
                                                std::string(module) + "); it is never loaded");
    if (weights_only && !safe.count(full))
      throw Error(ErrorCode::kUnsafeGlobal,
                  "unsupported global " + full +
                      ": it is not allowed by weights_only loading; if you trust the file, add it "
                      "with LoadOptions::safe_globals or load with weights_only = false");
    return nullptr;  // inspection policy: an Opaque value, nothing runs
  });
  return r;
}

namespace {

pickle::UnpicklerOptions unpickler_options(const pickle::Resolver& resolver,
                                           const PersistentLoad& persistent_load,
                                           const LoadOptions& options, std::string file,
                                           std::string record, std::uint64_t base) {
  pickle::UnpicklerOptions o;
  o.resolver = &resolver;
  o.policy = pickle::Policy::kInspection;
  o.persistent_load = [persistent_load](const IValue& pid, const pickle::CallContext&) {
    return persistent_load(pid);
  };
  o.limits = options.limits.pickle;
  o.file = std::move(file);
  o.record = std::move(record);
  o.base_offset = base;
  return o;
}

}  // namespace

Unpickled unpickle(std::span<const std::byte> bytes, std::uint64_t base_offset,
                   const pickle::Resolver& resolver, const PersistentLoad& persistent_load,
                   const LoadOptions& options, const std::string& file, const std::string& record,
                   std::uint64_t stored_size) {
  pickle::UnpicklerOptions o =
      unpickler_options(resolver, persistent_load, options, file, record, base_offset);
  o.stored_size = stored_size;
  pickle::Unpickler u(bytes, std::move(o));
  Unpickled r;
  r.value = u.load();
  r.end = u.offset();
  return r;
}

Unpickled unpickle(const io::ReadAdapter& in, std::uint64_t begin, std::uint64_t limit,
                   const pickle::Resolver& resolver, const PersistentLoad& persistent_load,
                   const LoadOptions& options, const std::string& record) {
  PTIO_CHECK(begin <= limit && limit <= in.size(), ErrorCode::kIoOutOfBounds, record,
             ": pickle range [", begin, ", ", limit, ") leaves the file");
  if (in.supports_view()) {
    const io::ByteView v = in.view(begin, static_cast<std::size_t>(limit - begin));
    return unpickle(v.span(), begin, resolver, persistent_load, options, in.name(), record);
  }
  // No zero-copy view (istream, callback): read a window and grow it until the pickle fits, so
  // the storage bytes that follow a legacy pickle are not read twice.
  std::uint64_t window = std::min<std::uint64_t>(limit - begin, 1u << 20);
  for (;;) {
    const auto buf = in.read_vector(begin, static_cast<std::size_t>(window));
    try {
      return unpickle(buf, begin, resolver, persistent_load, options, in.name(), record);
    } catch (const Error& e) {
      const bool short_input =
          e.code() == ErrorCode::kPickleTruncated || e.code() == ErrorCode::kPickleMissingStop;
      if (!short_input || begin + window >= limit) throw;
      window = std::min<std::uint64_t>(limit - begin, window * 4);
    }
  }
}

}  // namespace ptio::detail
