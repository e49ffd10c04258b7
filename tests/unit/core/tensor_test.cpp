// Unit tests of the value layer's Tensor, Storage, Device and dtype table.
#include <cstdint>
#include <cstring>

#include "ptio/core/device.h"
#include "ptio/core/ivalue.h"
#include "ptio/core/ivalue_json.h"
#include "ptio/core/row_major.h"
#include "ptio/core/scalar_type.h"
#include "ptio/core/tensor.h"
#include "ptio/core/view_limits.h"
#include "ptio/limits.h"
#include "test_support.h"

namespace ptio {
namespace {

std::vector<std::byte> floats(std::initializer_list<float> v) {
  std::vector<std::byte> b(v.size() * 4);
  std::memcpy(b.data(), std::data(v), b.size());
  return b;
}

TEST(ScalarType, TableMatchesC10AndSpec) {
  EXPECT_EQ(static_cast<int>(ScalarType::BFloat16), 15);
  EXPECT_EQ(static_cast<int>(ScalarType::UInt64), 29);
  EXPECT_EQ(scalar_type_name(ScalarType::ComplexFloat), "complex64");
  EXPECT_EQ(element_size(ScalarType::ComplexDouble), 16u);
  EXPECT_EQ(scalar_type_info(ScalarType::ComplexFloat).swap_size, 4);
  EXPECT_EQ(scalar_type_from_storage_name("HalfStorage"), ScalarType::Half);
  EXPECT_EQ(scalar_type_from_storage_name("QUInt2x4Storage"), ScalarType::QUInt2x4);
  EXPECT_FALSE(scalar_type_from_storage_name("NopeStorage"));
  EXPECT_EQ(scalar_type_from_name("torch.long"), ScalarType::Long);
  EXPECT_EQ(scalar_type_from_name("float8_e4m3fn"), ScalarType::Float8_e4m3fn);
  for (const auto& i : all_scalar_types()) EXPECT_EQ(scalar_type_info(i.type).name, i.name);
  EXPECT_FALSE(scalar_type_from_int(46));
}

TEST(Device, ParseAndPrint) {
  EXPECT_EQ(Device::parse("cuda:1").str(), "cuda:1");
  EXPECT_EQ(Device::parse("cpu").type(), DeviceType::kCPU);
  EXPECT_EQ(Device::parse("xla:3").type(), DeviceType::kOther);
  EXPECT_EQ(Device::parse("xla:3").str(), "xla:3");
  EXPECT_EQ(Device::parse("privateuseone").type_name(), "privateuseone");
  EXPECT_EQ(Device::parse("cuda:0").index(), 0);
  EXPECT_PTIO_ERROR(Device::parse(""), ErrorCode::kBadDevice);
  EXPECT_PTIO_ERROR(Device::parse("cuda:x"), ErrorCode::kBadDevice);
  EXPECT_PTIO_ERROR(Device::parse("cuda:-1"), ErrorCode::kBadDevice);
}

// c10::Device(std::string) of PyTorch 1.13 refuses these (torch.device() in Python says so); ptio
// accepted any [a-z0-9_]+ name as a backend of its own, so a storage tagged 'xyz' loaded with
// that device and was written back.
TEST(Device, ParseRefusesWhatC10Refuses) {
  for (const char* s : {"xyz", "npu:0", "Cuda", "CPU", "cuda0", "cuda:01", "cuda:", "cuda:1:2",
                        " cuda", "cuda: 1", "mtia", "cuda:99999"}) {
    try {
      (void)Device::parse(s);
      ADD_FAILURE() << "accepted '" << s << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadDevice) << s;
    }
  }
  try {
    (void)Device::parse("xyz");
  } catch (const Error& e) {
    EXPECT_EQ(e.message(),
              "Expected one of cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, "
              "ort, xla, lazy, vulkan, mps, meta, hpu, privateuseone device type at start of "
              "device string: xyz");
  }
  try {
    (void)Device::parse("cuda:01");
  } catch (const Error& e) {
    EXPECT_EQ(e.message(), "Invalid device string: 'cuda:01'");
  }
}

TEST(Storage, FromBlockOwnsAWritableSliceAndKeepsTheBlock) {
  auto block = std::make_shared<std::vector<std::byte>>(64, std::byte{7});
  const std::span<std::byte> slice(block->data() + 16, 8);
  Storage s = Storage::from_block(slice, block);
  std::weak_ptr<std::vector<std::byte>> alive = block;
  block.reset();
  EXPECT_FALSE(alive.expired());
  EXPECT_FALSE(s.is_view());
  EXPECT_EQ(s.nbytes(), 8u);
  EXPECT_EQ(s.data(), slice.data());
  s.mutable_data()[0] = std::byte{1};
  EXPECT_EQ(s.bytes()[0], std::byte{1});
  EXPECT_EQ(s.bytes()[1], std::byte{7});
  s = Storage();
  EXPECT_TRUE(alive.expired());
}

TEST(Tensor, ViewsShareStorageAndCheckBounds) {
  // t = arange(6.).reshape(2, 3); b = t[1:] (spec 2.9's example)
  Storage s = Storage::from_bytes(floats({0, 1, 2, 3, 4, 5}));
  Tensor t = Tensor::make(s, ScalarType::Float, {2, 3}, {3, 1});
  Tensor b = Tensor::make(s, ScalarType::Float, {1, 3}, {3, 1}, 3);
  EXPECT_TRUE(t.storage().is_same(b.storage()));
  EXPECT_EQ(b.data<float>()[0], 3.0f);
  Tensor tt = Tensor::make(s, ScalarType::Float, {3, 2}, {1, 3});  // t.T
  EXPECT_FALSE(tt.is_contiguous());
  auto c = tt.contiguous();
  ASSERT_EQ(c.numel(), 6);
  const float expect[] = {0, 3, 1, 4, 2, 5};
  for (int i = 0; i < 6; ++i) EXPECT_EQ(c.data<float>()[i], expect[i]);
  Tensor e = Tensor::make(s, ScalarType::Float, {4, 3}, {0, 1});  // expand: stride 0
  EXPECT_EQ(e.contiguous_bytes().size(), 48u);
  EXPECT_PTIO_ERROR(Tensor::make(s, ScalarType::Float, {2, 3}, {3, 1}, 1), ErrorCode::kBadShape);
  EXPECT_PTIO_ERROR(Tensor::make(s, ScalarType::Float, {-1}, {1}), ErrorCode::kBadShape);
  EXPECT_PTIO_ERROR(Tensor::make(s, ScalarType::Float, {2}, {1, 1}), ErrorCode::kBadShape);
  EXPECT_PTIO_ERROR(Tensor::make(s, ScalarType::Float, {1ll << 62, 1ll << 62}, {1, 1}),
                    ErrorCode::kOverflow);
  EXPECT_PTIO_ERROR((void)t.data<double>(), ErrorCode::kBadDtype);
  // Empty tensors need no storage bytes.
  Tensor z = Tensor::make(Storage::from_bytes({}), ScalarType::Float, {0, 5}, {5, 1});
  EXPECT_EQ(z.numel(), 0);
  EXPECT_TRUE(Tensor::meta(ScalarType::Half, {2}, {1}).is_meta());
}

// from_bytes() and borrowed() take exactly numel * element_size bytes, as documented: 13 or 24
// bytes for 3 floats were accepted (and saved as a 13-byte FloatStorage PyTorch cannot load).
TEST(Tensor, FromBytesAndBorrowedTakeExactlyTheirBytes) {
  const auto b12 = floats({1, 2, 3});
  std::vector<std::byte> b13 = b12, b24 = floats({1, 2, 3, 4, 5, 6});
  b13.push_back(std::byte{0});
  for (const auto* b : {&b13, &b24}) {
    EXPECT_PTIO_ERROR(Tensor::from_bytes(ScalarType::Float, {3}, *b), ErrorCode::kBadShape);
    EXPECT_PTIO_ERROR(Tensor::borrowed(ScalarType::Float, {3}, *b), ErrorCode::kBadShape);
  }
  EXPECT_PTIO_ERROR(Tensor::from_bytes(ScalarType::Float, {4}, b12), ErrorCode::kBadShape);
  const Tensor t = Tensor::from_bytes(ScalarType::Float, {3}, b12);
  EXPECT_EQ(t.storage().nbytes(), 12u);
  EXPECT_EQ(t.data<float>()[2], 3.0f);
  EXPECT_EQ(Tensor::borrowed(ScalarType::Float, {3}, b12).storage().data(), b12.data());
  EXPECT_EQ(Tensor::from_bytes(ScalarType::Float, {2, 0}, {}).numel(), 0);
  // Sub-byte dtypes: 3 quint4x2 elements take 2 bytes.
  EXPECT_EQ(Tensor::from_bytes(ScalarType::QUInt4x2, {3}, std::vector<std::byte>(2)).nbytes(), 2u);
  EXPECT_PTIO_ERROR(Tensor::from_bytes(ScalarType::QUInt4x2, {3}, std::vector<std::byte>(3)),
                    ErrorCode::kBadShape);
}

// A stride-0 view declares far more elements than its storage: what materialising it would add
// beyond the storage is charged against Limits::view.max_expanded_bytes, summed over a budget;
// the error names the file, the tensor, its shape and the bytes needed vs allowed.
TEST(ViewBudget, ChargesOnlyTheExpansionAndNamesEverything) {
  const Storage s = Storage::from_bytes(floats({1, 2, 3, 4}));  // 16 bytes
  const Tensor plain = Tensor::make(s, ScalarType::Float, {2, 2}, {2, 1});
  const Tensor transposed = Tensor::make(s, ScalarType::Float, {2, 2}, {1, 2});
  const Tensor e = Tensor::make(s, ScalarType::Float, {4, 5}, {1, 0});  // 80 bytes from 16
  const Tensor huge = Tensor::make(s, ScalarType::Float, {1000000000}, {0});
  EXPECT_EQ(expanded_bytes(plain), 0u);
  EXPECT_EQ(expanded_bytes(transposed), 0u);
  EXPECT_EQ(expanded_bytes(e), 64u);
  EXPECT_EQ(expanded_bytes(huge), 4000000000u - 16u);
  EXPECT_EQ(expanded_bytes(Tensor::meta(ScalarType::Float, {1000000000}, {0})), 0u);

  ViewLimits l;
  EXPECT_EQ(l.max_expanded_bytes, 1u << 30);
  EXPECT_EQ(Limits{}.view.max_expanded_bytes, 1u << 30);
  l.max_expanded_bytes = 100;
  ViewBudget b(l, "m.pt");
  b.charge(plain, "plain");
  b.charge(e, "e1");
  EXPECT_EQ(b.spent(), 64u);
  try {
    b.charge(e, "e2");  // 64 more > 36 left
    FAIL() << "no error";
  } catch (const Error& err) {
    EXPECT_EQ(err.code(), ErrorCode::kLimitExceeded);
    EXPECT_EQ(err.file(), "m.pt");
    EXPECT_EQ(err.message(),
              "tensor 'e2' (float32, shape [4, 5], strides [1, 0]) is an expanded view: "
              "materialising it needs 80 bytes, allowed 52 (its 16-byte storage plus 36 bytes "
              "left of the 100-byte expansion allowance, Limits::view.max_expanded_bytes)");
  }
  EXPECT_EQ(b.spent(), 64u);  // a refused view is not charged
  ViewBudget fresh;           // the default allowance: the 4e9-byte view is refused at once
  EXPECT_PTIO_ERROR(fresh.charge(huge, "x"), ErrorCode::kLimitExceeded);
  fresh.charge(e, "e");
  EXPECT_EQ(fresh.spent(), 64u);
}

// torch.zeros(4).as_strided((2**31, 2**31), (0, 0)) is 2^62 float32 elements, 2^64 bytes: the
// byte count wrapped to 0, so the view was charged nothing and `ptio cat` read past an empty
// buffer (found by the new-user trial). nbytes() saturates; the budget and contiguous_bytes()
// refuse it. Same for float64 (2^32 x 2^30).
TEST(ViewBudget, ViewsOf2To64BytesOrMoreAreRefusedNotWrapped) {
  const Storage s = Storage::from_bytes(floats({1, 2, 3, 4}));
  const std::int64_t g = std::int64_t{1} << 31;
  const Tensor f32 = Tensor::make(s, ScalarType::Float, {g, g}, {0, 0});
  const Tensor f64 =
      Tensor::make(s, ScalarType::Double, {std::int64_t{1} << 32, std::int64_t{1} << 30}, {0, 0});
  for (const Tensor* t : {&f32, &f64}) {
    EXPECT_EQ(t->nbytes(), SIZE_MAX);
    EXPECT_EQ(expanded_bytes(*t), SIZE_MAX - 16u);
    ViewBudget b;
    EXPECT_PTIO_ERROR(b.charge(*t, "x"), ErrorCode::kLimitExceeded);
    EXPECT_EQ(b.spent(), 0u);
    EXPECT_PTIO_ERROR((void)t->contiguous_bytes(), ErrorCode::kLimitExceeded);
  }
  const Tensor just_fits = Tensor::make(s, ScalarType::Char, {std::int64_t{1} << 62}, {0});
  EXPECT_EQ(just_fits.nbytes(), std::size_t{1} << 62);
}

}  // namespace
// A sparse tensor has no strides: it is not contiguous (no out-of-range stride read; `ptio show`
// of any file holding one crashed here), and its repr names the layout without strides.
TEST(Tensor, SparseIsNotContiguousAndPrintsWithoutStrides) {
  const Tensor idx =
      Tensor::from_bytes(ScalarType::Long, {1, 2}, test::bytes_of(std::string(16, '\0')));
  const Tensor val =
      Tensor::from_bytes(ScalarType::Float, {2}, test::bytes_of(std::string(8, '\0')));
  const Tensor sp = Tensor::sparse(Layout::kSparseCoo, ScalarType::Float, {3, 4}, {idx, val});
  EXPECT_TRUE(sp.strides().empty());
  EXPECT_FALSE(sp.is_contiguous());
  EXPECT_EQ(to_repr(IValue(sp)), "tensor(float32, [3, 4], layout=torch.sparse_coo)");
}

TEST(Tensor, PythonTypeAndStateAreSharedPrintedAndFreed) {
  Tensor t = Tensor::from_bytes(ScalarType::Float, {2}, test::bytes_of(std::string(8, '\0')));
  EXPECT_TRUE(t.python_type().empty());
  EXPECT_TRUE(t.python_state().is_none());
  t.set_python_type(QualifiedName("__main__.MyT"));
  IValue state = IValue::dict();
  state.as_dict().insert_or_assign(IValue("foo"), IValue(std::int64_t{3}));
  t.set_python_state(state);
  const Tensor copy = t;  // a handle: the same tensor
  EXPECT_EQ(copy.python_type().qualified_name(), "__main__.MyT");
  EXPECT_EQ(to_repr(IValue(copy)),
            "tensor(float32, [2], python_type=__main__.MyT, python_state={'foo': 3})");
  EXPECT_NE(to_json(IValue(copy))
                .find(R"("python_type": "__main__.MyT", "python_state": {"dict": [["foo", 3]]})"),
            std::string::npos)
      << to_json(IValue(copy));
  // A state holding the tensor itself prints as a cycle and is freed by break_cycles (the ASan
  // build's LeakSanitizer fails the test otherwise).
  state.as_dict().insert_or_assign(IValue("me"), IValue(t));
  EXPECT_EQ(to_repr(IValue(t)),
            "tensor(float32, [2], python_type=__main__.MyT, python_state={'foo': 3, 'me': "
            "tensor(float32, [2], python_type=__main__.MyT, python_state={...})})");
  ReprOptions shallow;
  shallow.max_depth = 1;
  EXPECT_EQ(to_repr(IValue(t), shallow),
            "tensor(float32, [2], python_type=__main__.MyT, python_state=...)");
  IValue root(t);
  break_cycles(root);
  EXPECT_TRUE(t.python_state().is_none());
  // contiguous() keeps them.
  Tensor v = Tensor::make(t.storage(), ScalarType::Float, {1}, {1}, 1);
  v.set_python_type(QualifiedName("pkg.V"));
  EXPECT_EQ(v.contiguous().python_type().qualified_name(), "pkg.V");
}

// The transpose of [[0, 1, 2], [3, 4, 5]] (sizes {3, 2}, strides {1, 3}) is [[0, 3], [1, 4],
// [2, 5]] in row-major order; a window of it, and pieces of every size, give the same elements.
TEST(RowMajor, CopyAndPiecesFollowSizesAndStrides) {
  Storage s = Storage::from_bytes(floats({0, 1, 2, 3, 4, 5}));
  Tensor t = Tensor::make(s, ScalarType::Float, {3, 2}, {1, 3});
  ASSERT_FALSE(t.is_contiguous());
  float all[6], window[4];
  copy_row_major(t, 0, 6, reinterpret_cast<std::byte*>(all));
  EXPECT_EQ(std::vector<float>(all, all + 6), (std::vector<float>{0, 3, 1, 4, 2, 5}));
  copy_row_major(t, 1, 4, reinterpret_cast<std::byte*>(window));
  EXPECT_EQ(std::vector<float>(window, window + 4), (std::vector<float>{3, 1, 4, 2}));
  for (std::size_t piece : {4u, 8u, 12u, 100u}) {
    std::vector<float> got;
    std::int64_t next = 0;
    for_each_row_major_piece(t, piece, [&](std::span<const std::byte> b, std::int64_t first) {
      EXPECT_EQ(first, next);
      const auto* f = reinterpret_cast<const float*>(b.data());
      got.insert(got.end(), f, f + b.size() / 4);
      next += static_cast<std::int64_t>(b.size() / 4);
    });
    EXPECT_EQ(got, (std::vector<float>{0, 3, 1, 4, 2, 5})) << piece;
  }
  EXPECT_PTIO_ERROR(copy_row_major(t, 3, 4, reinterpret_cast<std::byte*>(window)),
                    ErrorCode::kIoInvalidArgument);
  EXPECT_PTIO_ERROR(copy_row_major(t, -1, 1, reinterpret_cast<std::byte*>(window)),
                    ErrorCode::kIoInvalidArgument);
}

}  // namespace ptio
