// ptio::printable: text a file controls (record names, dict keys, global names) made safe to put
// in a message or print on a terminal.
#pragma once

#include <string>
#include <string_view>

#include "ptio/export.h"

namespace ptio {

/// What printable() does with tab, line feed and carriage return.
enum class LineBreaks {
  kEscape,  ///< `\t`, `\n`, `\r` as those two-character escapes (one table cell, one line)
  kKeep,    ///< kept as they are (multi-line messages such as TorchScript source excerpts)
};

/// `text` with every byte a terminal would act on, or that would end a C string, written as
/// Python's repr writes it: C0 control bytes and DEL as `\xNN` (`\x00`, `\x1b`; tab, line feed
/// and carriage return as `\t`, `\n`, `\r` or kept, per `line_breaks`), the C1 controls
/// U+0080..U+009F (UTF-8 `C2 80`..`C2 9F`: U+009B is a CSI on many terminals) as `\x80`..`\x9f`,
/// and each byte that is not part of valid UTF-8 as `\xNN`. Everything else, valid UTF-8
/// included, is unchanged, so names without such bytes print as they are; the result is valid
/// UTF-8. ptio::Error::what() passes its file, record and message through it (LineBreaks::kKeep);
/// the CLI prints names from files through it. Throws only std::bad_alloc.
PTIO_API std::string printable(std::string_view text, LineBreaks line_breaks = LineBreaks::kEscape);

/// True when printable(text, line_breaks) would return `text` unchanged.
PTIO_API bool is_printable(std::string_view text,
                           LineBreaks line_breaks = LineBreaks::kEscape) noexcept;

}  // namespace ptio
