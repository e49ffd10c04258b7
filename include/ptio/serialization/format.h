// detect_format: tells the file kinds torch.load meets apart, with a plain-language diagnosis.
#pragma once

#include <string>

#include "ptio/export.h"
#include "ptio/io/magic.h"
#include "ptio/io/read_adapter.h"

namespace ptio {

/// What kind of PyTorch (or non-PyTorch) file a byte source holds, as `torch.load` would decide
/// (spec-torch-save.md section 1) plus the failure cases a download can produce.
enum class FileFormat {
  kZip,            ///< torch.save zip archive (has `data.pkl`)
  kTorchScript,    ///< zip with `constants.pkl` / `code/`: a TorchScript archive (ptio::jit::load)
  kMobile,         ///< zip with `bytecode.pkl`: a lite-interpreter (.ptl) archive
  kZipOther,       ///< a zip that holds none of the above (e.g. a foreign archive)
  kLegacy,         ///< legacy stacked pickles (`_use_new_zipfile_serialization=False`, pre-1.6)
  kPickle,         ///< a bare pickle (not torch.save output, but readable as an object)
  kTar,            ///< the 0.1.x-era tar format (`storages`, `tensors`, `pickle` members)
  kFlatbuffer,     ///< a mobile flatbuffer module (`PTMF`)
  kGitLfsPointer,  ///< a Git LFS pointer text file instead of the checkpoint
  kHtml,           ///< an HTML page (a failed download)
  kText,           ///< some other text file
  kEmpty,          ///< zero bytes
  kZeroFilled,     ///< only NUL bytes (all of them up to 1 GiB; beyond, the first GiB and last MiB)
  kTruncatedZip,   ///< starts like a zip, its directory cannot be read and bytes are missing
                   ///< (no end record, or one declaring a directory that reaches past it)
  kDamagedZip,     ///< ends with a zip end record the file's length agrees with, but the end
                   ///< record or central directory cannot be read (overwritten bytes)
  kPreviewFormat,  ///< PyTorch's pre-1.0 `PYTORCH1` preview archive
  kSafetensors,    ///< a safetensors file (8-byte little-endian header length, then a JSON
                   ///< object): not PyTorch's, but what `ptio convert` writes for it
  kNpz,            ///< a zip of `.npy` records only (numpy.savez, `ptio convert` to npz)
  kUnknown,        ///< none of the above
};

/// PyTorch-style name of a format, e.g. "torch.save zip archive".
PTIO_API std::string_view file_format_name(FileFormat f) noexcept;

/// The result of detect_format().
struct FormatInfo {
  FileFormat format = FileFormat::kUnknown;
  io::FileMagic magic = io::FileMagic::kUnknown;  ///< what the first bytes alone said
  /// One sentence for a person: what the file is and, for files ptio::load cannot read as a
  /// checkpoint, what to do (e.g. "this is a Git LFS pointer, not the checkpoint; run `git lfs
  /// pull`"). Empty for plain checkpoints.
  std::string diagnosis;
};

/// Classifies `in` from its bytes: sniffs the magic (io::identify_magic) and, for zips, reads the
/// central directory to tell torch.save, TorchScript and mobile archives apart. Never throws for
/// malformed content (a zip whose directory cannot be read is kTruncatedZip or kDamagedZip; a
/// zip whose directory reads but whose records are damaged keeps its kind, with the damage in the
/// diagnosis; a file starting with zero bytes is kZeroFilled only when every byte read is zero,
/// else a zip found at its end or kUnknown); only I/O errors from
/// the adapter escape.
PTIO_API FormatInfo detect_format(const io::ReadAdapter& in);

/// Throws the Error that ptio::load reports for a format it cannot load as a checkpoint
/// (kTorchScriptArchive, kUnknownFormat, ...), naming `file`; returns for loadable formats.
PTIO_API void require_loadable(const FormatInfo& info, const std::string& file);

}  // namespace ptio
