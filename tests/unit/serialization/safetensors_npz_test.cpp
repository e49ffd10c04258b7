// save_safetensors and save_npz: exact bytes against the safetensors library's own test vectors,
// layout rules (order, alignment, padding), tied weights, dtype errors, npy headers.
#include <gtest/gtest.h>

#include <cstring>

#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/npz.h"
#include "ptio/serialization/safetensors.h"
#include "ptio/zip/archive_reader.h"
#include "test_support.h"

namespace ptio {
namespace {

Tensor floats(std::vector<std::int64_t> sizes, const std::vector<float>& v) {
  return Tensor::from_bytes(
      ScalarType::Float, std::move(sizes),
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(v.data()), v.size() * 4));
}

std::vector<unsigned char> bytes_of(io::MemoryWriter& w) {
  const auto b = w.bytes();
  return std::vector<unsigned char>(reinterpret_cast<const unsigned char*>(b.data()),
                                    reinterpret_cast<const unsigned char*>(b.data()) + b.size());
}

// safetensors/src/tensor.rs `test_serialization`: "attn.0" F32 [1, 2, 3] without metadata.
TEST(Safetensors, MatchesUpstreamTestVector) {
  io::MemoryWriter w;
  SafetensorsOptions o;
  o.metadata.clear();
  save_safetensors({{"attn.0", floats({1, 2, 3}, {0, 1, 2, 3, 4, 5})}}, w, o);
  const std::vector<unsigned char> want = {
      64, 0,  0,   0,   0,   0,   0,   0,   123, 34,  97,  116, 116, 110, 46,  48,
      34, 58, 123, 34,  100, 116, 121, 112, 101, 34,  58,  34,  70,  51,  50,  34,
      44, 34, 115, 104, 97,  112, 101, 34,  58,  91,  49,  44,  50,  44,  51,  93,
      44, 34, 100, 97,  116, 97,  95,  111, 102, 102, 115, 101, 116, 115, 34,  58,
      91, 48, 44,  50,  52,  93,  125, 125, 0,   0,   0,   0,   0,   0,   128, 63,
      0,  0,  0,   64,  0,   0,   64,  64,  0,   0,   128, 64,  0,   0,   160, 64};
  EXPECT_EQ(bytes_of(w), want);
}

// `test_serialization_forced_alignement`: a shorter name pads the header with spaces.
TEST(Safetensors, PadsHeaderWithSpaces) {
  io::MemoryWriter w;
  SafetensorsOptions o;
  o.metadata.clear();
  save_safetensors({{"attn0", floats({1, 1, 2, 3}, {0, 1, 2, 3, 4, 5})}}, w, o);
  const auto b = bytes_of(w);
  ASSERT_GE(b.size(), 8u);
  EXPECT_EQ(b[0], 72);
  const std::string header(b.begin() + 8, b.begin() + 80);
  EXPECT_EQ(header, R"({"attn0":{"dtype":"F32","shape":[1,1,2,3],"data_offsets":[0,24]}}       )");
}

// `test_empty` with metadata {"framework": "pt"}.
TEST(Safetensors, EmptyWithMetadata) {
  io::MemoryWriter w;
  SafetensorsOptions o;
  o.metadata = {{"framework", "pt"}};
  save_safetensors({}, w, o);
  const auto b = bytes_of(w);
  const std::string s(b.begin() + 8, b.end());
  EXPECT_EQ(b[0], 40);
  EXPECT_EQ(s, R"({"__metadata__":{"framework":"pt"}}     )");
}

TEST(Safetensors, OrdersByDtypeThenNameAndStoresTiedOnce) {
  const Tensor a = floats({2}, {1, 2});
  const std::int64_t big[] = {5};
  const Tensor l =
      Tensor::from_bytes(ScalarType::Long, {1},
                         std::span<const std::byte>(reinterpret_cast<const std::byte*>(big), 8));
  const Tensor t2 = Tensor::make(a.storage(), ScalarType::Float, {1}, {1}, 1);  // a view: copied
  io::MemoryWriter w;
  const SafetensorsReport r =
      save_safetensors({{"z", a}, {"b", a}, {"y", l}, {"v", t2}}, w, SafetensorsOptions{});
  ASSERT_EQ(r.tied.size(), 1u);
  EXPECT_EQ(r.tied[0], std::make_pair(std::string("b"), std::string("z")));
  EXPECT_EQ(r.copied, (std::vector<std::string>{"z", "v"}));
  const auto bytes = bytes_of(w);
  std::uint64_t n = 0;
  std::memcpy(&n, bytes.data(), 8);
  const std::string header(bytes.begin() + 8, bytes.begin() + 8 + static_cast<long>(n));
  EXPECT_EQ(header.find(R"({"__metadata__":{"b":"z","format":"pt"},"y":{"dtype":"I64")"), 0u)
      << header;
  EXPECT_LT(header.find("\"v\":{"), header.find("\"z\":{"));
  EXPECT_EQ(r.bytes, bytes.size());
  EXPECT_EQ(bytes.size(), 8 + n + 8 + 4 + 8);
}

// An expanded view (4 bytes of storage as [1e9] floats) is refused before a byte is written, by
// both writers, naming the tensor; a raised allowance lets a small one through with its values.
TEST(SafetensorsNpz, ExpandedViewsAreBoundedBeforeWriting) {
  const Tensor one = floats({1}, {2.5f});
  const Tensor huge = Tensor::make(one.storage(), ScalarType::Float, {1000000000}, {0});
  const Tensor small = Tensor::make(one.storage(), ScalarType::Float, {3}, {0});  // 8 extra bytes
  {
    io::MemoryWriter w;
    try {
      save_safetensors({{"ok", one}, {"huge", huge}}, w);
      FAIL() << "no error";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
      EXPECT_NE(e.message().find("tensor 'huge'"), std::string::npos) << e.what();
      EXPECT_NE(e.message().find("needs 4000000000 bytes"), std::string::npos) << e.what();
    }
    EXPECT_EQ(w.position(), 0u);
  }
  {
    io::MemoryWriter w;
    EXPECT_PTIO_ERROR(save_npz({{"huge", huge}}, w), ErrorCode::kLimitExceeded);
    EXPECT_EQ(w.position(), 0u);
  }
  SafetensorsOptions so;
  so.view_limits.max_expanded_bytes = 7;
  io::MemoryWriter w;
  EXPECT_PTIO_ERROR(save_safetensors({{"s", small}}, w, so), ErrorCode::kLimitExceeded);
  so.view_limits.max_expanded_bytes = 8;
  io::MemoryWriter w2;
  save_safetensors({{"s", small}}, w2, so);
  const auto b = bytes_of(w2);
  float tail[3];
  std::memcpy(tail, b.data() + b.size() - 12, 12);
  EXPECT_EQ(tail[0], 2.5f);
  EXPECT_EQ(tail[2], 2.5f);
  NpzOptions no;
  no.view_limits.max_expanded_bytes = 8;
  io::MemoryWriter w3;
  save_npz({{"s", small}}, w3, no);
  EXPECT_TRUE(w3.committed());
}

TEST(Safetensors, UnsupportedDtypesNameEveryTensor) {
  const std::vector<float> c = {1, 2};
  const Tensor z = Tensor::from_bytes(
      ScalarType::ComplexFloat, {1},
      std::span<const std::byte>(reinterpret_cast<const std::byte*>(c.data()), 8));
  io::MemoryWriter w;
  try {
    save_safetensors({{"ok", floats({1}, {1})}, {"z", z}, {"z2", z}}, w);
    FAIL() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kBadDtype);
    EXPECT_NE(std::string(e.what()).find("z (complex64), z2 (complex64)"), std::string::npos)
        << e.what();
  }
  EXPECT_FALSE(w.committed());
  EXPECT_FALSE(safetensors_dtype_name(ScalarType::QInt8));
  EXPECT_EQ(*safetensors_dtype_name(ScalarType::BFloat16), "BF16");
}

TEST(Npz, HeaderAsNumpyWritesIt) {
  const std::int64_t s[] = {2, 3};
  const auto h = npy_header(ScalarType::Float, s);
  const std::string hs(reinterpret_cast<const char*>(h.data()), h.size());
  ASSERT_EQ(h.size() % 64, 0u);
  EXPECT_EQ(hs.substr(0, 8), std::string("\x93NUMPY\x01\x00", 8));
  EXPECT_EQ(static_cast<std::size_t>(static_cast<unsigned char>(hs[8]) |
                                     (static_cast<unsigned char>(hs[9]) << 8)),
            h.size() - 10);
  // numpy 1.24's np.save(np.zeros((2, 3), np.float32)) header: 59 characters of dict, numpy's 20
  // spaces of growth room for the first axis, padding to 128 bytes, newline.
  EXPECT_EQ(h.size(), 128u);
  EXPECT_EQ(hs.substr(10), "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }" +
                               std::string(58, ' ') + "\n");
  const std::int64_t one[] = {5};
  const auto h1 = npy_header(ScalarType::Bool, one);
  EXPECT_NE(std::string(reinterpret_cast<const char*>(h1.data()), h1.size())
                .find("'descr': '|b1', 'fortran_order': False, 'shape': (5,), }"),
            std::string::npos);
  EXPECT_THROW(npy_header(ScalarType::BFloat16, one), Error);
}

TEST(Npz, RecordsAtTopLevel) {
  io::MemoryWriter w;
  save_npz({{"a.b", floats({2}, {1, 2})}}, w);
  const auto b = w.bytes();
  zip::ReaderOptions ro;
  ro.strict = false;
  zip::ArchiveReader ar(std::make_shared<io::MemoryReadAdapter>(b), ro);
  ASSERT_EQ(ar.records().size(), 1u);
  EXPECT_EQ(ar.records()[0].full_name, "a.b.npy");
  EXPECT_EQ(ar.records()[0].size, 128u + 8u);
}

}  // namespace
}  // namespace ptio
