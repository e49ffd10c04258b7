// `ptio convert IN OUT [--to pt|legacy|state_dict|torchscript|safetensors|npz] [--legacy]
// [--layout ...]`: re-saves a checkpoint as a torch.save zip or legacy file, safetensors or numpy
// .npz; re-saves a TorchScript archive (jit::save, convert_torchscript.cpp) or writes its
// state_dict in any of those formats. The output format comes from --to, else from OUT's
// extension (a TorchScript input with any other extension is re-saved as TorchScript).
#include <iostream>
#include <memory>
#include <string>

#include "command.h"
#include "common.h"
#include "convert_torchscript.h"
#include "jit_common.h"
#include "ptio/error.h"
#include "ptio/io/temp_cleanup.h"
#include "ptio/jit/import.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/npz.h"
#include "ptio/serialization/safetensors.h"
#include "ptio/serialization/save.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/magic.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"
#include "ptio/zip/crc32.h"

namespace ptio::cli {
namespace {

enum class OutFormat { kZip, kLegacy, kSafetensors, kNpz, kNpzCompressed, kTorchScript };

struct ConvertArgs {
  std::string in, out, to, layout = "torch-2";
  bool legacy = false;
  bool force = false;
  bool verify_crc = true;
};

OutFormat output_format(const ConvertArgs& a, bool torchscript_input) {
  std::string to = a.to;
  if (to.empty()) {
    const std::string ext = std::filesystem::path(a.out).extension().string();
    if (ext == ".safetensors") {
      to = "safetensors";
    } else if (ext == ".npz") {
      to = "npz";
    } else if (torchscript_input) {
      if (a.legacy)
        throw CLI::ValidationError("--legacy",
                                   "writes a torch.save checkpoint; a TorchScript archive is "
                                   "re-saved as TorchScript unless --to state_dict is given");
      to = "torchscript";
    } else {
      to = a.legacy ? "legacy" : "pt";
    }
  }
  if (to == "pt" || to == "zip" || to == "state_dict" || to == "state-dict")
    return a.legacy ? OutFormat::kLegacy : OutFormat::kZip;
  if (to == "legacy") return OutFormat::kLegacy;
  if (to == "safetensors") return OutFormat::kSafetensors;
  if (to == "npz") return OutFormat::kNpz;
  if (to == "npz-compressed") return OutFormat::kNpzCompressed;
  if (to == "torchscript") return OutFormat::kTorchScript;
  throw CLI::ValidationError("--to",
                             "must be pt, legacy, state_dict, torchscript, safetensors, npz or "
                             "npz-compressed, not '" + to + "'");
}

// The tensors safetensors / npz get: every tensor the file holds (named_tensors paths; a
// TorchScript module's state_dict), without standalone storages. Values that are not tensors
// (an `epoch` int, strings) have no place in those formats and are reported on stderr.
NamedTensorList flat_tensors(const TensorSource& src) {
  NamedTensorList out;
  std::string skipped, plain;
  for (const auto& nt : src.tensors) {
    if (nt.is_storage) {
      skipped += (skipped.empty() ? "" : ", ") + nt.path;
      continue;
    }
    // A subclass instance / Python attributes (Tensor::python_type, python_state): the format
    // keeps the elements only.
    if (!nt.tensor.python_type().empty() || !nt.tensor.python_state().is_none())
      plain += (plain.empty() ? "" : ", ") + nt.path;
    out.emplace_back(nt.path, nt.tensor);
  }
  if (!plain.empty())
    std::cerr << "ptio: note: written as plain tensors (the format has no tensor subclasses or "
                 "attributes): "
              << plain << "\n";
  if (!src.torchscript && src.root.is_dict())
    for (const auto& [k, v] : src.root.as_dict().items()) {
      if (v.is_tensor() || v.is_dict() || v.is_list() || v.is_tuple() || v.is_opaque() ||
          v.is_object())
        continue;
      skipped += (skipped.empty() ? "" : ", ") +
                 (k.is_string() ? k.as_string() : std::string("?")) + " (" +
                 std::string(v.kind_name()) + ")";
    }
  if (!skipped.empty())
    std::cerr << "ptio: note: not written (only tensors are): " << printable(skipped) << "\n";
  return out;
}

// Writes `src` to `out` in format `fmt` and prints the "wrote OUT (FORMAT, N tensors, SIZE)"
// line (plus tied/copied notes for safetensors). `flat` holds the tensors for safetensors/npz.
void write_converted(const ConvertArgs& a, OutFormat fmt, SaveOptions so, TensorSource& src,
                     const NamedTensorList& flat, ProgressWriter& out, Progress& progress) {
  switch (fmt) {
    case OutFormat::kZip:
    case OutFormat::kLegacy: {
      so.legacy_format = fmt == OutFormat::kLegacy;
      if (!so.legacy_format) so.archive_name = zip::archive_name_for_path(a.out);
      // A TorchScript module becomes its state_dict (an OrderedDict, as module.state_dict()).
      IValue obj = src.root;
      if (src.torchscript) {
        StateDict sd;
        for (auto& nt : src.tensors) {  // detached, as module.state_dict() returns them
          nt.tensor.set_requires_grad(false);
          nt.tensor.set_is_parameter(false);
          sd.insert(nt.path, nt.tensor);
        }
        obj = sd.to_ivalue();
      }
      save(obj, out, so);
      std::cout << "wrote " << a.out << " ("
                << (so.legacy_format ? "torch.save legacy" : "torch.save zip") << ", "
                << count_of(src.tensors.size(), "tensor") << ", " << human_size(out.position())
                << ")\n";
      return;
    }
    case OutFormat::kSafetensors: {
      SafetensorsOptions sto;
      sto.view_limits = view_limits();
      const SafetensorsReport r = save_safetensors(flat, out, sto);
      progress.finish();
      std::cout << "wrote " << a.out << " (safetensors, "
                << count_of(src.tensors.size() - r.tied.size(), "tensor") << ", "
                << human_size(r.bytes) << ")\n";
      for (const auto& [dropped, kept] : r.tied)
        std::cout << "tied: " << printable(dropped) << " is " << printable(kept)
                  << " (stored once; __metadata__ records \"" << printable(dropped) << "\": \""
                  << printable(kept) << "\")\n";
      for (const auto& c : r.copied)
        std::cout << "copied: " << printable(c)
                  << " (shares its storage with another tensor or is non-contiguous; written as "
                     "its own contiguous bytes)\n";
      return;
    }
    case OutFormat::kNpz:
    case OutFormat::kNpzCompressed: {
      NpzOptions no;
      no.compress = fmt == OutFormat::kNpzCompressed;
      no.view_limits = view_limits();
      save_npz(flat, out, no);
      progress.finish();
      std::cout << "wrote " << a.out << " (" << (no.compress ? "npz compressed" : "npz") << ", "
                << count_of(flat.size(), "tensor") << ", " << human_size(out.position()) << ")\n";
      return;
    }
    case OutFormat::kTorchScript:
      return;
  }
}

int run_convert(const ConvertArgs& a) {
  check_output_path(a.out, "OUT", a.force);
  // The input is memory-mapped and its tensors are written straight from the mapping: if another
  // process truncates it meanwhile, the read faults (SIGBUS: main's handler removes OUT's
  // temporary and exits 2 with this line) or the write(2) of mapped bytes fails with EFAULT (an
  // io::Error; the temporary is removed as for any error). Either way OUT is untouched.
  begin_reading({a.in}, a.out);
  const bool torchscript_input = is_jit_archive(a.in);
  const OutFormat fmt = output_format(a, torchscript_input);
  if (a.verify_crc) {
    const io::FileMagic m = io::identify_magic(io::MmapReadAdapter(a.in));
    if (m == io::FileMagic::kZip || m == io::FileMagic::kZipWithPrefix)
      verify_stored_crcs(a.in, " (--no-verify-crc converts them as they are, keeping the recorded "
                               "CRC-32)");
  }
  // Options that only mean something for a torch.save output are refused elsewhere, not ignored.
  if (a.legacy && fmt != OutFormat::kLegacy)
    throw CLI::ValidationError("--legacy", "applies only to torch.save output, not to " + a.out);
  if (a.layout != "torch-2" && fmt != OutFormat::kZip && fmt != OutFormat::kLegacy)
    throw CLI::ValidationError("--layout", "applies only to torch.save output, not to " + a.out);
  // TorchScript -> TorchScript: jit::load + jit::save, extra files kept (convert_torchscript.cpp).
  if (fmt == OutFormat::kTorchScript) {
    if (!torchscript_input)  // the file reads; it is the wrong kind for --to torchscript
      throw ExitError(kExitUnsupported,
                      a.in + ": a torch.save checkpoint, not a TorchScript archive: --to "
                             "torchscript needs a torch.jit.save archive");
    return convert_torchscript(a.in, a.out);
  }
  SaveOptions so;
  if (a.layout == "torch-1.13") {
    so.layout = RecordLayout::kTorch1_13;
  } else if (a.layout != "torch-2") {
    throw CLI::ValidationError("--layout", "must be torch-2 or torch-1.13, not '" + a.layout + "'");
  }
  TensorSource src = load_tensor_source(a.in);

  std::uint64_t total = 0;
  for (const auto& nt : src.tensors)
    if (!nt.tensor.is_meta() && !nt.tensor.is_sparse()) total += nt.tensor.nbytes();
  // safetensors and npz hold the tensors alone, each as its own contiguous bytes: expanded views
  // are charged first, naming the input file when one is too expanded.
  NamedTensorList flat;
  if (fmt != OutFormat::kZip && fmt != OutFormat::kLegacy) {
    flat = flat_tensors(src);
    for (const auto& [name, t] : flat)
      if (!t.is_meta() && !t.is_sparse()) charge_view(src.file, name, t);
  }
  Progress progress("convert", total);
  write_output(a.out, [&] {
    io::FileWriter file(a.out);
    ProgressWriter out(file, progress);
    // Errors without a file of their own (dtypes a format lacks, values torch.save cannot
    // write) are about IN's content: "IN: ..." like every other error.
    try {
      write_converted(a, fmt, so, src, flat, out, progress);
    } catch (Error& e) {
      e.add_context(a.in);
      // A dtype safetensors/numpy lacks: IN reads, OUT's format cannot hold it (exit 3).
      // So is a tensor name it cannot hold (empty, twice, `../x` as an npz record): exit 3.
      const ErrorCode c = e.code();
      const bool name_error = c == ErrorCode::kIoInvalidArgument || c == ErrorCode::kZipBadName ||
                              c == ErrorCode::kZipUnsafeName || c == ErrorCode::kZipDuplicateName;
      if ((c == ErrorCode::kBadDtype || name_error) && fmt != OutFormat::kZip &&
          fmt != OutFormat::kLegacy)
        throw ExitError(kExitUnsupported, std::current_exception());
      throw;
    }
  }, a.in);
  return kExitOk;
}

Registrar reg{
    {"convert",
     "Convert a checkpoint to torch.save zip or legacy, safetensors or numpy .npz; re-save a "
     "TorchScript archive, or write its state_dict",
     [](CLI::App& sub) -> std::function<int()> {
       auto a = std::make_shared<ConvertArgs>();
       sub.add_option("input", a->in, "torch.save file (zip, legacy, tar) or TorchScript archive")
           ->required();
       sub.add_option("output", a->out, "file to write (.pt, .safetensors, .npz)")->required();
       sub.add_option("--to", a->to,
                      "output format: pt (torch.save zip), legacy, state_dict (a TorchScript "
                      "module's, as pt), torchscript, safetensors, npz, npz-compressed (default: "
                      "from OUT's extension; else torchscript for a TorchScript input, else pt)")
           ->type_name("FORMAT");
       sub.add_flag("--legacy", a->legacy,
                    "write the pre-1.6 legacy format "
                    "(_use_new_zipfile_serialization=False)");
       sub.add_flag("--force", a->force,
                    "replace OUT even when it is read-only (as cp -f), instead of refusing");
       // Two flags rather than CLI11's "!--no-..." form, whose help shows the default as
       // "{false}".
       sub.add_flag_callback(
           "--verify-crc", [a] { a->verify_crc = true; },
           "check the CRC-32 of every stored record of a zip input before writing (the default)");
       sub.add_flag_callback("--no-verify-crc", [a] { a->verify_crc = false; },
                             "skip that check: copy damaged bytes with their recorded CRC-32");
       sub.add_option("--layout", a->layout,
                      "zip records: torch-2 (default; .format_version, byteorder...) or "
                      "torch-1.13 (byte-identical to torch.save 1.13)");
       set_examples(sub,
                    {"ptio convert model.pt model.safetensors", "ptio convert model.pt weights.npz",
                     "ptio convert scripted.pt resaved.pt",
                     "ptio convert scripted.pt state_dict.pt --to state_dict",
                     "ptio convert old.pt new.pt --layout torch-1.13",
                     "ptio convert new.pt old_format.pt --legacy"});
       return [a] { return run_convert(*a); };
     }}};

}  // namespace
}  // namespace ptio::cli
