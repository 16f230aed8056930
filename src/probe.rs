//! Probe inputs: a few rows made from the scaler's parameters alone (the mean, and points a few
//! standard deviations around it), never from training rows. Their outputs are recorded in the
//! companion JSON when a model is written, so `onnxify verify` can check later that the file
//! still computes what it computed then.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use crate::data::split::SplitMix64;
use crate::model::Pipeline;
use crate::onnx::Precision;

/// Rows besides the mean row.
const RANDOM_ROWS: usize = 15;
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

/// The probe rows of a pipeline: its mean, then points `mean + z * scale` with each z uniform
/// in [-3, 3], from a fixed seed; rounded to float32 for a float32 input.
pub fn probe_inputs(pipeline: &Pipeline, input: Precision) -> Array2<f64> {
    let (mean, scale) = (pipeline.mean(), pipeline.scale());
    let mut rng = SplitMix64::new(SEED);
    Array2::from_shape_fn((1 + RANDOM_ROWS, mean.len()), |(row, j)| {
        let z = if row == 0 {
            0.0
        } else {
            (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64 * 6.0 - 3.0
        };
        let value = mean[j] + z * scale[j];
        match input {
            Precision::Float32 => f64::from(value as f32),
            Precision::Float64 => value,
        }
    })
}
