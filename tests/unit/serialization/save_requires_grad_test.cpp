// ptio::save refuses requires_grad on a tensor that is neither floating point nor complex
// (PyTorch cannot make one; torch.load refuses a file that has one), before writing anything.
#include <gtest/gtest.h>

#include <filesystem>

#include "ptio/io/writer.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "test_support.h"

namespace ptio {
namespace {

Tensor floats3() {
  const float f[3] = {1.5f, -2.0f, 4.25f};
  return Tensor::from_bytes(ScalarType::Float, {3},
                            std::span<const std::byte>(reinterpret_cast<const std::byte*>(f), 12));
}

TEST(SaveRequiresGrad, NonFloatTensorIsRefusedBeforeWriting) {
  // PyTorch cannot make such a tensor and torch.load refuses a file that has one.
  test::TempDir dir;
  const std::int64_t v[2] = {1, 2};
  Tensor t = Tensor::from_bytes(
      ScalarType::Long, {2}, std::span<const std::byte>(reinterpret_cast<const std::byte*>(v), 16));
  t.set_requires_grad(true);
  for (bool legacy : {false, true}) {
    SaveOptions o;
    o.legacy_format = legacy;
    const auto path = dir / (legacy ? "l.pt" : "z.pt");
    EXPECT_PTIO_ERROR(save(IValue(t), path, o), ErrorCode::kBadDtype);
    EXPECT_FALSE(std::filesystem::exists(path));
    io::MemoryWriter mw;
    IValue d = IValue::dict();
    d.as_dict().insert_or_assign(IValue("w"), IValue(t));
    EXPECT_PTIO_ERROR(save(d, mw, o), ErrorCode::kBadDtype);
    EXPECT_EQ(mw.position(), 0u);
  }
  // Inside a tensor's Python attributes.
  Tensor sub = floats3();
  IValue state = IValue::dict();
  state.as_dict().insert_or_assign(IValue("idx"), IValue(t));
  sub.set_python_state(state);
  io::MemoryWriter mw;
  EXPECT_PTIO_ERROR(save(IValue(sub), mw), ErrorCode::kBadDtype);
  // requires_grad on float and complex tensors is fine.
  Tensor f = floats3();
  f.set_requires_grad(true);
  io::MemoryWriter ok;
  save(IValue(f), ok);
  const auto b = ok.release();
  EXPECT_TRUE(load(std::span<const std::byte>(b)).as_tensor().requires_grad());
}

}  // namespace
}  // namespace ptio
