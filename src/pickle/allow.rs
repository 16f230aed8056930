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
    /// Anything else outside the allow-list.
    NotAllowed(String),
}

impl Verdict {
    /// A short label for the text report.
    pub fn label(&self) -> &'static str {
        match self {
            Verdict::Allowed => "allowed",
            Verdict::Dangerous(_) => "DANGEROUS",
            Verdict::Unsupported(_) => "unsupported",
            Verdict::NotAllowed(_) => "not allowed",
        }
    }
}

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

/// The verdict on `module.name`.
pub fn verdict(module: &str, name: &str) -> Verdict {
    if allowed(module, name).is_some() {
        return Verdict::Allowed;
    }
    if let Some(why) = dangerous(module, name) {
        return Verdict::Dangerous(why.into());
    }
    let top = module.split('.').next().unwrap_or(module);
    if top == "sklearn" {
        return Verdict::Unsupported(
            "not supported yet: onnxify converts a Pipeline of StandardScaler and \
             LogisticRegression, or a bare LogisticRegression"
                .into(),
        );
    }
    Verdict::NotAllowed("not a part of the scikit-learn pipelines onnxify reads".into())
}

/// Why `module.name` is known to be dangerous to load, if it is.
fn dangerous(module: &str, name: &str) -> Option<&'static str> {
    let top = module.split('.').next().unwrap_or(module);
    let why = match (top, name) {
        (
            "os" | "posix" | "nt",
            "system" | "popen" | "execv" | "execve" | "execl" | "execlp" | "execvp" | "execvpe"
            | "spawnl" | "spawnv" | "spawnve" | "spawnlp" | "startfile" | "posix_spawn"
            | "posix_spawnp" | "fork" | "forkpty",
        ) => "runs a shell command or program",
        ("os" | "posix" | "nt", _) => "operating-system access (files, processes, environment)",
        ("subprocess" | "pty" | "commands" | "popen2", _) => "runs a program",
        ("builtins" | "__builtin__", "eval" | "exec" | "compile" | "execfile") => {
            "runs Python code"
        }
        (
            "builtins" | "__builtin__",
            "getattr" | "setattr" | "delattr" | "__import__" | "globals" | "locals" | "vars"
            | "breakpoint" | "input",
        ) => "reaches arbitrary objects or modules",
        ("builtins" | "__builtin__", "open" | "file") => "opens a file",
        ("builtins" | "__builtin__", _) => "a Python builtin, outside any model's data",
        ("sys" | "importlib" | "imp" | "pkgutil" | "runpy" | "code" | "codeop" | "inspect", _) => {
            "imports or runs code"
        }
        (
            "pickle" | "_pickle" | "cPickle" | "marshal" | "shelve" | "dill" | "cloudpickle"
            | "joblib" | "torch",
            _,
        ) => "loads a nested pickle or code object",
        ("shutil" | "tempfile" | "io" | "_io" | "pathlib" | "fileinput" | "glob", _) => {
            "reads, writes or deletes files"
        }
        (
            "socket" | "ssl" | "http" | "urllib" | "urllib2" | "requests" | "ftplib" | "smtplib"
            | "telnetlib" | "xmlrpc" | "asyncio" | "webbrowser",
            _,
        ) => "opens network connections",
        ("ctypes" | "_ctypes" | "cffi", _) => "calls native code",
        ("operator", "attrgetter" | "methodcaller" | "itemgetter") => {
            "reaches arbitrary attributes and methods"
        }
        ("functools", "partial" | "reduce") => "calls an arbitrary function",
        ("pdb" | "bdb" | "profile" | "cProfile" | "timeit" | "trace", _) => "runs code",
        ("numpy", _) if module.contains("f2py") || module.contains("testing") => "runs code",
        ("numpy", "load" | "loads" | "fromfile" | "memmap" | "save") => "reads or writes files",
        ("pip" | "setuptools" | "distutils" | "venv" | "ensurepip", _) => "installs or runs code",
        ("multiprocessing" | "threading" | "_thread" | "signal", _) => {
            "starts processes or threads"
        }
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
        assert!(matches!(verdict("posix", "system"), Verdict::Dangerous(_)));
        assert!(matches!(verdict("builtins", "getattr"), Verdict::Dangerous(_)));
        assert!(matches!(verdict("subprocess", "Popen"), Verdict::Dangerous(_)));
        match verdict("sklearn.ensemble._forest", "RandomForestClassifier") {
            Verdict::Unsupported(why) => assert!(why.contains("not supported yet"), "{why}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(verdict("collections", "OrderedDict"), Verdict::NotAllowed(_)));
    }
}
