// ptio::jit::Module: a loaded TorchScript module (torch::jit::Module's data model, no execution).
#pragma once

#include <cstdint>
#include <filesystem>
#include <iosfwd>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/export.h"
#include "ptio/jit/class_type.h"
#include "ptio/serialization/state_dict.h"

namespace ptio::io {
class ReadAdapter;
}  // namespace ptio::io

namespace ptio::jit {

/// Extra files of an archive: name (without the `extra/` prefix) → content (raw bytes).
/// Mirrors `torch::jit::ExtraFilesMap`.
using ExtraFilesMap = std::unordered_map<std::string, std::string>;

/// What kind of archive a module came from.
enum class ArchiveKind : std::uint8_t {
  kTorchScript,         ///< `torch.jit.save` zip: data.pkl + constants.pkl + code/
  kMobile,              ///< the same plus `bytecode.pkl` (`_save_for_lite_interpreter`)
  kMobileBytecodeOnly,  ///< `bytecode.pkl` without data.pkl (best effort, see jit::load)
  kLegacy,              ///< PyTorch 1.0-1.2 `model.json` layout
};

/// Facts about the archive a module was loaded from (shared by all its modules).
struct PTIO_API ArchiveInfo {
  ArchiveKind kind = ArchiveKind::kTorchScript;
  std::string file;    ///< the source's name (path, `<memory>`, `<istream>`)
  std::string prefix;  ///< the archive folder (`model`, `archive`)
  /// The file-format version (`.data/version`, else `version`); for legacy archives the
  /// model.json `protoVersion` when there is no version record.
  std::uint64_t version = 0;
  std::string version_record;                    ///< `.data/version` or `version`
  std::optional<std::int64_t> bytecode_version;  ///< first element of bytecode.pkl
  std::string byteorder;  ///< the `byteorder` record (2.x), empty when absent
  std::string producer;   ///< model.json producerName + producerVersion (legacy), else empty
  /// Every `extra/<name>` record's name, in archive order.
  std::vector<std::string> extra_files;
  /// Every record name (without the folder), in archive order.
  std::vector<std::string> records;
  /// Methods listed in bytecode.pkl (qualified names), in file order.
  std::vector<std::string> bytecode_functions;
  /// True when `.debug_pkl` records were read (`load_debug_files`).
  bool debug_loaded = false;
  /// The bytes the archive was read from (shared; for mmap and in-memory loads the tensors keep
  /// them alive anyway). jit::save copies the `.debug_pkl` record of each code file whose
  /// printed text equals the original from it. Null for modules not read from a zip archive.
  std::shared_ptr<const io::ReadAdapter> source;
  /// The values data.pkl / constants.pkl memoized (BINPUT) that are reachable from the loaded
  /// module object / constant table, held so their identities stay valid. PyTorch's pickler
  /// memoizes by run-time use count (`use_count() > 1`), which a file does not record otherwise;
  /// jit::save memoizes these values again so that an unmodified module's pickles come out
  /// byte-identical.
  std::vector<IValue> data_memoized;
  std::vector<IValue> constants_memoized;
};

/// A TorchScript module: an Object of a module ClassType plus the CompilationUnit of its archive.
/// Mirrors `torch::jit::Module` (torch/csrc/jit/api/module.h) for everything that does not need
/// execution. A Module is a handle: copies share the object (and its tensors) and keep the
/// CompilationUnit and, for mmap loads, the file mapping alive.
///
/// Attribute order is the class's slot order. Parameters and buffers are slots marked by the
/// class header (`__parameters__`, `__buffers__`) holding a Tensor; submodules are slots whose
/// type is a module class or module interface.
class PTIO_API Module {
 public:
  Module() = default;
  /// Wraps `object` (an Object whose class is in `cu`). Throws Error(kJitBadModule) when it is
  /// not an Object of a class `cu` knows.
  Module(IValue object, std::shared_ptr<const CompilationUnit> cu,
         std::shared_ptr<const ArchiveInfo> info = nullptr);

  /// The underlying object (`_ivalue()`).
  const IValue& ivalue() const noexcept { return object_; }
  /// The class (`type()`), with its attributes, constants and methods.
  const ClassType& type() const noexcept { return *type_; }
  /// The class's qualified name as in the file (mangled names included).
  const QualifiedName& qualified_name() const noexcept { return type_->name(); }
  const CompilationUnit& compilation_unit() const noexcept { return *cu_; }
  const std::shared_ptr<const CompilationUnit>& shared_compilation_unit() const noexcept {
    return cu_;
  }
  /// Facts about the archive (version, records, extra file names).
  const ArchiveInfo& archive() const noexcept;

  /// `attr(name)`: the value of attribute `name`. Throws Error(kJitBadModule) when absent.
  const IValue& attr(std::string_view name) const;
  /// `hasattr(name)`.
  bool hasattr(std::string_view name) const noexcept;
  /// The submodule `name` (`attr(name)` as a Module). Throws Error(kJitBadModule).
  Module child(std::string_view name) const;
  /// The value at a dotted attribute path from this module (`blocks.0.lin.weight`).
  /// Throws Error(kJitBadModule) naming the first missing component.
  IValue attr_path(std::string_view dotted) const;

  /// `named_parameters(recurse)`: parameter slots holding a Tensor, this module first, then each
  /// submodule's prefixed with `<child>.` (depth-first, slot order). Optional parameters that are
  /// None are skipped, as PyTorch does.
  std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
  /// `named_buffers(recurse)`: same for buffer slots.
  std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
  /// `named_children()`: direct submodules in slot order.
  std::vector<std::pair<std::string, Module>> named_children() const;
  /// `named_modules()`: this module (name "") then every descendant, depth-first, dotted names.
  /// A module object reachable twice is listed once.
  std::vector<std::pair<std::string, Module>> named_modules() const;
  /// `named_attributes(recurse=false)`: every slot (parameters, buffers, submodules, `training`
  /// and plain attributes) in slot order; with `recurse`, submodules' slots prefixed.
  std::vector<std::pair<std::string, IValue>> named_attributes(bool recurse = false) const;
  /// `state_dict()` in PyTorch's order (`torch.jit.ScriptModule.state_dict()`): per module its
  /// parameters, then its buffers, then each submodule's entries prefixed with `<child>.`.
  StateDict state_dict() const;
  /// The `training` attribute (true when absent, like a fresh nn.Module).
  bool is_training() const;

  /// `find_method(name)`: the method of this module's class, or nullptr. Valid while the
  /// CompilationUnit lives (this Module keeps it alive).
  const Method* find_method(std::string_view name) const;
  /// `get_methods()`: the class's non-hook methods in declaration order.
  std::vector<const Method*> get_methods() const;
  /// The class printed back as TorchScript (the class's part of its code/ file).
  std::string code() const;

  /// `setattr(name, value)` (torch::jit::Module::setattr, with the type check Python's
  /// `ScriptModule.__setattr__` does through `toIValue`): replaces the value of an existing
  /// attribute slot of this module's object: a parameter or buffer with a new Tensor (any shape
  /// and dtype, stored as given and shared with the caller), or an int, float, bool, str, complex,
  /// List, Dict, Tuple, Optional, enum or class-object attribute with a value of the declared
  /// type. A float slot also takes an int (stored as float); lists and dicts are stored as new
  /// containers tagged with the declared type (`List[int]`), the caller's are not changed.
  /// Copies of this Module see the change (they share the object). Contract in
  /// src/jit/edit.cpp. Throws Error(kJitBadEdit), leaving the module unchanged, when `name` is not
  /// a slot of the class (the error lists the slots; `Final` constants are compiled into the code
  /// and are not slots), is a submodule, or the value does not fit the slot's declared type
  /// (naming both and the first element that does not fit).
  void setattr(std::string_view name, IValue value);

  /// `save(path, extra_files)` (torch::jit::Module::save): jit::save(*this, path, extra_files)
  /// (include/ptio/jit/save.h, which documents it and its errors).
  void save(const std::filesystem::path& path, const ExtraFilesMap& extra_files = {}) const;
  /// `save(ostream, extra_files)`: jit::save(*this, out, extra_files).
  void save(std::ostream& out, const ExtraFilesMap& extra_files = {}) const;

 private:
  IValue object_;
  const ClassType* type_ = nullptr;
  std::shared_ptr<const CompilationUnit> cu_;
  std::shared_ptr<const ArchiveInfo> info_;
};

}  // namespace ptio::jit
