// The typed and raw accessors of Tensor, Storage and StateDict: T is checked against the dtype
// (not only its size), and spans/pointers into memory a temporary owns cannot be taken from the
// temporary. The requires-expressions below do not compile against headers without these guards
// (data<T>() on an rvalue Tensor was allowed, StateDict(v).items() returned a dangling reference).
#include <complex>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "ptio/core/storage.h"
#include "ptio/core/tensor.h"
#include "ptio/serialization/state_dict.h"
#include "test_support.h"

namespace ptio {
namespace {

// ---- compile-time guards -------------------------------------------------------------------

// Concepts, so that an invalid call is a false constraint rather than a hard error.
template <typename Self, typename T>
concept HasData = requires {
  std::declval<Self>().template data<T>();
};
template <typename Self>
concept HasDataBytes = requires {
  std::declval<Self>().data_bytes();
};
template <typename Self>
concept HasDataPtr = requires {
  std::declval<Self>().data_ptr();
};
template <typename Self>
concept HasContiguousData = requires {
  std::declval<Self>().contiguous().template data<float>();
};
template <typename Self>
concept HasStorageData = requires {
  std::declval<Self>().data();
};
template <typename Self>
concept HasStorageBytes = requires {
  std::declval<Self>().bytes();
};
template <typename Self>
concept HasMutableData = requires {
  std::declval<Self>().mutable_data();
};

// Spans and pointers into a Tensor's storage: available on lvalues, deleted on temporaries
// (`t.contiguous().data<float>()`).
static_assert(HasData<const Tensor&, float>);
static_assert(!HasData<Tensor, float>);
static_assert(!HasData<const Tensor, float>);
static_assert(HasDataBytes<const Tensor&>);
static_assert(!HasDataBytes<Tensor>);
static_assert(HasDataPtr<const Tensor&>);
static_assert(!HasDataPtr<Tensor>);
static_assert(!HasContiguousData<const Tensor&>);
// T must be some dtype's element type: char (neither int8 nor uint8 by name), std::byte and a
// struct do not compile.
static_assert(!HasData<const Tensor&, char>);
static_assert(!HasData<const Tensor&, std::byte>);
static_assert(!HasData<const Tensor&, std::pair<int, int>>);
static_assert(HasData<const Tensor&, Half> && HasData<const Tensor&, BFloat16> &&
              HasData<const Tensor&, std::complex<double>> && HasData<const Tensor&, bool> &&
              HasData<const Tensor&, std::uint64_t> && HasData<const Tensor&, std::int8_t>);

// Storage bytes: not from a temporary Storage.
static_assert(HasStorageData<const Storage&> && HasStorageBytes<const Storage&>);
static_assert(!HasStorageData<Storage>);
static_assert(!HasStorageBytes<Storage>);
static_assert(!HasMutableData<Storage>);
static_assert(HasMutableData<Storage&>);

// StateDict on a temporary: items()/at()/metadata() return values, not references into it.
static_assert(
    std::is_same_v<decltype(std::declval<StateDict>().items()), std::vector<StateDict::Entry>>);
static_assert(std::is_same_v<decltype(std::declval<const StateDict&>().items()),
                             const std::vector<StateDict::Entry>&>);
static_assert(std::is_same_v<decltype(std::declval<StateDict>().at("w")), Tensor>);
static_assert(std::is_same_v<decltype(std::declval<StateDict&>().at("w")), const Tensor&>);
static_assert(std::is_same_v<decltype(std::declval<StateDict>().metadata()), IValue>);

// ---- run-time dtype checks -----------------------------------------------------------------

Tensor tensor_of(ScalarType dtype, std::size_t nbytes) {
  std::vector<std::byte> b(nbytes);
  for (std::size_t i = 0; i < nbytes; ++i) b[i] = static_cast<std::byte>(i + 1);
  const auto n = static_cast<std::int64_t>(nbytes / std::max<std::size_t>(element_size(dtype), 1));
  return Tensor::from_bytes(dtype, {n}, b);
}

TEST(TypedAccess, SameSizeOtherTypeIsRefused) {
  const float v[3] = {1.5f, -2.0f, 3.25f};
  const Tensor t =
      Tensor::from_bytes(ScalarType::Float, {3}, std::as_bytes(std::span<const float>(v)));
  EXPECT_EQ(t.data<float>()[2], 3.25f);
  // Same 4-byte size as float32: were silently reinterpreted before.
  EXPECT_PTIO_ERROR((void)t.data<std::int32_t>(), ErrorCode::kBadDtype);
  EXPECT_PTIO_ERROR((void)t.data<std::uint32_t>(), ErrorCode::kBadDtype);
  EXPECT_PTIO_ERROR((void)t.data<double>(), ErrorCode::kBadDtype);

  const Tensor i64 = tensor_of(ScalarType::Long, 16);
  EXPECT_PTIO_ERROR((void)i64.data<double>(), ErrorCode::kBadDtype);
  EXPECT_PTIO_ERROR((void)i64.data<std::uint64_t>(), ErrorCode::kBadDtype);
  EXPECT_EQ(i64.data<std::int64_t>().size(), 2u);

  const Tensor u8 = tensor_of(ScalarType::Byte, 4);
  EXPECT_PTIO_ERROR((void)u8.data<std::int8_t>(), ErrorCode::kBadDtype);
  EXPECT_PTIO_ERROR((void)u8.data<bool>(), ErrorCode::kBadDtype);
  EXPECT_EQ(u8.data<std::uint8_t>()[3], 4);

  const Tensor h = tensor_of(ScalarType::Half, 4);
  EXPECT_PTIO_ERROR((void)h.data<std::uint16_t>(), ErrorCode::kBadDtype);
  EXPECT_PTIO_ERROR((void)h.data<BFloat16>(), ErrorCode::kBadDtype);
  EXPECT_EQ(h.data<Half>()[0].x, 0x0201);
  const Tensor bf = tensor_of(ScalarType::BFloat16, 2);
  EXPECT_EQ(bf.data<BFloat16>()[0].x, 0x0201);
  const Tensor c64 = tensor_of(ScalarType::ComplexFloat, 8);
  EXPECT_EQ(c64.data<std::complex<float>>().size(), 1u);
  EXPECT_PTIO_ERROR((void)c64.data<double>(), ErrorCode::kBadDtype);
}

TEST(TypedAccess, QuantizedElementsAreTheirIntegerType) {
  const Tensor qi8 = tensor_of(ScalarType::QInt8, 2), qu8 = tensor_of(ScalarType::QUInt8, 2);
  const Tensor qi32 = tensor_of(ScalarType::QInt32, 8);
  EXPECT_EQ(qi8.data<std::int8_t>()[1], 2);
  EXPECT_EQ(qu8.data<std::uint8_t>()[1], 2);
  EXPECT_EQ(qi32.data<std::int32_t>().size(), 2u);
  EXPECT_PTIO_ERROR((void)qi8.data<std::uint8_t>(), ErrorCode::kBadDtype);
  // Packed quint4x2: no element type; its raw bytes only.
  const std::byte packed[2] = {std::byte{0x21}, std::byte{0x43}};
  const Tensor q4 = Tensor::from_bytes(ScalarType::QUInt4x2, {4}, packed);  // 4 nibbles
  EXPECT_PTIO_ERROR((void)q4.data<std::uint8_t>(), ErrorCode::kBadDtype);
  EXPECT_EQ(q4.data_bytes().size(), 2u);
}

TEST(TypedAccess, DataBytesIsTheRawEscapeHatch) {
  const Tensor f8 = tensor_of(ScalarType::Float8_e4m3fn, 3);
  EXPECT_PTIO_ERROR((void)f8.data<std::uint8_t>(), ErrorCode::kBadDtype);
  const auto b = f8.data_bytes();
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b[2], std::byte{3});
  const float v[2] = {1.0f, 2.0f};
  const Tensor t =
      Tensor::from_bytes(ScalarType::Float, {2}, std::as_bytes(std::span<const float>(v)));
  EXPECT_EQ(t.data_bytes().size(), 8u);
  EXPECT_EQ(std::memcmp(t.data_bytes().data(), v, 8), 0);
  // Not contiguous: a transposed view.
  const Tensor m = tensor_of(ScalarType::Float, 16);
  const Tensor tr = Tensor::make(m.storage(), ScalarType::Float, {2, 2}, {1, 2});
  EXPECT_PTIO_ERROR((void)tr.data_bytes(), ErrorCode::kBadShape);
  const Tensor meta = Tensor::meta(ScalarType::Float, {2}, {1});
  EXPECT_PTIO_ERROR((void)meta.data_bytes(), ErrorCode::kBadStorage);
}

TEST(TypedAccess, StateDictTemporaryGivesValues) {
  const float v[2] = {4.0f, 5.0f};
  StateDict sd;
  sd.insert("w",
            Tensor::from_bytes(ScalarType::Float, {2}, std::as_bytes(std::span<const float>(v))));
  const Tensor w = StateDict(sd).at("w");  // a handle: outlives the temporary StateDict
  EXPECT_EQ(w.data<float>()[1], 5.0f);
  std::size_t n = 0;
  for (const auto& [name, t] : StateDict(sd).items()) {  // a live vector, not a dangling one
    EXPECT_EQ(name, "w");
    EXPECT_EQ(t.data<float>()[0], 4.0f);
    ++n;
  }
  EXPECT_EQ(n, 1u);
  EXPECT_EQ(sd.size(), 1u);  // the copy was moved from, not sd
}

}  // namespace
}  // namespace ptio
