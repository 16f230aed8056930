//! Python's renaming of Python 2 names when it loads an old pickle.
//!
//! With `fix_imports` on (the default of `pickle.load`, `pickle.loads` and `joblib.load`),
//! `find_class` renames a global before importing it whenever the stream's protocol so far is
//! below 3: an exact `(module, name)` entry of `_compat_pickle.NAME_MAPPING` first, otherwise
//! the module alone through `IMPORT_MAPPING`. So `__builtin__ eval` in a protocol 2 stream is
//! `builtins.eval`, and a verdict on the name as written would miss it. The tables are CPython
//! 3.11's effective ones (the dicts of `_compat_pickle` after its loops and updates);
//! `tests/allow_list.rs` compares them with the installed Python's.

use std::borrow::Cow;

/// `IMPORT_MAPPING`: a Python 2 module and the module Python 3 imports instead.
pub const IMPORT_MAPPING: &[(&str, &str)] = &[
    ("BaseHTTPServer", "http.server"),
    ("CGIHTTPServer", "http.server"),
    ("ConfigParser", "configparser"),
    ("Cookie", "http.cookies"),
    ("Dialog", "tkinter.dialog"),
    ("DocXMLRPCServer", "xmlrpc.server"),
    ("FileDialog", "tkinter.filedialog"),
    ("HTMLParser", "html.parser"),
    ("Queue", "queue"),
    ("ScrolledText", "tkinter.scrolledtext"),
    ("SimpleDialog", "tkinter.simpledialog"),
    ("SimpleHTTPServer", "http.server"),
    ("SimpleXMLRPCServer", "xmlrpc.server"),
    ("SocketServer", "socketserver"),
    ("StringIO", "io"),
    ("Tix", "tkinter.tix"),
    ("Tkconstants", "tkinter.constants"),
    ("Tkdnd", "tkinter.dnd"),
    ("Tkinter", "tkinter"),
    ("UserDict", "collections"),
    ("UserList", "collections"),
    ("UserString", "collections"),
    ("__builtin__", "builtins"),
    ("_abcoll", "collections.abc"),
    ("_elementtree", "xml.etree.ElementTree"),
    ("_winreg", "winreg"),
    ("anydbm", "dbm"),
    ("cPickle", "pickle"),
    ("cStringIO", "io"),
    ("commands", "subprocess"),
    ("cookielib", "http.cookiejar"),
    ("copy_reg", "copyreg"),
    ("dbhash", "dbm.bsd"),
    ("dbm", "dbm.ndbm"),
    ("dumbdbm", "dbm.dumb"),
    ("dummy_thread", "_dummy_thread"),
    ("gdbm", "dbm.gnu"),
    ("htmlentitydefs", "html.entities"),
    ("httplib", "http.client"),
    ("markupbase", "_markupbase"),
    ("repr", "reprlib"),
    ("robotparser", "urllib.robotparser"),
    ("test.test_support", "test.support"),
    ("thread", "_thread"),
    ("tkColorChooser", "tkinter.colorchooser"),
    ("tkCommonDialog", "tkinter.commondialog"),
    ("tkFileDialog", "tkinter.filedialog"),
    ("tkFont", "tkinter.font"),
    ("tkMessageBox", "tkinter.messagebox"),
    ("tkSimpleDialog", "tkinter.simpledialog"),
    ("ttk", "tkinter.ttk"),
    ("urllib2", "urllib.request"),
    ("urlparse", "urllib.parse"),
    ("whichdb", "dbm"),
    ("xmlrpclib", "xmlrpc.client"),
];

/// A global as `find_class` receives it: `(module, name)`.
pub type Global = (&'static str, &'static str);

/// `NAME_MAPPING`: a Python 2 global and the global Python 3 imports instead.
/// It includes `exceptions.WindowsError`, which Python adds only on Windows, where such a file
/// may as well be loaded.
pub const NAME_MAPPING: &[(Global, Global)] = &[
    (("UserDict", "IterableUserDict"), ("collections", "UserDict")),
    (("UserDict", "UserDict"), ("collections", "UserDict")),
    (("UserList", "UserList"), ("collections", "UserList")),
    (("UserString", "UserString"), ("collections", "UserString")),
    (("__builtin__", "basestring"), ("builtins", "str")),
    (("__builtin__", "intern"), ("sys", "intern")),
    (("__builtin__", "long"), ("builtins", "int")),
    (("__builtin__", "reduce"), ("functools", "reduce")),
    (("__builtin__", "unichr"), ("builtins", "chr")),
    (("__builtin__", "unicode"), ("builtins", "str")),
    (("__builtin__", "xrange"), ("builtins", "range")),
    (("_multiprocessing", "Connection"), ("multiprocessing.connection", "Connection")),
    (("_socket", "fromfd"), ("socket", "fromfd")),
    (("exceptions", "ArithmeticError"), ("builtins", "ArithmeticError")),
    (("exceptions", "AssertionError"), ("builtins", "AssertionError")),
    (("exceptions", "AttributeError"), ("builtins", "AttributeError")),
    (("exceptions", "BaseException"), ("builtins", "BaseException")),
    (("exceptions", "BufferError"), ("builtins", "BufferError")),
    (("exceptions", "BytesWarning"), ("builtins", "BytesWarning")),
    (("exceptions", "DeprecationWarning"), ("builtins", "DeprecationWarning")),
    (("exceptions", "EOFError"), ("builtins", "EOFError")),
    (("exceptions", "EnvironmentError"), ("builtins", "EnvironmentError")),
    (("exceptions", "Exception"), ("builtins", "Exception")),
    (("exceptions", "FloatingPointError"), ("builtins", "FloatingPointError")),
    (("exceptions", "FutureWarning"), ("builtins", "FutureWarning")),
    (("exceptions", "GeneratorExit"), ("builtins", "GeneratorExit")),
    (("exceptions", "IOError"), ("builtins", "IOError")),
    (("exceptions", "ImportError"), ("builtins", "ImportError")),
    (("exceptions", "ImportWarning"), ("builtins", "ImportWarning")),
    (("exceptions", "IndentationError"), ("builtins", "IndentationError")),
    (("exceptions", "IndexError"), ("builtins", "IndexError")),
    (("exceptions", "KeyError"), ("builtins", "KeyError")),
    (("exceptions", "KeyboardInterrupt"), ("builtins", "KeyboardInterrupt")),
    (("exceptions", "LookupError"), ("builtins", "LookupError")),
    (("exceptions", "MemoryError"), ("builtins", "MemoryError")),
    (("exceptions", "NameError"), ("builtins", "NameError")),
    (("exceptions", "NotImplementedError"), ("builtins", "NotImplementedError")),
    (("exceptions", "OSError"), ("builtins", "OSError")),
    (("exceptions", "OverflowError"), ("builtins", "OverflowError")),
    (("exceptions", "PendingDeprecationWarning"), ("builtins", "PendingDeprecationWarning")),
    (("exceptions", "ReferenceError"), ("builtins", "ReferenceError")),
    (("exceptions", "RuntimeError"), ("builtins", "RuntimeError")),
    (("exceptions", "RuntimeWarning"), ("builtins", "RuntimeWarning")),
    (("exceptions", "StandardError"), ("builtins", "Exception")),
    (("exceptions", "StopIteration"), ("builtins", "StopIteration")),
    (("exceptions", "SyntaxError"), ("builtins", "SyntaxError")),
    (("exceptions", "SyntaxWarning"), ("builtins", "SyntaxWarning")),
    (("exceptions", "SystemError"), ("builtins", "SystemError")),
    (("exceptions", "SystemExit"), ("builtins", "SystemExit")),
    (("exceptions", "TabError"), ("builtins", "TabError")),
    (("exceptions", "TypeError"), ("builtins", "TypeError")),
    (("exceptions", "UnboundLocalError"), ("builtins", "UnboundLocalError")),
    (("exceptions", "UnicodeDecodeError"), ("builtins", "UnicodeDecodeError")),
    (("exceptions", "UnicodeEncodeError"), ("builtins", "UnicodeEncodeError")),
    (("exceptions", "UnicodeError"), ("builtins", "UnicodeError")),
    (("exceptions", "UnicodeTranslateError"), ("builtins", "UnicodeTranslateError")),
    (("exceptions", "UnicodeWarning"), ("builtins", "UnicodeWarning")),
    (("exceptions", "UserWarning"), ("builtins", "UserWarning")),
    (("exceptions", "ValueError"), ("builtins", "ValueError")),
    (("exceptions", "Warning"), ("builtins", "Warning")),
    (("exceptions", "WindowsError"), ("builtins", "WindowsError")),
    (("exceptions", "ZeroDivisionError"), ("builtins", "ZeroDivisionError")),
    (("itertools", "ifilter"), ("builtins", "filter")),
    (("itertools", "ifilterfalse"), ("itertools", "filterfalse")),
    (("itertools", "imap"), ("builtins", "map")),
    (("itertools", "izip"), ("builtins", "zip")),
    (("itertools", "izip_longest"), ("itertools", "zip_longest")),
    (
        ("multiprocessing", "AuthenticationError"),
        ("multiprocessing.context", "AuthenticationError"),
    ),
    (("multiprocessing", "BufferTooShort"), ("multiprocessing.context", "BufferTooShort")),
    (("multiprocessing", "ProcessError"), ("multiprocessing.context", "ProcessError")),
    (("multiprocessing", "TimeoutError"), ("multiprocessing.context", "TimeoutError")),
    (("multiprocessing.forking", "Popen"), ("multiprocessing.popen_fork", "Popen")),
    (("multiprocessing.process", "Process"), ("multiprocessing.context", "Process")),
    (("socket", "_socketobject"), ("socket", "SocketType")),
    (("urllib", "ContentTooShortError"), ("urllib.error", "ContentTooShortError")),
    (("urllib", "getproxies"), ("urllib.request", "getproxies")),
    (("urllib", "pathname2url"), ("urllib.request", "pathname2url")),
    (("urllib", "quote"), ("urllib.parse", "quote")),
    (("urllib", "quote_plus"), ("urllib.parse", "quote_plus")),
    (("urllib", "unquote"), ("urllib.parse", "unquote")),
    (("urllib", "unquote_plus"), ("urllib.parse", "unquote_plus")),
    (("urllib", "url2pathname"), ("urllib.request", "url2pathname")),
    (("urllib", "urlcleanup"), ("urllib.request", "urlcleanup")),
    (("urllib", "urlencode"), ("urllib.parse", "urlencode")),
    (("urllib", "urlopen"), ("urllib.request", "urlopen")),
    (("urllib", "urlretrieve"), ("urllib.request", "urlretrieve")),
    (("urllib2", "HTTPError"), ("urllib.error", "HTTPError")),
    (("urllib2", "URLError"), ("urllib.error", "URLError")),
    (("whichdb", "whichdb"), ("dbm", "whichdb")),
];

/// What `find_class` imports for `module.name` in a stream whose current protocol is
/// `protocol` (0 before any PROTO opcode, as in Python): the renamed pair below protocol 3, the
/// pair as written from 3 on.
pub fn resolve<'a>(module: &'a str, name: &'a str, protocol: u8) -> (Cow<'a, str>, Cow<'a, str>) {
    if protocol < 3 {
        if let Some(&(_, (m, n))) = NAME_MAPPING.iter().find(|(from, _)| *from == (module, name)) {
            return (Cow::Borrowed(m), Cow::Borrowed(n));
        }
        if let Some(&(_, m)) = IMPORT_MAPPING.iter().find(|(from, _)| *from == module) {
            return (Cow::Borrowed(m), Cow::Borrowed(name));
        }
    }
    (Cow::Borrowed(module), Cow::Borrowed(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pickle::allow::{ALLOWED, allowed};

    #[test]
    fn each_python_2_name_is_renamed_once() {
        for (i, (from, _)) in IMPORT_MAPPING.iter().enumerate() {
            assert!(IMPORT_MAPPING[..i].iter().all(|(m, _)| m != from), "{from} twice");
        }
        for (i, (from, _)) in NAME_MAPPING.iter().enumerate() {
            assert!(NAME_MAPPING[..i].iter().all(|(p, _)| p != from), "{from:?} twice");
        }
    }

    #[test]
    fn below_protocol_3_an_exact_pair_is_renamed_before_its_module() {
        let at = |module, name, protocol| {
            let (m, n) = resolve(module, name, protocol);
            format!("{m}.{n}")
        };
        for protocol in 0..3 {
            assert_eq!(at("__builtin__", "eval", protocol), "builtins.eval");
            assert_eq!(at("__builtin__", "reduce", protocol), "functools.reduce");
            assert_eq!(at("UserDict", "UserDict", protocol), "collections.UserDict");
            assert_eq!(at("UserDict", "IterableUserDict", protocol), "collections.UserDict");
            assert_eq!(at("UserDict", "DictMixin", protocol), "collections.DictMixin");
            assert_eq!(at("whichdb", "whichdb", protocol), "dbm.whichdb");
            assert_eq!(at("dbm", "open", protocol), "dbm.ndbm.open");
            assert_eq!(at("test.test_support", "x", protocol), "test.support.x");
            // Only the whole module is looked up, never a part of it.
            assert_eq!(at("__builtin__.x", "eval", protocol), "__builtin__.x.eval");
            assert_eq!(at("exceptions", "eval", protocol), "exceptions.eval");
        }
        for protocol in 3..=5 {
            assert_eq!(at("__builtin__", "eval", protocol), "__builtin__.eval");
            assert_eq!(at("dbm", "open", protocol), "dbm.open");
        }
    }

    #[test]
    fn renaming_never_reaches_or_leaves_the_allow_list() {
        for &(module, name) in ALLOWED {
            assert_eq!(resolve(module, name, 0), (module.into(), name.into()));
        }
        for &(_, (module, name)) in NAME_MAPPING {
            assert!(allowed(module, name).is_none(), "{module}.{name}");
        }
        // Except `builtins`: Python 3 writes its `slice` as `__builtin__.slice` below protocol 3,
        // and reads that name back as `builtins.slice`, which is what is judged.
        for &(_, module) in IMPORT_MAPPING {
            assert!(module == "builtins" || ALLOWED.iter().all(|&(m, _)| m != module), "{module}");
        }
    }
}
