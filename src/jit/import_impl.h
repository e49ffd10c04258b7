// Internals of ptio::jit::load shared by import.cpp, objects.cpp, type_tags.cpp, debug_info.cpp,
// legacy.cpp and bytecode.cpp.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "ptio/core/ivalue.h"
#include "ptio/jit/class_type.h"
#include "ptio/jit/module.h"
#include "ptio/pickle/resolver.h"
#include "ptio/pickle/unpickler.h"
#include "ptio/zip/archive_reader.h"

namespace ptio::jit::detail {

/// The resolver of the TorchScript pickle dialect (spec-torchscript 5.10): torch.load's rebuild
/// functions and storage classes, `torch.jit._pickle.*`, `torch.device`, `builtins.complex`, and
/// `__torch__.*` classes looked up in `cu` (TorchBind classes registered on first use; unknown
/// classes throw Error(kJitMissingClass)). `cu` must outlive the resolver.
pickle::Resolver make_resolver(CompilationUnit& cu);

/// Unpickles the zip record `record` (strict policy) with `persistent_load` for BINPERSID.
/// With `memoized`, also returns the values the pickle memoized that are reachable from the
/// result (see ArchiveInfo::data_memoized).
IValue unpickle_record(const zip::ArchiveReader& ar, std::string_view record,
                       const pickle::Resolver& resolver, pickle::PersistentLoad persistent_load,
                       std::vector<IValue>* memoized = nullptr);

/// The record's bytes as text, at most `max` bytes (Error(kLimitExceeded) beyond).
std::string record_text(const zip::ArchiveReader& ar, std::string_view record,
                        std::uint64_t max = std::uint64_t{64} << 20);

/// Checks every Object reachable from `root` against its class (import.cpp's object loader):
/// declared attributes present, no undeclared ones, attributes put in slot order; `__getstate__`
/// objects need a `__setstate__`. Errors: kJitBadModule, kJitMissingClass; `record` names the
/// pickle in them.
void check_objects(const IValue& root, const CompilationUnit& cu, const std::string& file,
                   const std::string& record);

/// `restoreAccurateTypeTags` (version <= 2, spec 4.3): List/Dict values of attributes get the
/// type tag their class declares (recursing through Optional, Tuple, List, Dict, objects).
void restore_accurate_type_tags(const IValue& root, const CompilationUnit& cu);

/// Parses the `.debug_pkl` of every code file and attaches original locations to methods.
/// Malformed debug records are errors (kJitBadModule naming the record).
void load_debug_info(const zip::ArchiveReader& ar, CompilationUnit& cu);

/// Reads bytecode.pkl's version and function names into `info` (spec 11.3).
void read_bytecode_info(const zip::ArchiveReader& ar, CompilationUnit& cu, ArchiveInfo& info);

/// A module built from bytecode.pkl alone (no data.pkl): see jit::load. Best effort.
Module load_bytecode_only(const zip::ArchiveReader& ar, std::shared_ptr<CompilationUnit> cu,
                          std::shared_ptr<ArchiveInfo> info);

/// PyTorch 1.0-1.2 `model.json` archives (spec 13).
Module load_legacy(const zip::ArchiveReader& ar, std::shared_ptr<CompilationUnit> cu,
                   std::shared_ptr<ArchiveInfo> info, const std::optional<Device>& device,
                   bool allow_view);

}  // namespace ptio::jit::detail
