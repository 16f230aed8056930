//! The allow-list's view of Python, checked against Python itself: the renaming `find_class`
//! applies to Python 2 names is the installed CPython's `_compat_pickle`, entry for entry; every
//! estimator the installed scikit-learn lists is recognised as one; and the protocol the reader
//! judges a global under is the one Python's unpickler resolves it under, stream by stream.

mod common;

use std::collections::{HashMap, HashSet};

use onnxify::pickle::allow::{self, ALLOWED, IMPORT_MAPPING, NAME_MAPPING, Verdict};
use onnxify::pickle::machine;
use serde_json::Value;

use common::python_json;

fn python() -> &'static Value {
    static FACTS: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    FACTS.get_or_init(|| python_json("allow_list.py", &[]))
}

fn text(value: &Value) -> &str {
    value.as_str().unwrap_or_else(|| panic!("a string: {value}"))
}

fn pair(value: &Value) -> (&str, &str) {
    (text(&value[0]), text(&value[1]))
}

#[test]
fn resolve_renames_exactly_as_the_installed_python_does() {
    let imports: HashMap<&str, &str> = python()["import_mapping"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(from, to)| (from.as_str(), text(to)))
        .collect();
    let names: HashMap<(&str, &str), (&str, &str)> = python()["name_mapping"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| (pair(&entry[0]), pair(&entry[1])))
        .collect();
    assert!(imports.len() > 50 && names.len() > 80, "{} {}", imports.len(), names.len());

    for (&(module, name), &(to_module, to_name)) in &names {
        for protocol in 0..3 {
            let (m, n) = allow::resolve(module, name, protocol);
            assert_eq!((&*m, &*n), (to_module, to_name), "{module}.{name} at {protocol}");
        }
        assert_eq!(allow::resolve(module, name, 3), (module.into(), name.into()));
    }
    // A name Python renames only through its module keeps the name.
    for (&module, &to) in &imports {
        let name = "no_such_name";
        let (m, n) = allow::resolve(module, name, 2);
        assert_eq!((&*m, &*n), (to, name), "{module}");
        assert_eq!(allow::resolve(module, name, 4), (module.into(), name.into()));
    }

    // And no entry of onnxify's tables is one Python lacks, save the one Python adds on
    // Windows only.
    for &(from, to) in IMPORT_MAPPING {
        assert_eq!(imports.get(from), Some(&to), "{from} -> {to} is not Python's");
    }
    let windows_only = (("exceptions", "WindowsError"), ("builtins", "WindowsError"));
    for &(from, to) in NAME_MAPPING {
        if (from, to) == windows_only && python()["windows_error"] == false {
            continue;
        }
        assert_eq!(names.get(&from), Some(&to), "{from:?} -> {to:?} is not Python's");
    }
}

#[test]
fn every_estimator_scikit_learn_lists_is_unsupported_at_its_module_or_allowed() {
    let estimators: Vec<(&str, &str)> =
        python()["estimators"].as_array().unwrap().iter().map(pair).collect();
    assert!(estimators.len() > 150, "scikit-learn {} lists {}", python()["sklearn_version"], {
        estimators.len()
    });
    let mut allowed = HashSet::new();
    for &(module, name) in &estimators {
        let expected = if ALLOWED.contains(&(module, name)) {
            allowed.insert(name);
            Verdict::Allowed
        } else {
            Verdict::Unsupported(
                "not supported yet: onnxify converts a LogisticRegression (or \
                 LogisticRegressionCV, SGDClassifier with the log loss, or a \
                 OneVsRestClassifier of them), alone or at the end \
                 of a Pipeline of scalers (Standard, MinMax, MaxAbs, Robust), or of a \
                 ColumnTransformer of SimpleImputers, OneHotEncoders, OrdinalEncoders and \
                 those scalers, or such a model tuned by GridSearchCV or RandomizedSearchCV"
                    .into(),
            )
        };
        for protocol in [0, 2, 4, 5] {
            assert_eq!(
                allow::verdict(module, name, protocol),
                expected,
                "{module}.{name} at protocol {protocol} (scikit-learn {})",
                python()["sklearn_version"]
            );
        }
    }
    assert_eq!(
        allowed,
        HashSet::from([
            "Pipeline",
            "StandardScaler",
            "MinMaxScaler",
            "MaxAbsScaler",
            "RobustScaler",
            "ColumnTransformer",
            "SimpleImputer",
            "MissingIndicator",
            "OneHotEncoder",
            "OrdinalEncoder",
            "FunctionTransformer",
            "GridSearchCV",
            "RandomizedSearchCV",
            "LogisticRegressionCV",
            "SGDClassifier",
            "OneVsRestClassifier",
            "LabelBinarizer",
            "LogisticRegression"
        ]),
        "the allowed classes are where the installed scikit-learn defines them"
    );
}

fn hex(text: &str) -> Vec<u8> {
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(&text[i..i + 2], 16).unwrap()).collect()
}

#[test]
fn a_global_is_judged_under_the_protocol_python_resolves_it_under() {
    let loads = python()["loads"].as_array().unwrap();
    assert!(loads.len() >= 10);
    for load in loads {
        let stream = hex(text(&load["stream"]));
        let resolved: Vec<&str> = load["resolved"].as_array().unwrap().iter().map(text).collect();
        let outcome = machine::run(&stream, machine::Loader::Joblib);
        let globals: Vec<&machine::GlobalRef> = outcome.globals.iter().collect();
        assert_eq!(globals.len(), resolved.len(), "{}: {:?}", load["stream"], outcome.globals);
        for (global, python) in globals.iter().zip(&resolved) {
            let Verdict::Dangerous(why) = &global.verdict else {
                panic!("{}: {:?}", load["stream"], global.verdict)
            };
            match *python {
                "builtins.range" => assert!(
                    why.contains("a Python builtin") && why.contains("as builtins.range)"),
                    "{}: Python loads builtins.range: {why}",
                    load["stream"]
                ),
                "missing" => assert!(
                    why.starts_with("outside the allow-list"),
                    "{}: Python imports __builtin__ as written: {why}",
                    load["stream"]
                ),
                other => panic!("{other}"),
            }
        }
    }
}

/// Where the reader stops early and only walks the rest for globals, it keeps the protocol
/// of the stream it stopped in, and a stream that starts after a STOP begins at protocol 0.
#[test]
fn the_walk_after_a_stop_keeps_each_streams_protocol() {
    let global = b"c__builtin__\neval\n";
    // A memo entry read before it is written stops the reader.
    for (prefix, renamed) in [
        (&b"\x80\x02h\x09"[..], true),
        (b"\x80\x04h\x09", false),
        (b"\x80\x04h\x09\x80\x02", true),
        (b"\x80\x02h\x09\x80\x04", false),
        // A stream after the STOP the walk reads.
        (b"\x80\x04h\x09N.", true),
        (b"\x80\x04h\x09N.\x80\x02", true),
        (b"\x80\x02h\x09N.\x80\x04", false),
    ] {
        let data = [prefix, global, b"."].concat();
        let outcome = machine::run(&data, machine::Loader::Joblib);
        let judged: Vec<&Verdict> = outcome.globals.iter().map(|g| &g.verdict).collect();
        let [Verdict::Dangerous(why)] = judged[..] else { panic!("{data:?}: {judged:?}") };
        assert_eq!(why.contains("runs Python code"), renamed, "{data:?}: {why}");
    }
}
