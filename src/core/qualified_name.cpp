// QualifiedName: splitting and joining dotted names.
#include "ptio/core/qualified_name.h"

namespace ptio {

QualifiedName::QualifiedName(std::string_view qualified) : qualified_(qualified) {}

QualifiedName::QualifiedName(std::string_view prefix, std::string_view name) {
  qualified_.reserve(prefix.size() + name.size() + 1);
  qualified_.append(prefix);
  if (!prefix.empty()) qualified_.push_back('.');
  qualified_.append(name);
}

std::string QualifiedName::prefix() const {
  const auto dot = qualified_.rfind('.');
  return dot == std::string::npos ? std::string() : qualified_.substr(0, dot);
}

std::string QualifiedName::name() const {
  const auto dot = qualified_.rfind('.');
  return dot == std::string::npos ? qualified_ : qualified_.substr(dot + 1);
}

std::vector<std::string> QualifiedName::atoms() const {
  std::vector<std::string> out;
  std::size_t start = 0;
  for (;;) {
    const auto dot = qualified_.find('.', start);
    out.push_back(qualified_.substr(start, dot - start));
    if (dot == std::string::npos) break;
    start = dot + 1;
  }
  return out;
}

bool QualifiedName::starts_with(const QualifiedName& prefix) const noexcept {
  const std::string& p = prefix.qualified_;
  if (qualified_.size() < p.size() || qualified_.compare(0, p.size(), p) != 0) return false;
  return qualified_.size() == p.size() || p.empty() || qualified_[p.size()] == '.';
}

}  // namespace ptio
