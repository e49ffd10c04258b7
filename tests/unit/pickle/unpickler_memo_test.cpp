// The memo keeps only the entries the pickle reads back (BINGET/LONG_BINGET, found by a scan
// before the run); everything else is released as soon as it is consumed. Observed through the
// use count a persistent_load callback sees for the id it is given (1: only the argument holds
// it; 2: the memo holds it too), and through values read back from the memo.
#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <new>
#include <span>
#include <string>

#include "ptio/core/ivalue.h"
#include "ptio/pickle/unpickler.h"
#include "test_support.h"

namespace ptio::pickle {
namespace {

using namespace std::string_literals;

std::span<const std::byte> span_of(const std::string& s) {
  return {reinterpret_cast<const std::byte*>(s.data()), s.size()};
}

// Unpickles `s` with a persistent_load that records the id's use count and returns "loaded".
IValue load_counting(const std::string& s, std::uint32_t& use_count, bool record_memoized = false) {
  UnpicklerOptions o;
  o.record_memoized = record_memoized;
  o.persistent_load = [&](const IValue& pid, const CallContext&) {
    use_count = pid.use_count();
    return IValue("loaded");
  };
  Unpickler u(span_of(s), o);
  return u.load();
}

TEST(UnpicklerMemo, EntryNoGetReadsIsNotKept) {
  std::uint32_t n = 0;
  // EMPTY_LIST, BINPUT 0, BINPERSID, STOP: nothing reads memo 0.
  const IValue v = load_counting("\x80\x02]q\x00Q."s, n);
  EXPECT_EQ(v.as_string(), "loaded");
  EXPECT_EQ(n, 1u);
}

TEST(UnpicklerMemo, EntryReadByBinGetIsKeptAndShared) {
  std::uint32_t n = 0;
  // EMPTY_LIST, BINPUT 0, BINPERSID, BINGET 0, TUPLE2: the list comes back from the memo.
  const IValue v = load_counting("\x80\x02]q\x00Qh\x00\x86."s, n);
  EXPECT_EQ(n, 2u);
  ASSERT_TRUE(v.is_tuple());
  EXPECT_EQ(v.as_tuple().elements()[0].as_string(), "loaded");
  EXPECT_TRUE(v.as_tuple().elements()[1].is_list());
}

TEST(UnpicklerMemo, EntryReadByLongBinGetIsKept) {
  std::uint32_t n = 0;
  // LONG_BINPUT 300, ..., LONG_BINGET 300; and an unread BINPUT 1 next to it.
  const IValue v = load_counting("\x80\x02]r\x2c\x01\x00\x00q\x01Qj\x2c\x01\x00\x00\x86."s, n);
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(v.as_tuple().elements()[1].is_list());
}

TEST(UnpicklerMemo, SparseIndexReadBackIsTheSameObject) {
  // LONG_BINPUT / LONG_BINGET 1,000,000 (beyond the dense memo): both elements are one list.
  const std::string s = "\x80\x02]r\x40\x42\x0f\x00j\x40\x42\x0f\x00\x86."s;
  const IValue v = unpickle(span_of(s));
  ASSERT_TRUE(v.is_tuple());
  EXPECT_TRUE(v.as_tuple().elements()[0].is_same(v.as_tuple().elements()[1]));
  // Index 2^25: more bits than the input justifies for the scan's bitmap, so the whole memo is
  // kept; the value still comes back.
  std::uint32_t n = 0;
  const IValue w = load_counting("\x80\x02]r\x00\x00\x00\x02Qj\x00\x00\x00\x02\x86."s, n);
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(w.as_tuple().elements()[1].is_list());
}

TEST(UnpicklerMemo, MemoizeAndTextGetKeepEverything) {
  std::uint32_t n = 0;
  // Protocol 4 MEMOIZE (implicit indices): every entry is kept, as before.
  load_counting("\x80\x04]\x94Q."s, n);
  EXPECT_EQ(n, 2u);
  // Protocol 0 PUT / GET: kept, and GET reads it back.
  const IValue v = load_counting("((lp0\nQg0\nt."s, n);
  EXPECT_EQ(n, 2u);
  EXPECT_TRUE(v.as_tuple().elements()[1].is_list());
  // The caller asked for the memoized identities: kept.
  load_counting("\x80\x02]q\x00Q."s, n, true);
  EXPECT_EQ(n, 2u);
}

TEST(UnpicklerMemo, ReadOfAnEntryNeverPutStillFails) {
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02]q\x00h\x01."s)), ErrorCode::kPickleBadMemo);
}

TEST(UnpicklerMemo, TruncatedAfterTheScanStopsFailsAsBefore) {
  // The scan stops at the truncated BINUNICODE; the run fails there with the same error.
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02]q\x00h\x00X\xff\x00\x00\x00"s + "ab")),
                    ErrorCode::kPickleTruncated);
  EXPECT_PTIO_ERROR(unpickle(span_of("\x80\x02]q\x00h\x00\xfe."s)),
                    ErrorCode::kPickleUnknownOpcode);
}

TEST(UnpicklerMemo, SecondPickleOfAStreamScansItsOwnOpcodes) {
  // Two pickles back to back (legacy torch.save files are a sequence): the second reads its own
  // memo entry 0, which the first pickle did not read.
  const std::string s = "\x80\x02]q\x00.\x80\x02}q\x00h\x00\x86."s;
  Unpickler u(span_of(s));
  EXPECT_TRUE(u.load().is_list());
  const IValue second = u.load();
  ASSERT_TRUE(second.is_tuple());
  EXPECT_TRUE(second.as_tuple().elements()[0].is_same(second.as_tuple().elements()[1]));
  EXPECT_TRUE(second.as_tuple().elements()[0].is_dict());
}

// The process's address space in bytes (/proc/self/statm, first field).
std::uint64_t address_space_bytes() {
  std::ifstream f("/proc/self/statm");
  std::uint64_t pages = 0;
  f >> pages;
  return pages * static_cast<std::uint64_t>(::sysconf(_SC_PAGESIZE));
}

// A 96 MiB read-only-use anonymous mapping (untouched pages: no memory) starting with `head`.
struct PickleThenTail {
  static constexpr std::size_t kSize = std::size_t{96} << 20;
  explicit PickleThenTail(const std::string& head) {
    p = ::mmap(nullptr, kSize, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
               -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    std::memcpy(p, head.data(), head.size());
  }
  ~PickleThenTail() { ::munmap(p, kSize); }
  std::span<const std::byte> span() const { return {static_cast<const std::byte*>(p), kSize}; }
  void* p;
};

// The memo is sized from the pickle's own memo writes, not from the bytes after its STOP: a
// legacy torch.save file's object pickle and each header pickle of a tar member are followed by
// storage bytes, from which the old guess (one entry per 6 remaining bytes) reserved ~300 MB of
// address space per 100 MB of storages (a 100 MB legacy file failed to load under `ulimit -v`
// limits the zip form of the same tensor loaded in). Regression: the reservation stays small
// whatever follows, for protocol 2 (BINPUT), protocol 4 (MEMOIZE) and protocol 0 (PUT).
TEST(UnpicklerMemo, ReservationIsSizedFromThePickleNotTheBytesAfterIt) {
  for (const std::string& head : {"\x80\x02]q\x00h\x00\x86."s, "\x80\x04]\x94h\x00\x86."s,
                                 "(lp0\ng0\n\x86."s}) {
    const PickleThenTail input(head);
    const std::uint64_t before = address_space_bytes();
    Unpickler u(input.span());
    const IValue v = u.load();  // the Unpickler (and its memo's capacity) is still alive
    const std::uint64_t grown = address_space_bytes() - std::min(before, address_space_bytes());
    ASSERT_TRUE(v.is_tuple());
    EXPECT_TRUE(v.as_tuple().elements()[0].is_same(v.as_tuple().elements()[1]));
    EXPECT_EQ(u.position(), head.size());
    EXPECT_LT(grown, std::uint64_t{16} << 20) << "for " << testing::PrintToString(head);
  }
}

}  // namespace
}  // namespace ptio::pickle
