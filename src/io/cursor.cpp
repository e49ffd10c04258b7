// Cursor error paths (kept out of line so the inline readers stay small).
#include "ptio/io/cursor.h"

namespace ptio::io {

void Cursor::fail(std::size_t wanted, std::size_t at) const {
  throw Error(truncated_code_,
              detail::concat("needed ", wanted, " bytes but only ",
                             at <= data_.size() ? data_.size() - at : 0,
                             " remain (the data ends at ", detail::hex(base_ + data_.size()), ")"),
              file_, record_, base_ + at);
}

void Cursor::error(ErrorCode code, std::string message) const {
  throw Error(code, std::move(message), file_, record_, base_ + pos_);
}

void Cursor::error_at(std::uint64_t abs_offset, ErrorCode code, std::string message) const {
  throw Error(code, std::move(message), file_, record_, abs_offset);
}

}  // namespace ptio::io
