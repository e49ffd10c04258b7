// ptio::load entry points: pick the adapter, detect the format, dispatch to the container reader.
#include "ptio/serialization/load.h"

#include <algorithm>
#include <cstring>
#include <istream>
#include <vector>

#include "io/stream_bytes.h"
#include "ptio/error.h"
#include "ptio/io/magic.h"
#include "ptio/pickle/opcodes.h"
#include "ptio/serialization/format.h"
#include "serialization/loaders.h"
#include "serialization/torch_globals.h"

namespace ptio {

namespace {

bool starts_with_opcode(const io::ReadAdapter& in) {
  if (in.size() == 0) return false;
  std::uint8_t b = 0;
  in.read(0, &b, 1);
  return pickle::opcode_info(b) != nullptr;
}

IValue dispatch(const io::ReadAdapter& in, const std::shared_ptr<const io::ReadAdapter>& shared,
                const LoadOptions& options) {
  detail::validate_map_location(options.map_location);
  try {
    // A zip at byte 0 goes straight to the zip reader, which refuses TorchScript and mobile
    // archives itself (reading the central directory once, not twice).
    if (io::identify_magic(in) == io::FileMagic::kZip) {
      if (shared) return detail::load_zip(shared, options, true);
      // Borrowed adapter: storages must not point into it.
      std::shared_ptr<const io::ReadAdapter> borrowed(&in, [](const io::ReadAdapter*) {});
      return detail::load_zip(borrowed, options, false);
    }
    const FormatInfo info = detect_format(in);
    if (info.format == FileFormat::kText && starts_with_opcode(in)) {
      // torch.load reads every non-zip as a legacy stream, so a protocol-0 pickle (text) is
      // unpickled and its globals judged; only when it is no pickle at all is it "a text file".
      try {
        return detail::load_legacy(in, options);
      } catch (const Error& e) {
        if (e.code() == ErrorCode::kUnsafeGlobal || e.code() == ErrorCode::kLegacyFormat) throw;
      }
    }
    require_loadable(info, in.name());
    if (info.format == FileFormat::kTar) return detail::load_tar(in, options);
    return detail::load_legacy(in, options);
  } catch (Error& e) {
    e.add_context(in.name());
    throw;
  }
}

}  // namespace

IValue load(const std::filesystem::path& path, const LoadOptions& options) {
  detail::validate_map_location(options.map_location);
  return load(std::shared_ptr<const io::ReadAdapter>(std::make_shared<io::MmapReadAdapter>(path)),
              options);
}

IValue load(std::shared_ptr<const io::ReadAdapter> in, const LoadOptions& options) {
  PTIO_CHECK(in != nullptr, ErrorCode::kIoInvalidArgument, "load: null ReadAdapter");
  return dispatch(*in, in, options);
}

IValue load(const io::ReadAdapter& in, const LoadOptions& options) {
  return dispatch(in, nullptr, options);
}

IValue load(std::istream& in, const LoadOptions& options) {
  if (io::detail::seekable(in)) {
    io::IStreamReadAdapter adapter(in);
    return dispatch(adapter, nullptr, options);
  }
  // A pipe or socket: the format readers need random access (the zip directory is at the end), so
  // the stream is read into memory first, as jit::load(istream) and torch.load(io.BytesIO(
  // f.read())) do, up to limits.io.max_stream_bytes. The blocks hold the stream's bytes and are
  // freed when the load returns; storages are copied out of them (owned and writable, as from a
  // seekable stream), so peak memory is the stream's size plus the loaded storages.
  detail::validate_map_location(options.map_location);  // before reading the whole stream
  const io::detail::StreamBlocks blocks(in, options.limits.io.max_stream_bytes, "<istream>");
  const io::CallbackReadAdapter adapter(
      blocks.size(),
      [&blocks](std::uint64_t pos, void* buf, std::size_t n) { return blocks.read(pos, buf, n); },
      "<istream>");
  return dispatch(adapter, nullptr, options);
}

IValue load(std::span<const std::byte> bytes, const LoadOptions& options) {
  auto adapter = std::make_shared<io::MemoryReadAdapter>(bytes);
  if (options.mmap) return dispatch(*adapter, adapter, options);
  return dispatch(*adapter, nullptr, options);
}

}  // namespace ptio
