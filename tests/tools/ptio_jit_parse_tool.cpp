// Test helper: parses TorchScript code files with ptio's frontend and checks print round trips.
//
//   ptio_jit_parse_tool roundtrip [--show-diff] FILE...
//     For each file: parse, print, parse the print, print again. A file fails when parsing throws
//     or when the second print differs from the first (print must be a fixed point). Also reports
//     whether the first print equals the original bytes. One line per file:
//       OK IDENTICAL <file> | OK DIFFERENT <file> <line>: <orig> | <printed> | FAIL <file>: <why>
//     then `summary files=N parsed=P identical=I different=D failed=F`. Exit 1 if any failed.
//   ptio_jit_parse_tool print FILE       prints the parsed file to stdout.
//   ptio_jit_parse_tool check FILE       parses; prints the error (code name + what()) or "ok".
#include <cstdio>
#include <fstream>
#include <iostream>
#include <iterator>
#include <sstream>
#include <string>

#include "ptio/error.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/jit/frontend/printer.h"

namespace fe = ptio::jit::frontend;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error("cannot open " + path);
  return std::string(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
}

std::string first_difference(const std::string& a, const std::string& b) {
  std::istringstream sa(a), sb(b);
  std::string la, lb;
  for (int line = 1;; ++line) {
    const bool ga = static_cast<bool>(std::getline(sa, la));
    const bool gb = static_cast<bool>(std::getline(sb, lb));
    if (!ga && !gb) return "(differs only in the final newline)";
    if (!ga || !gb || la != lb)
      return std::to_string(line) + ": " + (ga ? la : "<eof>") + " | " + (gb ? lb : "<eof>");
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: %s roundtrip|print|check FILE...\n", argv[0]);
    return 2;
  }
  const std::string mode = argv[1];
  if (mode == "print" || mode == "check") {
    try {
      const std::string text = read_file(argv[2]);
      const fe::ParsedFile f = fe::parse_source(text, argv[2]);
      if (mode == "print")
        std::cout << fe::print_source(f);
      else
        std::cout << "ok\n";
      return 0;
    } catch (const ptio::Error& e) {
      std::cout << ptio::error_code_name(e.code()) << ": " << e.what() << "\n";
      return 1;
    }
  }
  if (mode != "roundtrip") {
    std::fprintf(stderr, "unknown mode %s\n", mode.c_str());
    return 2;
  }
  int files = 0, parsed = 0, identical = 0, different = 0, failed = 0;
  for (int i = 2; i < argc; ++i) {
    const std::string path = argv[i];
    if (path == "--show-diff") continue;
    ++files;
    try {
      const std::string text = read_file(path);
      const fe::ParsedFile f1 = fe::parse_source(text, path);
      ++parsed;
      const std::string p1 = fe::print_source(f1);
      const fe::ParsedFile f2 = fe::parse_source(p1, path + " (printed)");
      const std::string p2 = fe::print_source(f2);
      if (p1 != p2) {
        ++failed;
        std::cout << "FAIL " << path << ": print is not a fixed point at line "
                  << first_difference(p1, p2) << "\n";
        continue;
      }
      if (p1 == text) {
        ++identical;
        std::cout << "OK IDENTICAL " << path << "\n";
      } else {
        ++different;
        std::cout << "OK DIFFERENT " << path << " " << first_difference(text, p1) << "\n";
      }
    } catch (const ptio::Error& e) {
      ++failed;
      std::cout << "FAIL " << path << ": " << ptio::error_code_name(e.code()) << ": " << e.what()
                << "\n";
    } catch (const std::exception& e) {
      ++failed;
      std::cout << "FAIL " << path << ": " << e.what() << "\n";
    }
  }
  std::cout << "summary files=" << files << " parsed=" << parsed << " identical=" << identical
            << " different=" << different << " failed=" << failed << "\n";
  return failed ? 1 : 0;
}
