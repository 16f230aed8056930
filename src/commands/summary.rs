//! What more than one command prints: the written model's file, graph and verification lines
//! (`train` and `convert`), the metrics table (`train` and `verify`), and the grid search's
//! table (`train` and `inspect`).

use std::io::{self, Write};

use serde::Serialize;

use crate::export::Exported;
use crate::metrics::Metrics;
use crate::onnx::{
    ColumnsRecord, GraphRecord, InputLayout, Ops, Precision, SearchRecord, Verification,
};
use crate::selection::Outcome;

/// The written model file.
#[derive(Debug, Serialize)]
pub struct ModelFile<'a> {
    pub path: String,
    pub bytes: u64,
    pub sha256: &'a str,
    pub companion_json: String,
    /// The signature written beside the model, and the signing key's fingerprint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub signature: Option<Signed>,
    pub graph: &'a GraphRecord,
    /// A table's columns; absent for a numeric matrix.
    #[serde(skip)]
    pub columns: Option<&'a ColumnsRecord>,
    pub verification: &'a Verification,
}

/// A signature written beside a model.
#[derive(Debug, Serialize)]
pub struct Signed {
    pub path: String,
    pub key: String,
}

/// The line naming the signature written beside a model, if one was.
pub fn write_signature(out: &mut dyn Write, signature: Option<&Signed>) -> io::Result<()> {
    match signature {
        Some(signed) => writeln!(out, "Signed it into {} with key {}", signed.path, signed.key),
        None => Ok(()),
    }
}

impl<'a> ModelFile<'a> {
    pub fn of(exported: &'a Exported) -> Self {
        ModelFile {
            path: exported.model_path.display().to_string(),
            bytes: exported.model_bytes,
            sha256: &exported.model_sha256,
            companion_json: exported.json_path.display().to_string(),
            signature: exported
                .signature
                .as_ref()
                .map(|(path, key)| Signed { path: path.display().to_string(), key: key.clone() }),
            graph: &exported.provenance.graph,
            columns: exported.provenance.columns.as_ref(),
            verification: &exported.comparison.summary,
        }
    }
}

pub fn write_graph(
    out: &mut dyn Write,
    graph: &GraphRecord,
    columns: Option<&ColumnsRecord>,
) -> io::Result<()> {
    let input = graph.input_dtype.name();
    if let Some(columns) = columns {
        let inputs = match columns.inputs {
            InputLayout::Columns => {
                let integers = columns.integer_columns.len();
                format!(
                    "one input per column ({} numeric {input}, {} text{})",
                    columns.numeric.len(),
                    columns.categorical.len() - integers,
                    if integers > 0 { format!(", {integers} int64") } else { String::new() }
                )
            }
            InputLayout::Grouped => {
                format!("grouped inputs \"numeric\" ({input}) and \"categorical\"")
            }
        };
        let ops = match (graph.ops, graph.input_dtype) {
            (Ops::Ml, Precision::Float32) => {
                "IsNaN/Where imputation, ai.onnx.ml Scaler, OneHotEncoder and LinearClassifier"
            }
            (Ops::Ml, Precision::Float64) => {
                "IsNaN/Where imputation and Sub/Div in float64, Cast, ai.onnx.ml OneHotEncoder \
                 and LinearClassifier"
            }
            (Ops::Standard, _) => "standard operators (IsNaN/Where imputation, Equal one-hot)",
        };
        write!(
            out,
            "Graph: {ops}, {inputs}, {} arithmetic; feed a missing number as NaN, a missing text as \"\"",
            graph.dtype.name()
        )?;
        return match &graph.input_dtype_reason {
            Some(reason) => writeln!(out, " ({reason})"),
            None => writeln!(out),
        };
    }
    match (graph.ops, graph.input_dtype) {
        // A float64 input is scaled by Sub and Div in float64 before the float32 classifier.
        (Ops::Ml, Precision::Float64) => write!(
            out,
            "Graph: Sub/Div, Cast, ai.onnx.ml LinearClassifier, {input} input, float64 scaling, {} classifier",
            graph.dtype.name()
        )?,
        (Ops::Ml, Precision::Float32) => write!(
            out,
            "Graph: ai.onnx.ml Scaler/LinearClassifier, {input} input, {} arithmetic",
            graph.dtype.name()
        )?,
        (Ops::Standard, _) => write!(
            out,
            "Graph: standard operators, {input} input, {} arithmetic",
            graph.dtype.name()
        )?,
    }
    match &graph.input_dtype_reason {
        Some(reason) => writeln!(out, " ({reason})"),
        None => writeln!(out),
    }
}

pub fn write_verification(out: &mut dyn Write, v: &Verification) -> io::Result<()> {
    let position = v.row_word();
    writeln!(
        out,
        "Verification {}: {} {} rows through {}; labels agree on {} of {} ({} near ties); largest probability \
         difference {:.1e} ({position} {}), tolerance {:e}",
        if v.passed { "passed" } else { "FAILED" },
        v.rows_checked,
        v.rows_used,
        v.runtime,
        v.labels_agreeing,
        v.rows_checked,
        v.near_ties,
        v.max_probability_difference,
        v.max_difference_line.map_or_else(|| "-".into(), |l| l.to_string()),
        v.probability_tolerance
    )
}

/// The metrics as a table under `title`: the summary figures, the per-class figures and the
/// confusion matrix.
pub fn write_metrics(out: &mut dyn Write, title: &str, m: &Metrics) -> io::Result<()> {
    writeln!(out, "{title}")?;
    writeln!(out, "  accuracy  {:.4}", m.accuracy)?;
    writeln!(out, "  log loss  {:.4}", m.log_loss)?;
    writeln!(out, "  macro F1  {:.4}", m.macro_f1)?;
    if let Some(auc) = m.roc_auc {
        writeln!(out, "  ROC AUC   {auc:.4}")?;
    }
    writeln!(out)?;

    let names: Vec<&str> = m.per_class.iter().map(|c| c.class.as_str()).collect();
    let width = names.iter().map(|n| n.chars().count()).max().unwrap_or(0).max("class".len());
    writeln!(out, "  {:<width$}  precision  recall     f1  support", "class")?;
    for c in &m.per_class {
        writeln!(
            out,
            "  {:<width$}  {:>9.4}  {:>6.4}  {:>5.4}  {:>7}",
            c.class, c.precision, c.recall, c.f1, c.support
        )?;
    }
    writeln!(out)?;

    writeln!(out, "Confusion matrix (rows: true class, columns: predicted class)")?;
    let cell = names
        .iter()
        .map(|n| n.chars().count())
        .chain(m.confusion_matrix.iter().flatten().map(|v| v.to_string().len()))
        .max()
        .unwrap_or(1);
    write!(out, "  {:<width$}", "")?;
    for name in &names {
        write!(out, "  {name:>cell$}")?;
    }
    writeln!(out)?;
    for (name, row) in names.iter().zip(&m.confusion_matrix) {
        write!(out, "  {name:<width$}")?;
        for v in row {
            write!(out, "  {v:>cell$}")?;
        }
        writeln!(out)?;
    }
    Ok(())
}

/// The grid search: one row per candidate in ParameterGrid order, the best marked `*`, with
/// its mean and standard deviation of the fold scores, rank and mean iterations, and the mean
/// fit time per fold when `fit_seconds` (per candidate) is given.
pub fn write_search(
    out: &mut dyn Write,
    search: &SearchRecord,
    fit_seconds: Option<&[f64]>,
) -> io::Result<()> {
    let shuffle = search
        .shuffle_seed
        .map_or_else(|| "in file order".to_owned(), |seed| format!("shuffled, seed {seed}"));
    writeln!(
        out,
        "Grid search: {} candidates x {} stratified folds ({shuffle}) of the training rows, \
         scored by {}",
        search.candidates.len(),
        search.n_splits,
        search.scoring.name()
    )?;
    let time_header = if fit_seconds.is_some() { "  fit ms/fold" } else { "" };
    writeln!(
        out,
        "   rank  {:<10} {:<12} {:>10} {:>9} {:>10}{time_header}",
        "C", "class_weight", "mean", "std", "iterations"
    )?;
    for (i, candidate) in search.candidates.iter().enumerate() {
        let marker = if i == search.best_index { '*' } else { ' ' };
        let number = |v: Option<f64>| v.map_or_else(|| "failed".to_owned(), |v| format!("{v:.6}"));
        let iterations =
            candidate.n_iter.iter().sum::<u64>() as f64 / candidate.n_iter.len().max(1) as f64;
        let time = fit_seconds.map_or_else(String::new, |t| format!("  {:>11.1}", t[i] * 1e3));
        let outcome = match &candidate.outcome {
            Outcome::Converged => String::new(),
            Outcome::NotConverged => "  did not converge in every fold (ranked last)".to_owned(),
            Outcome::Failed(message) => format!("  failed: {message}"),
        };
        writeln!(
            out,
            " {marker} {:>4}  {:<10} {:<12} {:>10} {:>9} {:>10.1}{time}{outcome}",
            candidate.rank_test_score,
            format!("{}", candidate.c),
            candidate.class_weight.name(),
            number(candidate.mean_test_score),
            number(candidate.std_test_score),
            iterations,
        )?;
    }
    let best = &search.candidates[search.best_index];
    writeln!(
        out,
        "Best: C={}, class_weight={} (mean {} {}), refit on all training rows",
        best.c,
        best.class_weight.name(),
        search.scoring.name(),
        best.mean_test_score.map_or_else(|| "failed".to_owned(), |v| format!("{v:.6}")),
    )
}
