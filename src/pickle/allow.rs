//! The allow-list: the exact `(module, name)` globals a scikit-learn pickle of the pipelines
//! onnxify converts references (column transformers, imputers, encoders, scalers, a
//! LogisticRegression), each bound to the one way it may be used, and the verdict on every
//! other global.
//!
//! A verdict judges what Python's loader would import, which is not always what the stream
//! spells: below protocol 3 it renames Python 2 names first ([`resolve`]). Off the allow-list
//! there are only two outcomes. A class scikit-learn defines as an estimator, at a plausible
//! scikit-learn module, is unsupported: a model onnxify does not convert yet. Everything else is
//! dangerous, since a loader imports it and may call it with whatever the pickle gives; no
//! function, helper class or value is trusted for living in numpy or scikit-learn. Known gadgets
//! get a reason saying what they do ([`gadgets`]), the rest a generic one.

mod compat;
mod estimators;
mod gadgets;

pub use compat::{Global, IMPORT_MAPPING, NAME_MAPPING, resolve};
use serde::Serialize;

/// An allowed global and the use it is allowed for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Allowed {
    /// `sklearn.pipeline.Pipeline`: `NEWOBJ` with `()`, then one `BUILD` with its `__dict__`.
    Pipeline,
    /// `sklearn.preprocessing._data.StandardScaler`: as `Pipeline`.
    StandardScaler,
    /// `sklearn.preprocessing._data.MinMaxScaler`: as `Pipeline`.
    MinMaxScaler,
    /// `sklearn.preprocessing._data.MaxAbsScaler`: as `Pipeline`.
    MaxAbsScaler,
    /// `sklearn.preprocessing._data.RobustScaler`: as `Pipeline`.
    RobustScaler,
    /// `sklearn.linear_model._logistic.LogisticRegression`: as `Pipeline`.
    LogisticRegression,
    /// `sklearn.linear_model._logistic.LogisticRegressionCV`: as `Pipeline`.
    LogisticRegressionCV,
    /// `sklearn.linear_model._stochastic_gradient.SGDClassifier`: as `Pipeline`.
    SgdClassifier,
    /// The compiled log loss an SGDClassifier keeps (`sklearn._loss._loss.CyHalfBinomialLoss`,
    /// before 1.6 `sklearn.linear_model._sgd_fast.Log`): `REDUCE` with `()`, which makes the
    /// loss object and nothing else; never given a state.
    LossObject,
    /// `sklearn.multiclass.OneVsRestClassifier`: as `Pipeline`.
    OneVsRestClassifier,
    /// `sklearn.preprocessing._label.LabelBinarizer` (a OneVsRestClassifier's
    /// `label_binarizer_`): as `Pipeline`.
    LabelBinarizer,
    /// `sklearn.compose._column_transformer.ColumnTransformer`: as `Pipeline`.
    ColumnTransformer,
    /// `sklearn.compose._column_transformer.make_column_selector`, kept in a
    /// ColumnTransformer's unfitted `transformers`: as `Pipeline`.
    ColumnSelector,
    /// `sklearn.impute._base.SimpleImputer`: as `Pipeline`.
    SimpleImputer,
    /// `sklearn.impute._base.MissingIndicator`: as `Pipeline`.
    MissingIndicator,
    /// `sklearn.preprocessing._encoders.OneHotEncoder`: as `Pipeline`.
    OneHotEncoder,
    /// `sklearn.preprocessing._encoders.OrdinalEncoder`: as `Pipeline`.
    OrdinalEncoder,
    /// `sklearn.preprocessing._function_transformer.FunctionTransformer`: as `Pipeline`. A
    /// ColumnTransformer's `remainder="passthrough"` is one without a function; any function
    /// it holds is a global of its own, judged as every other.
    FunctionTransformer,
    /// A type used as a value: an encoder's `dtype` (`numpy.float64`), a column selector's
    /// `dtype_include` (`numpy.number`, `object`). Never called: not by `REDUCE`, `NEWOBJ`
    /// or `BUILD`.
    TypeToken,
    /// `builtins.slice`: `REDUCE` with `(start, stop, step)`, each an int or None (a
    /// ColumnTransformer's `output_indices_`, or columns given as a slice).
    Slice,
    /// `sklearn.model_selection._search.GridSearchCV`: as `Pipeline`.
    GridSearchCV,
    /// `sklearn.model_selection._search.RandomizedSearchCV`: as `Pipeline`.
    RandomizedSearchCV,
    /// A search's cross-validation splitter (`KFold`, `StratifiedKFold`, `ShuffleSplit`,
    /// `StratifiedShuffleSplit`, `GroupKFold`, `StratifiedGroupKFold`): as `Pipeline`.
    Splitter,
    /// A search's scorer (`sklearn.metrics._scorer._Scorer`, `_PassthroughScorer`; before 1.4
    /// `_PredictScorer`, `_ProbaScorer`, `_ThresholdScorer`): as `Pipeline`.
    Scorer,
    /// A metric function of `sklearn.metrics` (`accuracy_score`, `roc_auc_score`, ...): only as
    /// the value of a scorer's `_score_func`, in the dict its `BUILD` is given. Never called.
    ScoreFunction,
    /// `numpy.ma.core._mareconstruct`: `REDUCE` with `(MaskedArray, ndarray, (0,), 'b')`, then
    /// `BUILD` with `(1, shape, dtype, is_fortran, data, mask, fill_value)` (a search's
    /// `cv_results_`).
    MaReconstruct,
    /// `numpy.ma.MaskedArray`: only as `_mareconstruct`'s first argument.
    MaskedArray,
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

impl Allowed {
    /// Whether this is a scikit-learn class whose objects a pickle builds with `NEWOBJ` and
    /// fills with one `BUILD`.
    pub fn is_estimator(self) -> bool {
        matches!(
            self,
            Allowed::Pipeline
                | Allowed::StandardScaler
                | Allowed::MinMaxScaler
                | Allowed::MaxAbsScaler
                | Allowed::RobustScaler
                | Allowed::LogisticRegression
                | Allowed::LogisticRegressionCV
                | Allowed::SgdClassifier
                | Allowed::OneVsRestClassifier
                | Allowed::LabelBinarizer
                | Allowed::ColumnTransformer
                | Allowed::ColumnSelector
                | Allowed::SimpleImputer
                | Allowed::MissingIndicator
                | Allowed::OneHotEncoder
                | Allowed::OrdinalEncoder
                | Allowed::FunctionTransformer
                | Allowed::GridSearchCV
                | Allowed::RandomizedSearchCV
                | Allowed::Splitter
                | Allowed::Scorer
        )
    }
}

/// Every `(module, name)` pair [`allowed`] accepts, both numpy spellings included. A test
/// harness that runs the real loader resolves exactly these, so both sides share one list.
pub const ALLOWED: &[(&str, &str)] = &[
    ("sklearn.pipeline", "Pipeline"),
    ("sklearn.preprocessing._data", "StandardScaler"),
    ("sklearn.preprocessing._data", "MinMaxScaler"),
    ("sklearn.preprocessing._data", "MaxAbsScaler"),
    ("sklearn.preprocessing._data", "RobustScaler"),
    ("sklearn.linear_model._logistic", "LogisticRegression"),
    ("sklearn.linear_model._logistic", "LogisticRegressionCV"),
    ("sklearn.linear_model._stochastic_gradient", "SGDClassifier"),
    ("sklearn._loss._loss", "CyHalfBinomialLoss"),
    ("sklearn.linear_model._sgd_fast", "Log"),
    ("sklearn.multiclass", "OneVsRestClassifier"),
    ("sklearn.preprocessing._label", "LabelBinarizer"),
    ("sklearn.compose._column_transformer", "ColumnTransformer"),
    ("sklearn.compose._column_transformer", "make_column_selector"),
    ("sklearn.impute._base", "SimpleImputer"),
    ("sklearn.impute._base", "MissingIndicator"),
    ("sklearn.preprocessing._encoders", "OneHotEncoder"),
    ("sklearn.preprocessing._encoders", "OrdinalEncoder"),
    ("sklearn.preprocessing._function_transformer", "FunctionTransformer"),
    ("numpy", "float64"),
    ("numpy", "float32"),
    ("numpy", "int64"),
    ("numpy", "int32"),
    ("numpy", "number"),
    ("numpy", "object_"),
    ("builtins", "object"),
    ("builtins", "slice"),
    ("sklearn.model_selection._search", "GridSearchCV"),
    ("sklearn.model_selection._search", "RandomizedSearchCV"),
    ("sklearn.model_selection._split", "KFold"),
    ("sklearn.model_selection._split", "StratifiedKFold"),
    ("sklearn.model_selection._split", "ShuffleSplit"),
    ("sklearn.model_selection._split", "StratifiedShuffleSplit"),
    ("sklearn.model_selection._split", "GroupKFold"),
    ("sklearn.model_selection._split", "StratifiedGroupKFold"),
    ("sklearn.metrics._scorer", "_Scorer"),
    ("sklearn.metrics._scorer", "_PassthroughScorer"),
    ("sklearn.metrics._scorer", "_PredictScorer"),
    ("sklearn.metrics._scorer", "_ProbaScorer"),
    ("sklearn.metrics._scorer", "_ThresholdScorer"),
    ("sklearn.metrics._classification", "accuracy_score"),
    ("sklearn.metrics._classification", "balanced_accuracy_score"),
    ("sklearn.metrics._classification", "f1_score"),
    ("sklearn.metrics._classification", "precision_score"),
    ("sklearn.metrics._classification", "recall_score"),
    ("sklearn.metrics._classification", "jaccard_score"),
    ("sklearn.metrics._classification", "log_loss"),
    ("sklearn.metrics._classification", "matthews_corrcoef"),
    ("sklearn.metrics._classification", "brier_score_loss"),
    ("sklearn.metrics._ranking", "roc_auc_score"),
    ("sklearn.metrics._ranking", "average_precision_score"),
    ("sklearn.metrics._ranking", "top_k_accuracy_score"),
    ("numpy.ma.core", "_mareconstruct"),
    ("numpy.ma", "MaskedArray"),
    ("numpy.ma.core", "MaskedArray"),
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

/// What a referenced global is, for the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "verdict", content = "reason", rename_all = "snake_case")]
pub enum Verdict {
    /// On the allow-list.
    Allowed,
    /// Anything a loader would import and may call that is neither allowed nor a scikit-learn
    /// estimator class; the reason says what it does where it is a known gadget.
    Dangerous(String),
    /// A scikit-learn estimator class onnxify does not convert (yet).
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

/// The allowed use of `module.name`, if it is on the allow-list.
pub fn allowed(module: &str, name: &str) -> Option<Allowed> {
    Some(match (module, name) {
        ("sklearn.pipeline", "Pipeline") => Allowed::Pipeline,
        ("sklearn.preprocessing._data", "StandardScaler") => Allowed::StandardScaler,
        ("sklearn.preprocessing._data", "MinMaxScaler") => Allowed::MinMaxScaler,
        ("sklearn.preprocessing._data", "MaxAbsScaler") => Allowed::MaxAbsScaler,
        ("sklearn.preprocessing._data", "RobustScaler") => Allowed::RobustScaler,
        ("sklearn.linear_model._logistic", "LogisticRegression") => Allowed::LogisticRegression,
        ("sklearn.linear_model._logistic", "LogisticRegressionCV") => Allowed::LogisticRegressionCV,
        ("sklearn.linear_model._stochastic_gradient", "SGDClassifier") => Allowed::SgdClassifier,
        ("sklearn._loss._loss", "CyHalfBinomialLoss")
        | ("sklearn.linear_model._sgd_fast", "Log") => Allowed::LossObject,
        ("sklearn.multiclass", "OneVsRestClassifier") => Allowed::OneVsRestClassifier,
        ("sklearn.preprocessing._label", "LabelBinarizer") => Allowed::LabelBinarizer,
        ("sklearn.compose._column_transformer", "ColumnTransformer") => Allowed::ColumnTransformer,
        ("sklearn.compose._column_transformer", "make_column_selector") => Allowed::ColumnSelector,
        ("sklearn.impute._base", "SimpleImputer") => Allowed::SimpleImputer,
        ("sklearn.impute._base", "MissingIndicator") => Allowed::MissingIndicator,
        ("sklearn.preprocessing._encoders", "OneHotEncoder") => Allowed::OneHotEncoder,
        ("sklearn.preprocessing._encoders", "OrdinalEncoder") => Allowed::OrdinalEncoder,
        ("sklearn.preprocessing._function_transformer", "FunctionTransformer") => {
            Allowed::FunctionTransformer
        }
        ("numpy", "float64" | "float32" | "int64" | "int32" | "number" | "object_")
        | ("builtins", "object") => Allowed::TypeToken,
        ("builtins", "slice") => Allowed::Slice,
        ("sklearn.model_selection._search", "GridSearchCV") => Allowed::GridSearchCV,
        ("sklearn.model_selection._search", "RandomizedSearchCV") => Allowed::RandomizedSearchCV,
        (
            "sklearn.model_selection._split",
            "KFold"
            | "StratifiedKFold"
            | "ShuffleSplit"
            | "StratifiedShuffleSplit"
            | "GroupKFold"
            | "StratifiedGroupKFold",
        ) => Allowed::Splitter,
        // Before 1.4 a scorer's class said which method it calls.
        (
            "sklearn.metrics._scorer",
            "_Scorer" | "_PassthroughScorer" | "_PredictScorer" | "_ProbaScorer"
            | "_ThresholdScorer",
        ) => Allowed::Scorer,
        (
            "sklearn.metrics._classification",
            "accuracy_score"
            | "balanced_accuracy_score"
            | "f1_score"
            | "precision_score"
            | "recall_score"
            | "jaccard_score"
            | "log_loss"
            | "matthews_corrcoef"
            | "brier_score_loss",
        )
        | (
            "sklearn.metrics._ranking",
            "roc_auc_score" | "average_precision_score" | "top_k_accuracy_score",
        ) => Allowed::ScoreFunction,
        ("numpy.ma.core", "_mareconstruct") => Allowed::MaReconstruct,
        ("numpy.ma" | "numpy.ma.core", "MaskedArray") => Allowed::MaskedArray,
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

const UNSUPPORTED: &str = "not supported yet: onnxify converts a LogisticRegression (or \
                           LogisticRegressionCV, SGDClassifier with the log loss, or a \
                           OneVsRestClassifier of them), alone or \
                           at the end of a Pipeline of scalers (Standard, MinMax, MaxAbs, Robust), \
                           or of a ColumnTransformer of SimpleImputers, OneHotEncoders, \
                           OrdinalEncoders and those scalers, or such a model tuned by \
                           GridSearchCV or RandomizedSearchCV";

/// Start of the reason for a dangerous global that is not a known gadget.
const OUTSIDE: &str = "outside the allow-list";

/// The verdict on `module.name` named in a stream whose current protocol is `protocol` (0 before
/// any PROTO opcode): it judges what the loader imports, after Python 2 renaming.
pub fn verdict(module: &str, name: &str, protocol: u8) -> Verdict {
    let (loaded_module, loaded_name) = resolve(module, name, protocol);
    let verdict = judge(&loaded_module, &loaded_name);
    if (&*loaded_module, &*loaded_name) == (module, name) {
        return verdict;
    }
    match verdict {
        Verdict::Dangerous(why) => Verdict::Dangerous(format!(
            "{why} (below protocol 3, Python loads {}.{} as {}.{})",
            shown(module),
            shown(name),
            shown(&loaded_module),
            shown(&loaded_name)
        )),
        other => other,
    }
}

/// The verdict on the global a loader imports.
fn judge(module: &str, name: &str) -> Verdict {
    if allowed(module, name).is_some() {
        return Verdict::Allowed;
    }
    if let Some(why) = attribute_chain(module, name) {
        return Verdict::Dangerous(why);
    }
    if let Some(why) = gadgets::dangerous(module, name) {
        return Verdict::Dangerous(why.into());
    }
    if name.starts_with("__") {
        return Verdict::Dangerous(
            "a double-underscore name: a module's internals (its builtins, globals, loader) or \
             a private helper, outside any model"
                .into(),
        );
    }
    if estimator_class(module, name) {
        return Verdict::Unsupported(UNSUPPORTED.into());
    }
    Verdict::Dangerous(format!(
        "{OUTSIDE}: loading imports {} and may call {}",
        shown(module),
        shown(name)
    ))
}

/// Parts of a dotted name matched against the gadgets: enough for any real chain, and a name of
/// a million dots costs no more than a short one.
const MAX_CHAIN: usize = 8;

/// Why a dotted name is dangerous. Loading looks a dotted name up attribute by attribute
/// (`find_class` from protocol 4), so `sklearn.datasets._base` with `os.system` is `os.system`:
/// such a name reaches whatever the module imports, whatever the module is.
fn attribute_chain(module: &str, name: &str) -> Option<String> {
    if !name.contains('.') {
        return None;
    }
    let parts: Vec<&str> = name.split('.').take(MAX_CHAIN).collect();
    // Each step names an attribute, which is a module the previous one imports or an attribute
    // of the object so far (`numpy` then `ndarray.dump`).
    let reached = (1..parts.len()).find_map(|i| {
        let head = parts[..i].join(".");
        let last = parts[i];
        let why = gadgets::dangerous(&head, last)
            .or_else(|| gadgets::dangerous(&format!("{module}.{head}"), last))?;
        Some(format!(" ({}.{}: {why})", shown(&head), shown(last)))
    });
    Some(format!(
        "a dotted name: loading follows it attribute by attribute from {}, which reaches anything \
         that module imports{}",
        shown(module),
        reached.unwrap_or_default()
    ))
}

/// Whether `module.name` is an estimator class scikit-learn defines, at a module path that
/// could be scikit-learn's own (the class moves between private modules across releases).
/// Dataset, vendored and test modules are not: no model lives there.
fn estimator_class(module: &str, name: &str) -> bool {
    let mut parts = module.split('.');
    if parts.next() != Some("sklearn") {
        return false;
    }
    let plausible = parts.clone().all(|part| identifier(part) && !part.starts_with("__"))
        && !matches!(parts.next(), Some("datasets" | "externals"))
        && !module.split('.').any(|part| matches!(part, "tests" | "testing" | "_testing"));
    plausible
        && (estimators::SCIKIT_LEARN_1_9_1.contains(&name) || estimators::REMOVED.contains(&name))
}

/// A Python identifier as scikit-learn spells its modules: ASCII, so a look-alike letter does
/// not pass.
fn identifier(part: &str) -> bool {
    let mut chars = part.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// A name from the file as it appears in a reason: the file controls it, so every character
/// outside printable ASCII is escaped, and a long one is cut.
fn shown(text: &str) -> String {
    const MAX_CHARS: usize = 80;
    let mut out = String::new();
    for (i, c) in text.chars().enumerate() {
        if i == MAX_CHARS {
            out.push_str("...");
            break;
        }
        out.extend(c.escape_default());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(verdict: &Verdict) -> &str {
        match verdict {
            Verdict::Dangerous(why) | Verdict::Unsupported(why) => why,
            Verdict::Allowed => "",
        }
    }

    #[track_caller]
    fn assert_generic(module: &str, name: &str, protocol: u8) {
        match verdict(module, name, protocol) {
            Verdict::Dangerous(why) => {
                assert!(why.starts_with(OUTSIDE), "{module}.{name} at protocol {protocol}: {why}")
            }
            other => panic!("{module}.{name} at protocol {protocol}: {other:?}"),
        }
    }

    #[test]
    fn the_allow_list_accepts_exactly_the_listed_pairs() {
        for (i, pair) in ALLOWED.iter().enumerate() {
            assert!(!ALLOWED[..i].contains(pair), "{pair:?} is listed twice");
            assert!(allowed(pair.0, pair.1).is_some(), "{pair:?}");
        }
        let uses: Vec<Allowed> = ALLOWED.iter().filter_map(|&(m, n)| allowed(m, n)).collect();
        for each in [
            Allowed::Pipeline,
            Allowed::StandardScaler,
            Allowed::MinMaxScaler,
            Allowed::MaxAbsScaler,
            Allowed::RobustScaler,
            Allowed::LogisticRegression,
            Allowed::LogisticRegressionCV,
            Allowed::SgdClassifier,
            Allowed::LossObject,
            Allowed::OneVsRestClassifier,
            Allowed::LabelBinarizer,
            Allowed::ColumnTransformer,
            Allowed::ColumnSelector,
            Allowed::SimpleImputer,
            Allowed::MissingIndicator,
            Allowed::OneHotEncoder,
            Allowed::OrdinalEncoder,
            Allowed::FunctionTransformer,
            Allowed::TypeToken,
            Allowed::Slice,
            Allowed::GridSearchCV,
            Allowed::RandomizedSearchCV,
            Allowed::Splitter,
            Allowed::Scorer,
            Allowed::ScoreFunction,
            Allowed::MaReconstruct,
            Allowed::MaskedArray,
            Allowed::ArrayWrapper,
            Allowed::NdArray,
            Allowed::Dtype,
            Allowed::Scalar,
            Allowed::Reconstruct,
            Allowed::FromBuffer,
            Allowed::Encode,
        ] {
            assert!(uses.contains(&each), "no listed pair is allowed as {each:?}");
        }
        // Nothing else is: no other module spelled from the listed modules' parts (up to three,
        // as `numpy.core.numeric` is), no near miss of a listed one (case, a prefix, a suffix,
        // a trailing newline or NUL), with any listed name or near miss of one.
        let near = |s: &str| {
            [
                s.to_owned(),
                s.to_uppercase(),
                s.to_lowercase(),
                format!("_{s}"),
                format!("{s}.x"),
                format!("{s} "),
                format!("{s}\n"),
                format!("{s}\0"),
                format!(".{s}"),
            ]
        };
        let mut parts: Vec<&str> = ALLOWED.iter().flat_map(|&(m, _)| m.split('.')).collect();
        parts.sort_unstable();
        parts.dedup();
        let mut modules: Vec<String> = ALLOWED.iter().flat_map(|&(m, _)| near(m)).collect();
        for a in &parts {
            modules.push(a.to_string());
            for b in &parts {
                modules.push(format!("{a}.{b}"));
                modules.extend(parts.iter().map(|c| format!("{a}.{b}.{c}")));
            }
        }
        let mut names: Vec<String> = ALLOWED.iter().flat_map(|&(_, n)| near(n)).collect();
        names.extend(parts.iter().map(|p| p.to_string()));
        for module in &modules {
            for name in &names {
                let listed = ALLOWED.contains(&(module.as_str(), name.as_str()));
                assert_eq!(allowed(module, name).is_some(), listed, "{module:?}.{name:?}");
            }
        }
    }

    #[test]
    fn listed_pairs_are_allowed_at_every_protocol() {
        for &(module, name) in ALLOWED {
            for protocol in 0..=5 {
                assert_eq!(verdict(module, name, protocol), Verdict::Allowed, "{module}.{name}");
            }
        }
    }

    #[test]
    fn labels() {
        assert_eq!(Verdict::Allowed.label(), "allowed");
        assert_eq!(Verdict::Dangerous(String::new()).label(), "DANGEROUS");
        assert_eq!(Verdict::Unsupported(String::new()).label(), "unsupported");
    }

    #[test]
    fn every_gadget_family_is_dangerous_with_its_own_reason() {
        for (module, name, why) in [
            ("posix", "system", "runs a shell command"),
            ("os", "execv", "runs a shell command"),
            ("nt", "startfile", "runs a shell command"),
            ("os", "remove", "operating-system access"),
            ("subprocess", "Popen", "runs a program"),
            ("subprocess", "getoutput", "runs a program"),
            ("_posixsubprocess", "fork_exec", "runs a program"),
            ("pty", "spawn", "runs a program"),
            ("platform", "_syscmd_ver", "runs a program"),
            ("uuid", "_get_command_stdout", "uuid's MAC-address helpers"),
            ("uuid", "_popen", "uuid's MAC-address helpers"),
            ("uuid", "_ifconfig_getnode", "uuid's MAC-address helpers"),
            ("uuid", "getnode", "uuid's MAC-address helpers"),
            ("_osx_support", "_read_output", "build-platform helpers"),
            ("_osx_support", "_find_build_tool", "build-platform helpers"),
            ("_aix_support", "_read_cmd_output", "build-platform helpers"),
            ("pydoc", "pipepager", "pipepager"),
            ("webbrowser", "open", "a browser"),
            ("_xxsubinterpreters", "run_string", "subinterpreter"),
            ("_interpreters", "run_string", "subinterpreter"),
            ("imp", "create_dynamic", "native extension"),
            ("imp", "load_source", "native extension or a source module"),
            ("imp", "load_module", "native extension or a source module"),
            ("unittest.mock", "patch", "(mock)"),
            ("unittest.mock", "Mock", "(mock)"),
            ("mock", "patch", "(mock)"),
            ("unittest", "main", "test runner"),
            ("sqlite3", "connect", "database file"),
            ("_sqlite3", "connect", "database file"),
            ("numpy.ma.core", "dump", "pickles an object"),
            ("numpy.ndarray", "dump", "pickles an object"),
            ("numpy.ma", "dumps", "pickles an object"),
            ("numpy.ma.core", "dumps", "pickles an object"),
            ("numpy.ma.core", "loads", "can load a pickle"),
            ("numpy", "save", "writes a file"),
            ("numpy", "savez_compressed", "writes a file"),
            ("numpy.lib._npyio_impl", "savetxt", "writes a file"),
            ("numpy", "load", "can load a pickle"),
            ("numpy.lib.npyio", "load", "can load a pickle"),
            ("numpy", "fromfile", "reads or maps files"),
            ("numpy.lib.format", "read_array", "can load a pickle"),
            ("numpy.testing._private.utils", "runstring", "runs code"),
            ("numpy.f2py", "compile", "runs code"),
            ("numpy.ctypeslib", "load_library", "native library"),
            ("sklearn.datasets", "fetch_openml", "dataset fetcher"),
            ("sklearn.datasets._california_housing", "fetch_california_housing", "fetcher"),
            ("sklearn.datasets._base", "_fetch_remote", "dataset fetcher"),
            ("sklearn.datasets._openml", "_open_openml_url", "dataset fetcher"),
            ("sklearn.datasets._base", "clear_data_home", "deletes files"),
            ("sklearn.datasets", "load_svmlight_file", "dataset loader"),
            ("sklearn.datasets._svmlight_format_io", "dump_svmlight_file", "dataset loader"),
            ("sklearn.utils._testing", "assert_run_python_script_without_output", "runs code"),
            ("sklearn.externals.joblib", "load", "nested pickle"),
            ("time", "sleep", "sleeps: stalls the loader"),
            ("pdb", "run", "debugger"),
            ("bdb", "Bdb", "debugger"),
            ("timeit", "timeit", "timer"),
            ("trace", "Trace", "runs code"),
            ("doctest", "run_docstring_examples", "runs code"),
            ("profile", "run", "profiler"),
            ("cProfile", "run", "profiler"),
            ("code", "InteractiveInterpreter", "runs Python code"),
            ("runpy", "run_path", "runs Python code"),
            ("ctypes", "CDLL", "native code"),
            ("_ctypes", "dlopen", "native code"),
            ("shutil", "rmtree", "deletes files"),
            ("tempfile", "mkdtemp", "writes"),
            ("io", "FileIO", "files"),
            ("_io", "FileIO", "files"),
            ("_pyio", "open", "files"),
            ("pathlib", "Path", "files"),
            ("codecs", "open", "opens a file"),
            ("joblib", "load", "nested pickle"),
            ("pip", "main", "installs"),
            ("pip._internal.cli.main", "main", "installs"),
            ("setuptools.sandbox", "run_setup", "installs or runs code"),
            ("asyncio.subprocess", "create_subprocess_shell", "subprocesses"),
            ("asyncio.unix_events", "_UnixSubprocessTransport", "subprocesses"),
            ("logging", "FileHandler", "log files"),
            ("logging.handlers", "SocketHandler", "opens sockets"),
            ("logging.config", "listen", "listens on a socket"),
            ("logging.config", "dictConfig", "imports and calls anything"),
            ("builtins", "getattr", "reaches arbitrary objects"),
            ("builtins", "__import__", "reaches arbitrary objects"),
            ("importlib", "import_module", "imports code"),
            ("pkgutil", "resolve_name", "resolves any dotted name"),
            ("marshal", "loads", "code object"),
            ("types", "FunctionType", "builds functions"),
            ("types", "CodeType", "code objects"),
            ("functools", "partial", "partial"),
            ("_functools", "reduce", "calls or wraps"),
            ("operator", "attrgetter", "attrgetter"),
            ("operator", "methodcaller", "methodcaller"),
            ("_operator", "itemgetter", "itemgetter"),
            ("operator", "call", "calls what it is given"),
            ("itertools", "starmap", "calls an arbitrary function"),
            ("pickle", "loads", "nested pickle"),
            ("_pickle", "loads", "nested pickle"),
            ("pickle", "Unpickler", "nested pickle"),
            ("dill", "loads", "nested pickle"),
            ("cloudpickle", "loads", "nested pickle"),
            ("torch", "load", "nested pickle"),
            ("pandas", "read_pickle", "loads a pickle"),
            ("pandas.io.pickle", "read_pickle", "loads a pickle"),
            ("pandas", "eval", "evaluates expressions"),
            ("yaml", "load", "nested pickle"),
            ("shelve", "open", "nested pickle"),
            ("copyreg", "_reconstructor", "builds any object"),
            ("copyreg", "__newobj__", "builds any object"),
            ("builtins", "eval", "runs Python code"),
            ("builtins", "exec", "runs Python code"),
            ("builtins", "compile", "runs Python code"),
            ("builtins", "open", "opens a file"),
            ("builtins", "breakpoint", "debugger"),
            ("builtins", "input", "stalls the loader"),
            ("builtins", "exit", "exits"),
            ("builtins", "print", "a Python builtin"),
            ("builtins", "dict", "a Python builtin"),
            // `object` itself is allowed, as a value only (a column selector's dtype).
            ("builtins", "len", "a Python builtin"),
            ("builtins", "setattr", "reaches arbitrary objects"),
            ("sys", "modules", "interpreter internals"),
            ("sys", "exit", "interpreter internals"),
            ("__main__", "payload", "the loading program"),
            ("socket", "create_connection", "network"),
            ("_socket", "socket", "network"),
            ("http.client", "HTTPConnection", "network"),
            ("http.server", "HTTPServer", "network"),
            ("urllib.request", "urlopen", "network"),
            ("urllib.request", "urlretrieve", "network"),
            ("requests", "get", "network"),
            ("xmlrpc.client", "ServerProxy", "network"),
            ("multiprocessing.context", "Process", "starts processes"),
            ("threading", "Thread", "threads"),
            ("_thread", "start_new_thread", "threads"),
            ("signal", "signal", "schedules calls"),
            ("inspect", "getmembers", "reaches arbitrary objects"),
            ("gc", "get_objects", "reaches arbitrary objects"),
            ("mailcap", "findmatch", "shell commands"),
            ("_sitebuiltins", "_Helper", "pydoc"),
            ("scipy.io", "loadmat", "reads or writes files"),
            ("numpy.random._pickle", "__randomstate_ctor", "a double-underscore name"),
        ] {
            for protocol in [0, 2, 4] {
                let verdict = verdict(module, name, protocol);
                assert!(
                    matches!(&verdict, Verdict::Dangerous(r) if r.contains(why)),
                    "{module}.{name} at protocol {protocol}: expected a reason with {why:?}, \
                     got {verdict:?}"
                );
            }
        }
    }

    #[test]
    fn a_dotted_name_is_an_attribute_chain_whatever_the_module() {
        for (module, name, reached) in [
            ("sklearn.datasets._base", "os.system", "os.system: runs a shell command"),
            ("sklearn.utils._testing", "subprocess.run", "subprocess.run: runs a program"),
            ("numpy", "ndarray.dump", "ndarray.dump: writes a file"),
            ("numpy", "ndarray.dumps", "ndarray.dumps: writes a file"),
            ("numpy", "ma.core.dump", "ma.core.dump: writes a file"),
            ("sklearn.pipeline", "Pipeline.__init__.__globals__", ""),
            ("sklearn.pipeline", "Pipeline.fit", ""),
            ("numpy", "ndarray.__reduce__", ""),
        ] {
            let verdict = verdict(module, name, 4);
            let why = reason(&verdict);
            assert!(
                matches!(verdict, Verdict::Dangerous(_))
                    && why.starts_with("a dotted name")
                    && why.contains(reached),
                "{module}.{name}: {verdict:?}"
            );
        }
        // A chain far longer than a real one is judged on its first parts only.
        let long = ["a"; 100_000].join(".");
        assert!(reason(&verdict("sklearn", &long, 4)).starts_with("a dotted name"));
    }

    #[test]
    fn a_double_underscore_name_is_dangerous() {
        for (module, name) in [
            ("sklearn.pipeline", "__builtins__"),
            ("numpy", "__loader__"),
            ("sklearn.ensemble._forest", "__dict__"),
            ("numpy.random._pickle", "__randomstate_ctor"),
        ] {
            assert!(
                reason(&verdict(module, name, 4)).starts_with("a double-underscore name"),
                "{module}.{name}"
            );
        }
    }

    #[test]
    fn python_2_names_are_judged_as_python_loads_them_below_protocol_3() {
        for (module, name, loaded, why) in [
            ("__builtin__", "eval", "builtins.eval", "runs Python code"),
            ("__builtin__", "getattr", "builtins.getattr", "reaches arbitrary objects"),
            ("__builtin__", "reduce", "functools.reduce", "calls or wraps"),
            ("__builtin__", "intern", "sys.intern", "interpreter internals"),
            ("commands", "getoutput", "subprocess.getoutput", "runs a program"),
            ("copy_reg", "_reconstructor", "copyreg._reconstructor", "builds any object"),
            ("cPickle", "loads", "pickle.loads", "nested pickle"),
            ("thread", "start_new_thread", "_thread.start_new_thread", "threads"),
            ("dummy_thread", "start_new_thread", "_dummy_thread.start_new_thread", "threads"),
            ("exceptions", "OSError", "builtins.OSError", "a Python builtin"),
            ("exceptions", "StandardError", "builtins.Exception", "a Python builtin"),
            ("httplib", "HTTPConnection", "http.client.HTTPConnection", "network"),
            ("urllib2", "urlopen", "urllib.request.urlopen", "network"),
            ("SocketServer", "TCPServer", "socketserver.TCPServer", "network"),
            ("xmlrpclib", "ServerProxy", "xmlrpc.client.ServerProxy", "network"),
            ("StringIO", "StringIO", "io.StringIO", "files"),
            ("anydbm", "open", "dbm.open", "files"),
            ("_winreg", "OpenKey", "winreg.OpenKey", "files"),
        ] {
            for protocol in 0..3 {
                let verdict = verdict(module, name, protocol);
                let expected = format!("as {loaded})");
                assert!(
                    matches!(&verdict, Verdict::Dangerous(r) if r.contains(why) && r.contains(&expected)),
                    "{module}.{name} at protocol {protocol}: expected {why:?}, loaded as \
                     {loaded}: {verdict:?}"
                );
            }
            // From protocol 3 on the name is imported as written: a module Python 3 does not
            // have, still dangerous, for no known reason.
            for protocol in 3..=5 {
                assert_generic(module, name, protocol);
            }
        }
    }

    #[test]
    fn a_renamed_name_keeps_the_verdict_of_what_is_loaded() {
        // Names whose Python 3 module is a gadget as written too.
        for (module, name, why) in [
            ("urllib", "urlopen", "network"),
            ("dbm", "open", "files"),
            ("multiprocessing.forking", "Popen", "starts processes"),
            ("_socket", "fromfd", "network"),
        ] {
            for protocol in 0..=5 {
                assert!(reason(&verdict(module, name, protocol)).contains(why), "{module}.{name}");
            }
        }
    }

    #[test]
    fn unknown_globals_are_dangerous() {
        for (module, name) in [
            ("mymodule", "run"),
            ("evil", "x"),
            ("collections", "OrderedDict"),
            ("sklearn.utils.validation", "check_array"),
            ("sklearn.tree._tree", "Tree"),
            ("sklearn.base", "clone"),
            ("numpy", "array"),
            ("numpy", "sum"),
            ("scipy.sparse._csr", "csr_matrix"),
            ("", ""),
            ("sklearn", ""),
        ] {
            for protocol in 0..=5 {
                assert_generic(module, name, protocol);
            }
        }
    }

    #[test]
    fn a_generic_reason_escapes_the_names_it_quotes() {
        let why = reason(&verdict("evil\n\u{1b}[2J", "x\u{0}\u{430}", 4)).to_owned();
        assert!(why.starts_with(OUTSIDE), "{why}");
        assert!(why.chars().all(|c| c.is_ascii() && !c.is_ascii_control()), "{why:?}");
        assert!(why.contains(r"evil\n\u{1b}[2J") && why.contains(r"x\u{0}\u{430}"), "{why}");
        let long = "m".repeat(10_000);
        assert!(reason(&verdict(&long, "x", 4)).len() < 300);
    }

    #[test]
    fn a_scikit_learn_estimator_class_is_unsupported() {
        for (module, name) in [
            ("sklearn.ensemble._forest", "RandomForestClassifier"),
            ("sklearn.ensemble._forest", "RandomForestRegressor"),
            // The public module of older releases, and one 1.9.1 no longer has.
            ("sklearn.ensemble.forest", "RandomForestClassifier"),
            ("sklearn.mixture.gmm", "GMM"),
            ("sklearn.preprocessing.imputation", "Imputer"),
            // An allowed class at a module other than its own.
            ("sklearn.preprocessing", "StandardScaler"),
            ("sklearn.linear_model", "LogisticRegression"),
            ("sklearn.svm._classes", "SVC"),
            ("sklearn.linear_model._stochastic_gradient", "SGDRegressor"),
            ("sklearn.model_selection", "GridSearchCV"),
        ] {
            for protocol in 0..=5 {
                let verdict = verdict(module, name, protocol);
                assert_eq!(verdict, Verdict::Unsupported(UNSUPPORTED.into()), "{module}.{name}");
            }
        }
    }

    #[test]
    fn an_estimator_name_at_an_implausible_module_is_dangerous() {
        for (module, name) in [
            ("sklearn.datasets", "RandomForestClassifier"),
            ("sklearn.datasets._base", "LinearRegression"),
            ("sklearn.utils._testing", "RandomForestClassifier"),
            ("sklearn.externals", "RandomForestClassifier"),
            ("sklearn.tests", "RandomForestClassifier"),
            ("sklearn.ensemble.tests.test_forest", "RandomForestClassifier"),
            ("sklearn.ensemble.__init__", "RandomForestClassifier"),
            ("sklearn..ensemble", "RandomForestClassifier"),
            ("sklearn.ensemble.", "RandomForestClassifier"),
            ("sklearn.ensemble._f\u{43e}rest", "RandomForestClassifier"),
            ("sklearnx.ensemble", "RandomForestClassifier"),
            ("mysklearn.ensemble", "RandomForestClassifier"),
            ("ensemble", "RandomForestClassifier"),
            ("sklearn.ensemble", "randomforestclassifier"),
            ("sklearn.ensemble", "RandomForestClassifier "),
            ("sklearn.ensemble", "RandomForest"),
        ] {
            assert!(matches!(verdict(module, name, 4), Verdict::Dangerous(_)), "{module}.{name}");
        }
        assert!(
            reason(&verdict("sklearn.ensemble", "RandomForestClassifier.fit", 4))
                .starts_with("a dotted name")
        );
        assert!(
            reason(&verdict("sklearn.ensemble", "__RandomForestClassifier", 4))
                .starts_with("a double-underscore name")
        );
    }
}
