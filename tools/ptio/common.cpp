// Helpers shared by the ptio commands (see common.h).
#include "common.h"

#include <fcntl.h>
#include <fnmatch.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <optional>
#include <set>
#include <utility>

#include <nlohmann/json.hpp>

#include "code_warning.h"
#include "command.h"
#include "jit_common.h"
#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/temp_cleanup.h"
#include "ptio/jit/import.h"
#include "ptio/limits.h"
#include "ptio/serialization/load.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/crc32.h"

namespace ptio::cli {

TensorSource::~TensorSource() {
  break_cycles(root);
}

TensorSource load_tensor_source(const std::string& path, bool all) {
  TensorSource src;
  src.file = path;
  const FormatInfo fi = detect_format(io::MmapReadAdapter(path));
  src.format = fi.format;
  if (fi.format == FileFormat::kTorchScript || fi.format == FileFormat::kMobile) {
    src.torchscript = true;
    const jit::Module m =
        jit::load(std::filesystem::path(path), cli_jit_device(), nullptr, true, cli_limits());
    src.root = m.ivalue();
    const StateDict sd = m.state_dict();
    auto component = [](char kind, const std::string& text) {
      return kind + text + std::string(1, '\0');
    };
    for (const auto& [name, t] : sd.items())
      src.tensors.push_back({name, t, false, component('m', name)});
    if (all) {
      try {
        std::set<std::string> listed;
        for (const auto& nt : src.tensors) listed.insert(nt.path);
        for (const auto& [name, v] : m.named_attributes(true))
          for (auto& nt : named_tensors(v, listing_limits())) {
            std::string p = nt.path.empty() ? name : name + "." + nt.path;
            if (listed.insert(p).second)
              src.tensors.push_back(
                  {std::move(p), nt.tensor, nt.is_storage, component('m', name) + nt.key});
          }
        const auto& constants = m.compilation_unit().constants().as_tuple().elements();
        for (std::size_t i = 0; i < constants.size(); ++i)
          for (auto& nt : named_tensors(constants[i], listing_limits()))
            src.tensors.push_back(
                {"CONSTANTS.c" + std::to_string(i) + (nt.path.empty() ? "" : "." + nt.path),
                 nt.tensor, nt.is_storage,
                 component('a', "CONSTANTS") + component('a', "c" + std::to_string(i)) + nt.key});
      } catch (Error& e) {
        e.add_context(path);  // named_tensors' limits name the file like every other error
        throw;
      }
    }
    return src;
  }
  require_loadable(fi, path);
  LoadOptions opt;
  opt.weights_only = false;  // inspection: unknown globals are kept as Opaque, never run
  opt.limits = cli_limits();
  apply_cli_map_location(opt);
  opt.on_unknown_global = [&path](std::string_view m, std::string_view n) {
    note_code_global(path, m, n);  // for warn_code_globals (code_warning.h)
  };
  try {
    src.root = load(std::filesystem::path(path), opt);
  } catch (const Error& e) {
    // torch.load's "invalid magic number" for a pickle that is no legacy stream: say what it is.
    if (fi.format == FileFormat::kPickle && e.code() == ErrorCode::kLegacyFormat &&
        e.message().starts_with("invalid magic number"))
      throw Error(ErrorCode::kLegacyFormat, plain_pickle_diagnosis(path), path);
    throw;
  }
  try {
    src.tensors = named_tensors(src.root, listing_limits());
  } catch (Error& e) {
    e.add_context(path);  // its limits (shared containers, nesting) name the file like the rest
    throw;
  }
  return src;
}

std::string key_access(const std::string& key) {
  std::string out;
  std::size_t i = 0;
  while (i < key.size()) {
    const char kind = key[i++];
    const std::size_t end = std::min(key.find('\0', i), key.size());
    const std::string text = key.substr(i, end - i);
    i = end + 1;
    switch (kind) {
      case 's':
        out += "[" +
               nlohmann::json(text).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
               "]";
        break;
      case 'a':
      case 'm':
      case 'o':
        out += "." + text;
        break;  // `o`: `<arg 0>`, `<state>`... of an unknown class
      case '<':
        out += "<storage>";
        break;
      default:
        out += "[" + text + "]";
        break;  // int key, other key (its repr), index
    }
  }
  return out;
}

std::string plain_pickle_diagnosis(const std::string& path) {
  return "a plain pickle (pickle.dump output), not a torch.save file: its first object is not "
         "torch.save's magic number (torch.load says \"invalid magic number\"), so ptio reads no "
         "tensors from it; `ptio show " +
         path + "` prints its object";
}

zip::Limits& zip_limits() {
  static zip::Limits limits = Limits{}.zip;
  return limits;
}

ListingLimits& listing_limits() {
  static ListingLimits limits = Limits{}.listing;
  return limits;
}

Limits cli_limits() {
  Limits l;
  l.zip = zip_limits();
  l.view = view_limits();
  l.listing = listing_limits();
  return l;
}

std::string& cli_map_location() {
  static std::string location;
  return location;
}

void apply_cli_map_location(LoadOptions& lo) {
  if (!cli_map_location().empty()) lo.map_location = cli_map_location();
}

std::optional<Device> cli_jit_device() {
  if (cli_map_location().empty()) return std::nullopt;
  return Device::parse(cli_map_location());
}

ViewLimits& view_limits() {
  static ViewLimits limits = Limits{}.view;
  return limits;
}

void charge_view(const std::string& file, std::string_view name, const Tensor& t) {
  static std::optional<ViewBudget> budget;  // made on first use, after the options are parsed
  static std::set<std::string> charged;
  if (!budget) budget.emplace(view_limits());
  if (expanded_bytes(t) == 0) return;
  // Once per file, name and tensor: a command reading one tensor twice (tensors' sha256 and
  // --stats) pays once, but two tensors whose keys flatten to one name (`a.b` and `a`/`b`) each
  // pay.
  char id[2 * sizeof(void*) + 3];
  std::snprintf(id, sizeof id, "%p", t.id());
  const std::string key = file + '\0' + std::string(name) + '\0' + id;
  if (charged.count(key)) return;
  try {
    budget->charge(t, name);
  } catch (Error& e) {
    e.add_context(file);
    throw;
  }
  charged.insert(key);
}

namespace {

// The fix for an error, when ptio knows one and the message does not already say it.
std::string hint_for(const Error& e) {
  const std::string& m = e.message();
  switch (e.code()) {
    case ErrorCode::kZipGitLfsPointer:
      return m.find("git lfs") != std::string::npos ? "" : "run `git lfs pull` to fetch the file";
    case ErrorCode::kZipHtmlPage:
      return m.find("download") != std::string::npos
                 ? ""
                 : "the download saved a web page; fetch the file's raw/resolve URL again";
    case ErrorCode::kZipTruncated:
      return m.find("truncated") != std::string::npos ? "" : "download or save the file again";
    case ErrorCode::kIoOutOfBounds:
    case ErrorCode::kPickleTruncated:
    case ErrorCode::kPickleMissingStop:
      return "the file is shorter than its contents say: download or save it again";
    case ErrorCode::kZipEmptyFile:
      return m.find("did not complete") != std::string::npos
                 ? ""
                 : "the file is empty: download or save it again";
    case ErrorCode::kBadDevice:
      return m.find("map_location") != std::string::npos ||
                     m.find("supported devices include") != std::string::npos
                 ? "`--map-location cpu` loads it with its storages recorded on the CPU"
                 : "";
    case ErrorCode::kTorchScriptArchive:
      return "this is a TorchScript archive (torch.jit.save): use `ptio info`, `ptio tensors`, "
             "`ptio diff` or `ptio convert FILE OUT.pt` (its state_dict)";
    case ErrorCode::kMobileArchive:
      return "mobile modules are read by `ptio info` and `ptio tensors`";
    case ErrorCode::kBadVersion:
    case ErrorCode::kJitVersion:
      if (m.find("version") != std::string::npos &&
          (m.find("outside") != std::string::npos || m.find("not supported") != std::string::npos))
        return "the file was written by a newer PyTorch than ptio supports: re-save it with the "
               "PyTorch that wrote it using an older format, or update ptio";
      return "";
    case ErrorCode::kJitBadModule:
    case ErrorCode::kJitMissingClass:
      return "";
    case ErrorCode::kLimitExceeded:
      if (m.find("max_expanded_bytes") != std::string::npos)
        return "if you trust the file, raise the allowance with --max-expanded-bytes SIZE "
               "(bytes, or with a unit: 8GiB)";
      if (m.find("Limits::zip.max_inflated_total") != std::string::npos)
        return "if you trust the file, allow it with --max-inflated-bytes SIZE (the most one "
               "record may inflate to; it lifts the compression-ratio check and the archive's "
               "budget derived from it)";
      if (m.find("Limits::zip.max_infl") != std::string::npos)
        return "if you trust the file, allow the record with --max-inflated-bytes SIZE (bytes, "
               "or with a unit: 8GiB; it also lifts the compression-ratio check)";
      if (m.find("Limits::listing.max_listing_bytes") != std::string::npos)
        return "if you trust the file, raise the listing's limit with --max-listing-bytes SIZE "
               "(bytes, or with a unit: 1GiB)";
      return "";
    default:
      return "";
  }
}

}  // namespace

namespace {
// The input of a command that reads one file (begin_reading), named by errors that carry no file.
std::string& single_input() {
  static std::string name;
  return name;
}
}  // namespace

std::string error_line(const std::exception& e) {
  std::string line;
  if (const auto* pe = dynamic_cast<const Error*>(&e)) {
    // An error raised where the file is not known (a module that contains itself, a value
    // nested too deeply to write) still starts with the file, as every other error line does.
    if (pe->file().empty() && !single_input().empty())
      line = Error(*pe).add_context(single_input()).what();
    else
      line = pe->what();
    const std::string hint = hint_for(*pe);
    if (!hint.empty()) line += "; " + hint;
  } else if (dynamic_cast<const std::bad_alloc*>(&e)) {
    line = "out of memory";
  } else if (const auto* fe = dynamic_cast<const std::filesystem::filesystem_error*>(&e)) {
    // libstdc++ says "filesystem error: cannot create directories: <reason> [<path>]"; ptio's
    // lines start with the file: "<path>: cannot create directories: <reason>".
    std::string what = fe->what();
    constexpr std::string_view kPrefix = "filesystem error: ";
    if (what.starts_with(kPrefix)) what.erase(0, kPrefix.size());
    if (const auto b = what.find(" ["); b != std::string::npos) what.erase(b);
    line = fe->path1().empty() ? what : fe->path1().string() + ": " + what;
  } else {
    line = e.what();
  }
  // One line, whatever a file name or message holds, with no byte a terminal acts on (an
  // escape sequence in a record name or dict key; ptio::Error's what() has them escaped already).
  line = printable(line, LineBreaks::kKeep);
  for (char& c : line)
    if (c == '\n' || c == '\r') c = ' ';
  return line;
}

void set_examples(CLI::App& sub, std::initializer_list<const char*> examples) {
  std::string f;
  if (examples.size() != 0) {
    f = "\nExamples:\n";
    for (const char* e : examples) f += std::string("  ") + e + "\n";
  }
  f += std::string("\n") + kExitCodesHelp;
  sub.footer(f);
}

void refuse_unknown_size(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0 || !S_ISREG(st.st_mode) || st.st_size != 0) return;
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;  // the reader says why it cannot open it
  char byte;
  const ssize_t got = ::read(fd, &byte, 1);
  ::close(fd);
  if (got == 1)
    throw ExitError(kExitUnreadable,
                    path +
                        ": its size is unknown: the file system reports 0 bytes but it has "
                        "content (a /proc or /sys file?); ptio reads files of known size: "
                        "copy it to a regular file first");
}

namespace {
// `-` as FILE (standard input, by the usual convention) when no file is named `-`: ptio maps its
// inputs by name, so it cannot read standard input; say so (a terminal would otherwise look like
// ptio waits for a file on it) rather than "-: cannot open".
void refuse_stdin() {
  struct stat st {};
  if (::stat("-", &st) == 0) return;  // a file really named `-`
  const char* what = ::isatty(0) == 1 ? "standard input is a terminal, and ptio does not read "
                                        "standard input"
                                      : "ptio does not read standard input (it maps its inputs "
                                        "by name; a pipe cannot be mapped)";
  throw ExitError(kExitUsage, std::string("FILE '-' names standard input: ") + what +
                                  "; give the file's path (`ptio tensors model.pt`), or save "
                                  "piped data to a file first (`... > model.pt`)");
}
}  // namespace

void begin_reading(std::initializer_list<std::string_view> files, std::string_view output) {
  std::vector<std::string_view> distinct;  // `diff X X` names X once
  for (const std::string_view f : files)
    if (std::find(distinct.begin(), distinct.end(), f) == distinct.end()) distinct.push_back(f);
  single_input() = distinct.size() == 1 ? std::string(distinct[0]) : std::string();
  std::string names;
  for (std::size_t i = 0; i < distinct.size(); ++i) {
    names += std::string(i == 0                     ? ""
                         : i + 1 == distinct.size() ? " or "
                                                    : ", ") +
             std::string(distinct[i]);
    if (distinct[i].empty())
      throw ExitError(kExitUsage, "an input FILE is an empty name (''); give the file to read");
    if (distinct[i] == "-") refuse_stdin();
    refuse_unknown_size(std::string(distinct[i]));
  }
  const std::string line =
      "ptio: error: " + names + (distinct.size() > 1 ? ": an input" : ": the input") +
      " changed while it was read (truncated by another process? SIGBUS on its memory mapping)" +
      (output.empty() ? "" : "; " + std::string(output) + " was not written");
  io::install_mapped_input_fault_handler(line.c_str(), kExitUnreadable);
}

void verify_stored_crcs(const std::string& in, std::string_view remedy) {
  zip::ReaderOptions ro;
  static_cast<zip::Limits&>(ro) = zip_limits();
  ro.strict = false;  // what the loaders accept; the records they copy are checked
  const zip::ArchiveReader reader(std::make_shared<io::MmapReadAdapter>(in), ro);
  for (const zip::RecordInfo& r : reader.records()) {
    if (!r.is_stored() || !r.crc_recorded || r.size == 0) continue;
    // Over the mapped bytes, as the writer would checksum them (no copy through a buffer).
    std::uint32_t actual;
    if (reader.can_view(r)) {
      const io::ByteView v = reader.view(r);
      actual = zip::crc32(0, v.data(), v.size());
    } else {
      actual = reader.compute_crc32(r);
    }
    if (actual != r.crc32)
      throw Error(ErrorCode::kZipCrcMismatch,
                  "CRC-32 of the data is " + zip::crc_hex(actual) + " but the archive records " +
                      zip::crc_hex(r.crc32) +
                      ": the record's bytes are damaged, so nothing was written" +
                      std::string(remedy),
                  in, r.full_name, r.data_offset);
  }
}

void check_output_path(const std::string& out, std::string_view role, bool force) {
  if (out.empty())
    throw ExitError(kExitUsage,
                    std::string(role) + " is an empty file name; give the file to write");
  struct stat st {};
  if (force || ::stat(out.c_str(), &st) != 0 || !S_ISREG(st.st_mode)) return;
  if ((st.st_mode & 0222) == 0)
    throw ExitError(kExitOutput,
                    out +
                        ": is read-only (no write permission); ptio would replace it: pass "
                        "--force to replace it, as `cp -f` does, or choose another " +
                        std::string(role));
}

namespace {
std::vector<std::string>& written() {
  static std::vector<std::string> paths;
  return paths;
}
}  // namespace

const std::vector<std::string>& written_outputs() {
  return written();
}

void write_output(const std::string& out, const std::function<void()>& write,
                  const std::string& input) {
  auto ours = [&out](const std::string& file) {
    if (file.empty()) return true;
    if (file == out || file.starts_with(out + "/")) return true;
    std::error_code ec;
    const auto canon = std::filesystem::weakly_canonical(out, ec).string();
    return !ec && (file == canon || file.starts_with(canon + "/"));
  };
  try {
    write();
    written().push_back(out);
  } catch (const Error& e) {
    switch (e.code()) {
      case ErrorCode::kIoOpenFailed:
      case ErrorCode::kIoWriteFailed:
      case ErrorCode::kIoShortWrite:
      case ErrorCode::kIoRenameFailed:
        if (ours(e.file())) throw ExitError(kExitOutput, std::current_exception());
        break;
      case ErrorCode::kIoReadFailed:
        if (!input.empty())
          throw ExitError(kExitUnreadable,
                          input +
                              ": the input changed while it was read (truncated by another "
                              "process? writing its mapped bytes failed with EFAULT); " +
                              out + " was not written");
        break;
      default:
        break;
    }
    throw;
  } catch (const std::filesystem::filesystem_error&) {
    throw ExitError(kExitOutput, std::current_exception());
  }
}

namespace {

// The optimal string alignment distance of `a` and `b` (Damerau-Levenshtein with adjacent
// transpositions: `wieght` -> `weight` is 1), or `bound + 1` once it is certain to exceed
// `bound`: only the band of cells within `bound` of the diagonal is computed, and a row whose
// every cell exceeds `bound` ends the computation. `rows` holds the three rows (reused across
// calls to spare allocations).
std::size_t osa_distance(std::string_view a, std::string_view b, std::size_t bound,
                         std::vector<std::size_t>& rows) {
  const std::size_t n = a.size(), m = b.size(), over = bound + 1;
  if ((n > m ? n - m : m - n) > bound) return over;
  rows.assign(3 * (m + 1), over);
  std::size_t* prev2 = rows.data();
  std::size_t* prev = prev2 + (m + 1);
  std::size_t* cur = prev + (m + 1);
  for (std::size_t j = 0; j <= std::min(m, bound); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    std::fill(cur, cur + m + 1, over);
    std::size_t row_min = over;
    if (i <= bound) row_min = cur[0] = i;
    const std::size_t lo = i > bound ? i - bound : 1, hi = std::min(m, i + bound);
    for (std::size_t j = lo; j <= hi; ++j) {
      std::size_t v = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] != b[j - 1])});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1])
        v = std::min(v, prev2[j - 2] + 1);
      cur[j] = std::min(v, over);
      row_min = std::min(row_min, cur[j]);
    }
    if (row_min > bound) return over;
    std::swap(prev2, prev);
    std::swap(prev, cur);
  }
  return prev[m];
}

}  // namespace

std::string close_names(std::string_view want, const std::vector<std::string>& names,
                        std::size_t max) {
  auto lower = [](std::string_view s) {
    std::string l(s);
    for (char& c : l)
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return l;
  };
  const std::string w = lower(want);
  std::vector<std::string> lowered;
  lowered.reserve(names.size());
  for (const std::string& n : names) lowered.push_back(lower(n));
  std::vector<std::size_t> picked;
  auto taken = [&](std::size_t i) {
    return std::find(picked.begin(), picked.end(), i) != picked.end();
  };
  auto pick = [&](auto&& close) {
    for (std::size_t i = 0; i < names.size() && picked.size() < max; ++i)
      if (!taken(i) && close(lowered[i])) picked.push_back(i);
  };
  pick([&](const std::string& l) { return l == w; });
  if (!w.empty())
    pick([&](const std::string& l) {
      return l.find(w) != std::string::npos || (!l.empty() && w.find(l) != std::string::npos);
    });
  // Then typos: names within a few edits of `want` (more for longer names; none for one or two
  // characters, where one edit reaches too much), nearest first, in the order given within a
  // distance.
  const std::size_t bound = w.size() <= 2 ? 0 : w.size() <= 5 ? 1 : w.size() <= 11 ? 2 : 3;
  if (bound > 0 && picked.size() < max) {
    std::vector<std::pair<std::size_t, std::size_t>> near;  // (distance, index)
    std::vector<std::size_t> rows;
    for (std::size_t i = 0; i < names.size(); ++i) {
      if (taken(i)) continue;
      const std::size_t d = osa_distance(w, lowered[i], bound, rows);
      if (d <= bound) near.emplace_back(d, i);
    }
    std::stable_sort(near.begin(), near.end(),
                     [](const auto& x, const auto& y) { return x.first < y.first; });
    for (const auto& [d, i] : near) {
      if (picked.size() >= max) break;
      picked.push_back(i);
    }
  }
  std::string out;
  for (const std::size_t i : picked) out += (out.empty() ? "" : ", ") + names[i];
  return out;
}

std::string human_size(std::uint64_t bytes) {
  static const char* kUnits[] = {"KiB", "MiB", "GiB", "TiB"};
  if (bytes < 1024) return std::to_string(bytes) + " B";
  double v = static_cast<double>(bytes);
  int u = -1;
  while (v >= 1024 && u < 3) {
    v /= 1024;
    ++u;
  }
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f %s", v, kUnits[u]);
  return buf;
}

std::string shape_str(const std::vector<std::int64_t>& sizes) {
  std::string s = "[";
  for (std::size_t i = 0; i < sizes.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(sizes[i]);
  }
  return s + "]";
}

bool glob_match(const std::string& pattern, const std::string& s) {
  return ::fnmatch(pattern.c_str(), s.c_str(), 0) == 0;
}

std::string glob_error(const std::string& p) {
  static const std::set<std::string, std::less<>> kClasses = {"alnum", "alpha", "blank", "cntrl",
                                                              "digit", "graph", "lower", "print",
                                                              "punct", "space", "upper", "xdigit"};
  const std::size_t n = p.size();
  for (std::size_t i = 0; i < n; ++i) {
    if (p[i] == '\\') {
      if (i + 1 == n) return "ends with a lone '\\' (write '\\\\' for a backslash)";
      ++i;
      continue;
    }
    if (p[i] != '[') continue;
    std::size_t j = i + 1;
    if (j < n && (p[j] == '!' || p[j] == '^')) ++j;
    if (j < n && p[j] == ']') ++j;  // a leading ']' is a member
    while (j < n && p[j] != ']') {
      if (p[j] == '[' && j + 1 < n && (p[j + 1] == ':' || p[j + 1] == '.' || p[j + 1] == '=')) {
        const char kind = p[j + 1];
        const std::size_t end = p.find(std::string{kind, ']'}, j + 2);
        if (end == std::string::npos) {  // no closing ":]": the '[' is an ordinary member
          ++j;
          continue;
        }
        if (kind == ':' && !kClasses.count(std::string_view(p).substr(j + 2, end - j - 2)))
          return "'" + p.substr(j, end + 2 - j) +
                 "' is not a character class (alpha, digit, "
                 "alnum, upper, lower, space, punct, xdigit...)";
        j = end + 2;
        continue;
      }
      ++j;
    }
    if (j >= n)
      return "the '[' at position " + std::to_string(i + 1) +
             " opens a bracket expression that is never closed (write '[[]' for a literal '[')";
    i = j;
  }
  return {};
}

CLI::Validator glob_validator() {
  return CLI::Validator(
      [](std::string& s) {
        const std::string why = glob_error(s);
        return why.empty() ? why : "bad glob '" + s + "': " + why;
      },
      "");
}

}  // namespace ptio::cli
