// save_npz: numpy's .npz (numpy/lib/npyio.py `_savez`, numpy/lib/format.py `_write_array_header`).
#include "ptio/serialization/npz.h"

#include <set>

#include "ptio/core/row_major.h"
#include "ptio/error.h"
#include "ptio/zip/archive_writer.h"

namespace ptio {

namespace {
// Bytes per piece of a tensor written in row-major order: a strided view is never copied whole,
// a mapped storage's pages do not stay resident.
constexpr std::size_t kPieceBytes = std::size_t{16} << 20;
}  // namespace

std::optional<std::string> npy_descr(ScalarType t) {
  switch (t) {
    case ScalarType::Bool:
      return "|b1";
    case ScalarType::Byte:
      return "|u1";
    case ScalarType::Char:
      return "|i1";
    case ScalarType::Short:
      return "<i2";
    case ScalarType::Int:
      return "<i4";
    case ScalarType::Long:
      return "<i8";
    case ScalarType::UInt16:
      return "<u2";
    case ScalarType::UInt32:
      return "<u4";
    case ScalarType::UInt64:
      return "<u8";
    case ScalarType::Half:
      return "<f2";
    case ScalarType::Float:
      return "<f4";
    case ScalarType::Double:
      return "<f8";
    case ScalarType::ComplexFloat:
      return "<c8";
    case ScalarType::ComplexDouble:
      return "<c16";
    default:
      return std::nullopt;
  }
}

std::vector<std::byte> npy_header(ScalarType dtype, std::span<const std::int64_t> sizes) {
  const auto descr = npy_descr(dtype);
  PTIO_CHECK(descr.has_value(), ErrorCode::kBadDtype, "numpy has no dtype for ",
             scalar_type_name(dtype));
  std::string shape = "(";
  for (std::size_t i = 0; i < sizes.size(); ++i)
    shape += (i ? ", " : "") + std::to_string(sizes[i]);
  shape += sizes.size() == 1 ? ",)" : ")";
  std::string dict =
      "{'descr': '" + *descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
  // Spare room so the first axis can grow in place (GROWTH_AXIS_MAX_DIGITS = 21).
  if (!sizes.empty()) dict.append(21 - std::to_string(sizes[0]).size(), ' ');
  // _wrap_header: magic (6) + version (2) + length (2 or 4) + dict + padding + '\n', to 64 bytes.
  const bool v2 = dict.size() + 1 + 64 > 0xFFFF;
  const std::size_t prefix = 6 + 2 + (v2 ? 4 : 2);
  const std::size_t hlen = dict.size() + 1;
  const std::size_t pad = 64 - (prefix + hlen) % 64;
  const std::size_t total_len = hlen + pad;
  std::string h = "\x93NUMPY";
  h += static_cast<char>(v2 ? 2 : 1);
  h += '\0';
  for (int i = 0; i < (v2 ? 4 : 2); ++i) h += static_cast<char>((total_len >> (8 * i)) & 0xff);
  h += dict;
  h.append(pad, ' ');
  h += '\n';
  const auto* b = reinterpret_cast<const std::byte*>(h.data());
  return std::vector<std::byte>(b, b + h.size());
}

void save_npz(const NamedTensorList& tensors, io::Writer& out, const NpzOptions& options) {
  std::string bad, no_data;
  std::set<std::string_view> names;
  for (const auto& [name, t] : tensors) {
    PTIO_CHECK(!name.empty(), ErrorCode::kIoInvalidArgument, "npz: empty tensor name");
    PTIO_CHECK(names.insert(name).second, ErrorCode::kIoInvalidArgument, "npz: tensor name '", name,
               "' appears twice");
    if (!t.defined() || t.is_meta() || t.is_sparse())
      no_data += (no_data.empty() ? "" : ", ") + name + (t.is_meta() ? " (meta)" : " (sparse)");
    else if (!npy_descr(t.dtype()))
      bad +=
          (bad.empty() ? "" : ", ") + name + " (" + std::string(scalar_type_name(t.dtype())) + ")";
  }
  if (!bad.empty())
    throw Error(ErrorCode::kBadDtype,
                "numpy has no dtype for: " + bad +
                    " (convert those tensors to float32 first, or write .pt or .safetensors)");
  if (!no_data.empty())
    throw Error(ErrorCode::kBadStorage, "npz needs tensor data; these have none: " + no_data);
  ViewBudget budget(options.view_limits);
  for (const auto& [name, t] : tensors) budget.charge(t, name);
  if (tensors.empty()) {
    // An empty archive as numpy.savez() writes it: the 22-byte end record alone. numpy.load
    // recognises a zip by `PK\3\4` or `PK\5\6` at byte 0; ArchiveWriter's empty archive starts
    // with the zip64 end record (`PK\6\6`), which numpy.load takes for a pickle and refuses.
    std::byte eocd[22] = {std::byte{'P'}, std::byte{'K'}, std::byte{5}, std::byte{6}};
    out.write(eocd, sizeof eocd);
    out.commit();
    return;
  }
  zip::WriterOptions zo;
  zo.top_level = true;
  zip::ArchiveWriter zw(out, "", zo);
  for (const auto& [name, t] : tensors) {
    const std::vector<std::byte> header = npy_header(t.dtype(), t.sizes());
    const std::string record = name + ".npy";
    if (options.compress) {
      std::vector<std::byte> all = header;
      const auto data = t.contiguous_bytes();
      all.insert(all.end(), data.begin(), data.end());
      zw.write_record(record, all, /*compress=*/true);
      continue;
    }
    zw.begin_record(record, header.size() + t.nbytes());
    zw.append(header);
    for_each_row_major_piece(t, kPieceBytes, [&zw](std::span<const std::byte> b, std::int64_t) {
      zw.append(b.data(), b.size());
    });
    zw.end_record();
  }
  zw.finalize();
}

void save_npz(const NamedTensorList& tensors, const std::filesystem::path& path,
              const NpzOptions& options) {
  io::FileWriter w(path);
  save_npz(tensors, w, options);
}

}  // namespace ptio
