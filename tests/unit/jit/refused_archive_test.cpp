// Archives torch.jit.load of PyTorch 1.13 refuses (tests/interop/test_jit_refused_archives.py
// checks the same kinds against real PyTorch): small.pt with one record rewritten. ptio loaded
// each of them; each is now an Error naming the record, the offset and PyTorch's reason.
#include <gtest/gtest.h>

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "ptio/io/writer.h"
#include "ptio/jit/import.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"
#include "small_archive.h"
#include "test_support.h"

namespace ptio::jit {
namespace {

using namespace test_archive;

// Replaces every occurrence of `from` (at least one) in record `name`.
std::function<void(Records&)> replace_in(std::string name, std::string from, std::string to) {
  return [=](Records& recs) {
    std::string& s = record(recs, name);
    std::size_t n = 0;
    for (auto at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) {
      s.replace(at, from.size(), to);
      ++n;
    }
    if (n == 0) throw std::runtime_error("no '" + from + "' in " + name);
  };
}

Module load_edited(const std::function<void(Records&)>& edit,
                   std::optional<Device> device = std::nullopt) {
  const auto b = small_edited(edit);
  return load(std::span<const std::byte>(b), device, nullptr, false);
}

// The Error load_edited throws (a failed expectation when it throws none).
Error refusal(const std::function<void(Records&)>& edit,
              std::optional<Device> device = std::nullopt) {
  try {
    (void)load_edited(edit, device);
  } catch (const Error& e) {
    return e;
  }
  ADD_FAILURE() << "loaded";
  return Error(ErrorCode::kInternal, "loaded");
}

const char* const kCode = "code/__torch__.py";

TEST(JitRefused, TwoMethodsOfOneName) {
  const Error e = refusal(replace_in(kCode, "  def describe(",
                                     "  def forward(self) -> int:\n"
                                     "    return 1\n  def describe("));
  EXPECT_EQ(e.code(), ErrorCode::kJitBadModule);
  EXPECT_EQ(e.record(), "small/code/__torch__.py");
  EXPECT_TRUE(e.offset().has_value());
  EXPECT_NE(e.message().find("Can't redefine method: forward on class: __torch__.Small"),
            std::string::npos)
      << e.message();
}

TEST(JitRefused, AttributeBothParameterAndBuffer) {
  const Error e = refusal(replace_in(kCode, "  __parameters__ = []\n  __buffers__ = [\"count\", ]",
                                     "  __parameters__ = [\"count\", ]\n"
                                     "  __buffers__ = [\"count\", ]"));
  EXPECT_EQ(e.code(), ErrorCode::kJitBadModule);
  EXPECT_NE(e.message().find("Attribute cannot be both a parameter and a buffer"),
            std::string::npos)
      << e.message();
}

// ClassType::addAttribute: "Expecting parameter or buffer to have either None, Tensor or
// Optional[Tensor] type, but got: int".
TEST(JitRefused, ParameterOrBufferThatIsNoTensor) {
  const Error e = refusal(replace_in(kCode, "class Small(Module):\n  __parameters__ = []",
                                     "class Small(Module):\n  __parameters__ = [\"sizes\", ]"));
  EXPECT_EQ(e.code(), ErrorCode::kJitBadModule);
  EXPECT_NE(e.message().find("Expecting parameter or buffer to have either None, Tensor or "
                             "Optional[Tensor] type, but got: List[int]"),
            std::string::npos)
      << e.message();
}

TEST(JitRefused, MethodWithoutSelfAndHookThatIsNoMethod) {
  EXPECT_NE(
      refusal(replace_in(kCode, "  def describe(self: __torch__.Small,\n    prefix: str=\"m\")",
                         "  def describe()"))
          .message()
          .find("methods must have a self argument"),
      std::string::npos);
  EXPECT_NE(refusal(replace_in(kCode, "  __buffers__ = [\"count\", ]",
                               "  __buffers__ = [\"count\", ]\n  __forward_hooks__ = [\"nope\"]"))
                .message()
                .find("__forward_hooks__ names 'nope', which is not a method"),
            std::string::npos);
}

// SourceImporter resolves the annotations of method signatures when it imports the class.
TEST(JitRefused, MethodSignatureNamesAnUndefinedClass) {
  const Error e = refusal(replace_in(kCode, "prefix: str=\"m\")", "prefix: __torch__.Nope)"));
  EXPECT_EQ(e.code(), ErrorCode::kJitMissingClass);
  EXPECT_NE(e.message().find("Unknown type name '__torch__.Nope'"), std::string::npos)
      << e.message();
}

// tree_views.h Const::asIntegral: std::stoll(text, nullptr, 0), out_of_range an error.
TEST(JitRefused, IntegerLiteralsOutOfInt64) {
  for (const std::string& lit :
       std::vector<std::string>{"9223372036854775808", "-9223372036854775809", "0x8000000000000000",
                                "01000000000000000000000", std::string(1000000, '7')}) {
    const Error e = refusal(replace_in(kCode, "k: int=1)", "k: int=" + lit + ")"));
    EXPECT_EQ(e.code(), ErrorCode::kJitSyntax) << lit.substr(0, 30);
    EXPECT_EQ(e.record(), "small/code/__torch__.py");
    EXPECT_NE(e.message().find("Integral constant out of range (must fit in a signed 64 bit "
                               "integer)"),
              std::string::npos)
        << e.message().substr(0, 200);
    EXPECT_LT(e.message().size(), 200u);  // a long literal is shown cut
    // The offset is the literal's (its '-' included) in the code record.
    zip::ArchiveReader ar(test::source_dir() / "tests/data/jit/small.pt");
    const auto text = test::string_of(ar.read(kCode));
    EXPECT_EQ(e.offset().value_or(0), text.find("k: int=1)") + 7) << lit.substr(0, 30);
  }
  // "--5" is no integer std::stoll reads (PyTorch: ValueError: stoll).
  EXPECT_EQ(refusal(replace_in(kCode, "k: int=1)", "k: int=- -5)")).code(), ErrorCode::kJitSyntax);
  // What PyTorch reads: INT64_MIN (the parser folds the minus), an octal-looking prefix,
  // floats however large (strtod gives inf), hex floats.
  for (const std::string& lit :
       std::vector<std::string>{"-9223372036854775808", "9223372036854775807", "0999",
                                "0x7fffffffffffffff", "1e999", "0x1e"})
    EXPECT_NO_THROW(load_edited(replace_in(kCode, "k: int=1)", "k: int=" + lit + ")"))) << lit;
}

TEST(JitRefused, ValuesLeftOnThePickleStack) {
  for (const char* rec : {"constants.pkl", "data.pkl"}) {
    // One None pushed after the PROTO, below the result.
    const Error e = refusal([&](Records& recs) { record(recs, rec).insert(2, "N"); });
    EXPECT_EQ(e.code(), ErrorCode::kPickleLeftoverStack) << rec;
    EXPECT_EQ(e.record(), std::string("small/") + rec);
    EXPECT_NE(e.message().find("Unpickler expected 1 element on the stack, but found 2"),
              std::string::npos)
        << e.message();
  }
}

// torch::jit::Unpickler::readGlobal knows __torch__ classes and a few globals; torch.load's
// others are "Unknown type name" or "Unpickler found unknown torch global" there.
TEST(JitRefused, GlobalsOnlyTorchLoadKnows) {
  using namespace std::string_literals;
  for (const std::string& global :
       {"ctorch\nSize\n)R"s, "cbuiltins\nset\n)R"s, "ctorch\nfloat32\n"s,
        "c_codecs\nencode\nX\x01\0\0\0aX\x06\0\0\0latin1\x86R"s}) {
    const Error e = refusal(replace_in("data.pkl", "K\x01u", global + "u"));
    EXPECT_EQ(e.code(), ErrorCode::kPickleUnknownGlobal) << e.what();
    EXPECT_EQ(e.record(), "small/data.pkl");
  }
  // The C++ unpickler's own: collections.OrderedDict.
  EXPECT_NO_THROW(load_edited(replace_in("data.pkl", "K\x01u", "ccollections\nOrderedDict\n)Ru")));
}

const std::string kCpuTag(
    "X\x03\0\0\0"
    "cpu",
    8);
std::string tag(const std::string& s) {
  return "X" + std::string(1, static_cast<char>(s.size())) + std::string(3, '\0') + s;
}

// torch::jit::Unpickler: `at::Device device(location)` for every storage, map_location or not;
// tensors then go to cuda/xpu/meta/hpu or stay on the CPU, anything else is an error.
TEST(JitRefused, StorageLocationsThatAreNoDevice) {
  for (const std::optional<Device>& map : {std::optional<Device>(), std::optional(Device())}) {
    const Error e = refusal(replace_in("data.pkl", kCpuTag, tag("xyz")), map);
    EXPECT_EQ(e.code(), ErrorCode::kBadDevice);
    EXPECT_EQ(e.record(), "small/data.pkl");
    EXPECT_TRUE(e.offset().has_value());
    EXPECT_NE(e.message().find("device type at start of device string: xyz"), std::string::npos)
        << e.message();
  }
  const Error mps = refusal(replace_in("data.pkl", kCpuTag, tag("mps")));
  EXPECT_EQ(mps.code(), ErrorCode::kBadDevice);
  EXPECT_NE(mps.message().find("supported devices include CPU, CUDA and HPU, however got MPS"),
            std::string::npos)
      << mps.message();
  EXPECT_EQ(refusal([](Records&) {}, Device::parse("xla")).code(), ErrorCode::kBadDevice);
  const Module meta = load_edited(replace_in("data.pkl", kCpuTag, tag("meta")));
  EXPECT_EQ(meta.state_dict().items()[0].second.device().str(), "meta");
  const Module mapped = load_edited(replace_in("data.pkl", kCpuTag, tag("cuda:1")), Device());
  EXPECT_EQ(mapped.state_dict().items()[0].second.device().str(), "cpu");
}

// torch::jit::Unpickler reads a storage key with toStringRef(): torch.load's int keys are errors.
TEST(JitRefused, StorageKeyThatIsNoString) {
  const Error e = refusal([](Records& recs) {
    std::string& d = record(recs, "data.pkl");
    const std::string key(
        "X\x01\0\0\0"
        "0",
        6);
    const auto at = d.find(key);
    ASSERT_NE(at, std::string::npos);
    d.replace(at, key.size(), "K\x00", 2);
  });
  EXPECT_EQ(e.code(), ErrorCode::kBadPersistentId);
  EXPECT_EQ(e.record(), "small/data.pkl");
  EXPECT_NE(e.message().find("must be a str, got int"), std::string::npos) << e.message();
}

// SourceImporter keeps a file's classes in a map by name: the later of two is the class.
TEST(JitRefused, TwoClassesOfOneNameTheLaterIsTheClass) {
  const Module m = load_edited([](Records& recs) {
    std::string& s = record(recs, kCode);
    const auto at = s.find("class Mode(Enum):");
    ASSERT_NE(at, std::string::npos);
    s += s.substr(at) + "  THIRD = \"third\"\n";
  });
  const ClassType* mode = m.compilation_unit().get_class("__torch__.Mode");
  ASSERT_NE(mode, nullptr);
  EXPECT_EQ(mode->enum_values().size(), 3u);
}

}  // namespace
}  // namespace ptio::jit
