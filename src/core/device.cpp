// Device parsing and printing in PyTorch's notation.
#include "ptio/core/device.h"

#include <charconv>

#include "ptio/error.h"

namespace ptio {

namespace {
struct Named {
  std::string_view name;
  DeviceType type;
};
constexpr Named kNames[] = {{"cpu", DeviceType::kCPU}, {"cuda", DeviceType::kCUDA},
                            {"mps", DeviceType::kMPS}, {"meta", DeviceType::kMeta},
                            {"xpu", DeviceType::kXPU}, {"hpu", DeviceType::kHPU}};
// c10's other device types (DeviceType.cpp parse_type, PyTorch 1.13): kOther with their name.
constexpr std::string_view kOtherNames[] = {"ipu",  "mkldnn", "opengl",       "opencl", "ideep",
                                            "hip",  "ve",     "fpga",         "ort",    "xla",
                                            "lazy", "vulkan", "privateuseone"};
// The list in c10's "Expected one of ..." message, in its order.
constexpr std::string_view kExpectedList =
    "cpu, cuda, ipu, xpu, mkldnn, opengl, opencl, ideep, hip, ve, fpga, ort, xla, lazy, vulkan, "
    "mps, meta, hpu, privateuseone";
}  // namespace

// c10::Device(const std::string&) of PyTorch 1.13 (c10/core/Device.cpp): the string must match
// ([a-zA-Z_]+)(?::([1-9]\d*|0))? and the name must be one of c10's device types (parse_type).
Device Device::parse(std::string_view s) {
  PTIO_CHECK(!s.empty(), ErrorCode::kBadDevice, "Device string must not be empty");
  const auto colon = s.find(':');
  const std::string_view name = s.substr(0, colon);
  const std::string_view idx =
      colon == std::string_view::npos ? std::string_view() : s.substr(colon + 1);
  bool ok = !name.empty() && (colon == std::string_view::npos || !idx.empty());
  for (char c : name) ok = ok && ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_');
  for (char c : idx) ok = ok && c >= '0' && c <= '9';
  ok = ok && !(idx.size() > 1 && idx[0] == '0');
  PTIO_CHECK(ok, ErrorCode::kBadDevice, "Invalid device string: '", s, "'");
  Device d;
  d.type_ = DeviceType::kOther;
  for (const auto& n : kNames)
    if (n.name == name) d.type_ = n.type;
  if (d.type_ == DeviceType::kOther) {
    bool known = false;
    for (std::string_view n : kOtherNames) known = known || n == name;
    PTIO_CHECK(known, ErrorCode::kBadDevice, "Expected one of ", kExpectedList,
               " device type at start of device string: ", s);
    d.other_ = std::string(name);
  }
  if (!idx.empty()) {
    int v = -1;
    auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), v);
    PTIO_CHECK(ec == std::errc() && p == idx.data() + idx.size() && v >= 0 && v < 32768,
               ErrorCode::kBadDevice, "Could not parse device index '", idx, "' in device string '",
               s, "' (ptio keeps indices below 32768)");
    d.index_ = static_cast<std::int16_t>(v);
  }
  return d;
}

std::string Device::type_name() const {
  if (type_ == DeviceType::kOther) return other_;
  for (const auto& n : kNames)
    if (n.type == type_) return std::string(n.name);
  return "unknown";
}

std::string Device::str() const {
  std::string s = type_name();
  if (index_ >= 0) s += ":" + std::to_string(index_);
  return s;
}

}  // namespace ptio
