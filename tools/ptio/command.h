// The sub-command registry of the ptio CLI: each command file registers itself with CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <exception>
#include <functional>
#include <string>
#include <vector>

namespace ptio::cli {

/// Exit codes of every ptio command (documented in README.md and docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,           ///< success
  kExitFinding = 1,      ///< a finding: a difference, an unsafe file, a failed check
  kExitUnreadable = 2,   ///< an input that cannot be read (missing, not a PyTorch file, damaged)
  kExitUnsupported = 3,  ///< a readable input the command cannot do what was asked with
  kExitOutput = 4,       ///< an output (OUT, DIR, stdout) that could not be written
  kExitUsage = 64,       ///< a usage error (sysexits' EX_USAGE), a name the file does not hold
};

/// The exit codes as `--help` prints them (docs/cli.md "Conventions" has the full table).
inline constexpr const char* kExitCodesHelp =
    "Exit codes: 0 ok, 1 a finding (difference, unsafe file, failed check), 2 an input that "
    "cannot be read, 3 a readable input the command does not support (a dtype the output format "
    "lacks, a checkpoint where a TorchScript archive is needed), 4 an output that could not be "
    "written, 64 a usage error (bad option, a name the file does not hold).";

/// The exit code for an exception escaping a command: ExitError's own code; for ptio::Error by
/// its ErrorCode (write/rename failures 4; a dtype or value an output format cannot hold, a
/// TorchScript or mobile archive where a checkpoint is needed 3; else 2); CLI11 errors 64; any
/// other exception 2.
int exit_code_for(const std::exception& e);

/// An error with an explicit exit code (kExitUnsupported, kExitOutput, kExitUsage...): wraps the
/// ptio::Error or other exception that caused it, or a plain message, printed as one
/// `ptio: error: ` line by main.
class ExitError : public std::exception {
 public:
  ExitError(int exit_code, std::exception_ptr cause) : code_(exit_code), cause_(std::move(cause)) {}
  ExitError(int exit_code, std::string message)
      : code_(exit_code), message_(std::move(message)) {}
  int exit_code() const noexcept { return code_; }
  /// The wrapped exception, or null for a plain message.
  const std::exception_ptr& cause() const noexcept { return cause_; }
  const char* what() const noexcept override { return message_.c_str(); }

 private:
  int code_;
  std::exception_ptr cause_;
  std::string message_;
};

/// One sub-command: `setup` adds its options to `sub` and returns the function that runs it.
struct Command {
  const char* name;
  const char* summary;
  std::function<std::function<int()>(CLI::App& sub)> setup;
};

/// All registered commands, in registration order.
std::vector<Command>& registry();

/// Registers a command at static-initialisation time: `static Registrar r{{"ls", "...", setup}};`
struct Registrar {
  explicit Registrar(Command c) { registry().push_back(std::move(c)); }
};

/// Prints a ptio::Error or other exception as one plain line on stderr, prefixed "ptio: error: ".
void print_error(const std::exception& e);

}  // namespace ptio::cli
