// ptio_zip_tool: drives zip::ArchiveWriter / ArchiveReader for the Python interop tests.
//
//   ptio_zip_tool write OUT --prefix P [--align A] [--no-crc] NAME=FILE | z:NAME=FILE ...
//       writes the records in order (z: = compress=true), then finalizes.
//   ptio_zip_tool write-large OUT --prefix P --size N [--chunk C] [NAME=FILE ...]
//       streams record `big` of N bytes (chunk k of C bytes = pattern(C) with its first 8 bytes
//       replaced by k as little-endian u64; pattern byte j = (j * 131 + (j >> 9)) & 0xff), then the
//       other records.
//   ptio_zip_tool crc FILE NAME      prints size and CRC-32 computed by read_chunks (CRC-checked)
//   ptio_zip_tool cat FILE NAME      writes the record's bytes to stdout (read(), CRC-checked)
#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"
#include "ptio/zip/crc32.h"

namespace {

int usage() {
  std::cerr << "usage: ptio_zip_tool write|write-large|crc|cat ...\n";
  return 64;
}

void add_records(ptio::zip::ArchiveWriter& w, const std::vector<std::string>& specs) {
  for (std::string spec : specs) {
    bool compress = false;
    if (spec.rfind("z:", 0) == 0) {
      compress = true;
      spec = spec.substr(2);
    }
    const auto eq = spec.find('=');
    if (eq == std::string::npos) throw std::runtime_error("bad record spec: " + spec);
    const auto data = ptio::io::read_file(spec.substr(eq + 1));
    w.write_record(spec.substr(0, eq), data.data(), data.size(), compress);
  }
}

int run(int argc, char** argv) {
  if (argc < 3) return usage();
  const std::string cmd = argv[1];
  if (cmd == "write" || cmd == "write-large") {
    std::string out = argv[2], prefix = "archive";
    ptio::zip::WriterOptions opt;
    std::uint64_t size = 0, chunk = 1 << 20;
    std::vector<std::string> specs;
    for (int i = 3; i < argc; ++i) {
      std::string a = argv[i];
      auto next = [&]() -> std::string {
        if (i + 1 >= argc) throw std::runtime_error("missing value after " + a);
        return argv[++i];
      };
      if (a == "--prefix")
        prefix = next();
      else if (a == "--align")
        opt.alignment = static_cast<std::uint32_t>(std::stoul(next()));
      else if (a == "--no-crc")
        opt.compute_crc32 = false;
      else if (a == "--size")
        size = std::stoull(next());
      else if (a == "--chunk")
        chunk = std::stoull(next());
      else
        specs.push_back(a);
    }
    ptio::io::FileWriter fw(out);
    ptio::zip::ArchiveWriter w(fw, prefix, opt);
    if (cmd == "write-large") {
      std::vector<unsigned char> buf(chunk);
      for (std::size_t j = 0; j < chunk; ++j)
        buf[j] = static_cast<unsigned char>((j * 131 + (j >> 9)) & 0xff);
      w.begin_record("big", size);
      for (std::uint64_t k = 0, done = 0; done < size; ++k) {
        for (int b = 0; b < 8 && static_cast<std::size_t>(b) < chunk; ++b)
          buf[b] = static_cast<unsigned char>(k >> (8 * b));
        const std::size_t n = static_cast<std::size_t>(std::min<std::uint64_t>(chunk, size - done));
        w.append(buf.data(), n);
        done += n;
      }
      w.end_record();
    }
    add_records(w, specs);
    w.finalize();
    return 0;
  }
  if ((cmd == "crc" || cmd == "cat") && argc == 4) {
    ptio::zip::ArchiveReader r{std::filesystem::path(argv[2])};
    if (cmd == "cat") {
      auto data = r.read(argv[3]);
      std::fwrite(data.data(), 1, data.size(), stdout);
      return 0;
    }
    std::uint32_t crc = 0;
    std::uint64_t n = 0;
    r.read_chunks(argv[3], [&](std::span<const std::byte> s) {
      crc = ptio::zip::crc32(crc, s.data(), s.size());
      n += s.size();
    });
    std::cout << n << " " << crc << "\n";
    return 0;
  }
  return usage();
}

}  // namespace

int main(int argc, char** argv) {
  try {
    return run(argc, argv);
  } catch (const ptio::Error& e) {
    std::cerr << "ptio_zip_tool: " << e.what() << " [" << ptio::error_code_name(e.code()) << "]\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "ptio_zip_tool: " << e.what() << "\n";
    return 2;
  }
}
