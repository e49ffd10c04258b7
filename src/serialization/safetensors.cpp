// save_safetensors: the safetensors layout (safetensors/src/tensor.rs `prepare` + `serialize`).
#include "ptio/serialization/safetensors.h"

#include <algorithm>
#include <cstdio>
#include <set>

#include "ptio/core/row_major.h"
#include "ptio/error.h"

namespace ptio {

namespace {
// Bytes per piece of a tensor written in row-major order: a strided view is never copied whole,
// a mapped storage's pages do not stay resident.
constexpr std::size_t kPieceBytes = std::size_t{16} << 20;

// The safetensors Dtype enum order (it sorts tensors by it, descending, for alignment).
struct StDtype {
  ScalarType type;
  const char* name;
  int order;
};
constexpr StDtype kDtypes[] = {
    {ScalarType::Bool, "BOOL", 0},
    {ScalarType::Byte, "U8", 1},
    {ScalarType::Char, "I8", 2},
    {ScalarType::Float8_e5m2, "F8_E5M2", 3},
    {ScalarType::Float8_e4m3fn, "F8_E4M3", 4},
    {ScalarType::Short, "I16", 5},
    {ScalarType::UInt16, "U16", 6},
    {ScalarType::Half, "F16", 7},
    {ScalarType::BFloat16, "BF16", 8},
    {ScalarType::Int, "I32", 9},
    {ScalarType::UInt32, "U32", 10},
    {ScalarType::Float, "F32", 11},
    {ScalarType::Double, "F64", 12},
    {ScalarType::Long, "I64", 13},
    {ScalarType::UInt64, "U64", 14},
};

const StDtype* find_dtype(ScalarType t) {
  for (const auto& d : kDtypes)
    if (d.type == t) return &d;
  return nullptr;
}

// serde_json's string escaping: `"`, `\`, \b \f \n \r \t, other control characters as \u00xx;
// everything else (including non-ASCII UTF-8) as is.
void json_string(std::string& out, std::string_view s) {
  out += '"';
  for (const char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  out += '"';
}

struct Item {
  std::string name;
  Tensor tensor;
  const StDtype* dtype;
};

}  // namespace

std::optional<std::string_view> safetensors_dtype_name(ScalarType t) noexcept {
  if (const StDtype* d = find_dtype(t)) return std::string_view(d->name);
  return std::nullopt;
}

SafetensorsReport save_safetensors(const NamedTensorList& tensors, io::Writer& out,
                                   const SafetensorsOptions& options) {
  SafetensorsReport report;
  std::string bad_dtypes, no_data;
  std::set<std::string_view> names;
  std::vector<Item> items;
  // Tied weights: the same view of the same bytes. Shared storages: any other tensor over the
  // same storage bytes.
  std::vector<const Item*> kept;
  std::set<const std::byte*> storages_seen;
  std::vector<std::string> metadata_ties;
  std::map<std::string, std::string> metadata = options.metadata;
  for (const auto& [name, t] : tensors) {
    PTIO_CHECK(!name.empty() && name != "__metadata__", ErrorCode::kIoInvalidArgument,
               "safetensors: tensor name '", name, "' is not allowed");
    PTIO_CHECK(names.insert(name).second, ErrorCode::kIoInvalidArgument,
               "safetensors: tensor name '", name, "' appears twice");
    if (t.is_meta() || t.is_sparse() || !t.defined()) {
      no_data += (no_data.empty() ? "" : ", ") + name + (t.is_meta() ? " (meta)" : " (sparse)");
      continue;
    }
    const StDtype* d = find_dtype(t.dtype());
    if (!d) {
      bad_dtypes += (bad_dtypes.empty() ? "" : ", ") + name + " (" +
                    std::string(scalar_type_name(t.dtype())) + ")";
      continue;
    }
    items.push_back({name, t, d});
  }
  if (!bad_dtypes.empty())
    throw Error(ErrorCode::kBadDtype,
                "safetensors has no dtype for: " + bad_dtypes +
                    " (it holds bool, uint8/16/32/64, int8/16/32/64, float16, bfloat16, float32, "
                    "float64, float8_e5m2, float8_e4m3fn)");
  if (!no_data.empty())
    throw Error(ErrorCode::kBadStorage,
                "safetensors needs tensor data; these have none: " + no_data);

  std::vector<Item> written;
  for (const Item& it : items) {
    const Tensor& t = it.tensor;
    const std::byte* ptr = t.numel() ? t.data_ptr() : nullptr;
    if (options.store_tied_once && ptr) {
      const Item* same = nullptr;
      for (const Item& w : written)
        if (w.tensor.numel() && w.tensor.data_ptr() == ptr && w.tensor.dtype() == t.dtype() &&
            w.tensor.sizes() == t.sizes() && w.tensor.strides() == t.strides()) {
          same = &w;
          break;
        }
      if (same) {
        report.tied.emplace_back(it.name, same->name);
        metadata.emplace(it.name, same->name);  // a caller's own key wins
        continue;
      }
    }
    const bool shares = t.numel() && t.storage().defined() &&
                        std::any_of(tensors.begin(), tensors.end(), [&](const auto& o) {
                          return o.first != it.name && o.second.defined() && !o.second.is_meta() &&
                                 !o.second.is_sparse() && o.second.storage().defined() &&
                                 o.second.storage().data() == t.storage().data() &&
                                 t.storage().nbytes() > 0;
                        });
    if (!t.is_contiguous() || shares) report.copied.push_back(it.name);
    written.push_back(it);
  }
  ViewBudget budget(options.view_limits);  // before a byte is written
  for (const Item& it : written) budget.charge(it.tensor, it.name);
  std::stable_sort(written.begin(), written.end(), [](const Item& a, const Item& b) {
    if (a.dtype->order != b.dtype->order) return a.dtype->order > b.dtype->order;
    return a.name < b.name;
  });

  std::string header = "{";
  bool first = true;
  if (!metadata.empty()) {
    header += "\"__metadata__\":{";
    bool f = true;
    for (const auto& [k, v] : metadata) {
      if (!f) header += ',';
      f = false;
      json_string(header, k);
      header += ':';
      json_string(header, v);
    }
    header += '}';
    first = false;
  }
  std::uint64_t offset = 0;
  for (const Item& it : written) {
    if (!first) header += ',';
    first = false;
    json_string(header, it.name);
    header += ":{\"dtype\":\"";
    header += it.dtype->name;
    header += "\",\"shape\":[";
    for (std::size_t i = 0; i < it.tensor.sizes().size(); ++i) {
      if (i) header += ',';
      header += std::to_string(it.tensor.sizes()[i]);
    }
    const std::uint64_t n = it.tensor.nbytes();
    header +=
        "],\"data_offsets\":[" + std::to_string(offset) + "," + std::to_string(offset + n) + "]}";
    offset += n;
  }
  header += '}';
  header.append((8 - header.size() % 8) % 8, ' ');
  const std::uint64_t hlen = header.size();
  unsigned char len_le[8];
  for (int i = 0; i < 8; ++i) len_le[i] = static_cast<unsigned char>(hlen >> (8 * i));
  out.expect(8 + hlen + offset);
  out.write(len_le, 8);
  out.write(header.data(), header.size());
  for (const Item& it : written) {
    const Tensor& t = it.tensor;
    for_each_row_major_piece(t, kPieceBytes, [&out](std::span<const std::byte> b, std::int64_t) {
      out.write(b.data(), b.size());
    });
  }
  report.bytes = 8 + hlen + offset;
  out.commit();
  return report;
}

SafetensorsReport save_safetensors(const NamedTensorList& tensors,
                                   const std::filesystem::path& path,
                                   const SafetensorsOptions& options) {
  io::FileWriter w(path);
  return save_safetensors(tensors, w, options);
}

}  // namespace ptio
