// ptio's entry point: builds the CLI11 app from the command registry and maps errors to exit codes.
#include <algorithm>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <exception>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "command.h"
#include "common.h"
#include "ptio/error.h"
#include "ptio/io/temp_cleanup.h"

namespace ptio::cli {

std::vector<Command>& registry() {
  static std::vector<Command> commands;
  return commands;
}

void print_error(const std::exception& e) {
  if (const auto* x = dynamic_cast<const ExitError*>(&e); x && x->cause()) {
    try {
      std::rethrow_exception(x->cause());
    } catch (const std::exception& inner) {
      print_error(inner);
    } catch (...) {
      std::cerr << "ptio: error: unexpected failure\n";
    }
    return;
  }
  std::cerr << "ptio: error: " << error_line(e) << "\n";
}

int exit_code_for(const std::exception& e) {
  if (const auto* x = dynamic_cast<const ExitError*>(&e)) return x->exit_code();
  if (dynamic_cast<const CLI::Error*>(&e)) return kExitUsage;
  const auto* pe = dynamic_cast<const ptio::Error*>(&e);
  if (!pe) return kExitUnreadable;
  switch (pe->code()) {
    case ptio::ErrorCode::kIoWriteFailed:
    case ptio::ErrorCode::kIoShortWrite:
    case ptio::ErrorCode::kIoRenameFailed:
      return kExitOutput;
    case ptio::ErrorCode::kJitUnsupportedSave:  // a module jit::save cannot write as PyTorch would
    case ptio::ErrorCode::kTorchScriptArchive:  // a TorchScript archive where a checkpoint is
                                                // needed
    case ptio::ErrorCode::kMobileArchive:       // a mobile module where a checkpoint is needed
      return kExitUnsupported;
    default:
      return kExitUnreadable;
  }
}

namespace {

// Hints for the arguments of a failed parse that start with '-' and are no option of the
// command: a file of that name exists ("is read as an option"), or the command has no such
// option (an OUT to be written, a typo). Each shows the command line with `--` before it.
void print_dash_hints(CLI::App& app, int argc, char** argv) {
  if (argc < 2) return;
  CLI::App* sub = nullptr;
  for (CLI::App* s : app.get_subcommands([](CLI::App*) { return true; }))
    if (s->get_name() == argv[1]) sub = s;
  if (sub == nullptr) return;
  auto option_of = [sub](const std::string& arg) -> const CLI::Option* {
    const std::string name =
        arg.starts_with("--") ? arg.substr(0, arg.find('=')) : arg.substr(0, 2);
    if (name == "-h" || name == "--help") return sub->get_help_ptr();
    return sub->get_option_no_throw(name);
  };
  for (int i = 2; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;
    if (arg.size() < 2 || arg[0] != '-' || option_of(arg) != nullptr) continue;
    if (i > 2) {  // the value of the option before it (`-o -x`): not an option itself
      const std::string prev = argv[i - 1];
      const CLI::Option* o = prev.size() > 1 && prev[0] == '-' ? option_of(prev) : nullptr;
      if (o != nullptr && o->get_items_expected_max() != 0 && prev.find('=') == std::string::npos &&
          (prev.starts_with("--") || prev.size() == 2))
        continue;
    }
    // The command line with its options first, then `--`, then the other arguments in order.
    std::string line = std::string("ptio ") + argv[1], rest;
    for (int k = 2; k < argc; ++k) {
      const std::string a = argv[k];
      const CLI::Option* o = a.size() > 1 && a[0] == '-' ? option_of(a) : nullptr;
      if (o == nullptr || a == "--") {
        if (a != "--") rest += " " + a;
        continue;
      }
      line += " " + a;
      if (o->get_items_expected_max() != 0 && a.find('=') == std::string::npos &&
          (a.starts_with("--") || a.size() == 2) && k + 1 < argc)
        line += std::string(" ") + argv[++k];
    }
    line += " --" + rest;
    std::error_code ec;
    if (std::filesystem::exists(arg, ec))
      std::cerr << "ptio: hint: '" << arg << "' is read as an option; for the file of that name "
                << "write ./" << arg << " or put -- before it (" << line << ")\n";
    else
      std::cerr << "ptio: hint: `ptio " << argv[1] << "` has no option '" << arg
                << "'; for a file of that name write ./" << arg << " or put -- before it (" << line
                << ")"
                << (std::string_view(argv[1]) == "convert" && arg.starts_with("-o")
                        ? "; convert takes OUT as its second argument, without -o"
                        : "")
                << "\n";
  }
}

}  // namespace
}  // namespace ptio::cli

int main(int argc, char** argv) {
  using namespace ptio::cli;
  // Ctrl-C, SIGTERM or SIGHUP during `convert`, `extract`, `extra --set`... removes the
  // `<out>.tmp.XXXXXX` of the write in progress and leaves OUT as it was (the library leaves
  // signal handlers to its users; the CLI opts in).
  // A closed stdout pipe (`ptio tensors f.pt | head -1`) is an output failure (EPIPE, exit 4) like
  // a full disk, not death by SIGPIPE (141); ignored before the handlers are installed, so they
  // leave it ignored.
  std::signal(SIGPIPE, SIG_IGN);
  // A file-size limit (ulimit -f) is a write error, "File too large", exit 4, whichever thread
  // meets it (the writer's flush thread blocks signals, so it would see EFBIG anyway).
  std::signal(SIGXFSZ, SIG_IGN);
  ptio::io::install_temp_file_cleanup_handlers();
  // A memory-mapped input truncated while it is read (SIGBUS) is an error, not a crash, and
  // leaves no temporary behind. Every command names its input(s) (begin_reading).
  ptio::io::install_mapped_input_fault_handler(
      "ptio: error: an input file changed while it was read (truncated by another process? "
      "SIGBUS on its memory mapping)",
      kExitUnreadable);
  CLI::App app{
      "ptio: read, inspect and write PyTorch files (torch.save, TorchScript) without libtorch",
      "ptio"};
  app.set_version_flag("--version", std::string("ptio ") + PTIO_VERSION_STRING);
  app.require_subcommand(1);
  std::function<int()> run;
  // AsSizeValue alone wraps "-5" to 2^64 - 5: no limit at all.
  const CLI::Validator size_value(
      [](std::string& v) {
        if (v.find('-') != std::string::npos) return std::string("must not be negative");
        // A number past 2^64 - 1 would wrap silently in AsSizeValue.
        std::size_t digits = 0;
        while (digits < v.size() && v[digits] >= '0' && v[digits] <= '9') ++digits;
        const std::string_view number(v.data(), digits);
        if (digits > 20 || (digits == 20 && number > "18446744073709551615"))
          return v + " is larger than 2^64 - 1 bytes";
        const std::string given = v;
        std::string err;
        try {
          err = CLI::AsSizeValue(false)(v);
        } catch (const CLI::ValidationError&) {
          err = "invalid";
        }
        if (!err.empty())
          return given +
                 " is not a size: a whole number of bytes with an optional unit (4096, "
                 "64KiB, 2GiB)";
        return err;
      },
      "SIZE");
  std::uint64_t max_inflated = 0;
  std::vector<CLI::Option*> inflated_options;
  for (auto& cmd : registry()) {
    CLI::App* sub = app.add_subcommand(cmd.name, cmd.summary);
    auto fn = cmd.setup(*sub);
    const std::string_view reads = cmd.name;
    if (reads == "tensors" || reads == "cat" || reads == "diff" || reads == "convert" ||
        reads == "show") {
      // Commands that read elements (sha256, values, statistics, conversions): the bound on
      // what expanded (stride-0) views may add beyond the bytes the file holds.
      sub->add_option("--max-expanded-bytes", view_limits().max_expanded_bytes,
                      "bytes expanded (stride-0) views may add beyond their storages when read, "
                      "summed over the run (default 1GiB; units: 512MiB, 8GiB)")
          ->type_name("SIZE")
          ->transform(size_value);
    }
    if (reads == "tensors" || reads == "info" || reads == "cat" || reads == "diff" ||
        reads == "convert" || reads == "apply") {
      // Commands that list a file's tensors (named_tensors, module_state_dict): the bound on the
      // names the listing makes.
      sub->add_option("--max-listing-bytes", listing_limits().max_listing_bytes,
                      "bytes of names (paths and keys) and entries the listing of a file's tensors "
                      "may make (default 256MiB; units: 512MiB, 1GiB)")
          ->type_name("SIZE")
          ->transform(size_value);
    }
    if (reads == "tensors" || reads == "show" || reads == "info" || reads == "cat" ||
        reads == "diff" || reads == "convert" || reads == "apply") {
      // Commands that load torch.save files: torch.load's map_location, one target for all.
      sub->add_option("--map-location", cli_map_location(),
                      "torch.load's map_location for the torch.save files read: the device every "
                      "storage is recorded on (cpu, cuda:0, meta; the bytes stay in memory). "
                      "Needed for location tags torch.load cannot restore (a plugin's npu:0, xla)")
          ->type_name("LOC")
          ->check(CLI::Validator(
              [](std::string& v) {
                // torch.load(map_location='') restores nothing ("tagged with ''"): a usage error.
                return v.empty() ? std::string("an empty location is not a device") : std::string();
              },
              "LOC"));
    }
    if (reads != "ls") {
      // Commands that read records: the bound on a deflated record inflated into memory (a
      // decompression bomb: a few MB of zeros declaring GBs). Giving it is the user's opt-in.
      inflated_options.push_back(
          sub->add_option("--max-inflated-bytes", max_inflated,
                          "bytes one deflated (compressed) record may inflate to in memory; "
                          "giving it also lifts the check that a record above 64MiB inflates at "
                          "most 100x its compressed size and the archive's budget (all its "
                          "deflated records together: 100x their compressed bytes, at least "
                          "1GiB) (default 16GiB and those checks; units: 512MiB, 8GiB)")
              ->type_name("SIZE")
              ->transform(size_value));
    }
    if (sub->get_footer().empty()) {  // commands that set no examples of their own
      const std::string n = cmd.name;
      if (n == "scan")
        set_examples(*sub, {"ptio scan model.pt", "ptio scan download.bin --json"});
      else
        set_examples(*sub, {});
    }
    sub->callback([&run, fn] { run = fn; });
  }
  app.footer(
      "\nRun `ptio CMD --help` for a command's usage and examples; docs/cli.md documents the "
      "JSON forms.\n\n" +
      std::string(kExitCodesHelp));
  // An unknown command (`ptio bogus`): named, with the commands close to it, rather than
  // CLI11's "A subcommand is required".
  if (argc > 1 && argv[1][0] != '-' && argv[1][0] != '\0') {
    std::vector<std::string> names;
    for (auto& cmd : registry()) names.emplace_back(cmd.name);
    if (std::find(names.begin(), names.end(), argv[1]) == names.end()) {
      const std::string near = close_names(argv[1], names);
      std::cerr << "ptio: error: unknown command '" << argv[1] << "'"
                << (near.empty() ? "" : " (did you mean: " + near + "?)")
                << "; `ptio --help` lists the commands\n";
      return kExitUsage;
    }
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    if (rc == 0) return kExitOk;
    // A file name starting with '-' reads as an option: say how to name it, the same way for
    // every command (an input that exists, or an OUT to be written: convert's positional OUT).
    print_dash_hints(app, argc, argv);
    return kExitUsage;
  }
  for (const CLI::Option* o : inflated_options)
    if (o->count() > 0) {
      zip_limits().max_inflated_size = max_inflated;
      zip_limits().max_inflate_ratio = 0;  // the user opted in
    }
  try {
    const int rc = run ? run() : kExitUsage;
    // Output that did not reach its destination (a full disk, /dev/full, a closed pipe) is a
    // failure, not a truncated result with exit 0.
    std::cout.flush();
    if (!std::cout) {
      // Exit 4 all the same (an output failed), but a file the command wrote before is complete
      // and stays: it was renamed into place (possibly over the previous OUT), and the line that
      // failed is only the `wrote OUT` summary printed after it.
      std::cerr << "ptio: error: cannot write to standard output (disk full or closed pipe?)";
      const auto& done = written_outputs();
      if (done.size() == 1)
        std::cerr << "; " << done[0] << " was written completely, only the summary printed "
                  << "after it is missing";
      else if (!done.empty())
        std::cerr << "; " << done.size() << " files were written completely (" << done.front()
                  << " ... " << done.back() << "), only the summary printed after them is "
                  << "missing";
      std::cerr << "\n";
      return kExitOutput;
    }
    return rc;
  } catch (const CLI::Error& e) {  // an option value a command rejects after parsing
    std::cerr << "ptio: error: " << e.what() << "\n";
    return kExitUsage;
  } catch (const std::exception& e) {  // ptio::Error, ExitError, std::filesystem, bad_alloc...
    print_error(e);
    return exit_code_for(e);
  } catch (...) {
    std::cerr << "ptio: error: unexpected failure\n";
    return kExitUnreadable;
  }
}
