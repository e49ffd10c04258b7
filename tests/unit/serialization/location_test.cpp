// Storage location tags as torch.load reads them (default_restore_location and map_location) and
// as ptio::save writes them: a tag PyTorch cannot restore is refused on both sides (ptio loaded a
// storage tagged 'xyz' with a device of no name and wrote it back as location '').
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "ptio/io/writer.h"
#include "ptio/serialization/save.h"
#include "serialization/torch_globals.h"
#include "test_support.h"

namespace ptio::detail {
namespace {

TEST(StorageLocation, TorchLoadRestoresCpuCudaMpsMeta) {
  EXPECT_EQ(restore_location("cpu").str(), "cpu");
  EXPECT_EQ(restore_location("meta").str(), "meta");
  EXPECT_EQ(restore_location("cuda").str(), "cuda");
  EXPECT_EQ(restore_location("cuda:1").str(), "cuda:1");
  EXPECT_EQ(restore_location("mps").str(), "mps");
  EXPECT_EQ(restore_location("hpu:0").str(), "hpu:0");  // later PyTorch
  EXPECT_EQ(restore_location("xpu").str(), "xpu");      // later PyTorch
  // "don't know how to restore data location of torch.storage.UntypedStorage (tagged with xyz)"
  for (const char* tag : {"xyz", "xla", "xla:0", "cpu:0", "meta:0", "", "privateuseone"}) {
    try {
      (void)restore_location(tag);
      ADD_FAILURE() << "restored '" << tag << "'";
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kBadDevice) << tag;
      EXPECT_NE(e.message().find("don't know how to restore data location"), std::string::npos)
          << e.message();
    }
  }
  // _cuda_deserialize parses the tag: c10's message.
  EXPECT_PTIO_ERROR((void)restore_location("cudax"), ErrorCode::kBadDevice);
  EXPECT_PTIO_ERROR((void)restore_location("cuda:01"), ErrorCode::kBadDevice);
}

TEST(StorageLocation, MapLocationReplacesTheTagOrTheTargetIsChecked) {
  using Map = std::map<std::string, std::string>;
  // A tag torch.load cannot restore loads when map_location sends it somewhere it can.
  EXPECT_EQ(map_location_device("xyz", MapLocation(std::string("cpu"))).str(), "cpu");
  EXPECT_EQ(map_location_device("xyz", MapLocation(Map{{"xyz", "cuda:0"}})).str(), "cuda:0");
  EXPECT_PTIO_ERROR((void)map_location_device("xyz", MapLocation(Map{{"other", "cpu"}})),
                    ErrorCode::kBadDevice);
  EXPECT_PTIO_ERROR((void)map_location_device("xyz", MapLocation()), ErrorCode::kBadDevice);
  // Targets: what default_restore_location accepts.
  for (const char* target : {"xyz", "xla", "cpu:0", "cuda0"}) {
    EXPECT_PTIO_ERROR(validate_map_location(MapLocation(std::string(target))),
                      ErrorCode::kBadMapLocation);
    EXPECT_PTIO_ERROR(validate_map_location(MapLocation(Map{{"cpu", target}})),
                      ErrorCode::kBadMapLocation);
  }
  EXPECT_NO_THROW(validate_map_location(MapLocation(Map{{"xyz", "meta"}})));
}

TEST(StorageLocation, TorchScriptRule) {
  EXPECT_EQ(torchscript_location_device("cpu:0", std::nullopt).str(), "cpu:0");
  EXPECT_EQ(torchscript_location_device("cuda:1", Device()).str(), "cpu");
  EXPECT_EQ(torchscript_location_device("hpu", std::nullopt).str(), "hpu");
  EXPECT_PTIO_ERROR((void)torchscript_location_device("xyz", Device()), ErrorCode::kBadDevice);
  EXPECT_PTIO_ERROR((void)torchscript_location_device("mps", std::nullopt), ErrorCode::kBadDevice);
  EXPECT_PTIO_ERROR((void)torchscript_location_device("cpu", Device::parse("xla")),
                    ErrorCode::kBadDevice);
}

TEST(StorageLocation, SaveRefusesATagTorchLoadCannotRestore) {
  for (const bool legacy : {false, true}) {
    for (const Device& d : {Device(DeviceType::kOther), Device::parse("xla:0")}) {
      Tensor t = Tensor::from_bytes(ScalarType::Float, {1}, test::bytes_of(std::string(4, '\0')));
      t.set_device(d);
      IValue obj = IValue::dict();
      obj.as_dict().insert_or_assign(IValue("t"), IValue(t));
      io::MemoryWriter mw;
      SaveOptions o;
      o.legacy_format = legacy;
      try {
        save(obj, mw, o);
        ADD_FAILURE() << "saved a storage on '" << d.str() << "'";
      } catch (const Error& e) {
        EXPECT_EQ(e.code(), ErrorCode::kBadDevice);
        EXPECT_NE(e.message().find("cannot be saved"), std::string::npos) << e.message();
      }
    }
  }
  EXPECT_EQ(saved_location(Device::parse("cuda:3")), "cuda:3");
}

}  // namespace
}  // namespace ptio::detail
