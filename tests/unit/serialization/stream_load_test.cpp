// ptio::load(std::istream&) on streams that cannot seek (a pipe, a socket): read into memory and
// loaded, as jit::load(istream) does (it was Error(kIoReadFailed) "stream is not seekable"). A
// stream that fails midway is a clear kIoReadFailed saying after how many bytes; one that ends
// early is the zip reader's truncation error.
#include <gtest/gtest.h>
#include <unistd.h>

#include <csignal>
#include <cstring>
#include <ext/stdio_filebuf.h>
#include <istream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <thread>

#include "ptio/io/writer.h"
#include "ptio/serialization/load.h"
#include "ptio/serialization/save.h"
#include "ptio/serialization/state_dict.h"
#include "test_support.h"

namespace ptio {
namespace {

// A checkpoint of ~1.2 MB ({"w": float32[300000] with w[i] = i, "b": int64[3]}), as ptio::save
// writes it (the zip layout torch.save writes).
std::vector<std::byte> checkpoint() {
  std::vector<float> w(300000);
  for (std::size_t i = 0; i < w.size(); ++i) w[i] = static_cast<float>(i);
  const std::int64_t b[3] = {7, -8, 9};
  StateDict sd;
  sd.insert("w", Tensor::from_bytes(ScalarType::Float, {300000},
                                    std::as_bytes(std::span<const float>(w))));
  sd.insert("b", Tensor::from_bytes(ScalarType::Long, {3},
                                    std::as_bytes(std::span<const std::int64_t>(b))));
  io::MemoryWriter out;
  save(sd.to_ivalue(), out);
  return out.release();
}

void expect_checkpoint(const IValue& v) {
  const StateDict sd(v);
  ASSERT_EQ(sd.size(), 2u);
  const Tensor& w = sd.at("w");
  ASSERT_EQ(w.numel(), 300000);
  EXPECT_EQ(w.data<float>()[299999], 299999.0f);
  EXPECT_EQ(sd.at("b").data<std::int64_t>()[1], -8);
}

// A non-seekable stream over memory, delivering at most `chunk` bytes per underflow and throwing
// once `fail_at` bytes were delivered (never when fail_at is SIZE_MAX).
class PipeLikeBuf : public std::streambuf {
 public:
  PipeLikeBuf(std::span<const std::byte> bytes, std::size_t chunk, std::size_t fail_at = SIZE_MAX)
      : bytes_(bytes), chunk_(chunk), fail_at_(fail_at) {}

 protected:
  int_type underflow() override {
    if (pos_ >= fail_at_) throw std::runtime_error("connection reset");
    if (pos_ >= bytes_.size()) return traits_type::eof();
    const std::size_t n = std::min({chunk_, bytes_.size() - pos_, fail_at_ - pos_});
    std::memcpy(buf_, bytes_.data() + pos_, n);
    pos_ += n;
    setg(buf_, buf_, buf_ + n);
    return traits_type::to_int_type(buf_[0]);
  }
  pos_type seekoff(off_type, std::ios::seekdir, std::ios::openmode) override {
    return pos_type(off_type(-1));
  }
  pos_type seekpos(pos_type, std::ios::openmode) override { return pos_type(off_type(-1)); }

 private:
  std::span<const std::byte> bytes_;
  std::size_t chunk_, fail_at_, pos_ = 0;
  char buf_[4096];
};

TEST(StreamLoad, RealPipe) {
  const auto bytes = checkpoint();
  // The writer sees EPIPE, not a fatal SIGPIPE, should the load stop reading early.
  const auto old_handler = std::signal(SIGPIPE, SIG_IGN);
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  std::thread writer([&] {
    std::size_t off = 0;
    while (off < bytes.size()) {
      const auto n = ::write(fds[1], bytes.data() + off, bytes.size() - off);
      if (n <= 0) break;
      off += static_cast<std::size_t>(n);
    }
    ::close(fds[1]);
  });
  __gnu_cxx::stdio_filebuf<char> buf(fds[0], std::ios::in);  // closes fds[0]
  std::istream in(&buf);
  IValue v;
  std::string error;
  try {
    v = load(in);
  } catch (const std::exception& e) {
    error = e.what();
  }
  buf.close();  // a writer still blocked on a full pipe gets EPIPE
  writer.join();
  std::signal(SIGPIPE, old_handler);
  ASSERT_EQ(error, "");
  expect_checkpoint(v);
}

TEST(StreamLoad, NonSeekableStreambuf) {
  const auto bytes = checkpoint();
  for (const std::size_t chunk : {std::size_t{1} << 12, std::size_t{7}}) {
    PipeLikeBuf buf(bytes, chunk);
    std::istream in(&buf);
    expect_checkpoint(load(in));
  }
}

TEST(StreamLoad, FailingMidwayIsAClearError) {
  const auto bytes = checkpoint();
  PipeLikeBuf buf(bytes, 4096, 500000);
  std::istream in(&buf);
  try {
    (void)load(in);
    ADD_FAILURE() << "loaded from a failed stream";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kIoReadFailed);
    // istream::read drops the count of the read the exception interrupted: the bytes kept.
    const std::string what = e.what();
    const auto at = what.find("the stream failed (badbit) after ");
    ASSERT_NE(at, std::string::npos) << what;
    const auto n = std::stoull(what.substr(at + 33));
    EXPECT_GT(n, 400000u) << what;
    EXPECT_LE(n, 500000u) << what;
    EXPECT_NE(what.find("nothing was loaded"), std::string::npos) << what;
  }
}

TEST(StreamLoad, EndingEarlyIsTheFormatsError) {
  const auto bytes = checkpoint();
  PipeLikeBuf buf(std::span<const std::byte>(bytes).first(bytes.size() - 100), 4096);
  std::istream in(&buf);
  try {
    (void)load(in);
    ADD_FAILURE() << "loaded a truncated stream";
  } catch (const Error& e) {
    EXPECT_NE(e.code(), ErrorCode::kIoReadFailed) << e.what();  // not "not seekable"
  }
  PipeLikeBuf empty(std::span<const std::byte>(), 4096);
  std::istream in2(&empty);
  EXPECT_THROW((void)load(in2), Error);
}

TEST(StreamLoad, SeekableStreamStillReadInPlace) {
  const auto bytes = checkpoint();
  std::string s(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  std::istringstream in(s);
  expect_checkpoint(load(in));
}

// A non-seekable stream that never ends (zeros), counting what it delivered.
class EndlessBuf : public std::streambuf {
 public:
  std::size_t delivered = 0;

 protected:
  int_type underflow() override {
    delivered += sizeof buf_;
    setg(buf_, buf_, buf_ + sizeof buf_);
    return traits_type::to_int_type(buf_[0]);
  }
  pos_type seekoff(off_type, std::ios::seekdir, std::ios::openmode) override {
    return pos_type(off_type(-1));
  }
  pos_type seekpos(pos_type, std::ios::openmode) override { return pos_type(off_type(-1)); }

 private:
  char buf_[4096] = {};
};

// A stream that cannot seek is held in memory only up to limits.io.max_stream_bytes: an endless
// one is refused after the limit (main read it until memory ran out), a longer one than the limit
// too, naming the field; one within it loads.
TEST(StreamLoad, NonSeekableStreamIsBoundedByMaxStreamBytes) {
  LoadOptions o;
  o.limits.io.max_stream_bytes = std::uint64_t{1} << 20;
  EndlessBuf endless;
  std::istream in(&endless);
  try {
    (void)load(in, o);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("more than 1048576 bytes (Limits::io.max_stream_bytes)"),
              std::string::npos)
        << e.what();
    EXPECT_EQ(e.file(), "<istream>");
  }
  EXPECT_LE(endless.delivered, (std::size_t{1} << 20) + 4096);  // read up to the limit, no more

  const auto bytes = checkpoint();
  o.limits.io.max_stream_bytes = bytes.size();
  PipeLikeBuf exact(bytes, 4096);
  std::istream in_exact(&exact);
  expect_checkpoint(load(in_exact, o));
  o.limits.io.max_stream_bytes = bytes.size() - 1;
  PipeLikeBuf longer(bytes, 4096);
  std::istream in_longer(&longer);
  EXPECT_PTIO_ERROR((void)load(in_longer, o), ErrorCode::kLimitExceeded);
  // A seekable stream is read in place, whatever its size.
  std::istringstream seekable(
      std::string(reinterpret_cast<const char*>(bytes.data()), bytes.size()));
  expect_checkpoint(load(seekable, o));
}

// The limit lifted (UINT64_MAX, "no limit"): the stream loads. StreamBlocks asked for
// `limit - size + 1` bytes, which wrapped to 0 there: it read nothing, forever, adding an empty
// block each turn (a hang with unbounded memory).
TEST(StreamLoad, NonSeekableStreamLoadsWithTheLimitLifted) {
  LoadOptions o;
  o.limits.io.max_stream_bytes = std::numeric_limits<std::uint64_t>::max();
  const auto bytes = checkpoint();
  PipeLikeBuf pipe(bytes, 4096);
  std::istream in(&pipe);
  expect_checkpoint(load(in, o));
}

}  // namespace
}  // namespace ptio
