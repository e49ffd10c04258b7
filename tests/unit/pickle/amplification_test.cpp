// Floods of cheap opcodes (NONE, EMPTY_LIST, MEMOIZE, BINPUT) inflated from a few compressed
// bytes: the allocation budget counts what the file holds (UnpicklerOptions::stored_size,
// Limits::alloc_inflate_ratio), and the memo is never sized beyond what the budget pays for.
#include <gtest/gtest.h>

#include <sys/resource.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/pickle/unpickler.h"
#include "test_support.h"

namespace ptio::pickle {
namespace {

using namespace std::string_literals;

std::vector<std::byte> flood(const std::string& head, char op, std::size_t n, int proto = 2) {
  std::string s = "\x80";
  s += static_cast<char>(proto);
  s += head;
  s.append(n, op);
  s += '.';
  const auto* p = reinterpret_cast<const std::byte*>(s.data());
  return {p, p + s.size()};
}

// The trial's bomb: 60 MiB of NONE deflate to ~60 KB. Charged by those 60 KB (at most 16 input
// bytes per stored byte), the budget is 64 MiB + 64 x 16 x 61440 bytes; each NONE costs 16, so
// the VM stops after ~8 million opcodes instead of building a 1 GB stack.
TEST(Amplification, DeflatedNoneFloodIsRefusedByItsStoredSize) {
  const auto bomb = flood("", 'N', std::size_t{60} << 20);
  UnpicklerOptions o;
  o.file = "bomb.pt";
  o.record = "archive/data.pkl";
  o.base_offset = 0;  // a deflated record: offsets count from its first inflated byte
  o.stored_size = 61440;
  try {
    (void)unpickle(bomb, o);
    FAIL() << "the flood loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPickleAllocationLimit);
    EXPECT_EQ(e.file(), "bomb.pt");
    EXPECT_EQ(e.record(), "archive/data.pkl");
    const Limits l;
    const std::uint64_t budget =
        l.alloc_base_bytes + l.alloc_bytes_per_input_byte * l.alloc_inflate_ratio * 61440;
    ASSERT_TRUE(e.offset().has_value());
    // Stopped where the budget ran out (16 bytes per NONE), not at the end of the 60 MiB.
    EXPECT_LE(*e.offset(), budget / 16 + 3);
    EXPECT_GE(*e.offset(), budget / 16 - 3);
    const std::string m = e.what();
    EXPECT_NE(m.find("NONE: allocation limit of " + std::to_string(budget)), std::string::npos)
        << m;
    EXPECT_NE(m.find("inflated from 61440 compressed bytes"), std::string::npos) << m;
    EXPECT_NE(m.find("Limits::pickle.alloc_"), std::string::npos) << m;
  }
}

// The same opcodes as the file's own bytes (a stored record, a legacy file) justify their
// budget; deflated 1000:1 they do not; with the cap off (alloc_inflate_ratio 0) they do again.
TEST(Amplification, StoredSizeCapsTheInputTheBudgetCounts) {
  Limits l;
  l.alloc_base_bytes = 1 << 20;
  for (char op : {'N', ')', '\x88', '\x89'}) {           // 16-64 bytes each
    const auto p = flood("", op, std::size_t{1} << 20);  // 1 Mi pushes, 16-64 MiB charged
    UnpicklerOptions o;
    o.limits = l;
    EXPECT_NO_THROW((void)unpickle(p, o)) << "op " << op;
    o.stored_size = 1024;  // 1 KiB in the file: 1 MiB + 64 x 16 KiB of budget
    try {
      (void)unpickle(p, o);
      ADD_FAILURE() << "op " << op << " loaded";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kPickleAllocationLimit) << e.what();
      EXPECT_LE(*e.offset(), (std::uint64_t{2} << 20) / 16 + 3) << "op " << op;
    }
    o.limits.alloc_inflate_ratio = 0;
    EXPECT_NO_THROW((void)unpickle(p, o)) << "op " << op;
  }
}

// MEMOIZE gives every push a new memo slot (17 bytes each on top of the stack's 16).
TEST(Amplification, MemoizeFloodIsRefused) {
  const auto bomb = flood("N", '\x94', std::size_t{16} << 20, 4);
  UnpicklerOptions o;
  o.stored_size = 16384;
  try {
    (void)unpickle(bomb, o);
    FAIL() << "the flood loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kPickleAllocationLimit) << e.what();
    EXPECT_NE(std::string(e.what()).find("MEMOIZE: allocation limit"), std::string::npos)
        << e.what();
  }
}

// BINPUT 0 written 30 million times is one memo entry. The VM sized its memo up front from the
// count of memo writes (30 million slots, 510 MB, uncharged); now from the indices written and
// at most what the budget pays for. Run in a forked child whose address space is capped 256 MiB
// above what the process maps already: the old sizing fails there (std::bad_alloc, "out of
// memory").
TEST(Amplification, BinputFloodToOneIndexLoadsInBoundedMemory) {
#if defined(__SANITIZE_ADDRESS__)
  GTEST_SKIP() << "an address-space cap does not work with AddressSanitizer's shadow memory";
#else
  std::string s = "\x80\x02]";  // a list, memoized again and again, then read back once
  s.reserve(64 << 20);
  for (int i = 0; i < 30 * 1024 * 1024; ++i) s += "q\x00"s;
  s += "h\x00\x86."s;  // BINGET 0, TUPLE2, STOP: (list, list)
  const std::span<const std::byte> bytes(reinterpret_cast<const std::byte*>(s.data()), s.size());
  UnpicklerOptions o;
  o.stored_size = 65536;  // what the flood deflates to
  const int status = test::run_without_threads([&]() -> int {
    struct rlimit rl {};
    ::getrlimit(RLIMIT_AS, &rl);
    std::ifstream statm("/proc/self/statm");
    std::uint64_t pages = 0;
    statm >> pages;
    rl.rlim_cur = pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE)) + (256u << 20);
    if (::setrlimit(RLIMIT_AS, &rl) != 0) return 3;
    try {
      const IValue v = unpickle(bytes, o);
      if (!v.is_tuple() || v.as_tuple().size() != 2) return 4;
      return v.as_tuple().elements()[0].identity() == v.as_tuple().elements()[1].identity() ? 0 : 5;
    } catch (const Error& e) {
      std::fprintf(stderr, "%s\n", e.what());
      return 1;
    }
  });
  if (status == test::kNoSeccomp) GTEST_SKIP() << "no seccomp filters";
  EXPECT_EQ(status, 0);
#endif
}

}  // namespace
}  // namespace ptio::pickle
