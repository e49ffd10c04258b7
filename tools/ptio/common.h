// Helpers shared by the ptio commands: loading a file's tensors (checkpoint or TorchScript
// state_dict), plain-language error lines, colour and progress on a terminal, sizes and globs.
#pragma once

#include <chrono>
#include <cstdint>
#include <exception>
#include <functional>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <CLI/CLI.hpp>

#include "ptio/core/device.h"
#include "ptio/core/ivalue.h"
#include "ptio/core/view_limits.h"
#include "ptio/io/writer.h"
#include "ptio/limits.h"
#include "ptio/printable.h"
#include "ptio/serialization/format.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/state_dict.h"

namespace ptio::cli {

/// The tensors of a file as the CLI sees it: a torch.save file (zip, legacy, tar) gives every
/// tensor reachable from the loaded object (named_tensors paths); a TorchScript archive gives its
/// module's state_dict (plus, with `all`, plain attributes and constants). The loaded object is
/// kept in `root` and its reference cycles are broken on destruction.
struct TensorSource {
  std::string file;
  FileFormat format = FileFormat::kUnknown;
  bool torchscript = false;
  std::vector<NamedTensor> tensors;
  IValue root;  ///< the loaded object (torch.save) or the module object (TorchScript)
  TensorSource() = default;
  TensorSource(TensorSource&&) = default;
  TensorSource& operator=(TensorSource&&) = default;
  ~TensorSource();
};

/// Loads `path` for a tensor command. Throws ptio::Error (kUnknownFormat, kZipGitLfsPointer, ...)
/// for files that are neither a torch.save file nor a TorchScript archive.
TensorSource load_tensor_source(const std::string& path, bool all = false);

/// A NamedTensor's `key` as Python access from the loaded object, to tell apart tensors whose
/// keys flatten to one `path`: `["a.b"]` and `["a"]["b"]`, `[0]` (int key or index) and `["0"]`,
/// `.weight` (attribute or module state_dict name), `<storage>`.
std::string key_access(const std::string& key);

/// What `tensors`/`info` say of a pickle that is not a torch.save file (its first object is not
/// the legacy magic number): what it is and that `ptio show PATH` prints it.
std::string plain_pickle_diagnosis(const std::string& path);

/// "1 tensor", "2 tensors": `n` and `noun`, with an "s" unless `n` is 1.
inline std::string count_of(std::uint64_t n, const std::string& noun) {
  return std::to_string(n) + " " + noun + (n == 1 ? "" : "s");
}

/// This run's bound on bytes materialised from expanded (stride-0) views: Limits::view, with
/// `--max-expanded-bytes` (tensors, cat, diff, convert, show) applied by main.
ViewLimits& view_limits();

/// This run's zip bounds: Limits::zip, with `--max-inflated-bytes` (every command that reads
/// records) applied by main: given, it sets max_inflated_size and lifts the compression-ratio
/// check (max_inflate_ratio = 0) and with it the per-archive budget derived from that ratio
/// (max_inflated_total stays 0), the user having opted in.
zip::Limits& zip_limits();

/// This run's bounds on listing a file's tensors: Limits::listing, with `--max-listing-bytes`
/// (tensors, cat, diff, convert, info, apply) applied by main to max_listing_bytes.
ListingLimits& listing_limits();

/// Limits{} with this run's zip, view and listing parts: what every load of the CLI passes.
Limits cli_limits();

/// This run's `--map-location LOC` (tensors, show, info, cat, diff, convert, apply): torch.load's
/// map_location for the torch.save files the command loads, as one target for every storage
/// ("cpu"); empty (the default) keeps the file's location tags. A tag torch.load cannot restore
/// (a plugin's "npu:0", "xla") stops the load unless it is given.
std::string& cli_map_location();

/// Sets `lo.map_location` from cli_map_location() when one was given.
void apply_cli_map_location(LoadOptions& lo);

/// cli_map_location() as torch.jit.load's map_location for the TorchScript archives a command
/// loads (every storage recorded on that device); nullopt when none was given. Throws
/// Error(kBadDevice) when it is not a device string.
std::optional<Device> cli_jit_device();

/// Accounts for materialising tensor `name` of `file` (its sha256, elements, statistics, a
/// conversion) against this run's allowance, once per file, name and tensor (Tensor::id(): two
/// tensors whose keys flatten to one name are each charged). Throws Error(kLimitExceeded)
/// naming both (error_line adds how to raise the allowance).
void charge_view(const std::string& file, std::string_view name, const Tensor& t);

/// The one line printed for an error: what() plus, where ptio knows it, the fix (Git LFS pointer,
/// HTML page, truncated download, TorchScript vs checkpoint, newer file format). A ptio::Error
/// that names no file, in a command that reads one input (begin_reading), is given that input.
std::string error_line(const std::exception& e);

/// Adds "Examples:" lines and the exit codes to a sub-command's --help.
void set_examples(CLI::App& sub, std::initializer_list<const char*> examples);

/// True when `fd` is a terminal and NO_COLOR is unset or empty (https://no-color.org).
bool color_enabled(int fd);
/// `s` wrapped in the SGR sequence `sgr` (e.g. "31" red) when `on`.
std::string paint(std::string_view s, const char* sgr, bool on);

/// A progress bar on stderr, drawn only when stderr is a terminal and the work has taken longer
/// than about a second; erased when finished or destroyed.
class Progress {
 public:
  Progress(std::string label, std::uint64_t total);
  ~Progress();
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;
  void advance(std::uint64_t n);
  void finish();

 private:
  void draw();
  std::string label_;
  std::uint64_t total_;
  std::uint64_t done_ = 0;
  bool tty_;
  bool drawn_ = false;
  std::chrono::steady_clock::time_point start_, last_;
};

/// An io::Writer that forwards to `inner` and advances `progress` by the bytes written.
class ProgressWriter final : public io::Writer {
 public:
  ProgressWriter(io::Writer& inner, Progress& progress) : inner_(inner), progress_(progress) {}

 private:
  void do_write(const void* data, std::size_t n) override;
  // Stable bytes and size hints pass through, so the inner FileWriter still writes storages
  // from their memory and allocates the file at once.
  void do_write_stable(const void* data, std::size_t n) override;
  void do_expect(std::uint64_t n) override;
  void do_commit() override;
  io::Writer& inner_;
  Progress& progress_;
};

/// Refuses a regular file whose stat(2) size is 0 but which has bytes (a /proc or /sys file) with
/// ExitError(kExitUnreadable) saying its size is unknown; nothing for other paths.
void refuse_unknown_size(const std::string& path);

/// Called by every command before it reads its input `files` (and, for a writing command, with
/// the `output` it will write, else ""):
/// - an empty name ('') is ExitError(kExitUsage);
/// - a regular file whose stat(2) size is 0 but which has bytes (a /proc or /sys file) is refused
///   with ExitError(kExitUnreadable) saying its size is unknown, not that it is empty (ptio maps
///   inputs by their size; pipes and devices are refused by the reader as "not a regular file");
/// - the SIGBUS message of main's mapped-input handler (an input truncated by another process
///   while it is read) names the input(s) and, only when there is an output, that it was not
///   written;
/// - with one distinct input, errors that name no file are printed with it (error_line).
void begin_reading(std::initializer_list<std::string_view> files, std::string_view output = {});

/// Checks an output path the user gave (`role` names it: "OUT", "-o OUT") before anything is read
/// or written: an empty name is ExitError(kExitUsage); an existing file with no write permission
/// bit (a 0444 target, which the temporary's rename would silently replace) is refused with
/// ExitError(kExitOutput) naming --force, unless `force`, as cp refuses it without -f.
void check_output_path(const std::string& out, std::string_view role, bool force);

/// Checks the CRC-32 of every stored record of the zip archive `in` before a command re-saves it
/// (convert, extra -o, apply): a storage loaded zero-copy keeps its record's CRC-32 and the
/// writers (ptio::save, jit::save) write it as given (Storage::from_record_view), so damaged
/// storage bytes would otherwise reach OUT with a CRC-32 that no longer matches them (a file
/// PyTorch 1.13 loads, as it does not check, but `ptio verify` fails). Deflated records are
/// checked when read. Throws Error(kZipCrcMismatch) naming the file, the record and its data
/// offset (exit 2), its message ending with `remedy`.
void verify_stored_crcs(const std::string& in, std::string_view remedy = {});

/// Runs `write`, which writes `out` (an io::FileWriter, jit::save to a path, files under a
/// folder): a failure to create, write or rename `out` (ptio::Error kIoOpenFailed /
/// kIoWriteFailed / kIoShortWrite / kIoRenameFailed naming `out` or a file below it, a
/// std::filesystem error) becomes ExitError(kExitOutput); kIoReadFailed (the bytes to write,
/// mapped from `input`, became unreadable: EFAULT, the input was truncated meanwhile) becomes
/// ExitError(kExitUnreadable) naming `input` and that `out` was not written, as the SIGBUS path
/// says it (when `input` is not empty); other errors pass unchanged.
void write_output(const std::string& out, const std::function<void()>& write,
                  const std::string& input = {});

/// The outputs write_output() completed in this run (renamed into place), in order: main names
/// them when only standard output failed afterwards (`wrote OUT` could not be printed), since the
/// files themselves are complete.
const std::vector<std::string>& written_outputs();

/// The names of `names` close to `want`, for "did you mean", all ignoring ASCII case: those equal
/// to it first (`Weight` -> `weight`), then those containing it or contained in it, in the order
/// given, then those within a few edits of it (optimal string alignment distance, a swap of
/// adjacent characters counting as one: `fc1.wight` -> `fc1.weight`; at most 1 edit for 3-5
/// characters, 2 for 6-11, 3 beyond, none for 1-2), nearest first; at most `max`, joined by
/// ", "; "" when none. Linear in the total length of `names` times the edit bound.
std::string close_names(std::string_view want, const std::vector<std::string>& names,
                        std::size_t max = 5);

/// "512 B", "1.5 KiB", "3.2 MiB", "1.1 GiB".
std::string human_size(std::uint64_t bytes);
/// PyTorch's shape notation without `torch.Size(...)`: "[2, 3]", "[]".
std::string shape_str(const std::vector<std::int64_t>& sizes);
/// fnmatch(3)-style glob (`*`, `?`, `[...]`; `*` also matches `.`).
bool glob_match(const std::string& pattern, const std::string& s);
/// Why `pattern` is not a glob glob_match can use, or "" when it is: a `[` that opens a bracket
/// expression never closed (glibc would match it as a literal `[`), an unknown `[:class:]`, a
/// trailing lone `\` (matches nothing).
std::string glob_error(const std::string& pattern);
/// CLI11 check for options that take a GLOB: a bad pattern is a usage error (exit 64) naming it.
CLI::Validator glob_validator();

}  // namespace ptio::cli
