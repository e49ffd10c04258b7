// CRC-32 checks of the zip records the inspecting commands (`tensors`, `show`, `cat`) read: the
// loaders trust a record's CRC-32 (PyTorch does not check it either), so these commands check
// what they read themselves, as `verify` and `convert` do for the whole file.
#pragma once

#include <memory>
#include <optional>
#include <set>
#include <string>

#include <CLI/CLI.hpp>

#include "ptio/core/tensor.h"
#include "ptio/zip/archive_reader.h"

namespace ptio::cli {

/// Adds `--verify-crc` (the default: sets `on`) and `--no-verify-crc` (clears it) to `sub`, the
/// pair `convert` has; `what` ends the help of --verify-crc ("... before printing them").
void add_verify_crc_flags(CLI::App& sub, bool& on, const std::string& what);

/// The CRC-32 checks of one input file for a command that reads it. Nothing is checked when
/// disabled (`--no-verify-crc`) or when the file is not a zip archive (legacy and tar torch.save
/// files have no CRC-32s). Records written without CRC-32s (recorded as 0: PyTorch's
/// set_crc32_options(False)) are not checked. A mismatch throws Error(kZipCrcMismatch) naming the
/// file, the record and its data offset, with the CRC-32 computed and recorded and the way out
/// (`--no-verify-crc`): exit 2, as for any damaged input.
class RecordCrcCheck {
 public:
  RecordCrcCheck(std::string file, bool enabled);

  /// Before the file is loaded: the records that hold no storage bytes and that a load reads
  /// (data.pkl, constants.pkl, bytecode.pkl, version, .data/version, byteorder): small, checked
  /// whole. A file whose zip directory cannot be read is left to the loader, which says why.
  void check_pickles();

  /// Before the elements of `t` are read (its sha256, statistics, values): the record its storage
  /// was loaded from, once per storage. With the CRC-32 the loader kept with the bytes
  /// (Storage::source_crc32: the whole record, mapped or copied), the check runs over the bytes
  /// the command then reads (no copy, no second open of the file; mapped pages are released as
  /// the check passes them); otherwise (a big-endian file) the record named by the storage's key
  /// (`data/KEY`, and in a TorchScript archive `constants/KEY` too) is checked through the zip
  /// reader, streaming, when it holds exactly the storage's bytes. A record longer than its
  /// storage is not checked (its CRC-32 covers bytes the command does not read).
  /// Sparse and meta tensors and empty storages have nothing to check.
  void check_storage(const Tensor& t);

 private:
  const zip::ArchiveReader* reader();  // opened on first use; nullptr when it cannot be
  [[noreturn]] void mismatch(const zip::RecordInfo& r, std::uint32_t actual) const;
  std::string file_;
  bool enabled_;
  bool reader_tried_ = false;
  std::optional<zip::ArchiveReader> reader_;
  std::set<const void*> checked_;  // Storage::id() of the storages checked
};

}  // namespace ptio::cli
