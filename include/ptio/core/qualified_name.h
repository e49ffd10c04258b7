// QualifiedName: a dotted name such as `__torch__.torch.nn.modules.linear.Linear`
// (c10::QualifiedName).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ptio/export.h"

namespace ptio {

/// Mirrors `c10::QualifiedName`: a dotted name split into atoms. `prefix()` is everything before
/// the last dot (the pickle GLOBAL's module, e.g. `__torch__.torch.nn.modules.linear`) and
/// `name()` the last atom (the class name, `Linear`). Empty atoms are kept as given; no
/// validation is done (names come from files and are printed back verbatim).
class PTIO_API QualifiedName {
 public:
  QualifiedName() = default;
  /// Splits `qualified` at its dots.
  explicit QualifiedName(std::string_view qualified);
  /// `prefix` + "." + `name` (just `name` when `prefix` is empty).
  QualifiedName(std::string_view prefix, std::string_view name);

  /// The whole dotted name.
  const std::string& qualified_name() const noexcept { return qualified_; }
  /// Everything before the last dot ("" for a single atom).
  std::string prefix() const;
  /// The last atom.
  std::string name() const;
  /// The atoms in order.
  std::vector<std::string> atoms() const;
  bool empty() const noexcept { return qualified_.empty(); }
  /// True when `prefix` equals this name or is a leading run of its atoms (`__torch__` is a
  /// prefix of `__torch__.Foo`, not of `__torch__x.Foo`).
  bool starts_with(const QualifiedName& prefix) const noexcept;

  friend bool operator==(const QualifiedName& a, const QualifiedName& b) noexcept {
    return a.qualified_ == b.qualified_;
  }

 private:
  std::string qualified_;
};

}  // namespace ptio
