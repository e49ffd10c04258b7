// Internals of ptio::jit::save shared by save.cpp (records, versions, targets) and
// save_pickle.cpp (data.pkl / constants.pkl).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/jit/class_type.h"

namespace ptio::jit::detail {

/// One pickle of an archive and the storages its tensors reference, in key order: storage i is
/// the record `<tensor dir><i>` (ScriptModuleSerializer::writeArchive with keys "0", "1", ... in
/// first-encounter order).
struct PickledArchive {
  std::vector<std::byte> pickle;
  std::vector<Storage> storages;
};

/// Pickles `value` the way PyTorch 1.13's C++ Pickler does for `torch.jit.save` (kTorchScript
/// dialect, literal tensors, objects as GLOBAL/NEWOBJ/state/BUILD with the attributes in the
/// class's slot order). A heap value gets a BINPUT when it is one of `memoized` (what the loaded
/// file memoized, ArchiveInfo::data_memoized) or when the value is reached more than once (which
/// is when PyTorch's `use_count() > 1` rule must memoize it). `record` names the pickle in
/// errors. Throws Error(kJitUnsupportedSave) for values a TorchScript archive cannot hold
/// (sparse and meta tensors, dtypes without a typed storage, objects of classes `cu` lacks).
PickledArchive pickle_archive(const IValue& value, const CompilationUnit& cu,
                              const std::vector<IValue>& memoized, const std::string& record);

/// Before anything is written: every Object reachable from `root` (a module's object) whose class
/// `cu` declares and that keeps no `__getstate__` state holds exactly its class's attribute slots,
/// each value fitting the slot's declared type (fit_value, FitMode::kSave). Throws
/// Error(kJitBadModule) naming the object's path from the module (`module.sub.items[2]`), its
/// class and the attribute: for an attribute the class does not declare (the pickler writes the
/// declared slots only, so it would be lost), a declared attribute without a value, or a value
/// of another type (an int in a Tensor slot, an enum value that is not a member).
void check_saved_objects(const IValue& root, const CompilationUnit& cu);

}  // namespace ptio::jit::detail
