// identify_magic: the one place that sniffs what kind of file a byte source holds.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>

#include "ptio/export.h"
#include "ptio/io/read_adapter.h"

namespace ptio::io {

/// What the first bytes of a file say it is (the role of LLVM's `identify_magic`).
enum class FileMagic {
  kUnknown,
  kEmpty,          ///< zero bytes
  kZeroFilled,     ///< only NUL bytes in the sniffed prefix (a pre-allocated, never-written file)
  kZip,            ///< starts with `PK\3\4` (what torch.load's `_is_zipfile` checks)
  kZipWithPrefix,  ///< a zip whose first local header is not at byte 0 (EOCD found at the end)
  kPickle,         ///< starts with the PROTO opcode 0x80 (legacy torch.save stacks start so too)
  kLegacyTorchSave,  ///< the pickled legacy magic number 0x1950a86a20f9469cfc6c
  kTar,            ///< POSIX tar (`ustar` at offset 257)
  kFlatbuffer,     ///< file identifier `PTMF` at offset 4 (mobile flatbuffer module)
  kGitLfsPointer,  ///< `version https://git-lfs.github.com/spec/v1`
  kHtml,           ///< `<!DOCTYPE html`, `<html` (case-insensitive, after whitespace)
  kPreviewFormat,  ///< `PYTORCH1`, PyTorch's pre-1.0 preview archive format
  kText,           ///< other printable text
};

/// A human name for the magic, e.g. "Git LFS pointer".
PTIO_API std::string_view file_magic_name(FileMagic m) noexcept;

/// Classifies `head`, the first bytes of a file (512 are enough; fewer work too). `total_size` is
/// the file's size, for the empty and zero-filled cases.
PTIO_API FileMagic identify_magic(std::span<const std::byte> head, std::uint64_t total_size);

/// Reads up to 512 bytes of `in` and classifies them; also recognises a zip with leading bytes
/// by its end record. Throws only what ReadAdapter::read throws.
PTIO_API FileMagic identify_magic(const ReadAdapter& in);

/// A one-line diagnosis with the fix where one is known (e.g. "this is a Git LFS pointer, not the
/// checkpoint; run `git lfs pull`"), or empty for kinds that need none.
PTIO_API std::string_view file_magic_advice(FileMagic m) noexcept;

}  // namespace ptio::io
