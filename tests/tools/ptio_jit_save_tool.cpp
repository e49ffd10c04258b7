// ptio_jit_save_tool IN OUT [--extra NAME=FILE]... [--keep-extra] [--to path|stream|bytes|func]
//                   [--short-after N]
// Loads the TorchScript archive IN with ptio::jit::load and writes it back with ptio::jit::save
// (test_jit_save.py checks the result in PyTorch). --keep-extra passes the archive's own extra
// files through; --extra adds or replaces one (NAME may be anything, to test rejection);
// --to picks the target (a path, an std::ofstream, save_to_bytes, save_to_write_func);
// --short-after N makes the write callback return short once N bytes went through (implies
// --to func, writing into OUT). Exit 0 on success, 2 with the error on stderr.
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <string>

#include "ptio/error.h"
#include "ptio/jit/import.h"
#include "ptio/jit/save.h"

using namespace ptio;

namespace {

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw Error(ErrorCode::kIoOpenFailed, "cannot open " + path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: ptio_jit_save_tool IN OUT [--extra NAME=FILE]... [--keep-extra] "
                 "[--to path|stream|bytes|func] [--short-after N]\n";
    return 64;
  }
  const std::string in = argv[1], out = argv[2];
  std::string to = "path";
  long long short_after = -1;
  bool keep_extra = false;
  jit::ExtraFilesMap extra;
  try {
    for (int i = 3; i < argc; ++i) {
      const std::string a = argv[i];
      if (a == "--extra" && i + 1 < argc) {
        const std::string kv = argv[++i];
        const auto eq = kv.find('=');
        if (eq == std::string::npos) return 64;
        extra[kv.substr(0, eq)] = read_file(kv.substr(eq + 1));
      } else if (a == "--keep-extra") {
        keep_extra = true;
      } else if (a == "--to" && i + 1 < argc) {
        to = argv[++i];
      } else if (a == "--short-after" && i + 1 < argc) {
        short_after = std::stoll(argv[++i]);
        to = "func";
      } else {
        std::cerr << "unknown argument " << a << "\n";
        return 64;
      }
    }
    jit::Module m = jit::load(in);
    if (keep_extra)
      for (auto& [k, v] : jit::load_extra_files(in)) extra.emplace(k, v);
    if (to == "path") {
      jit::save(m, out, extra);
    } else if (to == "stream") {
      std::ofstream os(out, std::ios::binary);
      m.save(os, extra);
    } else if (to == "bytes") {
      const auto b = jit::save_to_bytes(m, extra);
      std::ofstream os(out, std::ios::binary);
      os.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
    } else if (to == "func") {
      std::string buf;
      long long budget = short_after;
      jit::save_to_write_func(m, extra, [&](const void* data, std::size_t n) -> std::size_t {
        if (budget >= 0) {
          if (static_cast<long long>(n) > budget) {
            const auto k = static_cast<std::size_t>(budget);
            buf.append(static_cast<const char*>(data), k);
            budget = 0;
            return k;
          }
          budget -= static_cast<long long>(n);
        }
        buf.append(static_cast<const char*>(data), n);
        return n;
      });
      std::ofstream os(out, std::ios::binary);
      os.write(buf.data(), static_cast<std::streamsize>(buf.size()));
    } else {
      std::cerr << "unknown target " << to << "\n";
      return 64;
    }
  } catch (const Error& e) {
    std::cerr << e.what() << " [code " << static_cast<int>(e.code()) << "]\n";
    return 2;
  }
  return 0;
}
