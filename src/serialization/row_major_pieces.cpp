// for_each_row_major_piece: a tensor's row-major bytes in bounded pieces.
#include "serialization/row_major_pieces.h"

#include <algorithm>
#include <cstring>
#include <vector>

namespace ptio::detail {

void for_each_row_major_piece(const Tensor& t,
                              const std::function<void(const std::byte*, std::size_t)>& sink,
                              std::size_t piece_bytes) {
  if (!t.defined() || t.is_meta() || t.is_sparse() || t.numel() == 0 || t.nbytes() == 0) return;
  const std::size_t es = t.element_size();
  const std::size_t total = t.nbytes();
  const bool packed = es == 0 || total != static_cast<std::size_t>(t.numel()) * es;
  const std::size_t per = std::max<std::size_t>(1, piece_bytes / (es ? es : 1));
  if (t.is_contiguous() || packed) {
    const std::byte* base = t.data_ptr();
    const Storage& st = t.storage();
    const std::size_t step = packed ? std::max<std::size_t>(1, piece_bytes) : per * es;
    for (std::size_t done = 0; done < total;) {
      const std::size_t k = std::min(step, total - done);
      sink(base + done, k);
      st.release_pages(static_cast<std::size_t>(base + done - st.data()), k);
      done += k;
    }
    return;
  }
  const auto& sizes = t.sizes();
  const auto& strides = t.strides();
  const std::size_t nd = sizes.size();
  const std::int64_t n = t.numel();
  const auto ies = static_cast<std::int64_t>(es);
  const std::int64_t inner = sizes[nd - 1], inner_stride = strides[nd - 1];
  const std::byte* base = t.data_ptr();
  std::vector<std::byte> buf(
      static_cast<std::size_t>(std::min<std::int64_t>(n, static_cast<std::int64_t>(per))) * es);
  std::vector<std::int64_t> idx(nd, 0);
  std::int64_t row_off = 0, fill = 0, emitted = 0, col = 0;
  while (emitted + fill < n) {
    const std::int64_t space = static_cast<std::int64_t>(buf.size() / es) - fill;
    const std::int64_t run = std::min(inner - col, space);
    std::byte* dst = buf.data() + fill * ies;
    const std::byte* src = base + (row_off + col * inner_stride) * ies;
    if (inner_stride == 1) {
      std::memcpy(dst, src, static_cast<std::size_t>(run) * es);
    } else {
      for (std::int64_t k = 0; k < run; ++k)
        std::memcpy(dst + k * ies, src + k * inner_stride * ies, es);
    }
    fill += run;
    col += run;
    if (col == inner) {  // next row
      col = 0;
      for (std::size_t d = nd - 1; d-- > 0;) {
        if (++idx[d] < sizes[d]) {
          row_off += strides[d];
          break;
        }
        row_off -= strides[d] * (sizes[d] - 1);
        idx[d] = 0;
      }
    }
    if (static_cast<std::size_t>(fill) * es == buf.size() || emitted + fill == n) {
      sink(buf.data(), static_cast<std::size_t>(fill) * es);
      emitted += fill;
      fill = 0;
    }
  }
}

}  // namespace ptio::detail
