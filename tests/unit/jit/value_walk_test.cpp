// for_each_child (src/jit/value_walk.h): the children each kind reports, in order, under each
// ChildWalk switch.
#include <gtest/gtest.h>

#include <stdexcept>
#include <string>
#include <vector>

#include "jit/value_walk.h"
#include "ptio/core/ivalue.h"

namespace {

using ptio::IValue;
using ptio::QualifiedName;
using ptio::jit::detail::ChildWalk;
using ptio::jit::detail::for_each_child;
using ptio::jit::detail::for_each_reachable;

std::string children(const IValue& v, const ChildWalk& opt = {}) {
  std::string out;
  for_each_child(v, [&](const IValue& c) { out += (out.empty() ? "" : " ") + ptio::to_repr(c); },
                 opt);
  return out;
}

TEST(ForEachChild, ListTupleDictInOrder) {
  EXPECT_EQ(children(IValue::list({1, "a", 2.5})), "1 'a' 2.5");
  EXPECT_EQ(children(IValue::tuple({IValue::list({3}), IValue()})), "[3] None");
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign("k1", 10);
  d.as_dict().insert_or_assign(IValue::tuple({7}), 20);
  EXPECT_EQ(children(d), "'k1' 10 (7,) 20");
  EXPECT_EQ(children(d, {.dict_keys = false}), "10 20");
}

TEST(ForEachChild, LeavesHaveNoChildren) {
  EXPECT_EQ(children(IValue(5)), "");
  EXPECT_EQ(children(IValue("s")), "");
  EXPECT_EQ(children(IValue::bytes("b")), "");
  IValue s = IValue::set();
  s.as_set().insert(1);
  EXPECT_EQ(children(s), "");  // pickle-only kinds are not TorchScript values
  EXPECT_EQ(children(IValue::opaque("m", "f")), "");
}

TEST(ForEachChild, EnumValueUnlessSwitchedOff) {
  const IValue e = IValue::enum_value(QualifiedName("__torch__.Color"), "RED", IValue::list({1}));
  EXPECT_EQ(children(e), "[1]");
  EXPECT_EQ(children(e, {.enum_values = false}), "");
}

TEST(ForEachChild, ObjectAttributesAndState) {
  IValue o = IValue::object(QualifiedName("__torch__.M"));
  o.as_object().attributes.emplace_back("a", 1);
  o.as_object().attributes.emplace_back("b", "x");
  // Without state: the attributes, whichever walk.
  EXPECT_EQ(children(o), "1 'x'");
  EXPECT_EQ(children(o, {.object_attributes_and_state = false}), "1 'x'");
  // With __getstate__ state: all of it, or (as the Pickler writes it) the state alone.
  o.as_object().has_state = true;
  o.as_object().state = IValue::tuple({9});
  EXPECT_EQ(children(o), "1 'x' (9,)");
  EXPECT_EQ(children(o, {.object_attributes_and_state = false}), "(9,)");
}

TEST(ForEachReachable, EachHeapValueOnceDepthFirstThroughCycles) {
  IValue shared = IValue::list({7});
  IValue root = IValue::list({IValue::tuple({shared, 1}), shared, "s"});
  root.as_list().elements.push_back(root);  // a cycle back to the root
  std::vector<std::string> seen;
  for_each_reachable(root, [&](const IValue& v) {
    seen.push_back(v.is_list() && v.is_same(root) ? "root" : ptio::to_repr(v));
  });
  // Children are pushed in order, so the last is visited first; ints are not visited; the
  // shared list and the root once each.
  EXPECT_EQ(seen, (std::vector<std::string>{"root", "'s'", "[7]", "([7], 1)"}));
  ptio::break_cycles(root);
}

TEST(ForEachReachable, SwitchesApplyAndVisitMayThrow) {
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(IValue::tuple({1}), IValue::list({2}));
  int n = 0;
  for_each_reachable(d, [&](const IValue&) { ++n; }, {.dict_keys = false});
  EXPECT_EQ(n, 2);  // the dict and its value, not the tuple key
  n = 0;
  for_each_reachable(d, [&](const IValue&) { ++n; });
  EXPECT_EQ(n, 3);
  EXPECT_THROW(for_each_reachable(d,
                                  [](const IValue& v) {
                                    if (v.is_list()) throw std::runtime_error("stop");
                                  }),
               std::runtime_error);
}

}  // namespace
