// jit::load_state_dict on tests/data/jit/edit.pt with tests/data/jit/edit_sd.pt (both written by
// PyTorch 1.13, make_edit_fixture.py: the state_dict of a differently initialised copy), and on
// hand-edited state_dicts: strict and non-strict matching, every mismatch kind in one error,
// nothing modified on error, storage sharing kept as `copy_` keeps it.
#include <gtest/gtest.h>

#include <cstring>

#include "ptio/jit/import.h"
#include "ptio/jit/load_state_dict.h"
#include "ptio/jit/save.h"
#include "ptio/serialization/load.h"
#include "test_support.h"

namespace ptio::jit {
namespace {

Module edit_module() {
  return load(test::source_dir() / "tests/data/jit/edit.pt");
}

StateDict checkpoint() {
  return StateDict(ptio::load(test::source_dir() / "tests/data/jit/edit_sd.pt"));
}

Tensor floats(std::vector<std::int64_t> sizes, std::vector<float> values) {
  return Tensor::from_bytes(ScalarType::Float, std::move(sizes),
                            std::as_bytes(std::span<const float>(values)));
}

std::vector<float> values(const Tensor& t) {
  const auto b = t.contiguous_bytes();
  std::vector<float> out(b.size() / sizeof(float));
  std::memcpy(out.data(), b.data(), b.size());
  return out;
}

TEST(JitLoadStateDict, CheckpointOfADifferentlyInitialisedCopy) {
  Module m = edit_module();
  const StateDict sd = checkpoint();
  ASSERT_NE(m.state_dict().at("w").contiguous_bytes(), sd.at("w").contiguous_bytes());
  const Tensor old_w = m.state_dict().at("w");
  EXPECT_TRUE(old_w.storage().is_view());  // zero-copy from the mapping before

  const IncompatibleKeys r = load_state_dict(m, sd, true);
  EXPECT_TRUE(r.missing_keys.empty());
  EXPECT_TRUE(r.unexpected_keys.empty());
  const StateDict after = m.state_dict();
  ASSERT_EQ(after.size(), sd.size());
  for (const auto& [name, t] : sd.items()) {
    EXPECT_EQ(after.at(name).contiguous_bytes(), t.contiguous_bytes()) << name;
    EXPECT_EQ(after.at(name).sizes(), t.sizes()) << name;
    EXPECT_FALSE(after.at(name).storage().is_same(t.storage())) << name;  // not shared
  }
  EXPECT_FALSE(after.at("w").storage().is_view());
  // The module tensor keeps its own flags (copy_ semantics): `w` is a parameter.
  EXPECT_EQ(after.at("w").requires_grad(), old_w.requires_grad());
  // The old tensor handle still reads the file's values (nothing wrote into the mapping).
  EXPECT_NE(old_w.contiguous_bytes(), after.at("w").contiguous_bytes());
}

TEST(JitLoadStateDict, ViewsKeepSharingTheirStorage) {
  Module m = edit_module();
  // leaf.view is leaf.base.t(): one storage, strides (1, 3).
  ASSERT_TRUE(m.state_dict().at("leaf.view").storage().is_same(
      m.state_dict().at("leaf.base").storage()));
  StateDict sd;
  sd.insert("leaf.base", floats({2, 3}, {10, 11, 12, 13, 14, 15}));
  const IncompatibleKeys r = load_state_dict(m, sd, false);
  EXPECT_EQ(r.missing_keys,
            (std::vector<std::string>{"w", "count", "leaf.view", "leaf.lin.weight",
                                      "leaf.lin.bias"}));
  EXPECT_TRUE(r.unexpected_keys.empty());
  const StateDict after = m.state_dict();
  const Tensor view = after.at("leaf.view");
  EXPECT_TRUE(view.storage().is_same(after.at("leaf.base").storage()));
  EXPECT_EQ(view.strides(), (std::vector<std::int64_t>{1, 3}));
  // The view sees the new base values, transposed, as in PyTorch after base.copy_(...).
  EXPECT_EQ(values(view), (std::vector<float>{10, 13, 11, 14, 12, 15}));
  EXPECT_EQ(values(after.at("leaf.base")), (std::vector<float>{10, 11, 12, 13, 14, 15}));

  // Writing the non-contiguous view scatters through its strides.
  StateDict sd2;
  sd2.insert("leaf.view", floats({3, 2}, {0, 1, 2, 3, 4, 5}));
  load_state_dict(m, sd2, false);
  EXPECT_EQ(values(m.state_dict().at("leaf.base")), (std::vector<float>{0, 2, 4, 1, 3, 5}));
}

TEST(JitLoadStateDict, StrictListsEveryProblemInPyTorchsLayoutAndChangesNothing) {
  Module m = edit_module();
  const StateDict before = m.state_dict();
  StateDict sd;
  const StateDict cp = checkpoint();
  for (const auto& [name, t] : cp.items())
    if (name != "count" && name != "leaf.lin.bias") sd.insert(name, t);
  // float8 has no copy_ ptio reproduces (PyTorch 1.13 has no float8): refused, not converted.
  sd.insert("w", Tensor::from_bytes(ScalarType::Float8_e5m2, {2, 3}, std::vector<std::byte>(6)));
  sd.insert("leaf.lin.weight", floats({3}, {1, 2, 3}));
  sd.insert("leaf.extra", floats({1}, {1}));
  sd.insert("zzz", floats({1}, {1}));
  sd.insert("leaf", floats({1}, {1}));  // a submodule's own name: ignored, as PyTorch does
  try {
    load_state_dict(m, sd, true);
    FAIL() << "expected an error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kJitStateDict);
    EXPECT_EQ(e.message(),
              "Error(s) in loading state_dict for RecursiveScriptModule:\n"
              "\tMissing key(s) in state_dict: \"count\", \"leaf.lin.bias\". \n"
              "\tUnexpected key(s) in state_dict: \"zzz\", \"leaf.extra\". \n"
              "\tdtype mismatch for w: copying a param with dtype torch.float8_e5m2 from checkpoint, "
              "the dtype in current model is torch.float32.\n"
              "\tsize mismatch for leaf.lin.weight: copying a param with shape torch.Size([3]) "
              "from checkpoint, the shape in current model is torch.Size([2, 3]).");
  }
  // Nothing modified: the same tensor objects, the same bytes.
  const StateDict after = m.state_dict();
  ASSERT_EQ(after.size(), before.size());
  for (std::size_t i = 0; i < after.size(); ++i) {
    EXPECT_TRUE(after.items()[i].second.is_same(before.items()[i].second));
    EXPECT_TRUE(after.items()[i].second.storage().is_view());
  }

  // Non-strict: key mismatches are reported, shape/dtype mismatches still throw.
  try {
    load_state_dict(m, sd, false);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.message().find("Missing"), std::string::npos) << e.message();
    EXPECT_NE(e.message().find("size mismatch for leaf.lin.weight"), std::string::npos);
    EXPECT_NE(e.message().find("dtype mismatch for w"), std::string::npos);
  }
}

TEST(JitLoadStateDict, NonStrictReturnsTheKeysAndLoadsTheRest) {
  Module m = edit_module();
  StateDict sd;
  const StateDict cp = checkpoint();
  sd.insert("leaf.lin.bias", cp.at("leaf.lin.bias"));
  sd.insert("other.x", floats({1}, {1}));
  const IncompatibleKeys r = load_state_dict(m, sd, false);
  EXPECT_EQ(r.unexpected_keys, (std::vector<std::string>{"other.x"}));
  EXPECT_EQ(r.missing_keys.size(), 5u);
  EXPECT_EQ(m.state_dict().at("leaf.lin.bias").contiguous_bytes(),
            cp.at("leaf.lin.bias").contiguous_bytes());
  EXPECT_PTIO_ERROR(load_state_dict(m, sd, true), ErrorCode::kJitStateDict);
}

TEST(JitLoadStateDict, ScalarModuleTensorTakesElementZeroOfAVector) {
  // PyTorch's 0.3 compatibility rule: a 0-dim parameter takes input[0] of a 1-dim input.
  Module m = edit_module();
  m.setattr("w", floats({}, {0}));
  StateDict sd;
  sd.insert("w", floats({1}, {42}));
  load_state_dict(m, sd, false);
  EXPECT_EQ(values(m.state_dict().at("w")), (std::vector<float>{42}));
  EXPECT_TRUE(m.state_dict().at("w").sizes().empty());
  StateDict empty;
  empty.insert("w", floats({0}, {}));
  EXPECT_PTIO_ERROR(load_state_dict(m, empty, false), ErrorCode::kJitStateDict);
}

}  // namespace
}  // namespace ptio::jit

namespace ptio::jit {
namespace {

TEST(JitLoadStateDict, SurvivesJitSaveAndLoad) {
  Module m = edit_module();
  const StateDict cp = checkpoint();
  load_state_dict(m, cp, true);
  const Module back = load(std::span<const std::byte>(save_to_bytes(m)));
  const StateDict sd = back.state_dict();
  ASSERT_EQ(sd.size(), cp.size());
  for (const auto& [name, t] : cp.items())
    EXPECT_EQ(sd.at(name).contiguous_bytes(), t.contiguous_bytes()) << name;
  // leaf.view still views leaf.base's storage in the written file.
  EXPECT_TRUE(sd.at("leaf.view").storage().is_same(sd.at("leaf.base").storage()));
  EXPECT_EQ(sd.at("leaf.view").strides(), (std::vector<std::int64_t>{1, 3}));
}

}  // namespace
}  // namespace ptio::jit
