//! Probe inputs: rows made from the scaler's parameters alone (the mean, and points a few
//! standard deviations around it), never from training rows. Their outputs are recorded in the
//! companion JSON when a model is written, so `onnxify verify` can check later that the file
//! still computes what it computed then.

use ndarray::{Array2, ArrayView1};
use serde::{Deserialize, Serialize};

use crate::data::split::SplitMix64;
use crate::onnx::Precision;

/// Probe rows recorded in a companion JSON: the centre row and 15 around it.
pub const RECORDED_ROWS: usize = 16;
/// Fixed, so that the same model always gets the same probes.
const SEED: u64 = 0x6f6e_6e78_6966_7900;

/// Probe rows and the outputs the model file gave for them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Probes {
    /// Input rows, one value per feature, exactly as the model receives them.
    pub inputs: Vec<Vec<f64>>,
    /// The label output for each row, as text.
    pub labels: Vec<String>,
    /// The probability output for each row.
    pub probabilities: Vec<Vec<f64>>,
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
