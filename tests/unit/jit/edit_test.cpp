// Module::setattr on tests/data/jit/edit.pt (written by PyTorch 1.13, make_edit_fixture.py):
// every supported attribute kind, the declared-type checks, and refusals that leave the module
// unchanged.
#include <gtest/gtest.h>

#include "ptio/jit/import.h"
#include "ptio/jit/save.h"
#include "test_support.h"

namespace ptio::jit {
namespace {

Module edit_module() {
  return load(test::source_dir() / "tests/data/jit/edit.pt");
}

Tensor floats(std::vector<std::int64_t> sizes, std::vector<float> values) {
  return Tensor::from_bytes(ScalarType::Float, std::move(sizes),
                            std::as_bytes(std::span<const float>(values)));
}

TEST(JitSetattr, ScalarsOfTheDeclaredType) {
  Module m = edit_module();
  EXPECT_EQ(m.attr("scale").as_double(), 2.0);  // what PyTorch saved
  m.setattr("scale", 0.25);
  EXPECT_TRUE(m.attr("scale").is_double());
  EXPECT_EQ(m.attr("scale").as_double(), 0.25);
  m.setattr("scale", 4);  // an int widens to float, as toIValue does
  EXPECT_TRUE(m.attr("scale").is_double());
  EXPECT_EQ(m.attr("scale").as_double(), 4.0);
  m.setattr("steps", 11);
  EXPECT_EQ(m.attr("steps").as_int(), 11);
  m.setattr("flag", false);
  EXPECT_FALSE(m.attr("flag").as_bool());
  m.setattr("tag", "v2");
  EXPECT_EQ(m.attr("tag").as_string(), "v2");
  // Slot order is unchanged (jit::save writes slots in order).
  EXPECT_EQ(m.ivalue().as_object().attributes[m.type().find_attribute("steps").value()].first,
            "steps");
}

TEST(JitSetattr, CopiesOfTheModuleSeeTheChange) {
  Module m = edit_module();
  const Module copy = m;
  m.setattr("steps", 9);
  EXPECT_EQ(copy.attr("steps").as_int(), 9);
}

TEST(JitSetattr, WrongKindsAreRefusedAndNothingChanges) {
  Module m = edit_module();
  EXPECT_PTIO_ERROR(m.setattr("steps", 1.5), ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("steps", true), ErrorCode::kJitBadEdit);  // bool is not int
  EXPECT_PTIO_ERROR(m.setattr("flag", 1), ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("tag", 3), ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("scale", "x"), ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("w", 1.0), ErrorCode::kJitBadEdit);
  EXPECT_EQ(m.attr("steps").as_int(), 3);
  EXPECT_TRUE(m.attr("flag").as_bool());
  EXPECT_EQ(m.attr("tag").as_string(), "v1");
  try {
    m.setattr("steps", "three");
    FAIL();
  } catch (const Error& e) {
    const std::string what = e.what();
    EXPECT_NE(what.find("'steps'"), std::string::npos) << what;
    EXPECT_NE(what.find("declared int"), std::string::npos) << what;
    EXPECT_NE(what.find("str"), std::string::npos) << what;
  }
}

TEST(JitSetattr, UnknownNamesConstantsAndSubmodules) {
  Module m = edit_module();
  try {
    m.setattr("nope", 1);
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kJitBadEdit);
    const std::string what = e.what();
    EXPECT_NE(what.find("no attribute 'nope'"), std::string::npos) << what;
    EXPECT_NE(what.find("w, maybe, count, training"), std::string::npos) << what;  // slot list
  }
  EXPECT_PTIO_ERROR(m.setattr("leaf", m.child("leaf").ivalue()), ErrorCode::kJitBadEdit);
  EXPECT_FALSE(m.hasattr("nope"));
}

TEST(JitSetattr, ListsAndDictsAreCheckedCopiedAndTagged) {
  Module m = edit_module();
  IValue given = IValue::list({IValue(4), IValue(5), IValue(6)});
  m.setattr("sizes", given);
  const IValue& stored = m.attr("sizes");
  ASSERT_TRUE(stored.is_list());
  EXPECT_FALSE(stored.is_same(given));  // a new List: the caller's is not retagged
  EXPECT_EQ(stored.as_list().type_tag, "List[int]");
  EXPECT_EQ(given.as_list().type_tag, "");
  ASSERT_EQ(stored.as_list().size(), 3u);
  EXPECT_EQ(stored.as_list().elements[2].as_int(), 6);

  m.setattr("weights", IValue::list({IValue(1), IValue(0.5)}));  // ints widen inside lists too
  EXPECT_TRUE(m.attr("weights").as_list().elements[0].is_double());
  EXPECT_EQ(m.attr("weights").as_list().type_tag, "List[float]");

  try {
    m.setattr("sizes", IValue::list({IValue(1), IValue("two")}));
    FAIL();
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("element 1: expected int, got str"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(m.attr("sizes").as_list().elements[0].as_int(), 4);  // unchanged

  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(IValue("b"), IValue(2));
  m.setattr("names", d);
  EXPECT_EQ(m.attr("names").as_dict().type_tag, "Dict[str, int]");
  EXPECT_EQ(m.attr("names").as_dict().find("b")->as_int(), 2);
  IValue bad = IValue::dict();
  bad.as_dict().insert_or_assign(IValue(1), IValue(2));
  EXPECT_PTIO_ERROR(m.setattr("names", bad), ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("names", IValue::list()), ErrorCode::kJitBadEdit);
}

TEST(JitSetattr, ParametersBuffersAndOptionalTensors) {
  Module m = edit_module();
  // A parameter with a new shape and dtype.
  const std::vector<double> one{1.0};
  const Tensor w = Tensor::from_bytes(ScalarType::Double, {1}, std::as_bytes(std::span(one)));
  m.setattr("w", w);
  const StateDict sd = m.state_dict();
  EXPECT_TRUE(sd.at("w").is_same(w));
  EXPECT_EQ(sd.at("w").data<double>()[0], 1.0);
  EXPECT_EQ(sd.items()[0].first, "w");  // state_dict order unchanged
  // A buffer of a submodule, through its own Module handle.
  Module leaf = m.child("leaf");
  leaf.setattr("base", floats({1, 2}, {3, 4}));
  EXPECT_EQ(m.state_dict().at("leaf.base").sizes(), (std::vector<std::int64_t>{1, 2}));
  // Optional[Tensor]: None and a Tensor; the None parameter `maybe` (declared NoneType).
  EXPECT_TRUE(m.attr("opt").is_none());
  m.setattr("opt", floats({2}, {1, 2}));
  EXPECT_TRUE(m.attr("opt").is_tensor());
  m.setattr("opt", IValue());
  EXPECT_TRUE(m.attr("opt").is_none());
  EXPECT_PTIO_ERROR(m.setattr("maybe", floats({1}, {1})), ErrorCode::kJitBadEdit);
}

}  // namespace
}  // namespace ptio::jit

namespace ptio::jit {
namespace {

TEST(JitSetattr, SurvivesJitSaveAndLoad) {
  Module m = edit_module();
  m.setattr("scale", 7);
  m.setattr("sizes", IValue::list({IValue(9), IValue(8)}));
  m.setattr("tag", "edited");
  m.setattr("opt", floats({2}, {5, 6}));
  m.child("leaf").setattr("base", floats({1}, {3}));
  const Module back = load(std::span<const std::byte>(save_to_bytes(m)));
  EXPECT_TRUE(back.attr("scale").is_double());
  EXPECT_EQ(back.attr("scale").as_double(), 7.0);
  ASSERT_TRUE(back.attr("sizes").is_list());
  EXPECT_EQ(back.attr("sizes").as_list().type_tag, "List[int]");
  EXPECT_EQ(back.attr("sizes").as_list().elements[1].as_int(), 8);
  EXPECT_EQ(back.attr("tag").as_string(), "edited");
  EXPECT_EQ(back.attr("opt").as_tensor().data<float>()[1], 6.0f);
  const Tensor base = back.state_dict().at("leaf.base");
  EXPECT_EQ(base.data<float>()[0], 3.0f);
}

}  // namespace
}  // namespace ptio::jit
