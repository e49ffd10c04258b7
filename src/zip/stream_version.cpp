// read_stream_version: the version record parsed as PyTorchStreamReader does (std::stoull).
#include "zip/stream_version.h"

#include <cctype>
#include <cstdio>

namespace ptio::zip::detail {

using ptio::detail::concat;

std::optional<std::uint64_t> stoull_prefix(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && std::isspace(static_cast<unsigned char>(text[i]))) ++i;
  bool negative = false;
  if (i < text.size() && (text[i] == '+' || text[i] == '-')) negative = text[i++] == '-';
  const std::size_t first = i;
  std::uint64_t n = 0;
  for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
    const auto d = static_cast<std::uint64_t>(text[i] - '0');
    if (n > (UINT64_MAX - d) / 10) return std::nullopt;  // stoull: out_of_range
    n = n * 10 + d;
  }
  if (i == first) return std::nullopt;  // stoull: invalid_argument
  return negative ? std::uint64_t{0} - n : n;
}

namespace {
// The record's text with control bytes escaped, for messages.
std::string quoted(std::string_view text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (c == '\n') {
      out += "\\n";
    } else if (u < 0x20 || u == 0x7F) {
      char hex[5];
      std::snprintf(hex, sizeof hex, "\\x%02x", u);  // as Python's repr escapes it
      out += hex;
    } else {
      out += c;
    }
  }
  return out;
}
}  // namespace

StreamVersion read_stream_version(const ArchiveReader& ar, ErrorCode code) {
  StreamVersion v;
  v.record = ar.has_record(".data/version") ? ".data/version" : "version";
  PTIO_CHECK(ar.has_record(v.record), code,
             "the archive has no `version` record (torch.save and torch.jit.save always write "
             "one)");
  const RecordInfo& info = ar.record(v.record);
  if (info.size > 64)
    throw Error(code,
                concat("record ", v.record, " is ", info.size, " bytes long; expected at most 64"),
                ar.file_name(), info.full_name, info.data_offset);
  const auto bytes = ar.read(info);
  const std::string_view text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  const std::optional<std::uint64_t> n = stoull_prefix(text);
  if (!n)
    throw Error(code,
                concat("couldn't parse the version '", quoted(text),
                       "' (expected a decimal number below 2^64, as std::stoull reads it)"),
                ar.file_name(), info.full_name, info.data_offset);
  if (*n < 1 || *n > 10) {
    // The record's text too when it is not just the number ("-1", " 12 ", "099").
    std::string_view trimmed = text;
    while (!trimmed.empty() && std::isspace(static_cast<unsigned char>(trimmed.back())))
      trimmed.remove_suffix(1);
    const std::string shown = std::to_string(*n);
    throw Error(
        code,
        concat("file format version ", shown,
               *n < 1 ? " is below what PyTorch reads (1..10)"
                      : " is outside what PyTorch reads (1..10)",
               trimmed == shown ? std::string() : concat(" (record text '", quoted(text), "')")),
        ar.file_name(), info.full_name, info.data_offset);
  }
  v.value = *n;
  return v;
}

}  // namespace ptio::zip::detail
