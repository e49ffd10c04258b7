// The stderr warning of the inspecting commands (`tensors`, `show`, `cat`) for a file whose pickles
// reference callables that run code when Python unpickles it (torch.load(weights_only=False)).
#pragma once

#include <string>
#include <string_view>

#include "ptio/pickle/resolver.h"

namespace ptio::cli {

/// Notes that a pickle of `file` references the global `module.name` that ptio does not resolve
/// (LoadOptions::on_unknown_global, or a raw pickle's resolver fallback): kept for
/// warn_code_globals() when ptio::classify_global judges it dangerous (`builtins.eval`,
/// `os.system`, `subprocess.Popen`...), else ignored. Cheap: called once per resolution.
void note_code_global(const std::string& file, std::string_view module, std::string_view name);

/// A resolver for reading a raw pickle of `file` under the inspection policy: CPython's
/// plain-value builtins (as the Unpickler's default) and, for every other global, the
/// note_code_global() above and an unresolved (Opaque) value.
pickle::Resolver noting_resolver(const std::string& file);

/// When globals of `file` were noted as dangerous: prints one line on stderr naming them (at most
/// 5, then how many more), saying that nothing was run and pointing to `ptio scan FILE` (which
/// also gives their offsets and judges the file). Nothing otherwise. The command's output and
/// exit status stay as they are: the listing is complete and true, and judging a file is scan's
/// job (exit 1 there).
void warn_code_globals(const std::string& file);

}  // namespace ptio::cli
