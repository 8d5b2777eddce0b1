package pickle

import (
	"strings"
	"unicode/utf8"

	"github.com/gatehouse-dev/gatehouse/scanners/model/finding"
)

// The import policy is allow-list first: a global that ML frameworks
// legitimately put in their pickles is allowed; a known gadget is critical
// (or high for network access); anything else is at least medium, so a new
// gadget is never judged clean.

// moduleAliases are Python 2 module names the unpickler maps to Python 3
// (Lib/_compat_pickle.py), so a deny entry cannot be dodged by spelling.
var moduleAliases = map[string]string{
	"__builtin__":  "builtins",
	"exceptions":   "builtins",
	"copy_reg":     "copyreg",
	"cPickle":      "pickle",
	"_pickle":      "pickle",
	"commands":     "subprocess",
	"UserDict":     "collections",
	"Queue":        "queue",
	"httplib":      "http.client",
	"urllib2":      "urllib.request",
	"cStringIO":    "io",
	"StringIO":     "io",
	"thread":       "_thread",
	"__builtins__": "builtins",
}

// nameAliases are Python 2 (module, name) pairs the unpickler maps to
// other Python 3 globals (Lib/_compat_pickle.py NAME_MAPPING). Protocol 0-2
// pickles written by Python 3 use them too: pickle.dumps(range(3),
// protocol=2) names __builtin__.xrange, set and frozenset __builtin__.set.
var nameAliases = map[[2]string][2]string{
	{"__builtin__", "xrange"}:        {"builtins", "range"},
	{"__builtin__", "reduce"}:        {"functools", "reduce"},
	{"__builtin__", "intern"}:        {"sys", "intern"},
	{"__builtin__", "unichr"}:        {"builtins", "chr"},
	{"__builtin__", "unicode"}:       {"builtins", "str"},
	{"__builtin__", "long"}:          {"builtins", "int"},
	{"__builtin__", "basestring"}:    {"builtins", "str"},
	{"itertools", "izip"}:            {"builtins", "zip"},
	{"itertools", "imap"}:            {"builtins", "map"},
	{"itertools", "ifilter"}:         {"builtins", "filter"},
	{"UserDict", "IterableUserDict"}: {"collections", "UserDict"},
	{"UserList", "UserList"}:         {"collections", "UserList"},
	{"UserString", "UserString"}:     {"collections", "UserString"},
}

// NormalizeGlobal maps a Python 2 (module, name) to what Python 3's
// unpickler imports.
func NormalizeGlobal(module, name string) (string, string) {
	if a, ok := nameAliases[[2]string{module, name}]; ok {
		return a[0], a[1]
	}
	return Normalize(module), name
}

// allowed are exact module.name globals that ML checkpoints use and that do
// nothing on load beyond rebuilding data.
var allowed = setOf(
	// collections and plain containers
	"collections.OrderedDict", "collections.defaultdict", "collections.Counter", "collections.deque",
	"builtins.set", "builtins.frozenset", "builtins.slice", "builtins.complex", "builtins.range",
	"builtins.bytearray", "builtins.bytes", "builtins.dict", "builtins.list", "builtins.tuple",
	"builtins.int", "builtins.float", "builtins.bool", "builtins.str", "builtins.object",
	"copyreg._reconstructor", "copyreg.__newobj__", "copyreg.__newobj_ex__",
	"_codecs.encode", // protocol 2 encodes bytes as _codecs.encode(str, "latin1")
	"datetime.datetime", "datetime.date", "datetime.time", "datetime.timedelta", "datetime.timezone",
	"decimal.Decimal", "fractions.Fraction", "uuid.UUID", "pathlib.PosixPath", "pathlib.WindowsPath", "pathlib.PurePosixPath",
	"argparse.Namespace", "enum.Enum", "types.SimpleNamespace",
	// torch tensors, storages, parameters
	"torch._utils._rebuild_tensor", "torch._utils._rebuild_tensor_v2", "torch._utils._rebuild_tensor_v3",
	"torch._utils._rebuild_parameter", "torch._utils._rebuild_parameter_with_state",
	"torch._utils._rebuild_sparse_tensor", "torch._utils._rebuild_sparse_csr_tensor",
	"torch._utils._rebuild_nested_tensor", "torch._utils._rebuild_device_tensor_from_numpy",
	"torch._utils._rebuild_qtensor", "torch._utils._rebuild_meta_tensor_no_storage",
	"torch._utils._rebuild_wrapper_subclass", "torch._utils._rebuild_xla_tensor",
	"torch._utils._rebuild_mtia_tensor", "torch._utils._rebuild_tensor_v2_with_state",
	"torch._tensor._rebuild_from_type", "torch._tensor._rebuild_from_type_v2",
	"torch.storage.UntypedStorage", "torch.storage.TypedStorage", "torch.storage._TypedStorage",
	"torch.nn.parameter.Parameter", "torch.nn.parameter.Buffer", "torch.nn.parameter.UninitializedParameter",
	"torch.Size", "torch.device", "torch.dtype", "torch.layout", "torch.memory_format",
	"torch.Tensor", "torch.strided", "torch.sparse_coo", "torch.sparse_csr", "torch._utils._rebuild_tensor_v3",
	"torch.contiguous_format", "torch.channels_last", "torch.channels_last_3d", "torch.preserve_format",
	"torch.serialization._get_layout", "torch.torch_version.TorchVersion",
	"torch.nn.modules.container.ModuleDict", "torch.nn.modules.container.ParameterDict",
	// quantized tensors: _rebuild_qtensor takes the qscheme object by name
	"torch.per_tensor_affine", "torch.per_channel_affine", "torch.per_tensor_symmetric",
	"torch.per_channel_symmetric", "torch.per_channel_affine_float_qparams",
	// Hugging Face tokenizers (Rust objects pickled as their JSON state)
	"tokenizers.Tokenizer", "tokenizers.AddedToken", "tokenizers.Regex",
	// TorchScript archives' pickles (read by torch's C++ unpickler)
	"torch.jit._pickle.build_intlist", "torch.jit._pickle.build_tensorlist", "torch.jit._pickle.build_doublelist",
	"torch.jit._pickle.build_boollist", "torch.jit._pickle.build_tensor_from_id", "torch.jit._pickle.restore_type_tag",
	// numpy arrays, dtypes, scalars
	"numpy.core.multiarray._reconstruct", "numpy._core.multiarray._reconstruct",
	"numpy.core.multiarray.scalar", "numpy._core.multiarray.scalar",
	"numpy.core.numeric._frombuffer", "numpy._core.numeric._frombuffer",
	"numpy.dtype", "numpy.ndarray", "numpy.ma.core._mareconstruct", "numpy.ma.core.MaskedArray",
	"numpy.random._pickle.__randomstate_ctor", "numpy.random._pickle.__bit_generator_ctor",
	"numpy.random._pickle.__generator_ctor", "numpy.random.mtrand.RandomState",
	"numpy.random._mt19937.MT19937", "numpy.random._pcg64.PCG64", "numpy.random._philox.Philox",
	"numpy.random._sfc64.SFC64", "numpy.random._generator.Generator",
	// joblib array wrappers
	"joblib.numpy_pickle.NumpyArrayWrapper", "joblib.numpy_pickle_compat.NDArrayWrapper",
	"sklearn.externals.joblib.numpy_pickle.NumpyArrayWrapper",
)

// torchDtypes are the dtype objects torch pickles by name (torch.float32, ...).
var torchDtypes = setOf("float32", "float", "float64", "double", "float16", "half", "bfloat16",
	"complex32", "complex64", "complex128", "cfloat", "cdouble", "chalf", "uint8", "uint16", "uint32", "uint64",
	"int8", "int16", "short", "int32", "int", "int64", "long", "bool", "qint8", "quint8", "qint32",
	"quint4x2", "quint2x4", "float8_e4m3fn", "float8_e5m2", "float8_e4m3fnuz", "float8_e5m2fnuz",
	"float8_e8m0fnu", "float4_e2m1fn_x2", "bits8", "bits16", "bits1x8", "bits2x4", "bits4x2")

// frameworkClassPrefixes are packages whose classes (CamelCase names) are
// estimators or layers rebuilt from plain state; their functions are not allowed.
var frameworkClassPrefixes = []string{
	"torch.nn.modules.", "sklearn.", "xgboost.", "lightgbm.", "catboost.core.",
	// quantized and fused modules (torch.ao.nn.quantized.Linear, ...), and
	// the pieces of a tokenizers.Tokenizer, each rebuilt from JSON state
	"torch.ao.nn.", "torch.nn.quantized.", "torch.nn.intrinsic.",
	"tokenizers.models.", "tokenizers.normalizers.", "tokenizers.pre_tokenizers.",
	"tokenizers.decoders.", "tokenizers.processors.",
}

// frameworkClassDenied are sub-packages of those frameworks excluded from
// the class rule (they fetch, execute or load further data).
var frameworkClassDenied = []string{
	"sklearn.datasets", "sklearn.utils._testing", "sklearn.externals", "sklearn.utils.fixes",
}

type denyEntry struct {
	sev    finding.Severity
	reason string
}

// denied maps a module, a module.name, or a package prefix to why it is
// dangerous. Matches cover submodules (asyncio.unix_events under asyncio).
var denied = map[string]denyEntry{}

func deny(sev finding.Severity, reason string, names ...string) {
	for _, n := range names {
		denied[n] = denyEntry{sev, reason}
	}
}

func init() {
	c, h := finding.Critical, finding.High
	deny(c, "runs operating-system commands or processes",
		"os", "nt", "posix", "subprocess", "pty", "_posixsubprocess", "multiprocessing", "pexpect",
		"_osx_support", "_aix_support", "venv", "ensurepip", "pip", "setuptools", "distutils",
		"numpy.f2py", "numpy.distutils", "imaplib.IMAP4_stream", "asyncio", "platform.popen",
		"torch.utils.collect_env", "torch.utils.cpp_extension", "paramiko", "fabric", "sh", "plumbum")
	deny(c, "evaluates or compiles code",
		"builtins.eval", "builtins.exec", "builtins.compile", "builtins.execfile", "builtins.apply",
		"builtins.__import__", "builtins.breakpoint", "builtins.input", "builtins.reload",
		"builtins.globals", "builtins.locals", "builtins.vars", "builtins.help",
		"runpy", "code", "codeop", "types", "marshal", "importlib", "pkgutil", "zipimport", "imp", "site",
		"inspect", "pydoc", "doctest", "trace", "timeit", "cProfile", "profile", "pdb", "bdb", "idlelib",
		"lib2to3", "_pyrepl", "test", "numpy.testing", "dill", "cloudpickle", "yaml", "jinja2", "ctypes", "_ctypes",
		"numpy.ctypeslib", "torch.fx", "torch.jit", "torch._dynamo", "torch._inductor", "torch._C",
		"torch.package", "torch.ops", "torch._ops", "torch.classes", "torch.library", "code.InteractiveInterpreter",
		"sys", "gc", "functools", "operator", "_operator", "copyreg", "weakref", "_thread", "threading", "atexit", "signal")
	deny(c, "reads or writes files",
		"builtins.open", "builtins.file", "io", "_io", "codecs.open", "shutil", "tempfile", "glob", "tarfile",
		"zipfile", "mmap", "sqlite3", "shelve", "dbm", "fileinput", "filecmp", "linecache", "pathlib.Path.write_text",
		"logging.FileHandler", "logging.handlers", "logging.config")
	deny(c, "loads another pickle or model (the payload hides there)",
		"pickle", "_pickle", "pickletools", "joblib.load", "joblib.numpy_pickle.load", "numpy.load",
		"numpy.lib.npyio", "numpy.lib.format", "pandas.read_pickle", "pandas.io.pickle",
		"torch.load", "torch.serialization", "torch.storage._load_from_bytes", "torch.hub",
		"keras.models.load_model", "tensorflow.keras.models.load_model", "transformers.AutoModel")
	deny(c, "reads or changes attributes by name (a universal gadget)",
		"builtins.getattr", "builtins.setattr", "builtins.delattr", "builtins.hasattr",
		"builtins.exit", "builtins.quit", "builtins.memoryview", "pkgutil.resolve_name")
	deny(h, "opens network connections",
		"socket", "_socket", "ssl", "http", "urllib", "urllib2", "urllib3", "requests", "httpx", "aiohttp",
		"webbrowser", "ftplib", "smtplib", "poplib", "imaplib", "nntplib", "telnetlib", "xmlrpc",
		"socketserver", "asynchat", "asyncore", "selectors", "select", "torch.distributed", "uuid._get_command_stdout",
		"logging", "grpc", "websocket", "websockets")
	// uuid is in picklescan's list (it used to run ifconfig); uuid.UUID stays allowed.
	deny(c, "runs external commands (uuid's helpers spawn processes)", "uuid")
}

func setOf(names ...string) map[string]bool {
	m := make(map[string]bool, len(names))
	for _, n := range names {
		m[n] = true
	}
	return m
}

// Normalize maps Python 2 module spellings to what the unpickler imports.
func Normalize(module string) string {
	if a, ok := moduleAliases[module]; ok {
		return a
	}
	// numpy 2 renamed numpy.core to numpy._core; both resolve.
	return module
}

// Judge rates one import. A zero severity means the global is allowed.
func Judge(module, name string) (finding.Severity, string) {
	m3, n3 := NormalizeGlobal(module, name)
	sev, reason := judge(m3, n3)
	if sev != 0 && (m3 != module || n3 != name) && validName(module) && validName(name) {
		reason += " (Python 3's unpickler imports " + module + "." + name + " as " + m3 + "." + n3 + ")"
	}
	return sev, reason
}

func judge(module, name string) (finding.Severity, string) {
	full := module + "." + name
	if module == "" || name == "" || !validName(module) || !validName(name) {
		return finding.Critical, "import name is empty or not a valid Python name: it cannot be judged"
	}
	if allowed[full] {
		return 0, ""
	}
	if e, ok := lookupDenied(full); ok {
		return e.sev, e.reason
	}
	// Uncommon module with a denied name reached through a dotted name.
	if dunder(module, name) {
		return finding.Critical, "dunder attribute in the import (reaches interpreter internals such as __globals__ or __builtins__)"
	}
	if strings.Contains(name, ".") {
		return finding.Critical, "dotted name walks attributes of " + module + " (can reach any module it imports)"
	}
	if module == "torch" && (strings.HasSuffix(name, "Storage") && isIdent(name) || torchDtypes[name]) {
		return 0, ""
	}
	// TorchScript class types: only torch.jit's own unpickler resolves
	// them; Python's pickle cannot import a module named __torch__.
	if (module == "__torch__" || strings.HasPrefix(module, "__torch__.")) && isIdent(name) {
		return 0, ""
	}
	if module == "numpy.dtypes" && strings.HasSuffix(name, "DType") {
		return 0, ""
	}
	if isClassName(name) {
		for _, p := range frameworkClassPrefixes {
			if strings.HasPrefix(module+".", p) && !hasDeniedPrefix(module, frameworkClassDenied) {
				return 0, ""
			}
		}
	}
	if module == "builtins" {
		return finding.High, "builtin callable that ML checkpoints do not use"
	}
	return finding.Medium, "global not on the allow list of ML framework globals: review what it does on load"
}

// lookupDenied matches full (module.name) and each of its dotted prefixes.
func lookupDenied(full string) (denyEntry, bool) {
	for s := full; ; {
		if e, ok := denied[s]; ok {
			return e, true
		}
		i := strings.LastIndexByte(s, '.')
		if i < 0 {
			return denyEntry{}, false
		}
		s = s[:i]
	}
}

func hasDeniedPrefix(module string, prefixes []string) bool {
	for _, p := range prefixes {
		if module == p || strings.HasPrefix(module, p+".") {
			return true
		}
	}
	return false
}

func dunder(module, name string) bool {
	for _, part := range strings.Split(module, ".") {
		if part != "__main__" && part != "__torch__" && len(part) > 4 && strings.HasPrefix(part, "__") && strings.HasSuffix(part, "__") {
			return true
		}
	}
	for _, part := range strings.Split(name, ".") {
		if len(part) > 4 && strings.HasPrefix(part, "__") && strings.HasSuffix(part, "__") {
			return true
		}
	}
	return false
}

// validName accepts dotted Python identifiers (ASCII letters, digits, '_').
func validName(s string) bool {
	for _, part := range strings.Split(s, ".") {
		if !isIdent(part) {
			return false
		}
	}
	return true
}

func isIdent(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9' {
			continue
		}
		return false
	}
	return true
}

func isClassName(s string) bool {
	return isIdent(s) && s[0] >= 'A' && s[0] <= 'Z'
}

// Loadable reports whether CPython's unpickler could resolve imp at all.
// An extension code (EXT1/2/4) needs copyreg's extension registry, which
// is empty unless the loading program fills it; a module or name that is
// not UTF-8, or holds a NUL or another control character, fails to decode
// or to import before anything runs. Carving pickles out of unrecognised
// data uses it to tell a hidden payload from the noise of random bytes
// that happen to parse; a pickle file itself is judged without it.
func Loadable(imp Import) bool {
	if strings.HasPrefix(imp.Opcode, "EXT") {
		return false
	}
	for _, s := range []string{imp.Module, imp.Name} {
		if imp.Unresolved != "" {
			// Not known statically (a non-string argument: both empty;
			// too long: a prefix). Judge what is known; a prefix may
			// end inside a character.
			for i := 0; i < 3 && s != "" && !utf8.ValidString(s); i++ {
				s = s[:len(s)-1]
			}
		} else if s == "" {
			return false
		}
		if !utf8.ValidString(s) {
			return false
		}
		for _, r := range s {
			if r < 0x20 || r == 0x7f {
				return false
			}
		}
	}
	return true
}
