// ptio::jit::load on a module PyTorch 1.13 wrote (tests/data/jit/small.pt, values from
// small.expected.json) and on hostile archives derived from it with ArchiveWriter.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstring>
#include <fstream>
#include <functional>
#include <map>
#include <sstream>

#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/jit/import.h"
#include "ptio/limits.h"
#include "ptio/pickle/pickler.h"
#include "ptio/zip/archive_reader.h"
#include "ptio/zip/archive_writer.h"
#include "small_archive.h"
#include "test_support.h"

namespace ptio::jit {
namespace {

using namespace test_archive;

void drop(std::vector<std::pair<std::string, std::string>>& recs, const std::string& name) {
  std::erase_if(recs, [&](const auto& r) { return r.first == name; });
}

void replace(std::string& s, const std::string& from, const std::string& to) {
  const auto at = s.find(from);
  ASSERT_NE(at, std::string::npos) << from;
  s.replace(at, from.size(), to);
}

TEST(JitImport, SmallModuleMatchesPyTorch) {
  ExtraFilesMap extra{{"meta.txt", ""}, {"absent.txt", "kept"}};
  const Module m = load(small_path(), std::nullopt, &extra);
  // Values torch.jit.load reported (tests/data/jit/small.expected.json).
  EXPECT_EQ(m.qualified_name().qualified_name(), "__torch__.Small");
  const StateDict sd = m.state_dict();
  ASSERT_EQ(sd.size(), 3u);
  EXPECT_EQ(sd.items()[0].first, "inner.count");
  EXPECT_EQ(sd.items()[1].first, "inner.lin.weight");
  EXPECT_EQ(sd.items()[2].first, "inner.lin.bias");
  EXPECT_EQ(sd.items()[0].second.dtype(), ScalarType::Int);
  EXPECT_EQ(sd.items()[1].second.sizes(), (std::vector<std::int64_t>{3, 2}));
  EXPECT_EQ(sd.items()[0].second.data<std::int32_t>()[1], 5);
  EXPECT_TRUE(sd.items()[1].second.storage().is_view());  // zero-copy from the mapping
  ASSERT_NE(m.find_method("forward"), nullptr);
  EXPECT_EQ(m.find_method("forward")->schema(),
            "forward(__torch__.Small self, Tensor x, int k=1) -> Tensor");
  EXPECT_EQ(m.find_method("describe")->schema(),
            "describe(__torch__.Small self, str prefix=\"m\") -> str[]");
  const auto modules = m.named_modules();
  ASSERT_EQ(modules.size(), 3u);
  EXPECT_EQ(modules[1].first, "inner");
  EXPECT_EQ(modules[2].first, "inner.lin");
  EXPECT_EQ(modules[2].second.qualified_name().qualified_name(),
            "__torch__.torch.nn.modules.linear.Linear");
  EXPECT_FALSE(m.is_training());
  EXPECT_EQ(m.attr("sizes").as_list().type_tag, "List[int]");
  EXPECT_EQ(m.attr("sizes").as_list().elements.size(), 3u);
  EXPECT_EQ(m.attr("names").as_dict().find("a")->as_int(), 1);
  EXPECT_EQ(m.attr("mode").as_enum().name, "SLOW");
  EXPECT_EQ(m.attr("mode").as_enum().value.as_string(), "slow");
  EXPECT_EQ(m.named_parameters().size(), 2u);
  EXPECT_EQ(m.named_buffers().size(), 1u);
  EXPECT_EQ(m.named_children().size(), 1u);
  ASSERT_EQ(m.type().constants().size(), 1u);
  EXPECT_EQ(m.type().constants()[0].name, "eps");
  EXPECT_EQ(m.type().constants()[0].value, "0.5");
  EXPECT_EQ(extra["meta.txt"], "hello");
  EXPECT_EQ(extra["absent.txt"], "kept");
  EXPECT_EQ(m.archive().extra_files, std::vector<std::string>{"meta.txt"});
  EXPECT_EQ(m.archive().version, 3u);
  // The .debug_pkl PyTorch wrote: forward's source starts at make_fixtures.py line 44
  // (`def forward`), Inner.forward's at line 29; describe has no ranged node, so no location.
  const auto& loc = m.find_method("forward")->original_location();
  ASSERT_TRUE(loc.has_value());
  EXPECT_TRUE(loc->file.ends_with("make_fixtures.py")) << loc->file;
  EXPECT_EQ(loc->line, 44);
  EXPECT_EQ(m.child("inner").find_method("forward")->original_location()->line, 29);
  EXPECT_FALSE(m.find_method("describe")->original_location().has_value());
  EXPECT_EQ(m.attr_path("inner.lin.bias").as_tensor().numel(), 3);
  EXPECT_NE(m.code().find("class Small(Module):"), std::string::npos);
}

TEST(JitImport, DeviceAndDebugOptions) {
  const Module m = load(small_path(), Device::parse("cuda:1"), nullptr, false);
  EXPECT_EQ(m.state_dict().items()[1].second.device().str(), "cuda:1");
  EXPECT_FALSE(m.find_method("describe")->original_location().has_value());
  EXPECT_EQ(load(small_path()).state_dict().items()[1].second.device().str(), "cpu");
}

TEST(JitImport, StreamAndMemory) {
  std::ifstream f(small_path(), std::ios::binary);
  const Module a = load(f);
  EXPECT_EQ(a.state_dict().size(), 3u);
  const auto bytes = io::read_file(small_path());
  const Module b = load(std::span<const std::byte>(bytes));
  EXPECT_EQ(b.state_dict().items()[2].second.data<float>()[0],
            a.state_dict().items()[2].second.data<float>()[0]);
  EXPECT_EQ(load_extra_files(small_path()).at("meta.txt"), "hello");
}

Module load_bytes(const std::vector<std::byte>& b) {
  return load(std::span<const std::byte>(b));
}

// jit::load with ptio::Limits: each part reaches the reader it bounds; each bound trips on small
// inputs (small.pt, 3 KB) with the code ptio/limits.h names, and the same input loads within it.
ErrorCode jit_load_code(const std::vector<std::byte>& b, const Limits& limits,
                        bool debug = true) {
  try {
    (void)load(std::span<const std::byte>(b), std::nullopt, nullptr, debug, limits);
  } catch (const Error& e) {
    return e.code();
  }
  return ErrorCode::kInternal;  // loaded
}

TEST(JitImportLimits, TorchScriptSourceBytes) {
  const auto small = io::read_file(small_path());
  Limits l;
  l.jit.max_source_bytes = 900;  // code/__torch__.py is 915 bytes
  try {
    (void)load(std::span<const std::byte>(small), std::nullopt, nullptr, true, l);
    FAIL() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("code/__torch__.py"), std::string::npos) << e.what();
  }
  l.jit.max_source_bytes = 915;
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kInternal);
  // The path, stream and ReadAdapter forms take the limits too.
  l.jit.max_source_bytes = 900;
  EXPECT_PTIO_ERROR(load(small_path(), std::nullopt, nullptr, true, l), ErrorCode::kLimitExceeded);
  std::ifstream f(small_path(), std::ios::binary);
  EXPECT_PTIO_ERROR(load(f, std::nullopt, nullptr, true, l), ErrorCode::kLimitExceeded);
  EXPECT_PTIO_ERROR(
      load(std::shared_ptr<const io::ReadAdapter>(std::make_shared<io::MemoryReadAdapter>(small)),
           std::nullopt, nullptr, true, l),
      ErrorCode::kLimitExceeded);
}

TEST(JitImportLimits, TorchScriptNestingDepth) {
  const auto deep = small_edited([](auto& r) {
    record(r, "code/__torch__.py") += "def deep(x: int) -> int:\n  return " + std::string(20, '(') +
                                      "x" + std::string(20, ')') + "\n";
  });
  Limits l;
  l.jit.max_depth = 16;
  EXPECT_EQ(jit_load_code(deep, l, false), ErrorCode::kLimitExceeded);
  EXPECT_EQ(jit_load_code(deep, Limits{}, false), ErrorCode::kInternal);
  EXPECT_EQ(jit_load_code(io::read_file(small_path()), l), ErrorCode::kInternal);
}

// The trees of all code files share Limits::jit.alloc_*: a tight budget refuses small.pt,
// the defaults read it, and an added code file of a 100,000-element tuple goes over a budget that
// the original files fit in (the budget is shared across files).
TEST(JitImportLimits, TorchScriptTreeBudget) {
  const auto small = io::read_file(small_path());
  Limits l;
  l.jit.alloc_base_bytes = 1000;
  l.jit.alloc_bytes_per_source_byte = 1;
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kLimitExceeded);
  EXPECT_EQ(jit_load_code(small, Limits{}), ErrorCode::kInternal);
  std::string tuple = "def f(x: int) -> int:\n  return (";
  for (int i = 0; i < 100000; ++i) tuple += "1,";
  tuple += ")\n";
  const auto big = small_edited([&](auto& r) { r.emplace_back("code/__torch__/extra.py", tuple); });
  l = {};
  l.jit.alloc_base_bytes = 1 << 20;  // small.pt's files take ~0.1 MiB, the tuple ~16 MiB
  EXPECT_EQ(jit_load_code(big, l), ErrorCode::kLimitExceeded);
  l.jit.alloc_bytes_per_source_byte = 256;
  EXPECT_EQ(jit_load_code(big, l), ErrorCode::kInternal);
  try {
    l.jit.alloc_bytes_per_source_byte = 64;
    (void)load(std::span<const std::byte>(big), std::nullopt, nullptr, true, l);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("code/__torch__/extra.py"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("Limits::jit.alloc_base_bytes"), std::string::npos)
        << e.what();
  }
}

TEST(JitImportLimits, PickleParts) {
  const auto small = io::read_file(small_path());
  Limits l;
  l.pickle.max_memo_entries = 2;
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kPickleMemoLimit);
  l = {};
  l.pickle.max_depth = 2;
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kPickleDepthLimit);
  l = {};
  l.pickle.max_container_length = 2;
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kPickleContainerLimit);
  l = {};
  l.pickle.alloc_base_bytes = 64;
  l.pickle.alloc_bytes_per_input_byte = 1;
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kPickleAllocationLimit);
}

TEST(JitImportLimits, ZipParts) {
  const auto small = io::read_file(small_path());
  Limits l;
  l.zip.max_entries = 10;  // small.pt has 11
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kZipTooManyEntries);
  l.zip.max_entries = 11;
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kInternal);
  l = {};
  l.zip.max_name_length = 30;  // "small/code/__torch__.py.debug_pkl" is 33 bytes
  EXPECT_EQ(jit_load_code(small, l), ErrorCode::kLimitExceeded);
}

// jit::load(istream) holds the archive in memory (the Module keeps it): at most
// Limits::io.max_stream_bytes of it. A seekable stream longer than that is refused before it is
// read, a pipe after the limit (main read either whole, a pipe without end until memory ran out,
// and copied the bytes once more); within it, both load.
TEST(JitImportLimits, StreamBytes) {
  const auto bytes = io::read_file(small_path());
  const std::string text(reinterpret_cast<const char*>(bytes.data()), bytes.size());
  Limits limits;
  limits.io.max_stream_bytes = bytes.size();
  std::istringstream fits(text);
  EXPECT_EQ(load(fits, std::nullopt, nullptr, true, limits).state_dict().size(), 3u);
  limits.io.max_stream_bytes = bytes.size() - 1;
  std::istringstream longer(text);
  try {
    (void)load(longer, std::nullopt, nullptr, true, limits);
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kLimitExceeded);
    EXPECT_NE(std::string(e.what()).find("Limits::io.max_stream_bytes"), std::string::npos)
        << e.what();
  }
  EXPECT_EQ(longer.tellg(), 0);  // nothing read

  // A stream that cannot seek and never ends: refused once past the limit.
  struct Endless : std::streambuf {
    std::size_t delivered = 0;
    char buf[4096] = {};
    int_type underflow() override {
      delivered += sizeof buf;
      setg(buf, buf, buf + sizeof buf);
      return traits_type::to_int_type(buf[0]);
    }
  } endless;
  std::istream pipe(&endless);
  limits.io.max_stream_bytes = std::uint64_t{1} << 20;
  EXPECT_PTIO_ERROR((void)load(pipe, std::nullopt, nullptr, true, limits),
                    ErrorCode::kLimitExceeded);
  EXPECT_LE(endless.delivered, (std::size_t{1} << 20) + 4096);
}

TEST(JitImportBadInput, MissingDataPkl) {
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) { drop(r, "data.pkl"); })),
                    ErrorCode::kMissingRecord);
}

TEST(JitImportBadInput, MissingConstantsPkl) {
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) { drop(r, "constants.pkl"); })),
                    ErrorCode::kMissingRecord);
}

// A torch.save zip (data.pkl, data/, version; no constants.pkl, no code/) points to ptio::load.
TEST(JitImportBadInput, TorchSaveCheckpointPointsToPtioLoad) {
  const auto b = small_edited([](auto& r) {
    std::erase_if(r, [](const auto& x) {
      return x.first == "constants.pkl" || x.first.starts_with("code/");
    });
  });
  try {
    load_bytes(b);
    ADD_FAILURE() << "loaded";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kMissingRecord);
    EXPECT_NE(std::string(e.what()).find("torch.save() checkpoint"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("ptio::load"), std::string::npos) << e.what();
  }
}

TEST(JitImportBadInput, MissingCodeFileForAClassDataPklNames) {
  EXPECT_PTIO_ERROR(load_bytes(small_edited(
                        [](auto& r) { drop(r, "code/__torch__/torch/nn/modules/linear.py"); })),
                    ErrorCode::kJitMissingClass);
}

TEST(JitImportBadInput, ObjectOfUndefinedClass) {
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) {
                      replace(record(r, "code/__torch__.py"),
                              "class Inner(Module):", "class Inner2(Module):");
                    })),
                    ErrorCode::kJitMissingClass);
}

// PyTorch: "Unknown type name '__torch__.Nope'"; ptio dropped the attribute's tensors.
TEST(JitImportBadInput, AttributeOfAnUnknownClass) {
  const auto b = small_edited([](auto& r) {
    replace(record(r, "code/__torch__.py"), "inner : __torch__.Inner", "inner : __torch__.Nope");
  });
  EXPECT_PTIO_ERROR(load_bytes(b), ErrorCode::kJitMissingClass);
  try {
    load_bytes(b);
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("Unknown type name '__torch__.Nope'"), std::string::npos)
        << e.what();
    EXPECT_NE(std::string(e.what()).find("code/__torch__.py"), std::string::npos) << e.what();
  }
  // Inside a container annotation too.
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) {
                      replace(record(r, "code/__torch__.py"), "inner : __torch__.Inner",
                              "inner : Optional[__torch__.Nope]");
                    })),
                    ErrorCode::kJitMissingClass);
}

TEST(JitImportBadInput, AttributeTheClassDoesNotDeclare) {
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) {
                      replace(record(r, "code/__torch__.py"), "  sizes : List[int]\n", "");
                    })),
                    ErrorCode::kJitBadModule);
}

TEST(JitImportBadInput, DeclaredAttributeMissingFromThePickle) {
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) {
                      replace(record(r, "code/__torch__.py"), "  sizes : List[int]\n",
                              "  sizes : List[int]\n  extra : int\n");
                    })),
                    ErrorCode::kJitBadModule);
}

TEST(JitImportBadInput, SyntaxErrorInCode) {
  try {
    load_bytes(small_edited([](auto& r) {
      replace(record(r, "code/__torch__.py"), "class Inner(Module):", "class Inner(Module)");
    }));
    ADD_FAILURE() << "no error";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kJitSyntax);
    EXPECT_EQ(e.record(), "small/code/__torch__.py");
    EXPECT_NE(e.message().find(':'), std::string::npos);  // line:col
  }
}

TEST(JitImportBadInput, VersionTooNewOrZero) {
  for (const char* v : {"11\n", "0\n", "x\n"}) {
    try {
      load_bytes(small_edited([&](auto& r) { record(r, "version") = v; }));
      ADD_FAILURE() << "no error for version " << v;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kJitVersion) << e.what();
      if (std::string(v) == "11\n") {
        EXPECT_NE(e.message().find("11"), std::string::npos);
        EXPECT_NE(e.message().find("10"), std::string::npos);
      }
    }
  }
}

TEST(JitImportBadInput, ClassInheritanceAndBadParameterList) {
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) {
                      replace(record(r, "code/__torch__.py"),
                              "class Inner(Module):", "class Inner(Other):");
                    })),
                    ErrorCode::kJitBadModule);
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) {
                      replace(record(r, "code/__torch__/torch/nn/modules/linear.py"),
                              "__parameters__ = [\"weight\", \"bias\", ]",
                              "__parameters__ = [\"weight\", \"nope\", ]");
                    })),
                    ErrorCode::kJitBadModule);
}

TEST(JitImportBadInput, NotAnArchive) {
  const auto pickle = test::bytes_of(std::string("\x80\x02K\x01.", 5));
  EXPECT_PTIO_ERROR(load_bytes(pickle), ErrorCode::kUnknownFormat);
  EXPECT_PTIO_ERROR(load_bytes(test::bytes_of("")), ErrorCode::kZipEmptyFile);
}

}  // namespace
}  // namespace ptio::jit

namespace ptio::jit {
namespace {

std::filesystem::path small_ptl() {
  return test::source_dir() / "tests/data/jit/small.ptl";
}

TEST(JitImportMobile, LiteArchiveLoadsFromDataPkl) {
  // small.expected.json: bytecode version 8, torch.jit.load's state_dict of small.ptl.
  const Module m = load(small_ptl());
  EXPECT_EQ(m.archive().kind, ArchiveKind::kMobile);
  EXPECT_EQ(m.archive().bytecode_version, 8);
  const auto sd = m.state_dict();
  ASSERT_EQ(sd.size(), 3u);
  EXPECT_EQ(sd.items()[0].first, "inner.count");
  EXPECT_EQ(sd.items()[2].first, "inner.lin.bias");
  const auto& fns = m.archive().bytecode_functions;
  EXPECT_NE(std::find(fns.begin(), fns.end(), "__torch__.Small.forward"), fns.end());
}

TEST(JitImportMobile, BytecodeOnlyArchiveIsBestEffort) {
  zip::ArchiveReader ar(small_ptl());
  io::MemoryWriter mw;
  {
    zip::ArchiveWriter w(mw, "small");
    for (const auto& n : ar.record_names())
      if (n != "data.pkl" && !n.starts_with("code/") && !n.starts_with("data/")) {
        const auto b = ar.read(n);
        w.write_record(n, b.data(), b.size());
      }
    w.finalize();
  }
  mw.commit();
  const Module m = load(std::span<const std::byte>(mw.bytes()));
  EXPECT_EQ(m.archive().kind, ArchiveKind::kMobileBytecodeOnly);
  EXPECT_EQ(m.qualified_name().qualified_name(), "__torch__.Small");
  EXPECT_EQ(m.state_dict().size(), 0u);
  EXPECT_FALSE(m.archive().bytecode_functions.empty());
}

// A version-2 archive: containers carry no restore_type_tag; restoreAccurateTypeTags gives them
// the types the class declares (what PyTorch's unpickler does for version <= 2).
std::vector<std::byte> untagged_archive(const char* version) {
  const std::string code =
      "class M(Module):\n"
      "  __parameters__ = []\n"
      "  training : bool\n"
      "  xs : List[int]\n"
      "  d : Dict[str, List[float]]\n"
      "  t : Optional[Tuple[List[str], int]]\n";
  IValue obj = IValue::object(QualifiedName("__torch__.M"));
  IValue d = IValue::dict();
  d.as_dict().insert_or_assign(IValue("a"), IValue::list({IValue(1.5)}));
  obj.as_object().set_attribute("training", IValue(false));
  obj.as_object().set_attribute("xs", IValue::list({IValue(1), IValue(2)}));
  obj.as_object().set_attribute("d", d);
  obj.as_object().set_attribute("t", IValue::tuple({IValue::list({IValue("s")}), IValue(3)}));
  pickle::PicklerOptions po;
  po.dialect = pickle::Dialect::kTorchScript;
  po.tag_aggregates = false;
  const auto data = pickle::pickle_value(obj, po);
  const auto constants = pickle::pickle_value(IValue::tuple({}), po);
  io::MemoryWriter mw;
  {
    zip::ArchiveWriter w(mw, "archive");
    w.write_record("data.pkl", data.data(), data.size());
    w.write_record("code/__torch__.py", code.data(), code.size());
    w.write_record("constants.pkl", constants.data(), constants.size());
    w.write_record("version", version, std::strlen(version));
    w.finalize();
  }
  mw.commit();
  return mw.bytes();
}

TEST(JitImportTypeTags, RestoreAccurateTypeTagsForVersion2) {
  const auto bytes = untagged_archive("2\n");
  const Module m = load(std::span<const std::byte>(bytes));
  EXPECT_EQ(m.attr("xs").as_list().type_tag, "List[int]");
  EXPECT_EQ(m.attr("d").as_dict().type_tag, "Dict[str, List[float]]");
  EXPECT_EQ(m.attr("d").as_dict().items()[0].second.as_list().type_tag, "List[float]");
  EXPECT_EQ(m.attr("t").as_tuple().elements()[0].as_list().type_tag, "List[str]");
  const auto bytes3 = untagged_archive("3\n");  // version 3: tags are the pickle's business
  EXPECT_EQ(load(std::span<const std::byte>(bytes3)).attr("xs").as_list().type_tag, "");
}

}  // namespace
}  // namespace ptio::jit

namespace ptio::jit {
namespace {

std::filesystem::path corpus(const char* name) {
  return test::shared_dir() / "corpus" / name;
}

TEST(JitImportLegacy, ModelJsonArchive) {
  // tch-rs's foo.pt written by PyTorch 1.0 (model.json); the same model re-saved in 2022 is
  // foo.51cc937.pt, whose `value` PyTorch 1.13 reads (corpus expected JSON, checked by the corpus
  // test): the legacy tensor must hold the same bytes.
  const Module legacy = load(corpus("tch_rs/foo.4395560.pt"));
  EXPECT_EQ(legacy.archive().kind, ArchiveKind::kLegacy);
  EXPECT_EQ(legacy.archive().producer, "pytorch 1.0");
  EXPECT_EQ(legacy.qualified_name().qualified_name(), "__torch__.foo");
  ASSERT_NE(legacy.find_method("forward"), nullptr);
  EXPECT_EQ(legacy.find_method("forward")->schema(),
            "forward(__torch__.foo self, Tensor x, Tensor y) -> Tensor");
  const Tensor& old_value = legacy.attr("value").as_tensor();
  const Module resaved = load(corpus("tch_rs/foo.51cc937.pt"));
  const Tensor& new_value = resaved.attr("value").as_tensor();
  EXPECT_EQ(old_value.sizes(), new_value.sizes());
  EXPECT_EQ(old_value.contiguous_bytes(), new_value.contiguous_bytes());
}

TEST(JitImportLegacy, MalformedModelJson) {
  zip::ArchiveReader ar(corpus("tch_rs/foo.4395560.pt"));
  for (const std::string bad : {"{\"protoVersion\":\"3\",", "{\"protoVersion\":\"9\"}",
                                "{\"protoVersion\":\"3\",\"mainModule\":{\"attributes\":"
                                "[{\"type\":\"Tensor\",\"name\":\"v\",\"id\":\"7\"}]}}"}) {
    io::MemoryWriter mw;
    {
      zip::ArchiveWriter w(mw, "foo");
      for (const auto& n : ar.record_names()) {
        const auto b = n == "model.json" ? test::bytes_of(bad) : ar.read(n);
        w.write_record(n, b.data(), b.size());
      }
      w.finalize();
    }
    mw.commit();
    try {
      load(std::span<const std::byte>(mw.bytes()));
      ADD_FAILURE() << "no error for " << bad;
    } catch (const Error& e) {
      EXPECT_TRUE(e.code() == ErrorCode::kJitBadModule || e.code() == ErrorCode::kJitVersion)
          << e.what();
    }
  }
}

// import_legacy.cpp makes each tensor with autograd::make_variable(tensor, requiresGrad), which
// refuses requires_grad on a tensor that is not floating point or complex, as torch.load does.
TEST(JitImportLegacy, RequiresGradOnAnIntegerTensorIsRefused) {
  zip::ArchiveReader ar(corpus("tch_rs/foo.4395560.pt"));
  const auto edited = [&](const std::string& from, const std::string& to) {
    std::string json = test::string_of(ar.read("model.json"));
    const auto at = json.find(from);
    EXPECT_NE(at, std::string::npos);
    json.replace(at, from.size(), to);
    io::MemoryWriter mw;
    {
      zip::ArchiveWriter w(mw, "foo");
      for (const auto& n : ar.record_names()) {
        const auto b = n == "model.json" ? test::bytes_of(json) : ar.read(n);
        w.write_record(n, b.data(), b.size());
      }
      w.finalize();
    }
    mw.commit();
    return mw.release();
  };
  const std::string original = "\"requiresGrad\":false,\"dataType\":\"FLOAT\"";
  // int32 has float32's element size: the record still fits.
  const auto int_grad = edited(original, "\"requiresGrad\":true,\"dataType\":\"INT32\"");
  EXPECT_PTIO_ERROR(load(std::span<const std::byte>(int_grad)), ErrorCode::kBadDtype);
  const auto int_plain = edited(original, "\"requiresGrad\":false,\"dataType\":\"INT32\"");
  EXPECT_EQ(load(std::span<const std::byte>(int_plain)).attr("value").as_tensor().dtype(),
            ScalarType::Int);
  const auto float_grad = edited(original, "\"requiresGrad\":true,\"dataType\":\"FLOAT\"");
  EXPECT_TRUE(
      load(std::span<const std::byte>(float_grad)).attr("value").as_tensor().requires_grad());
}

// Cycles a pickle builds must be freed when a later check of the import throws: reference
// counting never frees them (LeakSanitizer, in the ASan build, fails these tests when one leaks).
// (With APPENDS: TorchScript's C++ unpickler has no APPEND.)
const std::string kSelfList(
    "\x80\x02]q\x00(h\x00"
    "e.",
    10);  // l = []; l.extend([l]); l
const std::string kTupleOfSelfList(
    "\x80\x02]q\x00(h\x00"
    "e\x85q\x01.",
    13);  // (l,)

TEST(JitImportCycles, CyclicDataPklThatIsNoModuleIsFreed) {
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) { record(r, "data.pkl") = kSelfList; })),
                    ErrorCode::kJitBadModule);
}

TEST(JitImportCycles, CyclicConstantsFreedWhenDataPklFails) {
  // constants.pkl passes its checks (a tuple, no objects) and is handed to the compilation unit;
  // then data.pkl is no module, or no pickle at all.
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) {
                      record(r, "constants.pkl") = kTupleOfSelfList;
                      record(r, "data.pkl") = kSelfList;
                    })),
                    ErrorCode::kJitBadModule);
  EXPECT_PTIO_ERROR(load_bytes(small_edited([](auto& r) {
                      record(r, "constants.pkl") = kTupleOfSelfList;
                      record(r, "data.pkl") = std::string("\x80\x02]", 3);
                    })),
                    ErrorCode::kPickleMissingStop);
  // constants.pkl that is no tuple.
  EXPECT_PTIO_ERROR(
      load_bytes(small_edited([](auto& r) { record(r, "constants.pkl") = kSelfList; })),
      ErrorCode::kJitBadModule);
}

TEST(JitImportCycles, CyclicDebugPklFreedWhenItIsMalformed) {
  const auto b =
      small_edited([](auto& r) { record(r, "code/__torch__.py.debug_pkl") = kSelfList; });
  EXPECT_PTIO_ERROR(load_bytes(b), ErrorCode::kJitBadModule);
  // Without debug files the archive loads (the module itself is fine).
  EXPECT_EQ(load(std::span<const std::byte>(b), std::nullopt, nullptr, false).state_dict().size(),
            3u);
}

TEST(JitImportCycles, CyclicBytecodePklFreedWhenItIsMalformed) {
  zip::ArchiveReader ar(small_ptl());
  io::MemoryWriter mw;
  {
    zip::ArchiveWriter w(mw, "small");
    for (const auto& n : ar.record_names()) {
      const std::string b = n == "bytecode.pkl" ? kSelfList : test::string_of(ar.read(n));
      w.write_record(n, b.data(), b.size());
    }
    w.finalize();
  }
  mw.commit();
  // bytecode.pkl holds the self-list, not a tuple.
  EXPECT_PTIO_ERROR(load(std::span<const std::byte>(mw.bytes())), ErrorCode::kMobileBadFormat);
}

TEST(JitImportCycles, CyclicLegacyAttributeTableFreed) {
  // A model.json archive whose attributes.pkl is a list holding itself: with an attribute id
  // outside the table the import fails (the table is freed); with the original model.json the
  // attribute `value` is that list (the module holds it; the table's own list is emptied).
  zip::ArchiveReader ar(corpus("tch_rs/foo.4395560.pt"));
  const auto with = [&](const std::string& model_json,
                        const std::string& attributes = kSelfList) {
    io::MemoryWriter mw;
    {
      zip::ArchiveWriter w(mw, "foo");
      for (const auto& n : ar.record_names()) {
        const std::string b = n == "attributes.pkl" ? attributes
                              : n == "model.json" && !model_json.empty()
                                  ? model_json
                                  : test::string_of(ar.read(n));
        w.write_record(n, b.data(), b.size());
      }
      w.finalize();
    }
    mw.commit();
    return mw.bytes();
  };
  std::string model = test::string_of(ar.read("model.json"));
  replace(model, "\"name\":\"value\",\"id\":\"0\"", "\"name\":\"value\",\"id\":\"7\"");
  EXPECT_PTIO_ERROR(load_bytes(with(model)), ErrorCode::kJitBadModule);
  Module m = load_bytes(with(""));
  IValue value = m.attr("value");
  ASSERT_TRUE(value.is_list());
  ASSERT_EQ(value.as_list().elements.size(), 1u);
  EXPECT_TRUE(value.as_list().elements[0].is_same(value));
  break_cycles(value);  // the caller's, as for any cyclic value it loads
  // A table [itself, 5] whose entry 1 is the attribute: the module does not reach the table,
  // which is freed on success.
  std::string entry1 = test::string_of(ar.read("model.json"));
  replace(entry1, "\"name\":\"value\",\"id\":\"0\"", "\"name\":\"value\",\"id\":\"1\"");
  const Module five = load_bytes(with(entry1, std::string("\x80\x02]q\x00(h\x00K\x05" "e.", 12)));
  EXPECT_EQ(five.attr("value").as_int(), 5);
}

}  // namespace
}  // namespace ptio::jit
