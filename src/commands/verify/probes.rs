//! The checklist's probe line: the probe rows the companion JSON records must be exactly those
//! made from the file's own scaler parameters, and the file must still give their recorded
//! outputs.

use super::runtime_reason;
use crate::onnx::ModelInfo;
use crate::proof::probes::{self, Probes, RECORDED_ROWS};
use crate::proof::runtime::TractModel;

/// Probe outputs must agree with their recorded values to this (float32 arithmetic may differ
/// in the last bits between processors; a changed model moves them by far more).
pub const PROBE_TOLERANCE: f64 = 1e-6;

/// The recorded probes must be exactly the rows [`probes::recorded_inputs`] makes from this
/// file's scaler parameters (so they can be neither training rows nor left out), and the file
/// must reproduce their recorded outputs.
pub(super) fn reproduced(
    recorded: &Probes,
    model: &TractModel,
    info: &ModelInfo,
    model_name: &str,
) -> Result<String, String> {
    let made = probes::record(model, info).map_err(|e| runtime_reason(&e, model_name))?;
    if info.table.is_some() {
        return table_probes(recorded, &made);
    }
    if recorded.cells.is_some() {
        return Err(
            "the companion JSON records table probe rows for a model of one numeric input".into()
        );
    }
    let rows = recorded.inputs.len();
    if rows != RECORDED_ROWS {
        return Err(format!(
            "the companion JSON records {rows} probe rows; onnxify records {RECORDED_ROWS}, made from the scaler's parameters"
        ));
    }
    if recorded.labels.len() != rows || recorded.probabilities.len() != rows {
        return Err(format!(
            "the companion JSON records {} labels and {} probability rows for {rows} probe rows",
            recorded.labels.len(),
            recorded.probabilities.len()
        ));
    }
    let names = info.feature_names();
    let feature =
        |j: usize| names.as_ref().map_or_else(|| (j + 1).to_string(), |n| format!("{:?}", n[j]));
    for (r, (got, want)) in recorded.inputs.iter().zip(&made.inputs).enumerate() {
        if got.len() != want.len() {
            return Err(format!(
                "probe {}: {} input values recorded for {} features",
                r + 1,
                got.len(),
                want.len()
            ));
        }
        if let Some(j) = (0..got.len()).find(|&j| got[j] != want[j]) {
            return Err(format!(
                "probe {}: the recorded input is not the row made from the model's scaler parameters (feature {}: recorded {}, made {})",
                r + 1,
                feature(j),
                got[j],
                want[j]
            ));
        }
    }
    outputs_agree(recorded, &made, rows, "made from the scaler's parameters")
}

/// A table's probes: exactly the rows made from the file (numbers from its scaler, texts
/// reaching every category, a missing and an unseen value), and their recorded outputs.
fn table_probes(recorded: &Probes, made: &Probes) -> Result<String, String> {
    let (Some(got), Some(want)) = (&recorded.cells, &made.cells) else {
        return Err("the companion JSON records no table probe rows for a table's model".into());
    };
    let rows = want.numbers.len();
    if got.numbers.len() != rows || got.texts.len() != rows || !recorded.inputs.is_empty() {
        return Err(format!(
            "the companion JSON records {} probe rows; onnxify records {rows}, made from the file's parameters and categories",
            got.numbers.len()
        ));
    }
    if recorded.labels.len() != rows || recorded.probabilities.len() != rows {
        return Err(format!(
            "the companion JSON records {} labels and {} probability rows for {rows} probe rows",
            recorded.labels.len(),
            recorded.probabilities.len()
        ));
    }
    for r in 0..rows {
        if got.numbers[r] != want.numbers[r] || got.texts[r] != want.texts[r] {
            return Err(format!(
                "probe {}: the recorded input is not the row made from the file's parameters and categories",
                r + 1
            ));
        }
    }
    outputs_agree(recorded, made, rows, "made from the file's parameters and categories")
}

/// The file's outputs for the probes are the recorded ones.
fn outputs_agree(
    recorded: &Probes,
    made: &Probes,
    rows: usize,
    what: &str,
) -> Result<String, String> {
    let mut worst = 0.0f64;
    for (r, (got, recorded_label)) in made.labels.iter().zip(&recorded.labels).enumerate() {
        if got != recorded_label {
            return Err(format!("probe {}: label {got:?}, recorded {recorded_label:?}", r + 1));
        }
        let (got, recorded) = (&made.probabilities[r], &recorded.probabilities[r]);
        if recorded.len() != got.len() {
            return Err(format!(
                "probe {}: {} probabilities recorded for {} classes",
                r + 1,
                recorded.len(),
                got.len()
            ));
        }
        for (a, b) in got.iter().zip(recorded) {
            let d = (a - b).abs();
            worst = if d.is_nan() { f64::INFINITY } else { worst.max(d) };
        }
    }
    if worst <= PROBE_TOLERANCE {
        Ok(format!(
            "{rows} probe rows {what}, as recorded; labels identical, largest probability difference {worst:.1e} (tolerance {PROBE_TOLERANCE:e})"
        ))
    } else {
        Err(format!("largest probability difference {worst:.3e}, above {PROBE_TOLERANCE:e}"))
    }
}
