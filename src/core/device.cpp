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
}  // namespace

Device Device::parse(std::string_view s) {
  const auto colon = s.find(':');
  const std::string_view name = s.substr(0, colon);
  PTIO_CHECK(!name.empty(), ErrorCode::kBadDevice, "empty device string '", s, "'");
  for (char c : name)
    PTIO_CHECK((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_', ErrorCode::kBadDevice,
               "invalid device string '", s, "'");
  Device d;
  d.type_ = DeviceType::kOther;
  for (const auto& n : kNames)
    if (n.name == name) d.type_ = n.type;
  if (d.type_ == DeviceType::kOther) d.other_ = std::string(name);
  if (colon != std::string_view::npos) {
    const std::string_view idx = s.substr(colon + 1);
    int v = -1;
    auto [p, ec] = std::from_chars(idx.data(), idx.data() + idx.size(), v);
    PTIO_CHECK(
        ec == std::errc() && p == idx.data() + idx.size() && v >= 0 && v < 32768 && !idx.empty(),
        ErrorCode::kBadDevice, "invalid device index in '", s, "'");
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
