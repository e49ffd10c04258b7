// Resolver: global lookup (exact, module prefix, fallback) and CPython's plain-value globals.
#include "ptio/pickle/resolver.h"

#include "pickle/text.h"

namespace ptio::pickle {

void CallContext::charge(std::uint64_t bytes) const {
  if (allocated == nullptr) return;
  *allocated += bytes;
  if (*allocated > budget)
    fail(ErrorCode::kPickleAllocationLimit,
         detail::concat("allocation limit of ", budget, " bytes exceeded"));
}

void CallContext::fail(ErrorCode code, std::string_view message) const {
  throw Error(code, detail::concat(module, module.empty() ? "" : ".", name,
                                   name.empty() ? "" : ": ", message));
}

std::string_view python3_module_name(std::string_view module) noexcept {
  if (module == "__builtin__") return "builtins";
  if (module == "copy_reg") return "copyreg";
  return module;
}

namespace {
std::string key_of(std::string_view module, std::string_view name) {
  std::string k;
  k.reserve(module.size() + name.size() + 1);
  k.append(module);
  k.push_back('.');
  k.append(name);
  return k;
}
}  // namespace

Resolver& Resolver::add(std::string_view module, std::string_view name, GlobalHandler handler) {
  exact_[key_of(module, name)] = std::make_shared<const GlobalHandler>(std::move(handler));
  return *this;
}

Resolver& Resolver::add_value(std::string_view module, std::string_view name, IValue value) {
  GlobalHandler h;
  h.has_value = true;
  h.value = std::move(value);
  return add(module, name, std::move(h));
}

Resolver& Resolver::add_callable(std::string_view module, std::string_view name,
                                 GlobalHandler::Fn fn) {
  GlobalHandler h;
  h.call = std::move(fn);
  return add(module, name, std::move(h));
}

Resolver& Resolver::add_module_prefix(std::string module_prefix, Lookup lookup) {
  prefixes_.emplace_back(std::move(module_prefix), std::move(lookup));
  return *this;
}

Resolver& Resolver::set_fallback(Lookup lookup) {
  fallback_ = std::move(lookup);
  return *this;
}

Resolver& Resolver::set_build_hook(BuildHook hook) {
  build_hook_ = std::move(hook);
  return *this;
}

Resolver::HandlerPtr Resolver::find(std::string_view module_in, std::string_view name) const {
  const std::string_view module = python3_module_name(module_in);
  if (!exact_.empty()) {
    auto it = exact_.find(key_of(module, name));
    if (it != exact_.end()) return it->second;
  }
  const Lookup* best = nullptr;
  std::size_t best_len = 0;
  for (const auto& [prefix, fn] : prefixes_) {
    const bool match =
        module.size() >= prefix.size() && module.compare(0, prefix.size(), prefix) == 0 &&
        (module.size() == prefix.size() || prefix.empty() || module[prefix.size()] == '.');
    if (match && (best == nullptr || prefix.size() >= best_len)) {
      best = &fn;
      best_len = prefix.size();
    }
  }
  if (best != nullptr)
    if (auto h = (*best)(module, name)) return h;
  if (fallback_) return fallback_(module, name);
  return nullptr;
}

// ---- CPython's plain-value globals -------------------------------------------------------------

namespace {

const std::vector<IValue>& tuple_args(const IValue& args, const CallContext& ctx) {
  if (!args.is_tuple()) ctx.fail(ErrorCode::kPickleTypeError, "arguments must be a tuple");
  return args.as_tuple().elements();
}

// str.encode(encoding) for the encodings CPython's pickler uses for bytes below protocol 3.
std::string encode_str(const std::string& utf8, std::string_view encoding, const CallContext& ctx) {
  std::string enc;
  for (char c : encoding) enc.push_back(c == '_' ? '-' : static_cast<char>(std::tolower(c)));
  if (enc == "utf-8" || enc == "utf8") return utf8;
  if (enc == "latin1" || enc == "latin-1" || enc == "iso-8859-1" || enc == "l1") {
    std::string out;
    if (!text::utf8_to_latin1(utf8, out))
      ctx.fail(ErrorCode::kPickleBadValue, "string has characters above U+00FF for latin1");
    return out;
  }
  if (enc == "ascii") {
    for (unsigned char c : utf8)
      if (c >= 0x80) ctx.fail(ErrorCode::kPickleBadValue, "string is not ASCII");
    return utf8;
  }
  ctx.fail(ErrorCode::kPickleBadValue, detail::concat("unsupported encoding '", encoding, "'"));
}

// bytes(...) / bytearray(...) argument forms: (), (bytes,), (str, encoding), (list of ints,).
std::string bytes_from_args(const IValue& args, const CallContext& ctx) {
  const auto& a = tuple_args(args, ctx);
  if (a.empty()) return {};
  if (a.size() == 1 && a[0].is_bytes()) return std::string(a[0].as_bytes());
  if (a.size() == 2 && a[0].is_string() && a[1].is_string())
    return encode_str(a[0].as_string(), a[1].as_string(), ctx);
  if (a.size() == 1 && (a[0].is_list() || a[0].is_tuple())) {
    const auto& items = a[0].is_list() ? a[0].as_list().elements : a[0].as_tuple().elements();
    ctx.charge(items.size());
    std::string out;
    out.reserve(items.size());
    for (const auto& x : items) {
      if (!x.is_int() || x.as_int() < 0 || x.as_int() > 255)
        ctx.fail(ErrorCode::kPickleBadValue, "bytes must be in range(0, 256)");
      out.push_back(static_cast<char>(x.as_int()));
    }
    return out;
  }
  ctx.fail(ErrorCode::kPickleTypeError, "unsupported arguments");
}

IValue set_from_args(const IValue& args, const CallContext& ctx, bool frozen) {
  const auto& a = tuple_args(args, ctx);
  IValue s = frozen ? IValue::frozenset() : IValue::set();
  if (a.empty()) return s;
  if (a.size() != 1) ctx.fail(ErrorCode::kPickleTypeError, "expected at most 1 argument");
  const std::vector<IValue>* items = nullptr;
  if (a[0].is_list())
    items = &a[0].as_list().elements;
  else if (a[0].is_tuple())
    items = &a[0].as_tuple().elements();
  else if (a[0].is_set())
    items = &a[0].as_set().items();
  else
    ctx.fail(ErrorCode::kPickleTypeError, "argument must be a list, tuple or set");
  ctx.charge(items->size() * 32);
  auto& set = s.as_set();
  try {
    for (const auto& x : *items) set.insert(x);
  } catch (const Error& e) {
    if (e.code() == ErrorCode::kWrongKind) ctx.fail(ErrorCode::kPickleTypeError, e.message());
    throw;
  }
  return s;
}

double real_arg(const IValue& v, const CallContext& ctx) {
  if (v.is_double() || v.is_int() || v.is_bool()) return v.as_double();
  if (v.is_big_int()) return v.as_big_int().to_double();
  ctx.fail(ErrorCode::kPickleTypeError, "complex() argument must be a number");
}

}  // namespace

Resolver& Resolver::add_python_builtins() {
  add_callable("_codecs", "encode", [](const IValue& args, const CallContext& ctx) {
    const auto& a = tuple_args(args, ctx);
    if (a.empty() || a.size() > 2 || !a[0].is_string() || (a.size() == 2 && !a[1].is_string()))
      ctx.fail(ErrorCode::kPickleTypeError, "expected (str, encoding)");
    return IValue::bytes(
        encode_str(a[0].as_string(), a.size() == 2 ? a[1].as_string() : "utf-8", ctx));
  });
  add_callable("builtins", "bytes", [](const IValue& args, const CallContext& ctx) {
    return IValue::bytes(bytes_from_args(args, ctx));
  });
  add_callable("builtins", "bytearray", [](const IValue& args, const CallContext& ctx) {
    return IValue::bytearray(bytes_from_args(args, ctx));
  });
  add_callable("builtins", "set", [](const IValue& args, const CallContext& ctx) {
    return set_from_args(args, ctx, false);
  });
  add_callable("builtins", "frozenset", [](const IValue& args, const CallContext& ctx) {
    return set_from_args(args, ctx, true);
  });
  add_callable("builtins", "complex", [](const IValue& args, const CallContext& ctx) {
    const auto& a = tuple_args(args, ctx);
    if (a.size() > 2) ctx.fail(ErrorCode::kPickleTypeError, "expected at most 2 arguments");
    const double re = a.empty() ? 0.0 : real_arg(a[0], ctx);
    const double im = a.size() < 2 ? 0.0 : real_arg(a[1], ctx);
    return IValue(std::complex<double>(re, im));
  });
  add_callable("collections", "OrderedDict", [](const IValue& args, const CallContext& ctx) {
    const auto& a = tuple_args(args, ctx);
    IValue d = IValue::dict();
    d.as_dict().ordered_dict = true;
    if (a.empty()) return d;
    const std::vector<IValue>* items = nullptr;
    if (a.size() == 1 && a[0].is_list())
      items = &a[0].as_list().elements;
    else if (a.size() == 1 && a[0].is_tuple())
      items = &a[0].as_tuple().elements();
    else if (a.size() == 1 && a[0].is_dict()) {
      ctx.charge(a[0].as_dict().size() * 48);
      for (const auto& [k, v] : a[0].as_dict().items()) d.as_dict().insert_or_assign(k, v);
      return d;
    } else {
      ctx.fail(ErrorCode::kPickleTypeError, "expected () or (items,)");
    }
    ctx.charge(items->size() * 48);
    for (const auto& pair : *items) {
      if (!pair.is_tuple() || pair.as_tuple().size() != 2)
        ctx.fail(ErrorCode::kPickleTypeError, "items must be (key, value) pairs");
      try {
        d.as_dict().insert_or_assign(pair.as_tuple().elements()[0], pair.as_tuple().elements()[1]);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kWrongKind) ctx.fail(ErrorCode::kPickleTypeError, e.message());
        throw;
      }
    }
    return d;
  });
  return *this;
}

Resolver& Resolver::add_torchscript_pickle_globals() {
  add_callable("torch.jit._pickle", "restore_type_tag",
               [](const IValue& args, const CallContext& ctx) {
                 const auto& a = tuple_args(args, ctx);
                 if (a.size() != 2 || !a[1].is_string() || !(a[0].is_list() || a[0].is_dict()))
                   ctx.fail(ErrorCode::kPickleTypeError, "expected (list or dict, type string)");
                 if (a[0].is_list())
                   a[0].as_list().type_tag = a[1].as_string();
                 else
                   a[0].as_dict().type_tag = a[1].as_string();
                 return a[0];
               });
  static constexpr std::pair<const char*, const char*> kLists[] = {
      {"build_intlist", "List[int]"},
      {"build_doublelist", "List[float]"},
      {"build_boollist", "List[bool]"},
      {"build_tensorlist", "List[Tensor]"}};
  for (const auto& [fn, tag] : kLists) {
    add_callable("torch.jit._pickle", fn,
                 [tag = std::string(tag)](const IValue& args, const CallContext& ctx) {
                   const auto& a = tuple_args(args, ctx);
                   if (a.size() != 1 || !a[0].is_list())
                     ctx.fail(ErrorCode::kPickleTypeError, "expected (list,)");
                   a[0].as_list().type_tag = tag;
                   return a[0];
                 });
  }
  add_callable("torch", "device", [](const IValue& args, const CallContext& ctx) {
    const auto& a = tuple_args(args, ctx);
    if (a.size() == 1 && a[0].is_string()) return IValue(Device::parse(a[0].as_string()));
    if (a.size() == 2 && a[0].is_string() && a[1].is_int())
      return IValue(Device::parse(a[0].as_string() + ":" + std::to_string(a[1].as_int())));
    ctx.fail(ErrorCode::kPickleTypeError, "expected (str,) or (str, int)");
  });
  add_callable("builtins", "complex", [](const IValue& args, const CallContext& ctx) {
    const auto& a = tuple_args(args, ctx);
    if (a.size() != 2) ctx.fail(ErrorCode::kPickleTypeError, "expected (real, imag)");
    return IValue(std::complex<double>(real_arg(a[0], ctx), real_arg(a[1], ctx)));
  });
  add_module_prefix("__torch__", [](std::string_view module, std::string_view name) {
    auto h = std::make_shared<GlobalHandler>();
    QualifiedName type(module, name);
    h->new_object = [type](const IValue&, const CallContext&) { return IValue::object(type); };
    h->call = [type](const IValue& value, const CallContext&) {
      return IValue::enum_value(type, "", value);
    };
    return std::shared_ptr<const GlobalHandler>(std::move(h));
  });
  return *this;
}

Resolver Resolver::with_python_builtins() {
  Resolver r;
  r.add_python_builtins();
  return r;
}

}  // namespace ptio::pickle
