// fit_value: does a value fit a TorchScript attribute annotation? Shared by Module::setattr
// (which converts, as `toIValue(value, type)` does) and jit::save (which checks what it writes).
// Internal to src/jit.
#pragma once

#include <optional>
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/jit/class_type.h"
#include "ptio/jit/frontend/ast.h"

namespace ptio::jit::detail {

/// How fit_value treats what it cannot or need not convert.
enum class FitMode {
  /// Module::setattr: an int fits a float slot (stored as float), lists and dicts are rebuilt
  /// tagged with the declared annotation, annotations it does not know and submodule types are
  /// refused, nesting beyond 100 levels is Error(kJitBadEdit).
  kSetattr,
  /// jit::save: the value as it is must fit (an int in a float slot does not); annotations it
  /// does not model (Future, RRef, NamedTuple classes, ...) and values nested beyond 100 levels
  /// are accepted unchecked; a module-class slot takes an Object of that class, a module
  /// interface any Object. Returns `v` itself, never a rebuilt container.
  kSave,
};

/// The value to store when `v` fits annotation `type` (parsed from ClassAttribute::type), else
/// nullopt with the innermost reason in `why` ("expected int, got str", "element 2: ...").
/// An enum slot takes only a member of that enum: an Enum whose class is the slot's, whose name is
/// one of the enum's members and whose value is that member's value.
std::optional<IValue> fit_value(const IValue& v, const frontend::Expr& type,
                                const CompilationUnit& cu, FitMode mode, std::string& why);

}  // namespace ptio::jit::detail
