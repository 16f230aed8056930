//! Probe inputs: rows made from the scaler's parameters alone (the mean, and points a few
//! standard deviations around it), never from training rows. When a model is written, the rows
//! made from the file's own scaler and the file's outputs for them are recorded in the companion
//! JSON ([`record`]); `onnxify verify` makes the rows again from the file it checks, so it can
//! tell that the recorded rows are these and no others, and that the file still computes what
//! it computed then.

use ndarray::{Array2, ArrayView1};

use crate::data::{Cells, MISSING_CODE};
use crate::model::CategoryKind;
use serde::{Deserialize, Serialize};

use crate::error::Result;
use crate::onnx::ModelInfo;
use crate::onnx::Precision;
use crate::progress::Progress;
use crate::proof::runtime::TractModel;
use crate::util::SplitMix64;

/// Probe rows recorded in a companion JSON: the centre row and 15 around it.
pub const RECORDED_ROWS: usize = 16;
/// Fixed, so that the same model always gets the same probes.
const SEED: u64 = 0x6f6e_6e78_6966_7900;

/// Probe rows and the outputs the model file gave for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probes {
    /// Input rows, one value per feature, exactly as the model receives them (empty for a
    /// table's model, whose rows are `cells`).
    pub inputs: Vec<Vec<f64>>,
    /// A table's probe rows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cells: Option<ProbeCells>,
    /// The label output for each row, as text.
    pub labels: Vec<String>,
    /// The probability output for each row.
    pub probabilities: Vec<Vec<f64>>,
}

/// A table's probe rows as the model receives them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProbeCells {
    /// Per row, the numeric inputs in the model's order; null is a missing number (fed NaN).
    pub numbers: Vec<Vec<Option<f64>>>,
    /// Per row, the text inputs in the model's order; "" is a missing text.
    pub texts: Vec<Vec<String>>,
}

/// A value no category is, for the probe row of unseen values: for text the first of
/// `unseen`, `unseen_`, ... that the column does not list; for integers the first above the
/// largest listed (or below the smallest).
fn unseen(categories: &[String], kind: CategoryKind) -> String {
    if kind == CategoryKind::Integer {
        let values: Vec<i64> = categories.iter().filter_map(|c| c.parse().ok()).collect();
        let max = values.iter().max().copied().unwrap_or_default();
        let min = values.iter().min().copied().unwrap_or_default();
        return max.checked_add(1).or(min.checked_sub(1)).unwrap_or_default().to_string();
    }
    let mut text = String::from("unseen");
    while categories.contains(&text) {
        text.push('_');
    }
    text
}

/// The probe rows of a table's model, made from the file alone: numbers around the scaler's
/// offset as for a numeric model (rounded to the input type), and texts that reach what
/// held-out rows may not. Row 0 is the centre with each column's first category; row 1 has
/// every cell missing (an integer category column, which has no missing value, its first
/// category); row 2 an unseen value in every categorical column; from row 3 on, each column
/// cycles through its categories (the missing one included), so every category is fed, and
/// every fourth row has one numeric column missing in turn.
pub fn table_probe_cells(info: &ModelInfo) -> Cells {
    let table = info.table.as_ref().expect("a table's model");
    let n_numeric = table.numeric.len();
    let (center, spread) = match &info.scaler {
        Some(scaler) => {
            let (mean, scale) = scaler.mean_and_scale(table.numeric_width());
            (mean[..n_numeric].to_vec(), scale[..n_numeric].to_vec())
        }
        None => (vec![0.0; n_numeric], vec![1.0; n_numeric]),
    };
    let spread = (ArrayView1::from(&center), ArrayView1::from(&spread));
    let categories = (&table.categories[..], &table.kinds[..]);
    probe_cells(spread, categories, table.missing_text, RECORDED_ROWS, info.input_type)
}

/// At least `rows` probe rows of a table as [`table_probe_cells`] describes them, numbers
/// centred on `center` and spread by `spread`, categories from `categories` (per categorical
/// column, of its kind; `missing` is the missing category of a text column).
pub fn probe_cells(
    (center, spread): (ArrayView1<f64>, ArrayView1<f64>),
    (categories, kinds): (&[Vec<String>], &[CategoryKind]),
    missing: &str,
    rows: usize,
    input: Precision,
) -> Cells {
    let n_numeric = center.len();
    let most = categories.iter().map(Vec::len).max().unwrap_or(0);
    let rows = (3 + most).max(rows);
    let mut numeric = probe_inputs(center, spread, rows, input);
    for r in 0..rows {
        for j in 0..n_numeric {
            if r == 1 || (r >= 3 && r % 4 == 3 && (r / 4) % n_numeric.max(1) == j) {
                numeric[[r, j]] = f64::NAN;
            }
        }
    }
    // Per text column: its known values, then the unseen one; the missing category is a code.
    let values: Vec<Vec<String>> = categories
        .iter()
        .zip(kinds)
        .map(|(categories, &kind)| {
            let mut known: Vec<String> =
                categories.iter().filter(|c| *c != missing).cloned().collect();
            known.push(unseen(categories, kind));
            known
        })
        .collect();
    let codes = Array2::from_shape_fn((rows, categories.len()), |(r, k)| {
        let categories = &categories[k];
        let text = match r {
            1 if kinds[k] == CategoryKind::Integer => categories[0].as_str(),
            1 => missing,
            2 => return (values[k].len() - 1) as u32,
            0 => categories[0].as_str(),
            _ => categories[(r - 3) % categories.len()].as_str(),
        };
        if text == missing {
            MISSING_CODE
        } else {
            values[k].iter().position(|v| v == text).expect("a known category") as u32
        }
    });
    Cells { numeric, codes, values }
}

/// `rows` probe rows: `center`, then points `center + z * spread` with each z uniform in
/// [-3, 3], from a fixed seed; rounded to float32 for a float32 input. For a pipeline, the
/// centre is the scaler's mean and the spread its scale; the first rows are the same whatever
/// `rows` is.
pub fn probe_inputs(
    center: ArrayView1<f64>,
    spread: ArrayView1<f64>,
    rows: usize,
    input: Precision,
) -> Array2<f64> {
    let mut rng = SplitMix64::new(SEED);
    Array2::from_shape_fn((rows, center.len()), |(row, j)| {
        let z = if row == 0 {
            0.0
        } else {
            (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 3.0
        };
        let value = center[j] + z * spread[j];
        match input {
            Precision::Float32 => f64::from(value as f32),
            Precision::Float64 => value,
        }
    })
}

/// The probe rows recorded for a model file: [`RECORDED_ROWS`] rows of [`probe_inputs`] centred
/// on the file's scaler offset with its scale as the spread (0 and 1 for a file without a
/// scaler), in the file's input precision.
///
/// The parameters are taken as the file stores them (float32 for a float32 input, the ai.onnx.ml
/// Scaler's reciprocal scale inverted back), not from the fitted pipeline: the rows then depend
/// on the file alone, so the writer and a reviewer holding only the file make them bit for bit
/// alike. (The pipeline's float64 values cannot serve: a float32 file keeps too little of them
/// to make the same rows again.)
pub fn recorded_inputs(info: &ModelInfo) -> Array2<f64> {
    let n = info.n_features;
    let (center, spread) = match &info.scaler {
        Some(scaler) => scaler.mean_and_scale(n),
        None => (vec![0.0; n], vec![1.0; n]),
    };
    probe_inputs(
        ArrayView1::from(&center),
        ArrayView1::from(&spread),
        RECORDED_ROWS,
        info.input_type,
    )
}

/// The probe record of a loaded model file: its [`recorded_inputs`] (or for a table's model,
/// its [`table_probe_cells`]) and its outputs for them.
pub fn record(model: &TractModel, info: &ModelInfo) -> Result<Probes> {
    let classes = &info.classes;
    let step = Progress::hidden().rows("probes", 0);
    let (inputs, cells, (labels, probabilities)) = if info.table.is_some() {
        let cells = table_probe_cells(info);
        let outputs = model.predict_cells(&cells, classes, &step)?;
        let recorded = ProbeCells {
            numbers: cells
                .numeric
                .rows()
                .into_iter()
                .map(|r| r.iter().map(|v| (!v.is_nan()).then_some(*v)).collect())
                .collect(),
            texts: (0..cells.len())
                .map(|r| {
                    (0..cells.codes.ncols())
                        .map(|k| cells.text(r, k).unwrap_or("").to_owned())
                        .collect()
                })
                .collect(),
        };
        (Vec::new(), Some(recorded), outputs)
    } else {
        let inputs = recorded_inputs(info);
        let outputs = model.predict(inputs.view(), classes, &step)?;
        (inputs.rows().into_iter().map(|r| r.to_vec()).collect(), None, outputs)
    };
    Ok(Probes {
        inputs,
        cells,
        labels: labels
            .iter()
            .map(|l| l.map_or_else(String::new, |c| classes.name(c as usize)))
            .collect(),
        probabilities: probabilities.rows().into_iter().map(|r| r.to_vec()).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::Classes;
    use crate::model::{FittedLogisticRegression, FittedStandardScaler, Pipeline};
    use crate::onnx::load::decode;
    use crate::onnx::{GraphOptions, GraphSpec, model_bytes};
    use ndarray::{Array1, arr1, arr2};

    #[test]
    fn recorded_rows_are_made_from_the_parameters_the_file_stores() {
        // 0.1 and 1 / 3 are not float32 numbers: the file keeps them rounded, and the rows are
        // made from what it keeps.
        let pipeline = Pipeline::from_parts(
            FittedStandardScaler::from_parameters(arr1(&[0.1, -2.0]), arr1(&[3.0, 0.5])),
            FittedLogisticRegression::from_parameters(arr2(&[[1.0, -1.0]]), Array1::zeros(1), 0),
            Classes::Ints(vec![0, 1]),
        );
        let spec = GraphSpec {
            pipeline: &pipeline,
            input_name: crate::onnx::INPUT,
            feature_names: &["a".into(), "b".into()],
            options: GraphOptions::default(),
            input: Precision::Float32,
            doc_string: String::new(),
            metadata: Vec::new(),
        };
        let info = decode("m.onnx", model_bytes(&spec)).unwrap().check().unwrap().info;
        let center = [f64::from(0.1f32), -2.0];
        let spread = [1.0 / f64::from((1.0f64 / 3.0) as f32), 0.5];
        let expected = probe_inputs(
            ArrayView1::from(&center),
            ArrayView1::from(&spread),
            RECORDED_ROWS,
            Precision::Float32,
        );
        let made = recorded_inputs(&info);
        assert_eq!(made, expected);
        assert_eq!(made.row(0).to_vec(), center);
        // The pipeline's float64 values give other rows, which a reader of the file could not
        // make again.
        let from_pipeline =
            probe_inputs(pipeline.mean(), pipeline.scale(), RECORDED_ROWS, Precision::Float32);
        assert_ne!(made, from_pipeline);
    }
}
