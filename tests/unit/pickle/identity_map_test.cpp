// pickle::IdentityMap: the address-keyed table behind the Pickler's memo and torch.save's tables.
#include "ptio/pickle/identity_map.h"

#include <gtest/gtest.h>

#include <vector>

namespace ptio::pickle {
namespace {

TEST(IdentityMap, InsertsFindsGrowsAndClears) {
  std::vector<int> objects(10000);  // adjacent addresses: the worst case for a plain modulo hash
  IdentityMap m(4);
  EXPECT_FALSE(m.find(&objects[0]).has_value());
  EXPECT_FALSE(m.find(nullptr).has_value());
  for (std::size_t i = 0; i < objects.size(); ++i) {
    bool found = true;
    m.at(&objects[i], found) = static_cast<std::uint32_t>(i * 3);
    EXPECT_FALSE(found);
  }
  EXPECT_EQ(m.size(), objects.size());
  for (std::size_t i = 0; i < objects.size(); ++i) {
    ASSERT_EQ(m.find(&objects[i]), static_cast<std::uint32_t>(i * 3)) << i;
    bool found = false;
    EXPECT_EQ(m.at(&objects[i], found), i * 3);
    EXPECT_TRUE(found);
  }
  EXPECT_EQ(m.size(), objects.size());  // at() of a present key inserts nothing
  int other = 0;
  EXPECT_FALSE(m.find(&other).has_value());
  m.clear();
  EXPECT_EQ(m.size(), 0u);
  EXPECT_FALSE(m.find(&objects[5]).has_value());
  m.reserve(100000);  // empty: sized; then entries behave as before
  bool found = true;
  m.at(&other, found) = 7;
  EXPECT_FALSE(found);
  EXPECT_EQ(m.find(&other), 7u);
}

// nullptr (an undefined Storage's id()) is a key like any other: before, at(nullptr) landed on an
// empty slot, reported it as found and handed out a slot that was never stored.
TEST(IdentityMap, NullIsAnOrdinaryKey) {
  IdentityMap m(4);
  int a = 0;
  bool found = true;
  m.at(nullptr, found) = 9;
  EXPECT_FALSE(found);
  EXPECT_EQ(m.size(), 1u);
  m.at(&a, found) = 4;
  EXPECT_FALSE(found);
  EXPECT_EQ(m.find(nullptr), 9u);
  EXPECT_EQ(m.at(nullptr, found), 9u);
  EXPECT_TRUE(found);
  EXPECT_EQ(m.size(), 2u);
  m.clear();
  EXPECT_FALSE(m.find(nullptr).has_value());
  EXPECT_EQ(m.size(), 0u);
}

}  // namespace
}  // namespace ptio::pickle
