// The sub-command registry of the ptio CLI: each command file registers itself with CLI11.
#pragma once

#include <CLI/CLI.hpp>
#include <functional>
#include <string>
#include <vector>

namespace ptio::cli {

/// Exit codes of every ptio command (documented in README.md and docs/cli.md).
enum ExitCode : int {
  kExitOk = 0,        ///< success
  kExitFinding = 1,   ///< a finding: a difference, an unsafe file, a failed check
  kExitUnreadable = 2,  ///< an input that cannot be read
  kExitUsage = 64,    ///< a usage error
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
