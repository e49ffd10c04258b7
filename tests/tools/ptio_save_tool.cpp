// ptio_save_tool OUT [--legacy]: builds a checkpoint from scratch with the public API (borrowed
// user memory, views, a Parameter, plain values) and saves it; test_round_trip.py checks it in
// PyTorch.
#include <array>
#include <complex>
#include <cstring>
#include <iostream>
#include <string>
#include <vector>

#include "ptio/error.h"
#include "ptio/serialization/save.h"

using namespace ptio;

namespace {

template <typename T>
std::span<const std::byte> bytes_of(const std::vector<T>& v) {
  return {reinterpret_cast<const std::byte*>(v.data()), v.size() * sizeof(T)};
}

std::uint16_t f32_to_bf16(float f) {
  std::uint32_t u;
  std::memcpy(&u, &f, 4);
  return static_cast<std::uint16_t>(u >> 16);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: ptio_save_tool OUT [--legacy]\n";
    return 64;
  }
  try {
    // User memory that outlives the save: borrowed, never copied into the Tensor.
    std::vector<float> f32(12);
    for (int i = 0; i < 12; ++i) f32[static_cast<std::size_t>(i)] = static_cast<float>(i);
    const std::vector<std::int64_t> i64 = {-5, 0, std::int64_t{1} << 40};
    const std::vector<std::uint16_t> f16 = {0x3800, 0xC000, 0x7BFF};  // 0.5, -2, 65504
    const std::vector<std::uint16_t> bf16 = {f32_to_bf16(1.0f), f32_to_bf16(-3.5f)};
    const std::vector<std::uint8_t> flags = {1, 0, 1};
    const std::vector<std::int32_t> scalar = {7};
    const std::vector<std::complex<float>> c64 = {{1, 2}, {0, -3}};
    const std::vector<std::uint8_t> u8 = {0, 1, 2, 3, 4};
    const std::vector<float> weight(4, 0.25f);

    const Tensor base = Tensor::borrowed(ScalarType::Float, {3, 4}, bytes_of(f32));
    IValue root = IValue::dict();
    auto& d = root.as_dict();
    d.ordered_dict = true;
    d.insert_or_assign(IValue("f32"), IValue(base));
    d.insert_or_assign(IValue("f32_row1"),
                       IValue(Tensor::make(base.storage(), ScalarType::Float, {4}, {1}, 4)));
    d.insert_or_assign(IValue("f32_t"),
                       IValue(Tensor::make(base.storage(), ScalarType::Float, {4, 3}, {1, 4}, 0)));
    d.insert_or_assign(IValue("i64"),
                       IValue(Tensor::borrowed(ScalarType::Long, {3}, bytes_of(i64))));
    d.insert_or_assign(IValue("f16"),
                       IValue(Tensor::borrowed(ScalarType::Half, {3}, bytes_of(f16))));
    d.insert_or_assign(IValue("bf16"),
                       IValue(Tensor::borrowed(ScalarType::BFloat16, {2}, bytes_of(bf16))));
    d.insert_or_assign(IValue("flags"),
                       IValue(Tensor::borrowed(ScalarType::Bool, {3}, bytes_of(flags))));
    d.insert_or_assign(IValue("scalar"),
                       IValue(Tensor::borrowed(ScalarType::Int, {}, bytes_of(scalar))));
    d.insert_or_assign(IValue("empty"), IValue(Tensor::from_bytes(ScalarType::Float, {0, 2}, {})));
    d.insert_or_assign(IValue("c64"),
                       IValue(Tensor::borrowed(ScalarType::ComplexFloat, {2}, bytes_of(c64))));
    d.insert_or_assign(IValue("u8"), IValue(Tensor::borrowed(ScalarType::Byte, {5}, bytes_of(u8))));
    Tensor w = Tensor::from_bytes(ScalarType::Float, {2, 2}, bytes_of(weight));
    w.set_is_parameter(true);
    w.set_requires_grad(true);
    d.insert_or_assign(IValue("weight"), IValue(w));
    d.insert_or_assign(IValue("nested"),
                       IValue::list({IValue(1), IValue("two"),
                                     IValue::tuple({IValue(3), IValue(), IValue(true)}), [] {
                                       IValue x = IValue::dict();
                                       x.as_dict().insert_or_assign(IValue("k"), IValue(4));
                                       return x;
                                     }()}));
    SaveOptions o;
    o.legacy_format = argc > 2 && std::string(argv[2]) == "--legacy";
    save(root, std::filesystem::path(argv[1]), o);
  } catch (const Error& e) {
    std::cerr << "ptio_save_tool: " << e.what() << "\n";
    return 2;
  }
  return 0;
}
