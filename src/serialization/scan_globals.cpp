// The scan's global tables: what is dangerous (one table, with the advisory behind each row) and
// what PyTorch itself writes (the allowlist), plus classify_global().
#include <array>
#include <string>

#include "ptio/core/scalar_type.h"
#include "ptio/serialization/scan.h"

namespace ptio {

namespace {

// Rows with an empty name cover the whole module and its submodules. Sources: CPython docs (what
// each module does), PyTorch's weights_only blocklist (spec-torch-save.md 8.2), picklescan's
// `_unsafe_globals` and its GHSA advisories (the corpus files picklescan/GHSA-*.pkl), modelscan's
// unsafe_globals, fickling's UNSAFE_IMPORTS.
constexpr std::array kDangerous = {
    // --- code execution and imports
    DangerousGlobal{"builtins", "eval", "evaluates Python source"},
    DangerousGlobal{"builtins", "exec", "executes Python source"},
    DangerousGlobal{"builtins", "execfile", "executes a Python file (Python 2)"},
    DangerousGlobal{"builtins", "compile", "compiles Python source to code objects"},
    DangerousGlobal{"builtins", "getattr", "reaches any attribute (os.system from a module)"},
    DangerousGlobal{"builtins", "setattr", "rebinds attributes of modules and classes"},
    DangerousGlobal{"builtins", "delattr", "removes attributes of modules and classes"},
    DangerousGlobal{"builtins", "__import__", "imports any module"},
    DangerousGlobal{"builtins", "open", "opens (and creates, truncates) files"},
    DangerousGlobal{"builtins", "file", "opens files (Python 2)"},
    DangerousGlobal{"builtins", "breakpoint", "starts a debugger"},
    DangerousGlobal{"builtins", "input", "reads the terminal"},
    DangerousGlobal{"builtins", "raw_input", "reads the terminal (Python 2)"},
    DangerousGlobal{"builtins", "globals", "exposes module globals"},
    DangerousGlobal{"builtins", "locals", "exposes local variables"},
    DangerousGlobal{"builtins", "vars", "exposes __dict__ of any object"},
    DangerousGlobal{"builtins", "apply", "calls any callable (Python 2)"},
    DangerousGlobal{"builtins", "reload", "re-imports modules (Python 2)"},
    DangerousGlobal{"builtins", "help", "starts pydoc (pager subprocess)"},
    DangerousGlobal{"builtins", "exit", "exits the interpreter"},
    DangerousGlobal{"builtins", "quit", "exits the interpreter"},
    DangerousGlobal{"types", "", "CodeType/FunctionType build and run code objects"},
    DangerousGlobal{"code", "", "interactive interpreter (GHSA-cj3c-v495-4xqh)"},
    DangerousGlobal{"codeop", "", "compiles Python source"},
    DangerousGlobal{"runpy", "", "runs modules and scripts"},
    DangerousGlobal{"importlib", "", "imports any module"},
    DangerousGlobal{"imp", "", "imports any module"},
    DangerousGlobal{"_imp", "", "create_dynamic loads native extension modules"},
    DangerousGlobal{"_frozen_importlib", "", "importlib's loaders (imports any module)"},
    DangerousGlobal{"_frozen_importlib_external", "",
                    "ExtensionFileLoader/SourceFileLoader load native and Python code"},
    DangerousGlobal{"site", "", "addpackage/execsitecustomize exec code"},
    DangerousGlobal{"IPython", "", "run_cell/system/getoutput run code and shells"},
    DangerousGlobal{"zipimport", "", "imports code from archives"},
    DangerousGlobal{"pkgutil", "", "resolve_name imports anything (GHSA-vvpj-8cmc-gx39)"},
    DangerousGlobal{"pydoc", "", "locate() imports anything, pipepager runs a shell"},
    DangerousGlobal{"operator", "attrgetter", "reaches any attribute (GHSA-46h3-79wf-xr6c)"},
    DangerousGlobal{"operator", "methodcaller", "calls any method (GHSA-955r-x9j8-7rhh)"},
    DangerousGlobal{"_operator", "attrgetter", "reaches any attribute"},
    DangerousGlobal{"_operator", "methodcaller", "calls any method"},
    DangerousGlobal{"functools", "partial", "binds arguments to any callable (malicious19)"},
    DangerousGlobal{"functools", "partialmethod", "binds arguments to any callable"},
    DangerousGlobal{"functools", "reduce", "calls any callable repeatedly"},
    DangerousGlobal{"timeit", "", "timeit/repeat/Timer exec their statement"},
    DangerousGlobal{"trace", "", "Trace.run/runctx exec code (GHSA-5qwp-399c-mjwf)"},
    DangerousGlobal{"profile", "", "run/runctx exec code (GHSA-7wx9-6375-f5wh)"},
    DangerousGlobal{"cProfile", "", "run/runctx exec code (GHSA-49gj-c84q-6qm9)"},
    DangerousGlobal{"_lsprof", "", "profiler internals"},
    DangerousGlobal{"pdb", "", "debugger: runs code"},
    DangerousGlobal{"bdb", "", "Bdb.run execs code (malicious15)"},
    DangerousGlobal{"doctest", "", "debug_script execs code (GHSA-fqq6-7vqf-w3fg)"},
    DangerousGlobal{"idlelib", "", "IDLE shell/run/calltip exec code (GHSA-3gf5..., GHSA-m869...)"},
    DangerousGlobal{"lib2to3", "",
                    "grammar/pgen load pickles and eval (GHSA-f54q..., GHSA-p9w7...)"},
    DangerousGlobal{"cgitb", "", "lookup evaluates names"},
    DangerousGlobal{"test", "",
                    "test.support.script_helper runs interpreters (GHSA-g38g-8gr9-h9xp)"},
    DangerousGlobal{"unittest.mock", "", "mock objects call anything"},
    // --- deserializers (nested pickles) and native code
    DangerousGlobal{"pickle", "", "nested unpickling (malicious13a)"},
    DangerousGlobal{"_pickle", "", "nested unpickling (malicious13b)"},
    DangerousGlobal{"cPickle", "", "nested unpickling (Python 2)"},
    DangerousGlobal{"dill", "", "pickles code"},
    DangerousGlobal{"cloudpickle", "", "rebuilds functions from code (cloudpickle_codeinjection)"},
    DangerousGlobal{"joblib", "", "nested unpickling"},
    DangerousGlobal{"shelve", "", "nested unpickling, files"},
    DangerousGlobal{"marshal", "", "loads code objects (marshal_bypass)"},
    DangerousGlobal{"yaml", "load", "PyYAML load with a caller's Loader builds any object"},
    DangerousGlobal{"yaml", "load_all", "PyYAML load_all with a caller's Loader builds any object"},
    DangerousGlobal{"yaml", "unsafe_load", "PyYAML UnsafeLoader calls any callable"},
    DangerousGlobal{"yaml", "unsafe_load_all", "PyYAML UnsafeLoader calls any callable"},
    DangerousGlobal{"yaml", "full_load", "PyYAML FullLoader builds objects (CVE-2020-14343)"},
    DangerousGlobal{"yaml", "full_load_all", "PyYAML FullLoader builds objects (CVE-2020-14343)"},
    DangerousGlobal{"ctypes", "", "calls native code (GHSA-4675-36f9-wf6r)"},
    DangerousGlobal{"_ctypes", "", "calls native code"},
    DangerousGlobal{"cffi", "", "calls native code"},
    // --- processes, shells and the system
    DangerousGlobal{"os", "", "system/popen/exec*/spawn*, files"},
    DangerousGlobal{"posix", "", "os on POSIX (system, ...)"},
    DangerousGlobal{"nt", "", "os on Windows (system, ...)"},
    DangerousGlobal{"sys", "", "interpreter state (sys.modules overrides, exit)"},
    DangerousGlobal{"subprocess", "", "runs programs"},
    DangerousGlobal{"_posixsubprocess", "", "runs programs"},
    DangerousGlobal{"pty", "", "spawn runs programs (GHSA-vqmv-47xg-9wpr)"},
    DangerousGlobal{"asyncio", "", "subprocess transports (GHSA-jgw4-cr84-mqxg)"},
    DangerousGlobal{"multiprocessing", "", "spawnv_passfds and process pools run programs"},
    DangerousGlobal{"_multiprocessing", "", "process internals"},
    DangerousGlobal{"concurrent.futures", "", "process pools"},
    DangerousGlobal{"platform", "", "popen/_syscmd_* run programs"},
    DangerousGlobal{"uuid", "_get_command_stdout", "runs programs (GHSA-g38g-8gr9-h9xp)"},
    DangerousGlobal{"_aix_support", "", "_read_cmd_output runs a shell (GHSA-g38g-8gr9-h9xp)"},
    DangerousGlobal{"_osx_support", "", "_read_output runs a shell (GHSA-g38g-8gr9-h9xp)"},
    DangerousGlobal{"_pyrepl", "", "pager runs a shell (GHSA-g38g-8gr9-h9xp)"},
    DangerousGlobal{"pyrepl", "", "pager runs a shell"},
    DangerousGlobal{"webbrowser", "", "starts programs"},
    DangerousGlobal{"signal", "", "process signals"},
    DangerousGlobal{"shutil", "", "copies, moves and deletes files"},
    DangerousGlobal{"io", "", "open/FileIO create and truncate files"},
    DangerousGlobal{"_io", "", "FileIO creates and truncates files (io_FileIO)"},
    DangerousGlobal{"codecs", "open", "opens files"},
    DangerousGlobal{"tempfile", "", "creates files"},
    DangerousGlobal{"pathlib", "", "Path.write_*/unlink touch files"},
    DangerousGlobal{"glob", "", "lists the file system"},
    DangerousGlobal{"fileinput", "", "opens files"},
    DangerousGlobal{"zipfile", "", "extracts archives"},
    DangerousGlobal{"tarfile", "", "extracts archives"},
    DangerousGlobal{"sqlite3", "", "opens databases"},
    DangerousGlobal{"dbm", "", "opens databases"},
    DangerousGlobal{"logging", "", "FileHandler writes files, config.listen (logging_FileHandler)"},
    DangerousGlobal{"venv", "", "creates environments and runs pip (malicious20)"},
    DangerousGlobal{"ensurepip", "", "_run_pip runs pip (GHSA-xp4f-hrf8-rxw7)"},
    DangerousGlobal{"pip", "", "installs packages (malicious16)"},
    DangerousGlobal{"distutils", "", "file_util.write_file, spawn (GHSA-m273-6v24-x4m4)"},
    DangerousGlobal{"setuptools", "", "builds and runs code"},
    DangerousGlobal{"pkg_resources", "", "imports entry points"},
    // --- network
    DangerousGlobal{"socket", "", "network connections (malicious7)"},
    DangerousGlobal{"_socket", "", "network connections"},
    DangerousGlobal{"ssl", "", "network connections"},
    DangerousGlobal{"requests", "", "HTTP requests (malicious4)"},
    DangerousGlobal{"urllib", "", "urlopen (urllib_request_urlopen)"},
    DangerousGlobal{"urllib2", "", "urlopen (Python 2)"},
    DangerousGlobal{"urllib3", "", "HTTP requests"},
    DangerousGlobal{"http", "", "HTTP connections (malicious3: httplib)"},
    DangerousGlobal{"httplib", "", "HTTP connections (Python 2)"},
    DangerousGlobal{"httpx", "", "HTTP requests"},
    DangerousGlobal{"aiohttp", "", "HTTP sessions (malicious5)"},
    DangerousGlobal{"ftplib", "", "FTP connections"},
    DangerousGlobal{"smtplib", "", "mail connections"},
    DangerousGlobal{"imaplib", "", "IMAP4_stream runs a command (GHSA-g38g-8gr9-h9xp)"},
    DangerousGlobal{"poplib", "", "mail connections"},
    DangerousGlobal{"nntplib", "", "news connections"},
    DangerousGlobal{"telnetlib", "", "telnet connections"},
    DangerousGlobal{"xmlrpc", "", "remote calls"},
    DangerousGlobal{"socketserver", "", "network servers"},
    // --- numpy and PyTorch entry points that run code (scanner advisories)
    DangerousGlobal{"numpy.testing", "", "_private.utils.runstring execs code (malicious22)"},
    DangerousGlobal{"numpy.f2py", "", "crackfortran evals (GHSA-r8g5-cgf2-4m4m)"},
    DangerousGlobal{"numpy.distutils", "", "runs compilers"},
    DangerousGlobal{"numpy", "load", "np.load(allow_pickle) unpickles"},
    DangerousGlobal{"numpy.lib.npyio", "", "np.load unpickles"},
    DangerousGlobal{"numpy.ctypeslib", "", "loads native libraries"},
    DangerousGlobal{"torch", "load", "nested torch.load"},
    DangerousGlobal{"torch.serialization", "load", "nested torch.load (malicious19)"},
    DangerousGlobal{"torch.storage", "_load_from_bytes", "torch.load of embedded bytes"},
    DangerousGlobal{"torch.serialization", "_load", "nested torch.load"},
    DangerousGlobal{"torch.serialization", "_legacy_load", "nested torch.load"},
    DangerousGlobal{"torch.jit", "load", "loads TorchScript (runs its code)"},
    DangerousGlobal{"torch.jit.mobile", "", "loads TorchScript lite modules"},
    DangerousGlobal{"torch.ops", "", "torch.ops.load_library dlopens a native library"},
    DangerousGlobal{"torch.classes", "", "torch.classes.load_library dlopens a native library"},
    DangerousGlobal{"torch._ops", "",
                    "ops.load_library dlopens a native library; re-exports ctypes and sys"},
    DangerousGlobal{"torch._classes", "", "classes.load_library dlopens a native library"},
    DangerousGlobal{"torch._C", "import_ir_module", "loads TorchScript (runs its code)"},
    DangerousGlobal{"torch._C", "import_ir_module_from_buffer", "loads TorchScript"},
    DangerousGlobal{"torch._C", "_import_ir_module_from_package", "loads TorchScript"},
    DangerousGlobal{"torch._C", "_load_for_lite_interpreter", "loads TorchScript lite modules"},
    DangerousGlobal{"torch._C", "_load_for_lite_interpreter_from_buffer",
                    "loads TorchScript lite modules"},
    DangerousGlobal{"torch.hub", "", "downloads and runs hubconf code"},
    DangerousGlobal{"torch.package", "", "imports packaged code"},
    DangerousGlobal{"torch.utils.collect_env", "", "run() runs a shell (GHSA-f745-w6jp-hpxx)"},
    DangerousGlobal{"torch.utils.bottleneck", "", "runs profilers on code (GHSA-4r9r-ch6f-vxmx)"},
    DangerousGlobal{"torch.utils.cpp_extension", "", "compiles and loads native code"},
    DangerousGlobal{"torch.utils._config_module", "", "load_config unpickles (GHSA-vv6j)"},
    DangerousGlobal{"torch.utils.data.datapipes", "", "decoders unpickle (GHSA-h3qp-7fh3-f8h4)"},
    DangerousGlobal{"torch._dynamo", "", "guards eval (GHSA-86cj-95qr-2p4f)"},
    DangerousGlobal{"torch._inductor", "", "codecache compiles and runs (malicious17)"},
    DangerousGlobal{"torch.fx", "",
                    "GraphModule code and guard expressions are exec'd (GHSA-f4x7)"},
    DangerousGlobal{"torch.jit.unsupported_tensor_ops", "", "execWrapper execs (GHSA-vr7h-p6mm)"},
    DangerousGlobal{"torch.distributed", "", "RPC runs remote code"},
    DangerousGlobal{"torch.multiprocessing", "", "spawns processes"},
    DangerousGlobal{"torch.testing", "", "test helpers run code"},
    DangerousGlobal{"torch._export", "", "loads serialized programs"},
};

// CPython's `_compat_pickle.IMPORT_MAPPING` for the modules the tables above care about, plus
// the spellings of builtins that unpicklers accept.
std::string_view py3_module(std::string_view m) {
  if (m == "__builtin__" || m == "__builtins__" || m == "exceptions") return "builtins";
  if (m == "copy_reg") return "copyreg";
  if (m == "httplib") return "http.client";
  if (m == "urllib2") return "urllib.request";
  if (m == "cPickle") return "pickle";
  if (m == "commands") return "subprocess";
  if (m == "SocketServer") return "socketserver";
  if (m == "xmlrpclib") return "xmlrpc.client";
  if (m == "Tkinter") return "tkinter";
  return m;
}

bool module_matches(std::string_view module, std::string_view prefix) {
  return module == prefix || (module.size() > prefix.size() && module.starts_with(prefix) &&
                              module[prefix.size()] == '.');
}

bool is_dunder(std::string_view s) {
  return s.size() > 4 && s.starts_with("__") && s.ends_with("__");
}

bool is_dtype_name(std::string_view name) {
  for (const auto& info : all_scalar_types())
    if (info.name == name) return true;
  for (std::string_view alias :
       {"float",   "double", "half",  "long",          "int",        "short", "cfloat",
        "cdouble", "chalf",  "bool",  "uint1",         "uint2",      "uint3", "uint4",
        "uint5",   "uint6",  "uint7", "int1",          "int2",       "int3",  "int4",
        "int5",    "int6",   "int7",  "float8_e4m3fn", "float8_e5m2"})
    if (alias == name) return true;
  return false;
}

// The allowlist: spec-torch-save.md 8.3 (weights_only), 3.6 and 4.12 (what torch.save writes),
// the TorchScript dialect (spec-torchscript.md 5.3-5.10) and numpy's array reconstructors.
const char* allowed_reason(std::string_view module, std::string_view name) {
  if (module == "__torch__" || module.starts_with("__torch__."))
    return "TorchScript class (__torch__.*), data only";
  if (module == "torch.jit._pickle") return "TorchScript pickle helper (torch.jit._pickle)";
  if (module == "torch._utils" && name.starts_with("_rebuild_")) return "tensor rebuild function";
  if ((module == "torch._tensor" || module == "torch.tensor") &&
      (name == "_rebuild_from_type_v2" || name == "_rebuild_from_type"))
    return "tensor subclass rebuild function";
  if (module == "torch.nn.parameter" && name == "Parameter") return "weights_only allowlist";
  if (module == "torch.serialization" && name == "_get_layout") return "weights_only allowlist";
  if (module == "torch" || module == "torch.cuda") {
    if (name == "Size" || name == "Tensor" || name == "device" || name == "dtype" ||
        name == "layout" || name == "memory_format")
      return "weights_only allowlist";
    if (name.ends_with("Storage") && name.find('.') == std::string_view::npos)
      return "storage class";
    if (name.ends_with("Tensor") && name.find('.') == std::string_view::npos)
      return "tensor type class";
    if (module == "torch") {
      if (is_dtype_name(name)) return "dtype";
      for (std::string_view q :
           {"per_tensor_affine", "per_tensor_symmetric", "per_channel_affine",
            "per_channel_symmetric", "per_channel_affine_float_qparams", "strided", "sparse_coo",
            "sparse_csr", "sparse_csc", "sparse_bsr", "sparse_bsc", "_mkldnn"})
        if (q == name) return "qscheme or layout";
    }
  }
  if (module == "torch.storage" && (name == "TypedStorage" || name == "UntypedStorage"))
    return "storage class";
  if (module == "collections" && (name == "OrderedDict" || name == "Counter"))
    return "weights_only allowlist";
  if (module == "_codecs" && name == "encode") return "weights_only allowlist (bytes)";
  if (module == "builtins") {
    for (std::string_view b : {"set", "frozenset", "bytearray", "bytes", "complex", "slice",
                               "range", "bool", "int", "float", "str", "list", "tuple", "dict"})
      if (b == name) return "plain builtin value type";
  }
  if ((module == "numpy.core.multiarray" || module == "numpy._core.multiarray") &&
      (name == "_reconstruct" || name == "scalar"))
    return "numpy array/scalar reconstructor";
  if (module == "numpy" && (name == "ndarray" || name == "dtype")) return "numpy array type";
  if (module == "numpy.dtypes" && name.ends_with("DType")) return "numpy dtype class";
  return nullptr;
}

}  // namespace

std::string_view global_class_name(GlobalClass c) noexcept {
  switch (c) {
    case GlobalClass::kAllowed:
      return "allowed";
    case GlobalClass::kUnknown:
      return "unknown";
    case GlobalClass::kDangerous:
      return "dangerous";
  }
  return "unknown";
}

std::string_view verdict_name(Verdict v) noexcept {
  switch (v) {
    case Verdict::kSafe:
      return "safe";
    case Verdict::kSuspicious:
      return "suspicious";
    case Verdict::kDangerous:
      return "dangerous";
  }
  return "suspicious";
}

std::span<const DangerousGlobal> dangerous_globals() noexcept {
  return kDangerous;
}

GlobalClass classify_global(std::string_view module_in, std::string_view name,
                            std::string* reason) {
  auto set = [&](std::string text) {
    if (reason) *reason = std::move(text);
  };
  const std::string_view module = py3_module(module_in);
  // The first component of a dotted name is what the module lookup reaches (pickle walks the
  // rest with getattr); tables are keyed by it, and by the full name.
  const std::string_view head = name.substr(0, name.find('.'));
  for (const DangerousGlobal& d : kDangerous) {
    if (!module_matches(module, d.module)) continue;
    if (d.name.empty() || d.name == name || d.name == head) {
      set(std::string(d.why));
      return GlobalClass::kDangerous;
    }
  }
  if (const char* why = allowed_reason(module, name)) {
    set(why);
    return GlobalClass::kAllowed;
  }
  // Attribute chains (`Class.method`, protocol 4 qualnames walked with getattr) and dunder
  // components (`__globals__`, `__builtins__`, `__subclasses__`) reach arbitrary objects.
  if (name.find('.') != std::string_view::npos) {
    set("attribute chain in the name (reaches objects beyond the module's top level)");
    return GlobalClass::kDangerous;
  }
  for (std::string_view part = name;;) {
    const auto dot = part.find('.');
    if (is_dunder(part.substr(0, dot))) {
      set("dunder attribute in the name");
      return GlobalClass::kDangerous;
    }
    if (dot == std::string_view::npos) break;
    part.remove_prefix(dot + 1);
  }
  for (std::string_view part = module;;) {
    const auto dot = part.find('.');
    const std::string_view comp = part.substr(0, dot);
    if (is_dunder(comp) && comp != "__torch__" && comp != "__main__") {
      set("dunder component in the module name");
      return GlobalClass::kDangerous;
    }
    if (dot == std::string_view::npos) break;
    part.remove_prefix(dot + 1);
  }
  set({});
  return GlobalClass::kUnknown;
}

}  // namespace ptio
