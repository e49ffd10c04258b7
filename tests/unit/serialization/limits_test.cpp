// ptio::Limits: every bound, set small through the one struct, trips on a small input with its
// documented error code, through the entry point that takes it (ptio::load, ArchiveReader, parser).
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/io/writer.h"
#include "ptio/jit/frontend/parser.h"
#include "ptio/limits.h"
#include "ptio/serialization/load.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"
#include "test_support.h"

namespace ptio {
namespace {

using namespace std::string_literals;
using test::bytes_of;

ErrorCode load_code(const std::vector<std::byte>& b, const Limits& limits) {
  LoadOptions o;
  o.limits = limits;
  try {
    (void)load(std::span<const std::byte>(b), o);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // loaded: the test fails on the comparison
}

TEST(Limits, DefaultsAreDocumentedValues) {
  const Limits l;
  EXPECT_EQ(l.pickle.max_depth, 1000u);
  EXPECT_EQ(l.pickle.max_memo_entries, std::size_t{1} << 26);
  EXPECT_EQ(l.pickle.alloc_bytes_per_input_byte, 64u);
  EXPECT_EQ(l.pickle.alloc_base_bytes, std::uint64_t{64} << 20);
  EXPECT_EQ(l.pickle.alloc_inflate_ratio, 16u);
  EXPECT_EQ(l.zip.max_entries, std::size_t{1} << 20);
  EXPECT_EQ(l.zip.max_name_length, 4096u);
  EXPECT_EQ(l.jit.max_source_bytes, 16u << 20);
  EXPECT_EQ(l.jit.max_depth, 256u);
}

TEST(Limits, PickleBoundsThroughLoadOptions) {
  Limits l;
  l.pickle.max_depth = 3;
  EXPECT_EQ(load_code(bytes_of("\x80\x02((((N."s), l), ErrorCode::kPickleDepthLimit);
  l = {};
  l.pickle.max_memo_entries = 2;
  EXPECT_EQ(load_code(bytes_of("\x80\x02Nq\x00q\x01q\x02."s), l), ErrorCode::kPickleMemoLimit);
  l = {};
  l.pickle.max_container_length = 3;
  EXPECT_EQ(load_code(bytes_of("\x80\x02]q\x00(NNNNe."s), l), ErrorCode::kPickleContainerLimit);
  l = {};
  l.pickle.max_stack = 3;
  EXPECT_EQ(load_code(bytes_of("\x80\x02NNNN."s), l), ErrorCode::kPickleContainerLimit);
  l = {};
  l.pickle.alloc_base_bytes = 1024;
  l.pickle.alloc_bytes_per_input_byte = 1;
  EXPECT_EQ(load_code(bytes_of("\x80\x02(" + std::string(5000, 'N') + "l."), l),
            ErrorCode::kPickleAllocationLimit);
  l = {};
  l.pickle.max_decimal_digits = 5;
  // Longer than the bound: a limit (was "invalid integer text", from the new-user trial), for
  // INT and LONG (its trailing L dropped) alike, signed or not; malformed text stays a bad value.
  EXPECT_EQ(load_code(bytes_of("\x80\x02I1234567\n."s), l), ErrorCode::kLimitExceeded);
  EXPECT_EQ(load_code(bytes_of("\x80\x02L-1234567L\n."s), l), ErrorCode::kLimitExceeded);
  EXPECT_EQ(load_code(bytes_of("\x80\x02I12x4\n."s), l), ErrorCode::kPickleBadValue);
  EXPECT_EQ(load_code(bytes_of("\x80\x02I12x4567\n."s), l), ErrorCode::kPickleBadValue);
}

std::vector<std::byte> zip_of(const std::vector<std::string>& names) {
  io::MemoryWriter mw;
  zip::ArchiveWriter zw(mw, "archive");
  zw.write_record("data.pkl", bytes_of("\x80\x02}."s));
  for (const auto& n : names) zw.write_record(n, bytes_of("x"));
  zw.write_record("version", bytes_of("3\n"));
  zw.finalize();
  return mw.release();
}

TEST(Limits, ZipBoundsThroughLoadOptions) {
  Limits l;
  l.zip.max_entries = 2;
  EXPECT_EQ(load_code(zip_of({"a", "b"}), l), ErrorCode::kZipTooManyEntries);
  l = {};
  l.zip.max_name_length = 20;
  EXPECT_EQ(load_code(zip_of({std::string(30, 'n')}), l), ErrorCode::kLimitExceeded);
  // Just inside both bounds, the same archives load.
  l.zip.max_entries = 3;       // data.pkl, the long name, version
  l.zip.max_name_length = 38;  // "archive/" + 30
  EXPECT_EQ(load_code(zip_of({std::string(30, 'n')}), l), ErrorCode::kInternal);
}

TEST(Limits, ZipReaderTakesItsPart) {
  Limits l;
  l.zip.max_name_length = 10;
  zip::ReaderOptions ro;
  static_cast<zip::Limits&>(ro) = l.zip;
  const auto z = zip_of({});  // "archive/data.pkl" is 16 bytes
  try {
    zip::ArchiveReader ar(std::make_shared<io::MemoryReadAdapter>(z), ro);
    FAIL() << "opened";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_TRUE(e.offset().has_value());  // the central header of the entry
  }
}

TEST(Limits, TorchScriptSourceBounds) {
  Limits l;
  l.jit.max_source_bytes = 64;
  jit::frontend::ParseOptions po;
  static_cast<jit::frontend::SourceLimits&>(po) = l.jit;
  const std::string big = "def f(x):\n" + std::string(100, ' ') + "\n  return x\n";
  try {
    (void)jit::frontend::parse_source(big, "code/m.py", po);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
  }
  l = {};
  l.jit.max_depth = 8;
  static_cast<jit::frontend::SourceLimits&>(po) = l.jit;
  const std::string deep =
      "def f(x):\n  return " + std::string(20, '(') + "x" + std::string(20, ')') + "\n";
  try {
    (void)jit::frontend::parse_source(deep, "code/m.py", po);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
  }
  EXPECT_NO_THROW((void)jit::frontend::parse_source(deep, "code/m.py"));
}

}  // namespace
}  // namespace ptio
