// ptio::scan tests: global classification, symbolic STACK_GLOBAL resolution through memo, attack
// constructs (BUILD on a module), findings with offsets, zip tricks (duplicates, encryption bit,
// leading bytes, hidden pickles), legacy streams and stacked pickles.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <map>
#include <string>
#include <vector>

#include "pickle_builder.h"
#include "ptio/error.h"
#include "ptio/io/read_adapter.h"
#include "ptio/io/writer.h"
#include "ptio/serialization/scan.h"
#include "ptio/zip/archive_writer.h"
#include "test_support.h"

namespace ptio {
namespace {

using namespace std::string_literals;

using test::bytes_of;
using test::PickleBuilder;

ScanReport scan_bytes(const std::vector<std::byte>& b) {
  return scan(io::MemoryReadAdapter(std::span<const std::byte>(b), "<test>"));
}

ScanReport scan_text(std::string_view s) {
  return scan_bytes(bytes_of(s));
}

std::vector<std::string> names(const ScanReport& r) {
  std::vector<std::string> out;
  for (const auto& g : r.globals) out.push_back(g.module + "." + g.name);
  return out;
}

bool has_finding(const ScanReport& r, Verdict severity, std::string_view text) {
  for (const auto& f : r.findings)
    if (f.severity == severity && f.message.find(text) != std::string::npos) return true;
  return false;
}

TEST(ScanClassify, Tables) {
  EXPECT_EQ(classify_global("torch._utils", "_rebuild_tensor_v2"), GlobalClass::kAllowed);
  EXPECT_EQ(classify_global("collections", "OrderedDict"), GlobalClass::kAllowed);
  EXPECT_EQ(classify_global("torch", "FloatStorage"), GlobalClass::kAllowed);
  EXPECT_EQ(classify_global("torch", "bfloat16"), GlobalClass::kAllowed);
  EXPECT_EQ(classify_global("__torch__.m", "Net"), GlobalClass::kAllowed);
  EXPECT_EQ(classify_global("torch.jit._pickle", "restore_type_tag"), GlobalClass::kAllowed);
  EXPECT_EQ(classify_global("__builtin__", "set"), GlobalClass::kAllowed);
  EXPECT_EQ(classify_global("__main__", "Net"), GlobalClass::kUnknown);
  EXPECT_EQ(classify_global("torch.nn.modules.linear", "Linear"), GlobalClass::kUnknown);
  EXPECT_EQ(classify_global("yaml", "safe_load"), GlobalClass::kUnknown);
  EXPECT_EQ(classify_global("torch.optim", "SGD"), GlobalClass::kUnknown);
  for (auto [m, n] : std::vector<std::pair<const char*, const char*>>{
           {"builtins", "eval"},
           {"__builtin__", "exec"},
           {"__builtins__", "getattr"},
           {"os", "system"},
           {"posix", "system"},
           {"nt", "system"},
           {"subprocess", "Popen"},
           {"os.path", "join"},
           {"httplib", "HTTPConnection"},
           {"_io", "FileIO"},
           {"torch.serialization", "load"},
           {"torch.utils.collect_env", "run"},
           {"numpy.testing._private.utils", "runstring"},
           {"__main__", "Evil.run"},
           {"torch", "__builtins__"},
           {"operator", "attrgetter"},
           // native code and code loaders (new-user trial 9: torch.ops.load_library was unknown)
           {"torch.ops", "load_library"},
           {"torch.classes", "load_library"},
           {"torch._ops", "ops"},
           {"torch._classes", "classes"},
           {"torch._C", "import_ir_module"},
           {"_imp", "create_dynamic"},
           {"_frozen_importlib_external", "ExtensionFileLoader"},
           {"yaml", "unsafe_load"},
           {"yaml", "load"},
           {"IPython.core.interactiveshell", "InteractiveShell"}})
    EXPECT_EQ(classify_global(m, n), GlobalClass::kDangerous) << m << "." << n;
  std::string why;
  EXPECT_EQ(classify_global("pty", "spawn", &why), GlobalClass::kDangerous);
  EXPECT_NE(why.find("GHSA-vqmv"), std::string::npos);
}

TEST(Scan, StateDictIsSafe) {
  PickleBuilder p;
  p.proto().global("collections", "OrderedDict").empty_tuple().reduce();
  p.str("w").tensor_v2("FloatStorage", "0", 4, 0, {4}, {1}).setitem().stop();
  const ScanReport r = scan_bytes(p.bytes());
  EXPECT_EQ(r.verdict, Verdict::kSafe);
  EXPECT_EQ(names(r),
            (std::vector<std::string>{"collections.OrderedDict", "torch._utils._rebuild_tensor_v2",
                                      "torch.FloatStorage", "collections.OrderedDict"}));
  EXPECT_EQ(r.globals[0].offset, 2u);
  EXPECT_EQ(r.globals[0].opcode, "GLOBAL");
}

TEST(Scan, ProtocolZeroGlobalIsDangerous) {
  const ScanReport r = scan_text("c__builtin__\neval\n(Vprint(1)\ntR.");
  ASSERT_EQ(r.globals.size(), 1u);
  EXPECT_EQ(r.globals[0].cls, GlobalClass::kDangerous);
  EXPECT_EQ(r.verdict, Verdict::kDangerous);
}

TEST(Scan, StackGlobalThroughMemoIsNamed) {
  // Python's PUT/GET text memo: 'os' -> 2, 'system' -> 3, then GET 2 GET 3 STACK_GLOBAL.
  const ScanReport r = scan_text("Vos\np2\n0Vsystem\np3\n0g2\ng3\n\x93(Vid\ntR.");
  ASSERT_EQ(names(r), std::vector<std::string>{"os.system"});
  EXPECT_EQ(r.globals[0].opcode, "STACK_GLOBAL");
  EXPECT_EQ(r.globals[0].offset, 26u);
  EXPECT_EQ(r.verdict, Verdict::kDangerous);
}

TEST(Scan, StackGlobalWithComputedOperandsIsSuspicious) {
  // module = the result of a call: cannot be known without running it.
  const ScanReport r = scan_text("\x80\x04\x63\x63ollections\nOrderedDict\n)R\x8c\x01x\x93.");
  EXPECT_EQ(r.verdict, Verdict::kSuspicious);
  EXPECT_TRUE(has_finding(r, Verdict::kSuspicious, "cannot be determined statically"));
}

TEST(Scan, BuildOnAModuleIsDangerous) {
  // torch._utils (a module reached as a global) BUILD {'_rebuild_tensor': 'builtins'}
  const ScanReport r = scan_text(
      "\x80\x04\x8c\x05torch\x8c\x06_utils\x93}\x8c\x0f_rebuild_tensor\x8c\x08"
      "builtinssb.");
  EXPECT_EQ(r.verdict, Verdict::kDangerous);
  EXPECT_TRUE(has_finding(r, Verdict::kDangerous, "torch._utils itself"));
}

TEST(Scan, UnknownOpcodeAndTruncationAreFindings) {
  ScanReport r = scan_text("\x80\x02}\xff.");
  EXPECT_EQ(r.verdict, Verdict::kSuspicious);
  ASSERT_EQ(r.findings.size(), 1u);
  EXPECT_EQ(r.findings[0].offset, 3u);
  EXPECT_NE(r.findings[0].message.find("unknown opcode 0xff"), std::string::npos);

  r = scan_text("\x80\x02X\x10\x00\x00\x00ab"s);
  EXPECT_EQ(r.verdict, Verdict::kSuspicious);
  EXPECT_TRUE(has_finding(r, Verdict::kSuspicious, "runs past the end"));

  r = scan_text("\x80\x02h\x03.");  // BINGET of an undefined memo index
  EXPECT_TRUE(has_finding(r, Verdict::kSuspicious, "memo index 3 is not defined"));
}

TEST(Scan, GlobalBeforeAnErrorIsStillReported) {
  // keyerror-exploit: os.system is called before the undefined memo index stops Python.
  const ScanReport r = scan_text("\x80\x04\x63os\nsystem\nVid\n\x85R0h\x03.");
  EXPECT_EQ(names(r), std::vector<std::string>{"os.system"});
  EXPECT_EQ(r.verdict, Verdict::kDangerous);
}

TEST(Scan, StackedPicklesAreAllScanned) {
  // A harmless list, then a second pickle that calls requests.api.get.
  const ScanReport r =
      scan_text("\x80\x04]\x94.\x80\x04\x8c\x0crequests.api\x8c\x03get\x93\x8c\x01u\x85R.");
  EXPECT_EQ(names(r), std::vector<std::string>{"requests.api.get"});
  EXPECT_EQ(r.verdict, Verdict::kDangerous);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].pickles, 2u);
}

TEST(Scan, LimitsAreFindingsNotCrashes) {
  std::string deep(5000, '(');
  const ScanReport r = scan_text(deep);
  EXPECT_TRUE(has_finding(r, Verdict::kSuspicious, "max_depth"));
  ScanOptions small;
  small.limits.pickle.max_memo_entries = 2;
  const auto b = bytes_of("\x80\x04N\x94\x94\x94.");
  const ScanReport m = scan(io::MemoryReadAdapter(std::span<const std::byte>(b)), small);
  EXPECT_TRUE(has_finding(m, Verdict::kSuspicious, "max_memo_entries"));
}

TEST(Scan, NothingToScanThrows) {
  try {
    (void)scan_text("version https://git-lfs.github.com/spec/v1\noid sha256:00\nsize 1\n");
    FAIL();
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnknownFormat);
  }
}

// Text whose first byte is an opcode (`a` APPEND, `j` LONG_BINGET) and a PNG header (0x89
// NEWFALSE, then an unknown opcode) are no pickles: nothing to scan, as for text starting with
// any other byte. A truncated pickle naming a global, or one stopped by a limit, stays a finding.
TEST(Scan, TextThatStartsLikeOpcodesIsNothingToScan) {
  for (const std::string& text :
       {"abc"s, "just some notes\nnot a checkpoint\n"s, "\x89PNG\r\n\x1a\n"s}) {
    try {
      (void)scan_text(text);
      ADD_FAILURE() << "no error for " << text;
    } catch (const Error& e) {
      EXPECT_EQ(e.code(), ErrorCode::kUnknownFormat) << text;
      EXPECT_NE(std::string(e.what()).find("nothing to scan"), std::string::npos) << e.what();
    }
  }
  const ScanReport g = scan_text("cos\nsystem\n(S'ls'\n");  // no STOP: still os.system
  EXPECT_EQ(g.verdict, Verdict::kDangerous);
  const ScanReport deep = scan_text(std::string(5000, '('));
  EXPECT_EQ(deep.verdict, Verdict::kSuspicious);
}

std::vector<std::byte> zip_with(const std::vector<std::pair<std::string, std::string>>& recs) {
  io::MemoryWriter mw;
  zip::ArchiveWriter zw(mw, "archive");
  for (const auto& [k, v] : recs) zw.write_record(k, bytes_of(v));
  zw.finalize();
  return mw.release();
}

TEST(ScanZip, EveryPickleRecordAndHiddenPickles) {
  const std::string safe = "\x80\x02}q\x00."s;
  const std::string evil = "\x80\x02\x63posix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85R."s;
  const auto z =
      zip_with({{"data.pkl", safe}, {"constants.pkl", evil}, {"data/0", evil}, {"version", "3\n"}});
  const ScanReport r = scan_bytes(z);
  EXPECT_EQ(r.verdict, Verdict::kDangerous);
  ASSERT_EQ(r.globals.size(), 2u);
  EXPECT_EQ(r.globals[0].record, "archive/constants.pkl");
  EXPECT_EQ(r.globals[1].record, "archive/data/0");
  ASSERT_EQ(r.records.size(), 3u);
  EXPECT_TRUE(r.records[2].by_content);
}

TEST(ScanZip, EncryptionFlagDuplicatesAndLeadingBytes) {
  const std::string safe = "\x80\x02}q\x00."s;
  const std::string evil = "\x80\x02\x63posix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85R."s;
  auto z = zip_with({{"data.pkl", safe}, {"data.pkX", evil}});
  // ArchiveWriter refuses duplicate names: rename the second entry in place (local + central).
  const std::string from = "archive/data.pkX";
  for (std::size_t i = 0; i + from.size() <= z.size(); ++i)
    if (std::memcmp(z.data() + i, from.data(), from.size()) == 0)
      z[i + from.size() - 1] = std::byte{'l'};
  // Set the encryption bit (general purpose flag bit 0) in both local and central headers.
  for (std::size_t i = 0; i + 8 < z.size(); ++i) {
    const bool local = z[i] == std::byte{'P'} && z[i + 1] == std::byte{'K'} &&
                       z[i + 2] == std::byte{3} && z[i + 3] == std::byte{4};
    const bool central = z[i] == std::byte{'P'} && z[i + 1] == std::byte{'K'} &&
                         z[i + 2] == std::byte{1} && z[i + 3] == std::byte{2};
    if (local) z[i + 6] |= std::byte{1};
    if (central) z[i + 8] |= std::byte{1};
  }
  std::vector<std::byte> prefixed = bytes_of("#!/bin/sh\nexit 0\n");
  prefixed.insert(prefixed.end(), z.begin(), z.end());
  for (const auto* input : {&z, &prefixed}) {
    const ScanReport r = scan_bytes(*input);
    EXPECT_EQ(names(r), std::vector<std::string>{"posix.system"});
    EXPECT_EQ(r.verdict, Verdict::kDangerous);
    EXPECT_TRUE(has_finding(r, Verdict::kSuspicious, "duplicate entry name"));
    EXPECT_TRUE(has_finding(r, Verdict::kSuspicious, "encryption flag"));
  }
}

// tests/data/zip/scan_odd_layout.zip (Python's zipfile, make_fixtures.py): entries without a
// folder, backslash / absolute / upper-case names, a deflated `.debug_pkl`. Every pickle is found;
// offsets are absolute for stored records and count from the uncompressed start otherwise
// (expected values: each record's data offset from Python's zipfile + 2, PROTO before GLOBAL).
TEST(ScanZip, OddLayoutEntriesWithoutFolderAndOddNames) {
  const ScanReport r = scan(test::source_dir() / "tests/data/zip/scan_odd_layout.zip");
  EXPECT_EQ(r.verdict, Verdict::kDangerous);
  std::vector<std::string> where;
  for (const auto& g : r.globals) where.push_back(g.record + " " + std::to_string(g.offset));
  EXPECT_EQ(where,
            (std::vector<std::string>{"archive\\..\\evil.pkl 143", "/abs/x.bin 213",
                                      "archive/DATA.PKL 289", "code/__torch__.py.debug_pkl 2"}));
  std::vector<std::string> recs;
  for (const auto& x : r.records) recs.push_back(x.name);
  EXPECT_EQ(recs, (std::vector<std::string>{"data.pkl", "bytecode.pkl", "archive\\..\\evil.pkl",
                                            "/abs/x.bin", "archive/DATA.PKL",
                                            "code/__torch__.py.debug_pkl"}));
  EXPECT_TRUE(r.findings.empty());
}

TEST(ScanLegacy, FivePicklesThenStorageBytes) {
  // magic, protocol, sys_info, object, keys; then raw bytes that are not a pickle.
  std::string s = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."s;
  s += "\x80\x02M\xe9\x03.";
  s += "\x80\x02}q\x00."s;
  s += "\x80\x02\x63torch._utils\n_rebuild_tensor_v2\nq\x00."s;
  s += "\x80\x02]q\x00."s;
  s += std::string("\x10\x00\x00\x00\x00\x00\x00\x00\xff\xff", 10);
  const ScanReport r = scan_text(s);
  EXPECT_EQ(r.format, FileFormat::kLegacy);
  EXPECT_EQ(r.verdict, Verdict::kSafe);
  ASSERT_EQ(r.records.size(), 1u);
  EXPECT_EQ(r.records[0].pickles, 5u);
  EXPECT_EQ(names(r), std::vector<std::string>{"torch._utils._rebuild_tensor_v2"});
}

// Garbage between the legacy stream's pickles (a non-opcode byte, or an opcode that breaks the
// VM) no longer ends the scan: it resumes at the next PROTO, so the os.system pickle hidden after
// it is found at its exact offset; each gap is a finding, each resumption a note.
TEST(ScanLegacy, ResumesAtTheNextProtoAfterGarbage) {
  const std::string magic = "\x80\x02\x8a\x0a\x6c\xfc\x9c\x46\xf9\x20\x6a\xa8\x50\x19."s;
  const std::string evil = "\x80\x02\x63posix\nsystem\nq\x00X\x02\x00\x00\x00idq\x01\x85R."s;
  for (const std::string& garbage : {"\xff\xfe\xfd"s, "a\x01\x02\x03"s}) {
    const std::string s = magic + garbage + evil + "\x80\x02}q\x00."s;
    const ScanReport r = scan_text(s);
    EXPECT_EQ(r.format, FileFormat::kLegacy);
    ASSERT_EQ(r.globals.size(), 1u) << garbage.size();
    EXPECT_EQ(r.globals[0].module + "." + r.globals[0].name, "posix.system");
    EXPECT_EQ(r.globals[0].offset, magic.size() + garbage.size() + 2);  // after PROTO 2
    EXPECT_EQ(r.verdict, Verdict::kDangerous);
    ASSERT_EQ(r.records.size(), 1u);
    EXPECT_EQ(r.records[0].pickles, 3u);
    bool resumed = false;
    for (const auto& f : r.findings)
      if (f.severity == Verdict::kSafe && f.message.find("resumes") != std::string::npos) {
        EXPECT_EQ(f.offset, magic.size() + garbage.size());
        resumed = true;
      }
    EXPECT_TRUE(resumed);
    bool gap = false;
    for (const auto& f : r.findings)
      gap = gap || (f.severity == Verdict::kSuspicious && f.offset == magic.size());
    EXPECT_TRUE(gap);
  }
  // Garbage with no PROTO after it: a suspicious file, and a note saying where the scan stopped.
  const std::string s = magic + "\xff\xfe\xfd\x00\x00"s;
  const ScanReport r = scan_text(s);
  EXPECT_EQ(r.verdict, Verdict::kSuspicious);
  bool stopped = false;
  for (const auto& f : r.findings)
    if (f.severity == Verdict::kSafe && f.message.find("stops here") != std::string::npos) {
      EXPECT_EQ(f.offset, magic.size());
      EXPECT_NE(f.message.find("5 bytes not scanned"), std::string::npos) << f.message;
      stopped = true;
    }
  EXPECT_TRUE(stopped);
  // A flood of PROTO pairs that never complete stays bounded (at most 16 resumptions).
  std::string flood = magic;
  for (int i = 0; i < 2000; ++i)
    flood +=
        "\x80\x02"
        "a";  // PROTO 2, APPEND (underflow)
  const ScanReport f = scan_text(flood);
  EXPECT_EQ(f.verdict, Verdict::kSuspicious);
  EXPECT_TRUE(has_finding(f, Verdict::kSafe, "after 16 resynchronisations"));
}

// A zip whose records are none of them a pickle (a plain archive) is not a checkpoint: "nothing to
// scan" (kUnknownFormat, exit 2 in the CLI), not a "safe" verdict over zero pickles.
TEST(ScanZip, NoPickleRecordIsNothingToScan) {
  const auto z = zip_with({{"readme.txt", "hello"}, {"data/0", "\x01\x02\x03\x04"s}});
  try {
    (void)scan_bytes(z);
    FAIL() << "a zip without pickles was reported";
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), ErrorCode::kUnknownFormat);
    EXPECT_NE(e.message().find("nothing to scan"), std::string::npos) << e.what();
    EXPECT_EQ(e.file(), "<test>");
  }
}

// OBJ instantiates the class under its MARK: listed as its own occurrence (opcode OBJ, its
// offset), besides the GLOBAL that pushed the class.
TEST(Scan, ObjIsItsOwnOccurrence) {
  const ScanReport r = scan_text("\x80\x02(cmymod\nKlass\nK\x01o."s);
  ASSERT_EQ(r.globals.size(), 2u);
  EXPECT_EQ(r.globals[0].opcode, "GLOBAL");
  EXPECT_EQ(r.globals[0].offset, 3u);
  EXPECT_EQ(r.globals[1].opcode, "OBJ");
  EXPECT_EQ(r.globals[1].offset, 18u);
  EXPECT_EQ(r.globals[1].module + "." + r.globals[1].name, "mymod.Klass");
  EXPECT_EQ(r.globals[1].record, "<file>");
  EXPECT_EQ(r.verdict, Verdict::kSuspicious);
  const ScanReport d = scan_text("\x80\x02(cposix\nsystem\nX\x02\x00\x00\x00ido."s);
  ASSERT_EQ(d.globals.size(), 2u);
  EXPECT_EQ(d.globals[1].opcode, "OBJ");
  EXPECT_EQ(d.globals[1].cls, GlobalClass::kDangerous);
  EXPECT_EQ(d.verdict, Verdict::kDangerous);
}

// A ustar archive of (name, data) members (the tar format of torch.save before 0.4).
std::vector<std::byte> tar_of(const std::vector<std::pair<std::string, std::string>>& members) {
  std::string out;
  for (const auto& [name, data] : members) {
    std::string h(512, '\0');
    h.replace(0, name.size(), name);
    h.replace(100, 7, "0000644");
    char size[12];
    std::snprintf(size, sizeof size, "%011o", static_cast<unsigned>(data.size()));
    h.replace(124, 11, size);
    h.replace(136, 11, "00000000000");
    h[156] = '0';
    h.replace(257, 6, std::string("ustar\0", 6));
    h.replace(263, 2, "00");
    h.replace(148, 8, "        ");
    unsigned sum = 0;
    for (char c : h) sum += static_cast<unsigned char>(c);
    char chk[8];
    std::snprintf(chk, sizeof chk, "%06o", sum);
    h.replace(148, 7, std::string(chk, 6) + '\0');
    out += h + data + std::string((512 - data.size() % 512) % 512, '\0');
  }
  out += std::string(1024, '\0');
  return bytes_of(out);
}

std::string le64(std::uint64_t v) {
  std::string s(8, '\0');
  for (int i = 0; i < 8; ++i) s[static_cast<std::size_t>(i)] = static_cast<char>(v >> (8 * i));
  return s;
}

// Every pickle of the tar format is scanned: the per-entry headers of `storages` and `tensors`
// between their raw bytes, and the view list after the last storage.
TEST(ScanTar, EveryEntryPickleOfStoragesAndTensors) {
  std::string storages = "\x80\x02K\x02."s;  // two storages
  storages +=
      "\x80\x02(X\x01\x00\x00\x00"
      "0X\x03\x00\x00\x00"
      "cpuctorch\nFloatStorage\nt."s;
  storages += le64(2) + std::string(8, '\x01');
  // entry 1: its location is posix.system('id') (a header PyTorch would unpickle and run)
  const std::size_t entry1 = storages.size();
  storages +=
      "\x80\x02(X\x01\x00\x00\x00"
      "1cposix\nsystem\nX\x02\x00\x00\x00idR"
      "ctorch\nFloatStorage\nt."s;
  storages += le64(1) + std::string(4, '\x02');
  storages += "\x80\x02](cbuiltins\neval\ne."s;  // the view list
  std::string tensors = "\x80\x02K\x01."s;
  tensors +=
      "\x80\x02(X\x01\x00\x00\x00"
      "5X\x01\x00\x00\x00"
      "0csubprocess\nPopen\nt."s;
  tensors += std::string("\x01\x00\x00\x00\x00\x00\x00\x00", 8) + le64(2) + le64(1) + le64(0);
  const auto tar = tar_of({{"sys_info", "\x80\x02}."s},
                           {"storages", storages},
                           {"tensors", tensors},
                           {"pickle",
                            "\x80\x02X\x01\x00\x00\x00"
                            "5Q."s}});
  const ScanReport r = scan_bytes(tar);
  EXPECT_EQ(r.format, FileFormat::kTar);
  EXPECT_EQ(r.verdict, Verdict::kDangerous);
  const auto n = names(r);
  for (const char* want :
       {"torch.FloatStorage", "posix.system", "builtins.eval", "subprocess.Popen"})
    EXPECT_NE(std::find(n.begin(), n.end(), want), n.end()) << want;
  for (const auto& g : r.globals) {
    if (g.name != "system") continue;
    EXPECT_EQ(g.record, "storages");
    // member data starts after the sys_info member (512 + 512) and its own header (512)
    EXPECT_EQ(g.offset, 3 * 512 + entry1 + 9);  // PROTO, MARK, the key string
  }
  std::map<std::string, std::uint32_t> pickles;
  for (const auto& rec : r.records) pickles[rec.name] = rec.pickles;
  EXPECT_EQ(pickles["storages"], 4u);  // count, two headers, the view list
  EXPECT_EQ(pickles["tensors"], 2u);
  EXPECT_EQ(pickles["pickle"], 1u);
  EXPECT_EQ(pickles["sys_info"], 1u);
  for (const auto& f : r.findings) EXPECT_NE(f.severity, Verdict::kSuspicious) << f.message;

  // A header whose storage class is unknown: the raw bytes after it cannot be skipped, which is
  // a finding at the entry, not a silent stop.
  std::string bad = "\x80\x02K\x01."s;
  bad +=
      "\x80\x02(X\x01\x00\x00\x00"
      "0X\x03\x00\x00\x00"
      "cpucmymod\nNotAStorage\nt."s;
  bad += le64(1) + "abcd";
  const ScanReport b = scan_bytes(tar_of({{"storages", bad}, {"pickle", "\x80\x02N."s}}));
  EXPECT_TRUE(has_finding(b, Verdict::kSuspicious, "storage entry 0: the header is not"));
  EXPECT_EQ(b.verdict, Verdict::kSuspicious);
  // More entries than the member holds.
  const ScanReport t = scan_bytes(tar_of({{"tensors", "\x80\x02K\x03."s}, {"pickle", "N."s}}));
  EXPECT_TRUE(has_finding(t, Verdict::kSuspicious, "the member ends where a pickle"));
}

// The scanner decodes the tar headers it needs (count, storage entry header) and drops them: a
// header pickle that builds a cycle must be freed (LeakSanitizer in the ASan build).
TEST(ScanTar, CyclicHeaderPicklesAreFreed) {
  const std::string self_list(
      "\x80\x02]q\x00h\x00"
      "a.",
      9);  // l = []; l.append(l)
  // The count is a cyclic list, not an int; then an entry header that is a cyclic list.
  const ScanReport c = scan_bytes(tar_of({{"storages", self_list}, {"pickle", "N."s}}));
  EXPECT_TRUE(has_finding(c, Verdict::kSuspicious, "the entry count is not a non-negative int"));
  const ScanReport h =
      scan_bytes(tar_of({{"storages", "\x80\x02K\x01."s + self_list}, {"pickle", "N."s}}));
  EXPECT_TRUE(has_finding(h, Verdict::kSuspicious, "storage entry 0: the header is not"));
}

}  // namespace
}  // namespace ptio
