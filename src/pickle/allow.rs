//! The allow-list: the exact `(module, name)` globals a scikit-learn pickle of a
//! `StandardScaler -> LogisticRegression` pipeline references, each bound to the one way it may
//! be used, and the verdict on every other global.

use serde::Serialize;

/// An allowed global and the use it is allowed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// `sklearn.pipeline.Pipeline`: `NEWOBJ` with `()`, then one `BUILD` with its `__dict__`.
    Pipeline,
    /// `sklearn.preprocessing._data.StandardScaler`: as `Pipeline`.
    StandardScaler,
    /// `sklearn.linear_model._logistic.LogisticRegression`: as `Pipeline`.
    LogisticRegression,
    /// `joblib.numpy_pickle.NumpyArrayWrapper`: `NEWOBJ` with `()`, then `BUILD` with the
    /// array's description; the array's bytes follow in the stream.
    ArrayWrapper,
    /// `numpy.ndarray`: a value only (the wrapper's `subclass`, `_reconstruct`'s first argument).
    NdArray,
    /// `numpy.dtype`: `REDUCE` with `(descr, False, True)`, then `BUILD` with its state.
    Dtype,
    /// `numpy.(_)core.multiarray.scalar`: `REDUCE` with `(dtype, bytes)`.
    Scalar,
    /// `numpy.(_)core.multiarray._reconstruct`: `REDUCE` with `(ndarray, (0,), b'b')`, then
    /// `BUILD` with `(1, shape, dtype, is_fortran, data)`.
    Reconstruct,
    /// `numpy.(_)core.numeric._frombuffer`: `REDUCE` with `(buffer, dtype, shape, order)`.
    FromBuffer,
    /// `_codecs.encode`: `REDUCE` with `(str, 'latin1')`, how protocol 2 spells bytes.
    Encode,
}

/// What a referenced global is, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    Allowed,
    /// A callable that runs commands, code or I/O when the pickle is loaded.
    Dangerous(String),
    /// A scikit-learn class onnxify does not convert (yet).
    Unsupported(String),
}

impl Verdict {
    /// A short label for the text report.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Dangerous(_) => "DANGEROUS",
            Verdict::Unsupported(_) => "unsupported",
        }
    }
}

/// Every `(module, name)` on the allow-list.
pub const ALLOWED: &[(&str, &str)] = &[
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.preprocessing._data", "StandardScaler"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("joblib.numpy_pickle", "NumpyArrayWrapper"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy._core.multiarray", "scalar"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy._core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy._core.numeric", "_frombuffer"),
    ("numpy.core.numeric", "_frombuffer"),
    ("_codecs", "encode"),
];

/// The allowed use of `module.name`, if it is on the allow-list.
pub fn allowed(module: &str, name: &str) -> Option<Allowed> {
    Some(match (module, name) {
        ("sklearn.pipeline", "Pipeline") => Allowed::Pipeline,
        ("sklearn.preprocessing._data", "StandardScaler") => Allowed::StandardScaler,
        ("sklearn.linear_model._logistic", "LogisticRegression") => Allowed::LogisticRegression,
        ("joblib.numpy_pickle", "NumpyArrayWrapper") => Allowed::ArrayWrapper,
        ("numpy", "ndarray") => Allowed::NdArray,
        ("numpy", "dtype") => Allowed::Dtype,
        // numpy 2 moved numpy.core to numpy._core; files from numpy 1.x use the old name.
        ("numpy._core.multiarray" | "numpy.core.multiarray", "scalar") => Allowed::Scalar,
        ("numpy._core.multiarray" | "numpy.core.multiarray", "_reconstruct") => {
            Allowed::Reconstruct
        }
        ("numpy._core.numeric" | "numpy.core.numeric", "_frombuffer") => Allowed::FromBuffer,
        ("_codecs", "encode") => Allowed::Encode,
        _ => return None,
    })
}

/// What `find_class` looks up for `module.name` (interim: no renaming yet).
pub fn resolve<'a>(
    module: &'a str,
    name: &'a str,
    _protocol: u8,
) -> (std::borrow::Cow<'a, str>, std::borrow::Cow<'a, str>) {
    (module.into(), name.into())
}

/// The verdict on `module.name`.
pub fn verdict(module: &str, name: &str, _protocol: u8) -> Verdict {
    if allowed(module, name).is_some() {
        return Verdict::Allowed;
    }
    if let Some(why) = attribute_chain(module, name) {
        return Verdict::Dangerous(why);
    }
    // Python's unpickler renames Python 2 modules (fix_imports), so `__builtin__.eval` loads
    // builtins.eval.
    if let Some(why) = dangerous(python3_module(module), name) {
        return Verdict::Dangerous(why.into());
    }
    let top = module.split('.').next().unwrap_or(module);
    if top == "sklearn" && name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Verdict::Unsupported(
            "not supported yet: onnxify converts a Pipeline of StandardScaler and \
             LogisticRegression, or a bare LogisticRegression"
                .into(),
        );
    }
    if top == "sklearn" {
        return Verdict::Dangerous(
            "a scikit-learn function or value, not a model class onnxify converts".into(),
        );
    }
    Verdict::Dangerous("not a part of the scikit-learn pipelines onnxify reads".into())
}

/// Why a dotted or dunder name is dangerous. Loading looks a dotted name up attribute by
/// attribute (`find_class` in protocol 4), so `sklearn.datasets._base` with `os.system` is
/// `os.system`: such a name reaches whatever the module imports, whatever the module is.
fn attribute_chain(module: &str, name: &str) -> Option<String> {
    let mut parts = name.split('.');
    let first = parts.next().unwrap_or(name);
    if let Some(second) = parts.next() {
        let reached = match dangerous(python3_module(first), second) {
            Some(why) => format!(" ({first}.{second}: {why})"),
            None => String::new(),
        };
        return Some(format!(
            "a dotted name: loading follows it attribute by attribute from {module}, which \
             reaches anything {module} imports{reached}"
        ));
    }
    name.starts_with("__").then(|| {
        "a module's internal attribute (its builtins, globals, loader), outside any model".into()
    })
}

/// The Python 3 name of a Python 2 module that Python's unpickler renames (`_compat_pickle`),
/// for the modules that matter here.
fn python3_module(module: &str) -> &str {
    match module {
        "__builtin__" | "exceptions" => "builtins",
        "copy_reg" => "copyreg",
        "thread" => "_thread",
        "dummy_thread" => "_dummy_thread",
        "commands" => "subprocess",
        "cPickle" => "pickle",
        "urllib2" => "urllib.request",
        "urlparse" | "robotparser" => "urllib",
        "httplib" | "BaseHTTPServer" | "SimpleHTTPServer" | "CGIHTTPServer" | "cookielib" => "http",
        "SocketServer" => "socketserver",
        "xmlrpclib" | "SimpleXMLRPCServer" => "xmlrpc",
        "anydbm" | "dbhash" | "dumbdbm" | "gdbm" | "whichdb" => "dbm",
        "StringIO" | "cStringIO" => "io",
        "_winreg" => "winreg",
        "test.test_support" => "test.support",
        other => other,
    }
}

/// Why `module.name` is known to be dangerous to load, if it is: it runs commands or code,
/// loads another pickle, touches files, the network or processes, or calls what it is given.
fn dangerous(module: &str, name: &str) -> Option<&'static str> {
    let top = module.split('.').next().unwrap_or(module);
    let in_path = |part: &str| module.split('.').any(|m| m == part);
    let why = match (top, name) {
        (
            "os" | "posix" | "nt",
            "system" | "popen" | "execv" | "execve" | "execl" | "execle" | "execlp" | "execlpe"
            | "execvp" | "execvpe" | "spawnl" | "spawnle" | "spawnv" | "spawnve" | "spawnlp"
            | "spawnlpe" | "spawnvp" | "spawnvpe" | "startfile" | "posix_spawn" | "posix_spawnp"
            | "fork" | "forkpty",
        ) => "runs a shell command or program",
        ("os" | "posix" | "nt", _) => "operating-system access (files, processes, environment)",
        ("subprocess" | "_posixsubprocess" | "_winapi" | "_subprocess" | "pty" | "popen2", _) => {
            "runs a program"
        }
        ("pydoc", _) => "runs a program (pipepager, tempfilepager) or imports code (locate)",
        ("builtins", "eval" | "exec" | "compile" | "execfile") => "runs Python code",
        (
            "builtins",
            "getattr" | "setattr" | "delattr" | "__import__" | "globals" | "locals" | "vars"
            | "breakpoint" | "input" | "help",
        ) => "reaches arbitrary objects or modules",
        ("builtins", "open" | "file") => "opens a file",
        ("builtins", _) => "a Python builtin, outside any model's data",
        (
            "sys" | "importlib" | "imp" | "pkgutil" | "runpy" | "code" | "codeop" | "inspect"
            | "zipimport" | "site" | "gc",
            _,
        ) => "imports or runs code",
        ("types", _) => "builds functions or code objects",
        ("copyreg", _) => "builds any object with arbitrary arguments",
        (
            "pickle" | "_pickle" | "pickletools" | "marshal" | "shelve" | "dill" | "cloudpickle"
            | "joblib" | "torch" | "yaml" | "jsonpickle",
            _,
        ) => "loads a nested pickle or code object",
        ("pandas", _)
            if name.starts_with("read_")
                || matches!(name, "eval" | "to_pickle")
                || in_path("io")
                || in_path("computation") =>
        {
            "loads a pickle, reads files or URLs, or evaluates expressions"
        }
        (
            "shutil" | "tempfile" | "io" | "_io" | "pathlib" | "fileinput" | "glob" | "zipfile"
            | "tarfile" | "sqlite3" | "dbm" | "mmap" | "linecache" | "logging" | "winreg",
            _,
        ) => "reads, writes or deletes files",
        (
            "socket" | "_socket" | "ssl" | "http" | "urllib" | "requests" | "ftplib" | "smtplib"
            | "poplib" | "imaplib" | "nntplib" | "telnetlib" | "xmlrpc" | "socketserver" | "select"
            | "selectors",
            _,
        ) => "opens network connections",
        ("webbrowser", _) => "runs a program (a browser)",
        ("asyncio", _) => "runs programs or opens network connections",
        ("ctypes" | "_ctypes" | "cffi", _) => "calls native code",
        ("operator" | "_operator", _) => {
            "calls what it is given or reaches arbitrary attributes and items (call, \
             attrgetter, methodcaller, itemgetter)"
        }
        ("functools", "partial" | "partialmethod" | "reduce" | "singledispatch") => {
            "calls an arbitrary function"
        }
        ("itertools", "starmap" | "imap" | "ifilter") => "calls an arbitrary function",
        (
            "pdb" | "bdb" | "profile" | "cProfile" | "timeit" | "trace" | "doctest" | "idlelib"
            | "test",
            _,
        ) => "runs code",
        ("numpy", _) if in_path("f2py") || in_path("distutils") || module.contains("testing") => {
            "runs code"
        }
        ("numpy", _) if in_path("ctypeslib") => "loads a native library",
        (
            "numpy",
            "load" | "loads" | "fromfile" | "memmap" | "save" | "savez" | "savez_compressed"
            | "savetxt" | "loadtxt" | "genfromtxt" | "fromregex" | "tofile" | "DataSource"
            | "read_array" | "open_memmap",
        ) => "reads or writes files (numpy.load with allow_pickle loads a pickle)",
        ("sklearn", _) if module.contains("testing") => "runs code (test helpers start processes)",
        ("sklearn", _) if in_path("joblib") => "loads a nested pickle",
        ("sklearn", _)
            if in_path("datasets")
                && (name.starts_with("fetch_")
                    || name.starts_with("load_svmlight")
                    || matches!(name, "load_files" | "dump_svmlight_file")) =>
        {
            "reads, writes or downloads files"
        }
        ("pip" | "setuptools" | "distutils" | "venv" | "ensurepip", _) => "installs or runs code",
        (
            "multiprocessing" | "concurrent" | "threading" | "_thread" | "_dummy_thread" | "signal"
            | "atexit" | "sched",
            _,
        ) => "starts processes or threads, or schedules calls",
        _ => return None,
    };
    Some(why)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_numpy_spellings_are_allowed() {
        assert_eq!(allowed("numpy.core.multiarray", "_reconstruct"), Some(Allowed::Reconstruct));
        assert_eq!(allowed("numpy._core.multiarray", "_reconstruct"), Some(Allowed::Reconstruct));
    }

    #[test]
    fn the_allow_list_is_exact() {
        assert_eq!(allowed("sklearn.pipeline", "pipeline"), None);
        assert_eq!(allowed("numpy", "load"), None);
        assert_eq!(allowed("sklearn.pipeline.x", "Pipeline"), None);
    }

    #[test]
    fn dangerous_callables_are_told_apart_from_unsupported_classes() {
        assert!(matches!(verdict("posix", "system", 4), Verdict::Dangerous(_)));
        assert!(matches!(verdict("builtins", "getattr", 4), Verdict::Dangerous(_)));
        assert!(matches!(verdict("subprocess", "Popen", 4), Verdict::Dangerous(_)));
        match verdict("sklearn.ensemble._forest", "RandomForestClassifier", 4) {
            Verdict::Unsupported(why) => assert!(why.contains("not supported yet"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(verdict("collections", "OrderedDict", 4), Verdict::Dangerous(_)));
        assert!(matches!(
            verdict("sklearn.utils.validation", "check_array", 4),
            Verdict::Dangerous(_)
        ));
    }

    #[test]
    fn a_dotted_name_is_an_attribute_chain_whatever_the_module() {
        match verdict("sklearn.datasets._base", "os.system", 4) {
            Verdict::Dangerous(why) => {
                assert!(why.contains("dotted") && why.contains("os.system: runs"), "{why}")
            }
            other => panic!("{other:?}"),
        }
        for (module, name) in [
            ("sklearn.pipeline", "Pipeline.__init__.__globals__"),
            ("sklearn.utils._testing", "subprocess.run"),
            ("numpy", "ndarray.__reduce__"),
            ("sklearn.pipeline", "__builtins__"),
        ] {
            assert!(matches!(verdict(module, name, 4), Verdict::Dangerous(_)), "{module}.{name}");
        }
    }

    #[test]
    fn well_known_gadgets_are_dangerous() {
        for (module, name) in [
            ("pydoc", "pipepager"),
            ("_posixsubprocess", "fork_exec"),
            ("operator", "call"),
            ("operator", "methodcaller"),
            ("_operator", "attrgetter"),
            ("_operator", "itemgetter"),
            ("pandas", "read_pickle"),
            ("pandas.io.pickle", "read_pickle"),
            ("pickle", "loads"),
            ("_pickle", "loads"),
            ("joblib", "load"),
            ("numpy", "load"),
            ("numpy.lib.npyio", "load"),
            ("numpy.testing._private.utils", "runstring"),
            ("numpy.ctypeslib", "load_library"),
            ("thread", "start_new_thread"),
            ("_thread", "start_new_thread"),
            ("shutil", "rmtree"),
            ("socket", "create_connection"),
            ("importlib", "import_module"),
            ("runpy", "run_path"),
            ("ctypes", "CDLL"),
            ("code", "InteractiveInterpreter"),
            ("pty", "spawn"),
            ("webbrowser", "open"),
            ("multiprocessing.context", "Process"),
            ("asyncio.subprocess", "create_subprocess_shell"),
            ("builtins", "open"),
            ("builtins", "compile"),
            ("builtins", "globals"),
            ("builtins", "setattr"),
            ("builtins", "delattr"),
            ("builtins", "breakpoint"),
            ("__builtin__", "eval"),
            ("copy_reg", "_reconstructor"),
            ("types", "FunctionType"),
            ("commands", "getoutput"),
            ("sklearn.utils._testing", "assert_run_python_script_without_output"),
            ("sklearn.datasets", "fetch_openml"),
            ("yaml", "load"),
            ("logging.config", "listen"),
        ] {
            assert!(matches!(verdict(module, name, 4), Verdict::Dangerous(_)), "{module}.{name}");
        }
    }
}
