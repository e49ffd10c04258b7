// repr(tensor) as torch/_tensor_str.py (PyTorch 1.13) builds it: _Formatter, _tensor_str,
// _vector_str, get_summarized_data, _add_suffixes.
#include "tensor_repr.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <optional>
#include <vector>

#include "elements.h"
#include "ptio/core/ivalue.h"
#include "ptio/error.h"

namespace ptio::cli {
namespace {

std::string fmt(const char* spec, int prec, double v) {
  char buf[512];
  std::snprintf(buf, sizeof buf, spec, prec, v);
  return buf;
}

// Python's '{:.Nf}' / '{:.Ne}' / '{:.0f}' (glibc's printf rounds the exact binary value as
// Python's dtoa does; nan/inf print as "nan"/"inf" in both).
std::string fixed(double v, int prec) {
  return fmt("%.*f", prec, v);
}
std::string sci(double v, int prec) {
  return fmt("%.*e", prec, v);
}

// One element source: the flattened, row-major values of a (dequantized) tensor.
struct Values {
  const Elements* e;
  bool floating;  // floating formatter (float dtypes, complex parts, dequantized)
  bool imag;      // read the imaginary part
  double get(std::int64_t i) const { return imag ? e->imag(i) : e->real(i); }
  std::string int_str(std::int64_t i) const {
    if (e->dtype() == ScalarType::Bool) return e->as_int(i) ? "True" : "False";
    if (e->kind() == ElementKind::kUnsigned) return std::to_string(e->as_uint(i));
    return std::to_string(e->as_int(i));
  }
};

// _Formatter over the elements at `indices`.
class Formatter {
 public:
  Formatter(const Values& v, const std::vector<std::int64_t>& indices, int precision)
      : v_(v), prec_(precision) {
    if (!v.floating) {
      for (auto i : indices) width_ = std::max(width_, v.int_str(i).size());
      return;
    }
    std::vector<double> nz;
    for (auto i : indices) {
      const double x = v.get(i);
      if (std::isfinite(x) && x != 0) nz.push_back(x);
    }
    if (nz.empty()) return;
    double mn = INFINITY, mx = 0;
    for (double x : nz) {
      mn = std::min(mn, std::fabs(x));
      mx = std::max(mx, std::fabs(x));
    }
    for (double x : nz)
      if (x != std::ceil(x)) {
        int_mode_ = false;
        break;
      }
    if (int_mode_) {
      if (mx / mn > 1000. || mx > 1.e8) {
        sci_mode_ = true;
        for (double x : nz) width_ = std::max(width_, sci(x, prec_).size());
      } else {
        for (double x : nz) width_ = std::max(width_, fixed(x, 0).size() + 1);
      }
    } else if (mx / mn > 1000. || mx > 1.e8 || mn < 1.e-4) {
      sci_mode_ = true;
      for (double x : nz) width_ = std::max(width_, sci(x, prec_).size());
    } else {
      for (double x : nz) width_ = std::max(width_, fixed(x, prec_).size());
    }
  }
  std::size_t width() const { return width_; }
  std::string format(std::int64_t i) const { return pad(raw(i)); }
  std::string format_value(double x) const {
    std::string r;
    if (sci_mode_) {
      r = sci(x, prec_);
    } else if (int_mode_) {
      r = fixed(x, 0);
      if (!std::isinf(x) && !std::isnan(x)) r += '.';
    } else {
      r = fixed(x, prec_);
    }
    return pad(r);
  }

 private:
  std::string raw(std::int64_t i) const {
    if (!v_.floating) return v_.int_str(i);
    return format_value(v_.get(i));
  }
  std::string pad(std::string r) const {
    return r.size() < width_ ? std::string(width_ - r.size(), ' ') + r : r;
  }
  Values v_;
  int prec_;
  bool int_mode_ = true;
  bool sci_mode_ = false;
  std::size_t width_ = 1;
};

// get_summarized_data: the flat indices (row-major, `strides`) the formatter looks at.
void summarized(const std::vector<std::int64_t>& sizes, const std::vector<std::int64_t>& strides,
                bool summarize, std::int64_t edge, std::size_t d, std::int64_t base,
                std::vector<std::int64_t>& out) {
  if (d == sizes.size()) {
    out.push_back(base);
    return;
  }
  const std::int64_t n = sizes[d];
  auto visit = [&](std::int64_t i) {
    summarized(sizes, strides, summarize, edge, d + 1, base + i * strides[d], out);
  };
  if (summarize && n > 2 * edge) {
    for (std::int64_t i = 0; i < edge; ++i) visit(i);
    for (std::int64_t i = n - edge; i < n; ++i) visit(i);
  } else {
    for (std::int64_t i = 0; i < n; ++i) visit(i);
  }
}

struct Printer {
  const std::vector<std::int64_t>& sizes;
  std::vector<std::int64_t> strides;  // row-major, in elements
  const PrintOptions& o;
  bool summarize;
  const Formatter& f1;
  const Formatter* f2;  // imaginary part

  std::string value(std::int64_t i) const {
    if (!f2) return f1.format(i);
    std::string re = f1.format(i);
    std::string im = f2->format(i) + "j";
    im.erase(0, im.find_first_not_of(' '));
    if (im[0] == '+' || im[0] == '-') return re + im;
    return re + "+" + im;
  }

  std::string vector_str(std::int64_t base, std::size_t d, int indent) const {
    std::size_t element_length = f1.width() + 2;
    if (f2) element_length += f2->width() + 1;
    const auto per_line = std::max<std::int64_t>(
        1, static_cast<std::int64_t>(std::floor(static_cast<double>(o.linewidth - indent) /
                                                static_cast<double>(element_length))));
    std::vector<std::string> data;
    const std::int64_t n = sizes[d];
    if (summarize && n > 2 * o.edgeitems) {
      for (std::int64_t i = 0; i < o.edgeitems; ++i) data.push_back(value(base + i * strides[d]));
      data.push_back(" ...");
      for (std::int64_t i = n - o.edgeitems; i < n; ++i)
        data.push_back(value(base + i * strides[d]));
    } else {
      for (std::int64_t i = 0; i < n; ++i) data.push_back(value(base + i * strides[d]));
    }
    std::string out = "[";
    for (std::size_t i = 0; i < data.size(); ++i) {
      if (i)
        out += static_cast<std::int64_t>(i) % per_line == 0
                   ? ",\n" + std::string(static_cast<std::size_t>(indent + 1), ' ')
                   : ", ";
      out += data[i];
    }
    return out + "]";
  }

  std::string str(std::int64_t base, std::size_t d, int indent) const {
    const std::size_t dim = sizes.size() - d;
    if (dim == 0) return value(base);
    if (dim == 1) return vector_str(base, d, indent);
    std::vector<std::string> slices;
    const std::int64_t n = sizes[d];
    auto sub = [&](std::int64_t i) { return str(base + i * strides[d], d + 1, indent + 1); };
    if (summarize && n > 2 * o.edgeitems) {
      for (std::int64_t i = 0; i < o.edgeitems; ++i) slices.push_back(sub(i));
      slices.push_back("...");
      for (std::int64_t i = n - o.edgeitems; i < n; ++i) slices.push_back(sub(i));
    } else {
      for (std::int64_t i = 0; i < n; ++i) slices.push_back(sub(i));
    }
    const std::string sep =
        "," + std::string(dim - 1, '\n') + std::string(static_cast<std::size_t>(indent + 1), ' ');
    std::string out = "[";
    for (std::size_t i = 0; i < slices.size(); ++i) out += (i ? sep : "") + slices[i];
    return out + "]";
  }
};

// _tensor_str for a non-empty dense tensor whose values `e` holds.
std::string tensor_str(const Elements& e, const std::vector<std::int64_t>& sizes, bool floating,
                       int indent, const PrintOptions& o) {
  const std::vector<std::int64_t> strides = contiguous_strides(sizes);
  const bool summarize = e.numel() > o.threshold;
  std::vector<std::int64_t> idx;
  summarized(sizes, strides, summarize, o.edgeitems, 0, 0, idx);
  const bool complex = e.kind() == ElementKind::kComplex;
  const Formatter f1(Values{&e, floating || complex, false}, idx, o.precision);
  std::optional<Formatter> f2;
  if (complex) f2.emplace(Values{&e, true, true}, idx, o.precision);
  const Printer q{sizes, strides, o, summarize, f1, f2 ? &*f2 : nullptr};
  return q.str(0, 0, indent);
}

std::string size_tuple(const std::vector<std::int64_t>& s) {
  std::string out = "(";
  for (std::size_t i = 0; i < s.size(); ++i) out += (i ? ", " : "") + std::to_string(s[i]);
  return out + (s.size() == 1 ? ",)" : ")");
}

std::string add_suffixes(const std::string& tensor_str, const std::vector<std::string>& suffixes,
                         int indent, const PrintOptions& o) {
  std::string out = tensor_str;
  const auto nl = tensor_str.rfind('\n');
  // Python: len(s) - s.rfind('\n') + 1, with rfind -1 when absent.
  std::int64_t last = static_cast<std::int64_t>(tensor_str.size()) -
                      (nl == std::string::npos ? -1 : static_cast<std::int64_t>(nl)) + 1;
  for (const auto& s : suffixes) {
    const auto len = static_cast<std::int64_t>(s.size());
    if (last + len + 2 > o.linewidth) {
      out += ",\n" + std::string(static_cast<std::size_t>(indent), ' ') + s;
      last = indent + len;
    } else {
      out += ", " + s;
      last += len + 2;
    }
  }
  return out + ")";
}

std::string qscheme_name(QScheme q) {
  switch (q) {
    case QScheme::kPerTensorAffine:
      return "torch.per_tensor_affine";
    case QScheme::kPerChannelAffine:
      return "torch.per_channel_affine";
    case QScheme::kPerTensorSymmetric:
      return "torch.per_tensor_symmetric";
    case QScheme::kPerChannelSymmetric:
      return "torch.per_channel_symmetric";
    case QScheme::kPerChannelAffineFloatQParams:
      return "torch.per_channel_affine_float_qparams";
  }
  return "?";
}

}  // namespace

std::string tensor_repr(const Tensor& t, const PrintOptions& o) {
  if (t.is_sparse())
    throw Error(ErrorCode::kBadDtype,
                "sparse tensors are not printed by `ptio cat` yet; `ptio show` lists their parts");
  const std::string prefix = "tensor(";
  const int indent = static_cast<int>(prefix.size());
  std::vector<std::string> suffixes;
  const ScalarType dt = t.dtype();
  if (!t.device().is_cpu()) suffixes.push_back("device='" + t.device().str() + "'");
  const bool has_default_dtype = dt == ScalarType::Float || dt == ScalarType::ComplexFloat ||
                                 dt == ScalarType::Long || dt == ScalarType::Bool;
  const std::string dtype_suffix = "dtype=torch." + std::string(scalar_type_name(dt));
  std::string body;
  if (t.is_quantized()) {
    suffixes.push_back("size=" + size_tuple(t.sizes()));
    if (!has_default_dtype) suffixes.push_back(dtype_suffix);
    PTIO_CHECK(t.quantizer().has_value(), ErrorCode::kBadStorage,
               "quantized tensor without a quantizer");
    const Quantizer& q = *t.quantizer();
    suffixes.push_back("quantization_scheme=" + qscheme_name(q.qscheme));
    if (q.qscheme == QScheme::kPerTensorAffine || q.qscheme == QScheme::kPerTensorSymmetric) {
      suffixes.push_back("scale=" + float_repr(q.scale));
      suffixes.push_back("zero_point=" + std::to_string(q.zero_point));
    } else {
      PTIO_CHECK(q.scales && q.zero_points, ErrorCode::kBadStorage,
                 "per-channel quantizer without scales");
      suffixes.push_back("scale=" + tensor_repr(*q.scales, o));
      suffixes.push_back("zero_point=" + tensor_repr(*q.zero_points, o));
      suffixes.push_back("axis=" + std::to_string(q.axis));
    }
    if (t.numel() == 0) {
      body = "[]";
    } else {
      const Elements e(t);
      body = tensor_str(e, t.sizes(), true, indent, o);
    }
  } else if (t.is_meta()) {
    suffixes.push_back("size=" + size_tuple(t.sizes()));
    if (dt != ScalarType::Float) suffixes.push_back(dtype_suffix);
    body = "...";
  } else if (t.numel() == 0) {
    if (t.dim() != 1) suffixes.push_back("size=" + size_tuple(t.sizes()));
    if (dt != ScalarType::Float) suffixes.push_back(dtype_suffix);
    body = "[]";
  } else {
    if (!has_default_dtype) suffixes.push_back(dtype_suffix);
    const Elements e(t);
    body = tensor_str(e, t.sizes(), e.kind() == ElementKind::kFloat, indent, o);
  }
  if (t.requires_grad()) suffixes.push_back("requires_grad=True");
  std::string out = add_suffixes(prefix + body, suffixes, indent, o);
  if (t.is_parameter()) out = "Parameter containing:\n" + out;
  return out;
}

}  // namespace ptio::cli
