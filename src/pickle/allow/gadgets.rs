//! Known gadgets: globals whose import or call does something a model never needs, each with
//! the reason it is dangerous. Every global off the allow-list is dangerous anyway; this table
//! only says why for the ones published scanner bypasses and payloads use, so that a report
//! reads "runs a shell command" rather than "outside the allow-list".
//!
//! A rule names a whole module where everything in it reaches the danger (`subprocess`,
//! `pickle`), and single names where the module is otherwise harmless (`time.sleep`).

/// Why `module.name` is a known gadget, if it is. `module` is the one `find_class` imports (after
/// Python 2 renaming).
pub(super) fn dangerous(module: &str, name: &str) -> Option<&'static str> {
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
        (
            "subprocess" | "_posixsubprocess" | "_winapi" | "_subprocess" | "pty" | "popen2"
            | "pipes",
            _,
        ) => "runs a program",
        ("platform", n) if n.starts_with("_syscmd") || matches!(n, "architecture" | "popen") => {
            "runs a program (platform's helpers call uname, file or ver)"
        }
        ("uuid", n) if n.starts_with('_') || n == "getnode" => {
            "runs a program (uuid's MAC-address helpers call ifconfig, ip, arp, netstat, lanscan)"
        }
        ("_osx_support" | "_aix_support", _) => {
            "runs a program (the build-platform helpers call compilers and system tools)"
        }
        ("mailcap", _) => "runs the shell commands of mailcap entries",
        ("pydoc", _) => "runs a program (pipepager, tempfilepager) or imports code (locate)",
        ("_sitebuiltins", _) => "starts interactive help (pydoc, which runs a pager) or exits",
        ("webbrowser" | "antigravity", _) => "runs a program (a browser)",

        ("builtins", "eval" | "exec" | "compile" | "execfile") => "runs Python code",
        (
            "builtins",
            "getattr" | "setattr" | "delattr" | "__import__" | "globals" | "locals" | "vars",
        ) => "reaches arbitrary objects or modules",
        ("builtins", "open" | "file") => "opens a file",
        ("builtins", "breakpoint" | "help" | "input" | "raw_input") => {
            "starts a debugger, a pager or a prompt: stalls the loader or runs what is typed"
        }
        ("builtins", "exit" | "quit") => "exits the loading program",
        ("builtins", _) => "a Python builtin: the loader calls it with whatever the pickle gives",
        ("__main__", _) => "whatever the loading program itself defines",
        ("sys", _) => "interpreter internals (modules, hooks, exit)",
        ("imp", n) if n == "create_dynamic" || n.starts_with("load_") => {
            "loads a native extension or a source module"
        }
        ("pkgutil", "resolve_name") => "resolves any dotted name to an object",
        (
            "importlib" | "imp" | "_imp" | "pkgutil" | "zipimport" | "site" | "modulefinder"
            | "pkg_resources" | "importlib_metadata",
            _,
        ) => "imports code",
        ("runpy" | "code" | "codeop" | "IPython", _) => "runs Python code",
        (
            "_xxsubinterpreters" | "_interpreters" | "_xxinterpchannels" | "_interpchannels"
            | "_interpqueues" | "interpreters",
            _,
        ) => "runs Python code in a subinterpreter",
        ("inspect" | "gc", _) => "reaches arbitrary objects (frames, referrers)",
        ("types", _) => "builds functions or code objects",
        ("copyreg", _) => "builds any object with arbitrary arguments",
        (
            "pickle" | "_pickle" | "pickletools" | "marshal" | "shelve" | "dill" | "cloudpickle"
            | "joblib" | "torch" | "yaml" | "jsonpickle" | "skops" | "keras" | "tensorflow",
            _,
        ) => "loads a nested pickle, model or code object",
        ("pandas", _)
            if name.starts_with("read_")
                || matches!(name, "eval" | "to_pickle")
                || in_path("io")
                || in_path("computation") =>
        {
            "loads a pickle, reads files or URLs, or evaluates expressions"
        }
        ("scipy", _) if in_path("io") || in_path("weave") => {
            "reads or writes files, or compiles code"
        }

        ("sqlite3" | "_sqlite3", _) => {
            "opens or creates a database file (and can load native extensions)"
        }
        ("logging", _) if in_path("config") => {
            "listens on a socket and applies the configuration it receives, which imports and \
             calls anything"
        }
        ("logging", _) => "writes log files or opens sockets (FileHandler and the other handlers)",
        ("codecs" | "tokenize", "open" | "EncodedFile") => "opens a file",
        (
            "shutil" | "tempfile" | "io" | "_io" | "_pyio" | "pathlib" | "fileinput" | "filecmp"
            | "glob" | "zipfile" | "tarfile" | "gzip" | "bz2" | "lzma" | "dbm" | "_dbm" | "_gdbm"
            | "mmap" | "linecache" | "winreg" | "compileall" | "py_compile" | "netrc" | "mailbox",
            _,
        ) => "reads, writes or deletes files",
        (
            "socket" | "_socket" | "ssl" | "_ssl" | "http" | "urllib" | "urllib3" | "requests"
            | "httpx" | "aiohttp" | "httplib2" | "ftplib" | "smtplib" | "smtpd" | "poplib"
            | "imaplib" | "nntplib" | "telnetlib" | "xmlrpc" | "socketserver" | "select"
            | "selectors" | "asyncore" | "asynchat" | "wsgiref",
            _,
        ) => "opens network connections",
        ("asyncio" | "_asyncio", _) => {
            "runs programs or opens network connections (asyncio's subprocesses and transports)"
        }
        ("ctypes" | "_ctypes" | "cffi", _) => "calls native code",
        ("operator" | "_operator", _) => {
            "calls what it is given or reaches arbitrary attributes and items (call, \
             attrgetter, methodcaller, itemgetter)"
        }
        ("functools" | "_functools", _) => {
            "calls or wraps an arbitrary function (partial, reduce, update_wrapper)"
        }
        (
            "itertools",
            "starmap" | "accumulate" | "filterfalse" | "takewhile" | "dropwhile" | "groupby"
            | "imap" | "ifilter",
        ) => "calls an arbitrary function",
        ("unittest", _) if in_path("mock") => "calls, builds or patches arbitrary objects (mock)",
        ("mock", _) => "calls, builds or patches arbitrary objects (mock)",
        (
            "pdb" | "bdb" | "profile" | "cProfile" | "_lsprof" | "timeit" | "trace" | "doctest"
            | "unittest" | "idlelib" | "test",
            _,
        ) => "runs code (a debugger, profiler, timer or test runner)",
        ("time", "sleep") => "sleeps: stalls the loader",
        ("resource", _) => "changes the process's resource limits",

        ("numpy", _) if in_path("f2py") || in_path("distutils") || module.contains("testing") => {
            "runs code (builds extensions or starts processes)"
        }
        ("numpy", _) if in_path("ctypeslib") => "loads a native library",
        (
            "numpy",
            "dump" | "dumps" | "save" | "savez" | "savez_compressed" | "savetxt" | "tofile"
            | "write_array",
        ) => "writes a file or pickles an object (numpy's dump, dumps, save, tofile)",
        (
            "numpy",
            "load" | "loads" | "fromfile" | "memmap" | "loadtxt" | "genfromtxt" | "fromregex"
            | "recfromtxt" | "recfromcsv" | "DataSource" | "read_array" | "open_memmap",
        ) => "reads or maps files (numpy.load, and numpy.ma's load and loads, can load a pickle)",
        ("numpy", _) if in_path("_datasource") => "reads files or URLs",
        ("sklearn", _) if module.contains("testing") => "runs code (test helpers start processes)",
        ("sklearn", _) if in_path("joblib") || in_path("_joblib") => "loads a nested pickle",
        ("sklearn", n)
            if in_path("datasets")
                && (n.starts_with("fetch_")
                    || n.starts_with("_fetch")
                    || n.contains("download")
                    || in_path("_openml")) =>
        {
            "downloads files and writes them to disk (a dataset fetcher)"
        }
        ("sklearn", n)
            if in_path("datasets")
                && (n.starts_with("load_svmlight")
                    || matches!(
                        n,
                        "load_files" | "dump_svmlight_file" | "get_data_home" | "clear_data_home"
                    )) =>
        {
            "reads, writes or deletes files (a dataset loader)"
        }
        ("pip" | "setuptools" | "distutils" | "_distutils_hack" | "venv" | "ensurepip", _) => {
            "installs or runs code"
        }
        (
            "multiprocessing" | "_multiprocessing" | "concurrent" | "threading" | "_thread"
            | "_dummy_thread" | "dummy_threading" | "signal" | "atexit" | "sched",
            _,
        ) => "starts processes or threads, or schedules calls",
        _ => return None,
    };
    Some(why)
}
