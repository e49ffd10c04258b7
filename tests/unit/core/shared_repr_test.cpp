// to_repr / to_json of containers reached more than once (pickle memo sharing, "billion laughs"):
// printed once as `&N ...` / {"shared": N, "value": ...}, then `*N` / {"ref": N}; the output
// budget (max_output_bytes).
#include <string>
#include <vector>

#include "ptio/core/ivalue.h"
#include "ptio/core/ivalue_json.h"
#include "test_support.h"

namespace ptio {
namespace {

IValue str_dict(std::vector<std::pair<std::string, IValue>> items) {
  IValue d = IValue::dict();
  for (auto& [k, v] : items) d.as_dict().insert_or_assign(IValue(k), v);
  return d;
}

TEST(SharedRepr, DictUnderTwoKeys) {
  // d = {'t': 1}; {'a': d, 'b': d}
  const IValue d = str_dict({{"t", 1}});
  const IValue root = str_dict({{"a", d}, {"b", d}});
  EXPECT_EQ(to_repr(root), "{'a': &1 {'t': 1}, 'b': *1}");
  EXPECT_EQ(to_json(root),
            "{\"dict\": [[\"a\", {\"shared\": 1, \"value\": {\"dict\": [[\"t\", 1]]}}], "
            "[\"b\", {\"ref\": 1}]]}");
}

TEST(SharedRepr, ListLaughsStayLinear) {
  // l = [1]; for _ in range(n): l = [l, l]  -> 2^n paths, n + 1 distinct lists.
  IValue l = IValue::list({1});
  for (int i = 0; i < 2; ++i) l = IValue::list({l, l});
  EXPECT_EQ(to_repr(l), "[&1 [&2 [1], *2], *1]");
  EXPECT_EQ(to_json(l), "[{\"shared\": 1, \"value\": [{\"shared\": 2, \"value\": [1]}, "
                        "{\"ref\": 2}]}, {\"ref\": 1}]");
  for (int i = 2; i < 60; ++i) l = IValue::list({l, l});
  const std::string r = to_repr(l);
  EXPECT_LT(r.size(), 2000u) << r;
  EXPECT_NE(r.find("[&60 [1], *60], *59]"), std::string::npos) << r;
  EXPECT_EQ(r.find("&61"), std::string::npos) << r;
  const std::string j = to_json(l);
  EXPECT_LT(j.size(), 4000u) << j;
  EXPECT_NE(j.find("{\"shared\": 60, \"value\": [1]}, {\"ref\": 60}]}, {\"ref\": 59}"),
            std::string::npos)
      << j;
}

TEST(SharedRepr, TupleObjectOrderedDictAndNesting) {
  const IValue t = IValue::tuple({1, 2});
  EXPECT_EQ(to_repr(IValue::list({t, t, t})), "[&1 (1, 2), *1, *1]");
  EXPECT_EQ(to_json(IValue::list({t, t})),
            "[{\"shared\": 1, \"value\": {\"tuple\": [1, 2]}}, {\"ref\": 1}]");

  IValue o = IValue::object(QualifiedName("__torch__.M"));
  o.as_object().set_attribute("x", 1);
  EXPECT_EQ(to_repr(IValue::tuple({o, o})), "(&1 __torch__.M(x=1), *1)");
  EXPECT_EQ(to_json(IValue::tuple({o, o})),
            "{\"tuple\": [{\"shared\": 1, \"value\": {\"object\": \"__torch__.M\", \"state\": "
            "{\"dict\": [[\"x\", 1]]}}}, {\"ref\": 1}]}");

  IValue od = str_dict({{"k", 1}});
  od.as_dict().ordered_dict = true;
  EXPECT_EQ(to_repr(IValue::list({od, od})), "[&1 OrderedDict([('k', 1)]), *1]");

  // Sharing inside a shared container: labels count in output order.
  const IValue inner = IValue::list({0});
  const IValue outer = str_dict({{"x", inner}, {"y", inner}});
  const IValue root = IValue::list({outer, outer, inner});
  EXPECT_EQ(to_repr(root), "[&1 {'x': &2 [0], 'y': *2}, *1, *2]");
  EXPECT_EQ(to_json(root),
            "[{\"shared\": 1, \"value\": {\"dict\": [[\"x\", {\"shared\": 2, \"value\": [0]}], "
            "[\"y\", {\"ref\": 2}]]}}, {\"ref\": 1}, {\"ref\": 2}]");
}

TEST(SharedRepr, CyclesKeepTheirFormAndCombineWithSharing) {
  IValue l = IValue::list({1});
  l.as_list().elements.push_back(l);  // l = [1]; l.append(l)
  EXPECT_EQ(to_repr(l), "[1, [...]]");  // a cycle alone: Python's form, no label
  EXPECT_EQ(to_json(l), "[1, {\"cycle\": \"list\"}]");
  const IValue root = IValue::list({l, l});
  EXPECT_EQ(to_repr(root), "[&1 [1, [...]], *1]");
  EXPECT_EQ(to_json(root),
            "[{\"shared\": 1, \"value\": [1, {\"cycle\": \"list\"}]}, {\"ref\": 1}]");
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign("self", d);
  EXPECT_EQ(to_repr(IValue::tuple({d, d})), "(&1 {'self': {...}}, *1)");
  break_cycles(l);
  break_cycles(d);
}

TEST(SharedRepr, UnsharedValuesUnchanged) {
  // Equal but distinct containers are not shared: Python's repr.
  const IValue root = IValue::list({IValue::list({1}), IValue::list({1}), IValue::tuple({})});
  EXPECT_EQ(to_repr(root), "[[1], [1], ()]");
  EXPECT_EQ(to_json(root), "[[1], [1], {\"tuple\": []}]");
  // One string or tensor reached twice is printed twice (not a container).
  const IValue s("abc");
  EXPECT_EQ(to_repr(IValue::list({s, s})), "['abc', 'abc']");
  const std::vector<std::byte> bytes(8);
  const Tensor t = Tensor::from_bytes(ScalarType::Float, {2}, bytes);
  const Tensor view = Tensor::make(t.storage(), ScalarType::Float, {1}, {1}, 1);
  const IValue tl = IValue::list({t, t, view});
  EXPECT_EQ(to_repr(tl),
            "[tensor(float32, [2]), tensor(float32, [2]), tensor(float32, [1], storage_offset=1)]");
  int calls = 0;
  JsonOptions jo;
  jo.tensor_sha256 = [&](const Tensor&) {
    ++calls;
    return std::string("ab");
  };
  const std::string j = to_json(IValue::list({tl, tl}), jo);  // two passes, one hash per tensor
  EXPECT_EQ(calls, 2);
  EXPECT_EQ(j.find("{\"shared\": 1, \"value\": [{\"tensor\""), 1u) << j;
  EXPECT_NE(j.find("\"sha256\": \"ab\"}}, {\"tensor\": {\"dtype\": \"float32\", \"shape\": [2]"),
            std::string::npos)
      << j;
}

TEST(SharedRepr, TruncatedPlacesDoNotCount) {
  // inner's first place is past --depth: it prints in full where it is visible, unlabelled.
  const IValue inner = IValue::list({0});
  const IValue root = IValue::list({IValue::list({IValue::list({inner})}), inner});
  EXPECT_EQ(to_repr(root, {.max_depth = 2}), "[[...], [0]]");
  JsonOptions jo;
  jo.max_depth = 2;
  EXPECT_EQ(to_json(root, jo), "[[{\"truncated\": \"list\"}], [0]]");
  // ... and past max_items.
  const IValue wide = IValue::list({IValue::list({1, inner}), inner});
  EXPECT_EQ(to_repr(wide, {.max_items = 1}), "[[1, ...], ...]");
  EXPECT_EQ(to_repr(wide), "[[1, &1 [0]], *1]");
}

TEST(SharedRepr, OutputBudget) {
  const IValue s(std::string(1000, 'x'));
  IValue l = IValue::list();
  for (int i = 0; i < 100; ++i) l.as_list().elements.push_back(s);  // ~100 KB of repr
  EXPECT_GT(to_repr(l).size(), 100000u);
  try {
    (void)to_repr(l, {.max_output_bytes = 50000});
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("ReprOptions::max_output_bytes (50000 bytes)"),
              std::string::npos)
        << e.what();
  }
  JsonOptions jo;
  jo.max_output_bytes = 50000;
  try {
    (void)to_json(l, jo);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("JsonOptions::max_output_bytes (50000 bytes)"),
              std::string::npos)
        << e.what();
  }
  // Exactly at the limit is fine; the limit counts the output, not the references.
  const std::string full = to_repr(l);
  EXPECT_EQ(to_repr(l, {.max_output_bytes = full.size()}), full);
  jo.max_output_bytes = to_json(l).size();
  EXPECT_EQ(to_json(l, jo), to_json(l));
  // Shared containers print once, so 2^40 paths fit in a small budget.
  IValue laughs = IValue::list({s});
  for (int i = 0; i < 40; ++i) laughs = IValue::list({laughs, laughs});
  EXPECT_LT(to_repr(laughs, {.max_output_bytes = 2000}).size(), 2000u);
  jo.max_output_bytes = 4000;
  EXPECT_LT(to_json(laughs, jo).size(), 4000u);
}

}  // namespace
}  // namespace ptio
