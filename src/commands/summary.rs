//! What more than one command prints: the written model's file, graph and verification lines
//! (`train` and `convert`), and the metrics table (`train` and `verify`).

use std::io::{self, Write};

use serde::Serialize;

use crate::export::Exported;
use crate::metrics::Metrics;
use crate::onnx::{ColumnsRecord, GraphRecord, InputLayout, Ops, Precision, Verification};

/// The written model file.
#[derive(Debug, Serialize)]
pub struct ModelFile<'a> {
    pub path: String,
    pub bytes: u64,
    pub sha256: &'a str,
    pub companion_json: String,
    pub graph: &'a GraphRecord,
    /// A table's columns; absent for a numeric matrix.
    #[serde(skip)]
    pub columns: Option<&'a ColumnsRecord>,
    pub verification: &'a Verification,
}

impl<'a> ModelFile<'a> {
    pub fn of(exported: &'a Exported) -> Self {
        ModelFile {
            path: exported.model_path.display().to_string(),
            bytes: exported.model_bytes,
            sha256: &exported.model_sha256,
            companion_json: exported.json_path.display().to_string(),
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
            InputLayout::Columns => format!(
                "one input per column ({} numeric {input}, {} text)",
                columns.numeric.len(),
                columns.categorical.len()
            ),
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
