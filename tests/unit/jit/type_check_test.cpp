// The declared-type checks of Module::setattr and jit::save on tests/data/jit/small.pt (PyTorch
// 1.13: `mode: Mode` an enum with members FAST = "fast" and SLOW = "slow", `sizes: List[int]`,
// `names: Dict[str, int]`, a submodule `inner` with a Linear `lin`).
//  - setattr of an enum slot takes only a member of the enum: an Enum value of the enum's class
//    with a made-up member name, or a member name with another value, is refused. It was stored,
//    and jit::save wrote it: PyTorch pickles an enum by its value (`__torch__.Mode('medium')`),
//    loads a non-member value without a word and fails when code compares it; a member's name
//    with another member's value loads as that other member.
//  - jit::save refuses, naming the object's path and the attribute, an object holding an
//    attribute its class does not declare (it was dropped without a word), or a value that does
//    not fit the declared type (it was written).
#include <gtest/gtest.h>

#include "ptio/jit/import.h"
#include "ptio/jit/save.h"
#include "test_support.h"

namespace ptio::jit {
namespace {

Module small() {
  return load(test::source_dir() / "tests/data/jit/small.pt");
}

std::string enum_class(const Module& m) {
  return m.attr("mode").as_enum().type.qualified_name();
}

TEST(JitTypeCheck, SetattrEnumTakesMembersOnly) {
  Module m = small();
  const std::string cls = enum_class(m);
  EXPECT_EQ(m.attr("mode").as_enum().name, "SLOW");
  m.setattr("mode", IValue::enum_value(QualifiedName(cls), "FAST", IValue("fast")));
  EXPECT_EQ(m.attr("mode").as_enum().name, "FAST");
  try {
    m.setattr("mode", IValue::enum_value(QualifiedName(cls), "MEDIUM", IValue("medium")));
    ADD_FAILURE() << "a made-up member was stored";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kJitBadEdit);
    EXPECT_NE(std::string(e.what()).find("'MEDIUM' is not a member of enum " + cls +
                                         " (its members: FAST, SLOW)"),
              std::string::npos)
        << e.what();
  }
  // A member's name with another member's (or no member's) value.
  EXPECT_PTIO_ERROR(
      m.setattr("mode", IValue::enum_value(QualifiedName(cls), "FAST", IValue("slow"))),
      ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("mode", IValue::enum_value(QualifiedName(cls), "FAST", IValue(1))),
                    ErrorCode::kJitBadEdit);
  // Another class's enum, and not an enum at all.
  EXPECT_PTIO_ERROR(
      m.setattr("mode", IValue::enum_value(QualifiedName("__torch__.Other"), "FAST", "fast")),
      ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("mode", IValue("FAST")), ErrorCode::kJitBadEdit);
  EXPECT_EQ(m.attr("mode").as_enum().name, "FAST");  // unchanged by the refusals
  EXPECT_EQ(m.attr("mode").as_enum().value.as_string(), "fast");
}

TEST(JitTypeCheck, SetattrOtherDeclaredTypes) {
  Module m = small();
  EXPECT_PTIO_ERROR(m.setattr("sizes", IValue::list({IValue(1), IValue("x")})),
                    ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("sizes", 3), ErrorCode::kJitBadEdit);
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(IValue("a"), IValue(2.5));
  EXPECT_PTIO_ERROR(m.setattr("names", d), ErrorCode::kJitBadEdit);
  EXPECT_PTIO_ERROR(m.setattr("training", 1), ErrorCode::kJitBadEdit);
  Module inner = m.child("inner");
  EXPECT_PTIO_ERROR(inner.setattr("count", 7), ErrorCode::kJitBadEdit);  // int to a Tensor buffer
  EXPECT_EQ(m.attr("sizes").as_list().elements.size(), 3u);
}

// An object graph edited below Module::setattr (through ivalue(), as a user holding the
// internal Module(obj, cu) constructor can): what jit::save writes must not lose or mistype it.
ivalue::Object& object_of(const Module& m) {
  return m.ivalue().as_object();
}

std::string save_error(const Module& m, ErrorCode code) {
  try {
    (void)save_to_bytes(m);
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    return e.what();
  }
  ADD_FAILURE() << "jit::save wrote the module";
  return {};
}

TEST(JitTypeCheck, SaveRefusesUndeclaredAttributes) {
  Module m = small();
  object_of(m).set_attribute("extra_note", IValue("lost"));
  const std::string msg = save_error(m, ErrorCode::kJitBadModule);
  EXPECT_NE(msg.find("module (an object of class " + m.qualified_name().qualified_name() +
                     ") has attribute 'extra_note', which its class does not declare"),
            std::string::npos)
      << msg;
  // In a submodule: the path names it.
  Module n = small();
  n.attr("inner").as_object().set_attribute("stray", IValue(1));
  const std::string msg2 = save_error(n, ErrorCode::kJitBadModule);
  EXPECT_NE(msg2.find("module.inner (an object of class"), std::string::npos) << msg2;
  EXPECT_NE(msg2.find("'stray'"), std::string::npos) << msg2;
}

TEST(JitTypeCheck, SaveRefusesValuesOfAnotherType) {
  {
    Module m = small();
    auto& inner = m.attr("inner").as_object();
    inner.set_attribute("count", IValue(7));  // a buffer declared Tensor
    const std::string msg = save_error(m, ErrorCode::kJitBadModule);
    EXPECT_NE(msg.find("attribute module.inner.count of class"), std::string::npos) << msg;
    EXPECT_NE(msg.find("is declared Tensor; its value (int) does not fit"), std::string::npos)
        << msg;
  }
  {
    Module m = small();
    object_of(m).set_attribute(
        "mode", IValue::enum_value(QualifiedName(enum_class(m)), "MEDIUM", IValue("medium")));
    const std::string msg = save_error(m, ErrorCode::kJitBadModule);
    EXPECT_NE(msg.find("attribute module.mode"), std::string::npos) << msg;
    EXPECT_NE(msg.find("'MEDIUM' is not a member"), std::string::npos) << msg;
  }
  {
    Module m = small();
    object_of(m).set_attribute("sizes", IValue::list({IValue(1), IValue(2.5)}));
    const std::string msg = save_error(m, ErrorCode::kJitBadModule);
    EXPECT_NE(msg.find("module.sizes"), std::string::npos) << msg;
    EXPECT_NE(msg.find("element 1: expected int, got float"), std::string::npos) << msg;
  }
  // Unedited and setattr-edited modules save as before.
  Module ok = small();
  ok.setattr("mode", IValue::enum_value(QualifiedName(enum_class(ok)), "FAST", IValue("fast")));
  ok.setattr("sizes", IValue::list({IValue(9)}));
  const auto bytes = save_to_bytes(ok);
  const Module back = load(std::span<const std::byte>(bytes));
  EXPECT_EQ(back.attr("mode").as_enum().name, "FAST");
  EXPECT_EQ(back.attr("sizes").as_list().elements.at(0).as_int(), 9);
}

}  // namespace
}  // namespace ptio::jit
