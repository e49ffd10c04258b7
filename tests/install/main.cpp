// Consumer test program: uses the installed ptio headers and library on a bundled sample.
#include <iostream>

#include "ptio/error.h"
#include "ptio/io/magic.h"
#include "ptio/io/read_adapter.h"
#include "ptio/zip/archive_reader.h"

int main(int argc, char** argv) {
  if (argc != 2) return 64;
  try {
    ptio::io::MmapReadAdapter in(argv[1]);
    ptio::zip::ArchiveReader zip(argv[1]);
    std::cout << ptio::io::file_magic_name(ptio::io::identify_magic(in)) << " with "
              << zip.records().size() << " records, data.pkl " << zip.view("data.pkl").size()
              << " bytes\n";
    return 0;
  } catch (const ptio::Error& e) {
    std::cerr << e.what() << "\n";
    return 2;
  }
}
