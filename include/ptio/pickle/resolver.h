// Resolver: the table that gives pickle GLOBALs a meaning (the unpickler itself never runs code).
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/export.h"

namespace ptio::pickle {

/// What a handler learns about the opcode it serves. Handlers report bad arguments by throwing
/// ptio::Error (usually through `fail()`); the unpickler adds file, record and the opcode's
/// absolute offset to every error that escapes a handler.
class PTIO_API CallContext {
 public:
  /// The global's module and name as written in the file (before Python-2 name mapping).
  std::string_view module;
  std::string_view name;
  /// Absolute offset of the opcode being executed (REDUCE, NEWOBJ, BUILD, BINPERSID, ...).
  std::uint64_t offset = 0;
  /// Counts `bytes` against Limits' allocation budget; throws Error(kPickleAllocationLimit).
  /// Handlers that copy or expand their arguments (e.g. `set(list)`) must call it first.
  void charge(std::uint64_t bytes) const;
  /// Throws Error(code, "<module>.<name>: " + message).
  [[noreturn]] void fail(ErrorCode code, std::string_view message) const;

  /// Internal: the unpickler's allocation counter.
  std::uint64_t* allocated = nullptr;
  std::uint64_t budget = 0;
};

/// Handler of one global (`module.name`).
///
/// * `value` set (`has_value`): GLOBAL pushes `value` itself — a class used as plain data, e.g.
///   `torch.FloatStorage` inside a persistent id.
/// * otherwise GLOBAL pushes a callable marker (an Opaque carrying this handler); REDUCE, INST
///   and OBJ call `call(args)`; NEWOBJ/NEWOBJ_EX call `new_object(args)` (NEWOBJ_EX passes the
///   tuple `(args, kwargs)`), or `call(args)` when `new_object` is empty. `args` is normally a
///   tuple, but TorchScript enums REDUCE with a bare value, so handlers must check.
/// A missing function makes the opcode fail with Error(kPickleTypeError).
struct PTIO_API GlobalHandler {
  using Fn = std::function<IValue(const IValue& args, const CallContext& ctx)>;
  bool has_value = false;
  IValue value;
  Fn call;
  Fn new_object;
};

/// Maps `module.name` to handlers: exact names first, then the longest matching module prefix
/// (`__torch__` matches `__torch__` and `__torch__.a.b`), then the fallback. Python 2 module names
/// (`__builtin__`, `copy_reg`) are mapped to their Python 3 names before lookup, as CPython's
/// unpickler does with `fix_imports`. A Resolver is immutable while an Unpickler uses it and may
/// be shared between threads then.
class PTIO_API Resolver {
 public:
  using HandlerPtr = std::shared_ptr<const GlobalHandler>;
  /// Returns a handler for (module, name), or nullptr for "unknown".
  using Lookup = std::function<HandlerPtr(std::string_view module, std::string_view name)>;
  /// Consulted first on every BUILD: return true when it applied `state` to `target`.
  using BuildHook = std::function<bool(IValue& target, const IValue& state, const CallContext&)>;

  /// An empty resolver (no globals known).
  Resolver() = default;
  /// A resolver that knows CPython's plain-value globals (see `add_python_builtins`).
  static Resolver with_python_builtins();

  /// Registers `handler` for `module.name`, replacing an earlier one.
  Resolver& add(std::string_view module, std::string_view name, GlobalHandler handler);
  /// GLOBAL `module.name` pushes `value`.
  Resolver& add_value(std::string_view module, std::string_view name, IValue value);
  /// GLOBAL `module.name` is callable: REDUCE and NEWOBJ call `fn`.
  Resolver& add_callable(std::string_view module, std::string_view name, GlobalHandler::Fn fn);
  /// Globals whose module is `module_prefix` or starts with `module_prefix + "."` ask `lookup`.
  Resolver& add_module_prefix(std::string module_prefix, Lookup lookup);
  /// Asked for any global nothing else matched.
  Resolver& set_fallback(Lookup lookup);
  Resolver& set_build_hook(BuildHook hook);

  /// Registers CPython's globals for plain values, each building an ordinary IValue:
  /// `_codecs.encode(str, 'latin1')` → Bytes (also 'utf-8'); `builtins.bytes`,
  /// `builtins.bytearray` → Bytes/ByteArray; `builtins.set`, `builtins.frozenset` → Set/FrozenSet;
  /// `builtins.complex` → Complex; `collections.OrderedDict` → Dict (ordered_dict = true).
  /// Nothing is executed: each is a small C++ function over the arguments.
  Resolver& add_python_builtins();

  /// Registers the TorchScript pickle dialect of PyTorch's C++ unpickler (spec-torchscript.md
  /// 5.3-5.5, 5.10): `torch.jit._pickle.restore_type_tag(container, type)` sets the container's
  /// `type_tag`; `build_intlist` / `build_doublelist` / `build_boollist` / `build_tensorlist` set
  /// "List[int]" / "List[float]" / "List[bool]" / "List[Tensor]"; `torch.device(str)` → Device;
  /// `builtins.complex` → Complex; every `__torch__.*` class → Object on NEWOBJ (attributes filled
  /// by BUILD) and Enum on REDUCE (`name` left empty: the member name needs the class source).
  Resolver& add_torchscript_pickle_globals();

  /// The handler for (module, name) after Python-2 name mapping, or nullptr.
  HandlerPtr find(std::string_view module, std::string_view name) const;
  const BuildHook& build_hook() const noexcept { return build_hook_; }

 private:
  std::unordered_map<std::string, HandlerPtr> exact_;
  std::vector<std::pair<std::string, Lookup>> prefixes_;
  Lookup fallback_;
  BuildHook build_hook_;
};

/// Maps a Python 2 module name to its Python 3 name (`__builtin__` → `builtins`,
/// `copy_reg` → `copyreg`); other names are returned unchanged.
PTIO_API std::string_view python3_module_name(std::string_view module) noexcept;

}  // namespace ptio::pickle
