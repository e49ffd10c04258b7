// `.debug_pkl` source-range tables (spec-torchscript 8.1; source_range_serialization.cpp):
// original file and line of each method.
#include <algorithm>

#include "import_impl.h"
#include "ptio/error.h"
#include "serialization/cycle_guard.h"

namespace ptio::jit::detail {

namespace {

struct Range {
  std::uint64_t offset = 0;     // into the generated code text
  SourceLocation loc;           // file and line of the range's start
  std::int64_t first_line = 0;  // starting_line_no of its source (a def's first line)
};

[[noreturn]] void bad(const std::string& file, const std::string& record, const std::string& what) {
  throw Error(ErrorCode::kJitBadModule, "malformed debug info: " + what, file, record);
}

const std::vector<IValue>& items(const IValue& v, const std::string& file,
                                 const std::string& record, const char* what) {
  if (v.is_tuple()) return v.as_tuple().elements();
  if (v.is_list()) return v.as_list().elements;
  bad(file, record,
      std::string("expected a tuple for ") + what + ", got " + std::string(v.kind_name()));
}

std::int64_t int_of(const IValue& v, const std::string& file, const std::string& record) {
  if (!v.is_int()) bad(file, record, "expected an int, got " + std::string(v.kind_name()));
  return v.as_int();
}

std::int64_t count_newlines(std::string_view text, std::int64_t upto) {
  const auto n = static_cast<std::size_t>(
      std::clamp<std::int64_t>(upto, 0, static_cast<std::int64_t>(text.size())));
  return std::count(text.begin(), text.begin() + static_cast<std::ptrdiff_t>(n), '\n');
}

std::vector<Range> parse(const IValue& root, const std::string& file, const std::string& record) {
  // Records may share one long source text; bound the text scanned for line numbers so a small
  // hostile table cannot make this quadratic.
  std::uint64_t budget = std::uint64_t{1} << 28;
  const auto spend = [&](std::uint64_t n) {
    if (n > budget)
      throw Error(ErrorCode::kLimitExceeded,
                  "debug info: source ranges scan more than 256 MiB of text", file, record);
    budget -= n;
  };
  const std::vector<IValue>* strings = nullptr;
  const std::vector<IValue>* recs = nullptr;
  const auto& top = items(root, file, record, "the table");
  if (top.size() == 3 && top[0].is_string() && top[0].as_string() == "FORMAT_WITH_STRING_TABLE") {
    strings = &items(top[1], file, record, "the string table");
    recs = &items(top[2], file, record, "the records");
  } else {
    recs = &top;
  }
  auto str_at = [&](std::int64_t i) -> const std::string& {
    if (!strings || i < 0 || static_cast<std::size_t>(i) >= strings->size() ||
        !(*strings)[static_cast<std::size_t>(i)].is_string())
      bad(file, record, "string table index " + std::to_string(i) + " out of range");
    return (*strings)[static_cast<std::size_t>(i)].as_string();
  };
  std::vector<Range> out;
  out.reserve(recs->size());
  for (const IValue& rv : *recs) {
    const auto& r = items(rv, file, record, "a record");
    if (r.size() < 2) bad(file, record, "a record has fewer than 2 elements");
    Range range;
    range.offset =
        static_cast<std::uint64_t>(std::max<std::int64_t>(0, int_of(r[0], file, record)));
    // The source range is the element that is itself a tuple (format variants, spec 8.1).
    const IValue* sr = nullptr;
    for (std::size_t i = 1; i < r.size() && !sr; ++i)
      if (r[i].is_tuple()) sr = &r[i];
    if (!sr) bad(file, record, "a record has no source range");
    const auto& s = items(*sr, file, record, "a source range");
    if (s.size() != 3) bad(file, record, "a source range must have 3 elements");
    const auto& src = items(s[0], file, record, "a source");
    if (src.size() != 3) bad(file, record, "a source must have 3 elements");
    const std::int64_t start = int_of(s[1], file, record);
    const std::int64_t first_line = int_of(src[2], file, record);
    std::int64_t newlines = 0;
    if (strings) {  // (line_indices, filename_index, starting_line_no)
      range.loc.file = str_at(int_of(src[1], file, record));
      std::int64_t pos = 0;
      for (const IValue& li : items(src[0], file, record, "line indices")) {
        if (pos >= start) break;
        const std::string& line = str_at(int_of(li, file, record));
        spend(line.size() + 1);
        newlines += count_newlines(line, start - pos);
        pos += static_cast<std::int64_t>(line.size());
      }
    } else {  // (text, filename or None, starting_line_no)
      if (!src[0].is_string()) bad(file, record, "a source text must be a string");
      if (src[1].is_string()) range.loc.file = src[1].as_string();
      spend(static_cast<std::uint64_t>(std::max<std::int64_t>(0, start)));
      newlines = count_newlines(src[0].as_string(), start);
    }
    range.loc.line = first_line + newlines;
    range.first_line = first_line;
    out.push_back(std::move(range));
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const Range& a, const Range& b) { return a.offset < b.offset; });
  return out;
}

}  // namespace

void load_debug_info(const zip::ArchiveReader& ar, CompilationUnit& cu, const Limits& limits) {
  const pickle::Resolver resolver = make_resolver(cu);
  const std::string prefix = ar.prefix().empty() ? "" : ar.prefix() + "/";
  for (const auto& [full, parsed] : cu.files()) {
    const std::string rel = full.substr(std::min(prefix.size(), full.size())) + ".debug_pkl";
    if (!ar.has_record(rel)) continue;
    const std::string record = ar.record(rel).full_name;
    IValue debug = unpickle_record(ar, rel, resolver, {}, limits.pickle);
    const auto ranges = [&] {
      const ptio::detail::CycleGuard drop{debug};  // parsed, then dropped: cycles freed
      return parse(debug, ar.file_name(), record);
    }();
    if (ranges.empty()) continue;
    for (const ClassType* t : cu.classes()) {
      if (t->file() != full) continue;
      for (const Method& m : t->methods()) {
        const auto begin = m.def().range.begin.offset, end = m.def().range.end.offset;
        // The first range inside the def that names a real file: its source is the method's
        // original source, which starts at the def (or its decorator) line. A def without any
        // ranged node (e.g. `return [prefix]`) has no location, as in PyTorch.
        const Range* best = nullptr;
        auto it = std::lower_bound(ranges.begin(), ranges.end(), begin,
                                   [](const Range& r, std::uint64_t o) { return r.offset < o; });
        for (; it != ranges.end() && it->offset <= end; ++it)
          if (!it->loc.file.empty()) {
            best = &*it;
            break;
          }
        if (best)
          cu.set_method_location(t->name().qualified_name(), m.name(),
                                 {best->loc.file, best->first_line});
      }
    }
  }
}

}  // namespace ptio::jit::detail
