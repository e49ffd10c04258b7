// Device: a device type and index, parsed from and printed as PyTorch's strings ("cpu", "cuda:0").
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "ptio/export.h"

namespace ptio {

/// Mirrors `c10::DeviceType` for the types that appear in files. c10's other types (ipu, mkldnn,
/// opengl, opencl, ideep, hip, ve, fpga, ort, xla, lazy, vulkan, privateuseone) are kOther with
/// their name kept in Device::type_name().
enum class DeviceType : std::int8_t { kCPU, kCUDA, kMPS, kMeta, kXPU, kHPU, kOther };

/// Mirrors `c10::Device`. ptio keeps every byte in CPU memory; a Device only records where the
/// file said (or map_location says) a storage lives.
class PTIO_API Device {
 public:
  Device() = default;
  explicit Device(DeviceType type, std::int16_t index = -1) : type_(type), index_(index) {}

  /// Parses a device string as `c10::Device(std::string)` of PyTorch 1.13 does:
  /// `<type>[:<index>]` with `<type>` one of c10's device type names ("cpu", "cuda", "mps",
  /// "meta", "xpu", "hpu", "xla", ...) and `<index>` a decimal without leading zeros (below 32768).
  /// Throws Error(kBadDevice) with c10's message otherwise ("Invalid device string: 'cuda0'",
  /// "Expected one of cpu, cuda, ... device type at start of device string: xyz").
  static Device parse(std::string_view s);

  DeviceType type() const noexcept { return type_; }
  /// -1 when no index was given.
  std::int16_t index() const noexcept { return index_; }
  bool has_index() const noexcept { return index_ >= 0; }
  bool is_cpu() const noexcept { return type_ == DeviceType::kCPU; }
  /// "cpu", "cuda", ... or the backend's own name for kOther.
  std::string type_name() const;
  /// PyTorch's string: "cpu", "cuda:0".
  std::string str() const;

  friend bool operator==(const Device& a, const Device& b) {
    return a.type_ == b.type_ && a.index_ == b.index_ && a.other_ == b.other_;
  }

 private:
  DeviceType type_ = DeviceType::kCPU;
  std::int16_t index_ = -1;
  std::string other_;  // backend name when type_ == kOther
};

}  // namespace ptio
