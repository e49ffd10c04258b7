// ClassType, Method and CompilationUnit: the named types a TorchScript archive's code/ declares.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/core/qualified_name.h"
#include "ptio/export.h"
#include "ptio/jit/frontend/ast.h"
#include "ptio/jit/frontend/limits.h"

namespace ptio::jit {

class CompilationUnit;

/// What a class declaration in code/ is, from its superclass (import_source.cpp
/// `importNamedType`): none → kClass, `Module` → kModule, `NamedTuple`, `Enum`, `Interface`,
/// `ModuleInterface`. kTorchBind is a C++ custom class (`__torch__.torch.classes.<ns>.<Name>`),
/// which has no code; its objects keep their `__getstate__` state.
enum class TypeKind : std::uint8_t {
  kModule,
  kClass,
  kNamedTuple,
  kEnum,
  kInterface,
  kModuleInterface,
  kTorchBind,
};

/// "Module", "Class", "NamedTuple", "Enum", "Interface", "ModuleInterface", "TorchBind".
PTIO_API std::string_view type_kind_name(TypeKind k) noexcept;

/// Where a piece of generated code came from in the user's original source (a `.debug_pkl`
/// source range, spec-torchscript 8.1).
struct PTIO_API SourceLocation {
  std::string file;       ///< original file name ("" when the writer had none)
  std::int64_t line = 0;  ///< 1-based line in that file
};

/// One attribute slot of a class (`c10::ClassType::getAttribute(i)` + `is_parameter(i)` /
/// `is_buffer(i)`), in declaration order: the order of `name : T` and `__annotations__["n"] = T`
/// lines in the class body.
struct PTIO_API ClassAttribute {
  std::string name;
  /// The annotation as written (PyTorch's `annotation_str`): `Tensor`, `Optional[Tensor]`,
  /// `List[int]`, `__torch__.torch.nn.modules.linear.Linear`...
  std::string type;
  bool is_parameter = false;  ///< named in `__parameters__`
  bool is_buffer = false;     ///< named in `__buffers__`
  /// The type is a module class or a module interface (`Attribute::is_module`): a submodule.
  bool is_module = false;
};

/// A class constant (`name : Final[T] = value`, `ClassType::addConstant`).
struct PTIO_API ClassConstant {
  std::string name;
  std::string type;   ///< T inside `Final[T]`, as written
  std::string value;  ///< the value expression as PythonPrint wrote it (`1`, `("a", "b")`)
};

/// A method of a class (`torch::jit::Method` / `Function`): its definition in code/ and its
/// schema. Lives as long as the CompilationUnit that holds its class.
class PTIO_API Method {
 public:
  /// The method name (`forward`).
  const std::string& name() const noexcept { return name_; }
  /// `<class qualified name>.<name>`.
  std::string qualified_name() const;
  /// The schema as PyTorch prints `str(m.forward.schema)`:
  /// `forward(__torch__.M self, Tensor x, int? n=None) -> Tensor`. Types are rendered the way
  /// `c10::Type::str()` does (`int[]`, `Tensor?`, `Dict(str, Tensor)`, `(int, float)`,
  /// `Enum<__torch__.Color>`); default values as written in code/.
  const std::string& schema() const noexcept { return schema_; }
  /// The parsed definition (parameters, return type, body).
  const frontend::Def& def() const noexcept { return *def_; }
  /// The definition printed back in PythonPrint layout (what code/ holds for it).
  std::string source() const;
  /// Original location (from the `.debug_pkl` next to the code file) when debug files were
  /// loaded and the file has a range for this def.
  const std::optional<SourceLocation>& original_location() const noexcept { return original_; }
  /// True for `__forward_hooks__` / `__forward_pre_hooks__` methods.
  bool is_hook() const noexcept { return is_hook_; }

 private:
  friend class CompilationUnit;
  friend struct ClassBuilder;
  std::string name_;
  std::string owner_;
  std::string schema_;
  const frontend::Def* def_ = nullptr;
  std::optional<SourceLocation> original_;
  bool is_hook_ = false;
};

/// A named type of the archive: mirrors `c10::ClassType` (modules, script classes), plus the
/// enum, named tuple and interface types import_source.cpp creates. The name is kept as in the
/// file, mangling included (`__torch__.torch.nn.modules.linear.___torch_mangle_0.Linear`).
/// Owned by its CompilationUnit; references stay valid while the unit lives.
class PTIO_API ClassType {
 public:
  const QualifiedName& name() const noexcept { return name_; }
  TypeKind kind() const noexcept { return kind_; }
  bool is_module() const noexcept { return kind_ == TypeKind::kModule; }
  /// The code record that declares it (`code/__torch__/m.py`), empty for TorchBind classes.
  const std::string& file() const noexcept { return file_; }

  /// Attribute slots in order (modules and script classes).
  const std::vector<ClassAttribute>& attributes() const noexcept { return attributes_; }
  /// Index of attribute `name`, or empty.
  std::optional<std::size_t> find_attribute(std::string_view name) const;
  /// `Final` class constants in declaration order.
  const std::vector<ClassConstant>& constants() const noexcept { return constants_; }
  /// Methods in declaration order (hooks included, marked `is_hook()`).
  const std::vector<Method>& methods() const noexcept { return methods_; }
  /// The method `name`, or nullptr.
  const Method* find_method(std::string_view name) const;
  /// `__forward_hooks__` / `__forward_pre_hooks__` names as declared.
  const std::vector<std::string>& forward_hooks() const noexcept { return forward_hooks_; }
  const std::vector<std::string>& forward_pre_hooks() const noexcept { return forward_pre_hooks_; }

  /// Enums: members in order with their values (Int, Double or String).
  const std::vector<std::pair<std::string, IValue>>& enum_values() const noexcept {
    return enum_values_;
  }
  /// NamedTuples: fields (name, annotation) in order.
  const std::vector<std::pair<std::string, std::string>>& fields() const noexcept {
    return fields_;
  }
  /// The class definition as parsed; nullptr for TorchBind classes.
  const frontend::ClassDef* class_def() const noexcept { return def_; }
  /// The class printed back in PythonPrint layout (`m.code` shows the forward method only; this
  /// is the whole class as code/ holds it). Empty for TorchBind classes.
  std::string code() const;

 private:
  friend class CompilationUnit;
  friend struct ClassBuilder;
  QualifiedName name_;
  TypeKind kind_ = TypeKind::kClass;
  std::string file_;
  std::vector<ClassAttribute> attributes_;
  std::map<std::string, std::size_t, std::less<>> attribute_index_;
  std::vector<ClassConstant> constants_;
  std::vector<Method> methods_;
  std::vector<std::string> forward_hooks_;
  std::vector<std::string> forward_pre_hooks_;
  std::vector<std::pair<std::string, IValue>> enum_values_;
  std::vector<std::pair<std::string, std::string>> fields_;
  const frontend::ClassDef* def_ = nullptr;
};

/// A free function of code/ (`def` at top level of a code file).
struct PTIO_API Function {
  std::string qualified_name;  ///< `<qualifier>.<name>`
  std::string file;            ///< the code record
  const frontend::Def* def = nullptr;
};

/// The type registry of one loaded archive (the role of `torch::jit::CompilationUnit`): every
/// code/ file parsed, every class, named tuple, enum and interface it declares (plus the TorchBind
/// classes the pickles name), the free functions, and the constant table (`CONSTANTS.c<i>`).
/// Immutable after load; shared by every Module of the archive.
class PTIO_API CompilationUnit {
 public:
  CompilationUnit();
  ~CompilationUnit();
  CompilationUnit(const CompilationUnit&) = delete;
  CompilationUnit& operator=(const CompilationUnit&) = delete;

  /// The class `qualified_name`, or nullptr.
  const ClassType* get_class(std::string_view qualified_name) const;
  /// Every named type, in the order the code files were read (file order, then textual order).
  std::vector<const ClassType*> classes() const;
  /// Free functions, in file order.
  const std::vector<Function>& functions() const noexcept { return functions_; }
  /// The parsed code files, keyed by record name (`code/__torch__/m.py`).
  const std::map<std::string, std::shared_ptr<const frontend::ParsedFile>>& files() const noexcept {
    return files_;
  }
  /// `constants.pkl`: the Tuple of `CONSTANTS.c<i>` values (an empty Tuple when absent).
  const IValue& constants() const noexcept { return constants_; }

  // ---- building (the importer; not for callers) ---------------------------------------------
  /// Parses `text` as the code record `record` (declaring qualifier `qualifier`) and registers
  /// its classes and functions. Throws Error(kJitSyntax) naming file/line/col, Error(kJitBadModule)
  /// for a class body PyTorch's importer rejects (inheritance, bad `__parameters__`...),
  /// Error(kLimitExceeded) for a text beyond `limits` (source bytes, nesting depth) or a tree
  /// beyond `max_alloc_bytes` (ParseOptions::max_alloc_bytes: 0 derives it from `limits` and the
  /// text size; `budget_note` explains it in the error), the types and functions built from the
  /// tree counting against it too. Returns the bytes charged (ParsedFile::alloc_bytes plus
  /// those of the types and functions).
  std::uint64_t add_file(const std::string& record, const std::string& qualifier,
                         std::string_view text, const frontend::SourceLimits& limits = {},
                         std::uint64_t max_alloc_bytes = 0, const std::string& budget_note = {});
  /// Registers a TorchBind class (no code) when first named by a pickle.
  const ClassType* add_torchbind(const std::string& qualified_name);
  /// Registers a module class of a legacy model.json archive: `attributes` in slot order, methods
  /// from the top-level defs of `code` (its torchscript arena record `record`; may be empty).
  /// Throws Error(kJitSyntax) for bad code, Error(kJitBadModule) for a duplicate class,
  /// Error(kLimitExceeded) for code beyond `limits`.
  const ClassType* add_legacy_module(const std::string& qualified_name,
                                     std::vector<ClassAttribute> attributes,
                                     const std::string& record, std::string_view code,
                                     const frontend::SourceLimits& limits = {});
  /// Registers an empty module class without code (bytecode-only archives).
  const ClassType* add_module_class(const std::string& qualified_name);
  /// Marks submodule attributes and computes method schemas once every file is in.
  void finalize();
  /// Attaches original locations from a parsed `.debug_pkl` (see debug_info.cpp).
  void set_method_location(const std::string& class_name, const std::string& method,
                           SourceLocation loc);
  void set_constants(IValue constants) { constants_ = std::move(constants); }

 private:
  std::map<std::string, std::shared_ptr<const frontend::ParsedFile>> files_;
  std::map<std::string, std::unique_ptr<ClassType>, std::less<>> classes_;
  std::vector<const ClassType*> order_;
  std::vector<Function> functions_;
  IValue constants_;
};

/// Renders a TorchScript annotation expression as `c10::Type::str()` does (used in schemas):
/// `List[int]` → `int[]`, `Optional[Tensor]` → `Tensor?`, `Dict[str, int]` → `Dict(str, int)`,
/// `Tuple[int, str]` → `(int, str)`, `Tuple[()]` → `()`, `Union[A, B]` → `Union(A, B)`,
/// enums (looked up in `cu`) → `Enum<name>`, other names unchanged. `cu` may be null.
PTIO_API std::string schema_type_str(const frontend::Expr& type, const CompilationUnit* cu);

}  // namespace ptio::jit
