// The two passes of to_repr and to_json over containers reached more than once (pickle's memo):
// the discovery pass finds them, the labelled pass prints each in full once, under a label, and
// as a reference to that label at every later place.
#pragma once

#include <cstddef>
#include <unordered_map>
#include <unordered_set>

namespace ptio::detail {

class SharedLabels {
 public:
  /// `shared`: nullptr for the discovery pass (which records the containers reached a second
  /// time into found()), else the set the discovery pass found.
  explicit SharedLabels(const std::unordered_set<const void*>* shared) : shared_(shared) {}

  /// What to print at a container's place (cycles are the caller's, checked before).
  enum class Place {
    kPrint,   ///< in full, unlabelled
    kSkip,    ///< nothing: the discovery pass met it before (now in found())
    kAnchor,  ///< in full, after the new label
    kAlias,   ///< only a reference to its label
  };
  /// The place of container `id` and, for kAnchor/kAlias, its label (1, 2, ... in output order).
  Place visit(const void* id, std::size_t& label) {
    if (shared_ == nullptr) {
      if (seen_.insert(id).second) return Place::kPrint;
      found_.insert(id);
      return Place::kSkip;
    }
    if (!shared_->count(id)) return Place::kPrint;
    const auto [it, first] = labels_.try_emplace(id, labels_.size() + 1);
    label = it->second;
    return first ? Place::kAnchor : Place::kAlias;
  }
  /// Discovery pass: the containers reached more than once.
  const std::unordered_set<const void*>& found() const noexcept { return found_; }

 private:
  const std::unordered_set<const void*>* shared_;
  std::unordered_set<const void*> seen_, found_;          // discovery pass
  std::unordered_map<const void*, std::size_t> labels_;  // labelled pass
};

}  // namespace ptio::detail
