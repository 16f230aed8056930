//! Running ONNX models in tract: loading through [`onnx_with_ml_ops`] (the operators tract
//! lacks), batched runs with float32 or float64 input, and every tract error or panic turned into
//! an [`Error::Runtime`](crate::Error::Runtime).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};

use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;
use tract_onnx::prelude::*;

use crate::data::{Cells, Classes, parse_integer};
use crate::error::{Error, Result};
use crate::model::CategoryKind;
use crate::onnx::CheckedModel;
use crate::onnx::{InputLayout, NUMERIC_INPUT, Precision};
use crate::progress::Step;
use crate::proof::ml_ops::onnx_with_ml_ops;
use crate::util::{catch_panic, excerpt};

/// The runtime used, with its exact version (pinned in Cargo.toml).
pub const RUNTIME: &str = "tract-onnx 0.23.9";
/// Rows per call into tract, at most: bounds the memory of a run over millions of rows.
pub const BATCH_ROWS: usize = 16_384;
/// Input bytes per call into tract, about: a batch's tensors then stay below the size the
/// allocator maps afresh from the system (see `main.rs`), so batches reuse memory instead of
/// faulting in new pages. Measured on 1M rows x 50 columns: a quarter of verification's time
/// was page faults with 6.5 MB batches.
const BATCH_BYTES: usize = 512 << 10;

/// Rows per call into tract for rows of `width` input values.
fn batch_rows(width: usize) -> usize {
    (BATCH_BYTES / (8 * width.max(1))).clamp(64, BATCH_ROWS)
}

/// An ONNX model loaded by tract, ready to run.
pub struct TractModel {
    plan: Arc<TypedRunnableModel>,
    /// The model file's name, for messages.
    file: String,
    /// For a column pipeline's graph, what each input is fed, in the graph's input order.
    feeds: Option<Vec<Feed>>,
    /// The text a missing text cell is fed as (see [`crate::onnx::TableInfo::missing_text`]).
    missing_text: &'static str,
    input: Precision,
    output: Precision,
    /// Positions of the label and probability outputs among the graph's outputs.
    label_at: usize,
    probabilities_at: usize,
}

impl TractModel {
    /// Loads a checked model (with [`onnx_with_ml_ops`]); `file` names it in messages. A panic
    /// inside tract becomes an error.
    pub fn load(model: &CheckedModel, file: &str) -> Result<TractModel> {
        let bytes = model.tract_bytes();
        let info = &model.info;
        let position =
            |name: &str| info.outputs.iter().position(|o| o.name == name).unwrap_or_default();
        let (label_at, probabilities_at) =
            (position(&info.label_output), position(&info.probability_output));
        let feeds = info.table.as_ref().map(|table| {
            info.inputs
                .iter()
                .map(|input| match table.layout {
                    InputLayout::Grouped if input.name == NUMERIC_INPUT => Feed::AllNumbers,
                    InputLayout::Grouped => Feed::AllTexts,
                    InputLayout::Columns => {
                        match table.numeric.iter().position(|n| *n == input.name) {
                            Some(j) => Feed::Number(j),
                            None => {
                                let k = table
                                    .categorical
                                    .iter()
                                    .position(|n| *n == input.name)
                                    .unwrap_or(0);
                                match table.kinds[k] {
                                    CategoryKind::Text => Feed::Text(k),
                                    CategoryKind::Integer => Feed::Integer(k),
                                }
                            }
                        }
                    }
                })
                .collect()
        });
        guarded(file, "loading the model", || {
            let plan = onnx_with_ml_ops()
                .model_for_read(&mut &bytes[..])?
                .into_optimized()?
                .into_runnable()?;
            Ok(TractModel {
                plan,
                file: file.to_owned(),
                feeds,
                missing_text: info.table.as_ref().map_or("", |t| t.missing_text),
                input: info.input_type,
                output: info.probability_type,
                label_at,
                probabilities_at,
            })
        })
    }

    /// The precision of the probabilities the model outputs.
    pub fn output_precision(&self) -> Precision {
        self.output
    }

    /// Numbers in f64 as the model's numeric input type, as a caller would cast them.
    fn numbers(&self, x: ArrayView2<f64>) -> Tensor {
        match self.input {
            Precision::Float32 => Tensor::from(x.mapv(|v| v as f32)),
            Precision::Float64 => Tensor::from(x.to_owned()),
        }
    }

    /// Runs rows given in f64, cast to the model's input type as a caller would; returns the
    /// label tensor and the probabilities.
    fn run_batch(&self, x: ArrayView2<f64>) -> Result<(Tensor, Array2<f64>)> {
        self.run_inputs(tvec!(self.numbers(x).into()))
    }

    /// The input tensors of rows `range` of `cells` for a column pipeline's graph: numbers as
    /// the input type (NaN where missing), text as strings ("" where missing), integer
    /// categories as int64 (a cell that is none is an error).
    fn table_inputs(&self, cells: &Cells, range: std::ops::Range<usize>) -> Result<TVec<TValue>> {
        let feeds = self.feeds.as_deref().unwrap_or_default();
        let rows = range.len();
        let text = |columns: &[usize]| {
            let mut values = Vec::with_capacity(rows * columns.len());
            for r in range.clone() {
                for &k in columns {
                    values.push(cells.text(r, k).unwrap_or(self.missing_text).to_owned());
                }
            }
            Tensor::from(
                Array2::from_shape_vec((rows, columns.len()), values).expect("one string per cell"),
            )
        };
        let integers = |k: usize| -> Result<Tensor> {
            let values = range
                .clone()
                .map(|r| {
                    let cell = cells.text(r, k).unwrap_or_default();
                    parse_integer(cell.as_bytes()).ok_or_else(|| {
                        tract_error(
                            &self.file,
                            "feeding an integer category column",
                            format!("row {r} holds {:?}, not an integer", excerpt(cell)),
                        )
                    })
                })
                .collect::<Result<Vec<i64>>>()?;
            Ok(Tensor::from(
                Array2::from_shape_vec((rows, 1), values).expect("one integer per cell"),
            ))
        };
        feeds
            .iter()
            .map(|feed| {
                let numeric = cells.numeric.slice(s![range.clone(), ..]);
                Ok(match *feed {
                    Feed::Number(j) => self.numbers(numeric.slice(s![.., j..j + 1])),
                    Feed::AllNumbers => self.numbers(numeric),
                    Feed::Text(k) => text(&[k]),
                    Feed::Integer(k) => integers(k)?,
                    Feed::AllTexts => text(&(0..cells.codes.ncols()).collect::<Vec<_>>()),
                }
                .into())
            })
            .collect()
    }

    /// Runs input tensors; returns the label tensor and the probabilities.
    fn run_inputs(&self, inputs: TVec<TValue>) -> Result<(Tensor, Array2<f64>)> {
        guarded(&self.file, "running the model", || {
            let outputs = self.plan.run(inputs)?;
            anyhow::ensure!(outputs.len() == 2, "expected 2 outputs, got {}", outputs.len());
            let proba = &outputs[self.probabilities_at];
            let proba: Array2<f64> = match self.output {
                Precision::Float32 => {
                    proba.to_plain_array_view::<f32>()?.mapv(f64::from).into_dimensionality()?
                }
                Precision::Float64 => {
                    proba.to_plain_array_view::<f64>()?.to_owned().into_dimensionality()?
                }
            };
            Ok((outputs[self.label_at].clone().into_tensor(), proba))
        })
    }

    /// Class indices (into `classes`; `None` for a label that is no class) and probabilities
    /// for every row of `x`.
    pub fn predict(
        &self,
        x: ArrayView2<f64>,
        classes: &Classes,
        step: &Step,
    ) -> Result<(Vec<Option<u32>>, Array2<f64>)> {
        self.predict_batches(x.nrows(), batch_rows(x.ncols()), classes, step, |range| {
            self.run_batch(x.slice(s![range, ..]))
        })
    }

    /// [`predict`](TractModel::predict) for a column pipeline's graph, on the cells of a table
    /// whose columns are in the model's order.
    pub fn predict_cells(
        &self,
        cells: &Cells,
        classes: &Classes,
        step: &Step,
    ) -> Result<(Vec<Option<u32>>, Array2<f64>)> {
        let width = cells.numeric.ncols() + cells.codes.ncols();
        self.predict_batches(cells.len(), batch_rows(width), classes, step, |range| {
            self.run_inputs(self.table_inputs(cells, range)?)
        })
    }

    /// [`predict`](TractModel::predict) or [`predict_cells`](TractModel::predict_cells) as
    /// `inputs` holds rows.
    pub fn predict_inputs(
        &self,
        inputs: &Inputs,
        classes: &Classes,
        step: &Step,
    ) -> Result<(Vec<Option<u32>>, Array2<f64>)> {
        match inputs {
            Inputs::Matrix(x) => self.predict(x.view(), classes, step),
            Inputs::Cells(cells) => self.predict_cells(cells, classes, step),
        }
    }

    /// Runs `run` on batches of `batch` rows, on every core: each batch is a run of its own
    /// (tract keeps a run's state apart), and the results are put back in row order.
    fn predict_batches(
        &self,
        n: usize,
        batch: usize,
        classes: &Classes,
        step: &Step,
        run: impl Fn(std::ops::Range<usize>) -> Result<(Tensor, Array2<f64>)> + Sync,
    ) -> Result<(Vec<Option<u32>>, Array2<f64>)> {
        let lookup = ClassLookup::new(classes);
        let done = AtomicU64::new(0);
        let batches: Vec<(Vec<Option<u32>>, Array2<f64>)> = (0..n.div_ceil(batch))
            .into_par_iter()
            .map(|b| {
                let range = b * batch..((b + 1) * batch).min(n);
                let rows = range.len();
                let (label_tensor, proba) = run(range)?;
                let labels = lookup
                    .indices(&label_tensor)
                    .map_err(|e| tract_error(&self.file, "reading the labels", e))?;
                if labels.len() != rows || proba.dim() != (rows, classes.len()) {
                    let shape = format!(
                        "unexpected shapes: {} labels, probabilities {:?}",
                        labels.len(),
                        proba.dim()
                    );
                    return Err(tract_error(&self.file, "reading the outputs", shape));
                }
                step.set(done.fetch_add(rows as u64, Ordering::Relaxed) + rows as u64);
                Ok((labels, proba))
            })
            .collect::<Result<_>>()?;
        let mut labels = Vec::with_capacity(n);
        let mut proba = Array2::zeros((n, classes.len()));
        let mut start = 0;
        for (batch_labels, batch_proba) in batches {
            let end = start + batch_labels.len();
            labels.extend(batch_labels);
            proba.slice_mut(s![start..end, ..]).assign(&batch_proba);
            start = end;
        }
        Ok((labels, proba))
    }
}

/// What a graph input of a column pipeline is fed.
#[derive(Debug, Clone, Copy)]
enum Feed {
    /// Numeric column j, `[N, 1]`.
    Number(usize),
    /// Every numeric column, `[N, Fn]`.
    AllNumbers,
    /// Text column k, `[N, 1]`.
    Text(usize),
    /// Integer category column k, `[N, 1]`.
    Integer(usize),
    /// Every text column, `[N, Fc]`.
    AllTexts,
}

/// Rows to run a model on: a numeric matrix, or a table's cells.
#[derive(Debug, Clone, PartialEq)]
pub enum Inputs {
    Matrix(Array2<f64>),
    Cells(Cells),
}

impl Inputs {
    pub fn len(&self) -> usize {
        match self {
            Inputs::Matrix(x) => x.nrows(),
            Inputs::Cells(cells) => cells.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Runs `f`, turning an error or a panic inside tract into an [`Error::Runtime`](crate::Error::Runtime) that names
/// the model `file`.
fn guarded<T>(file: &str, what: &str, f: impl FnOnce() -> anyhow::Result<T>) -> Result<T> {
    match catch_panic(f) {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(e)) => Err(tract_error(file, what, e)),
        Err(message) => Err(Error::Runtime {
            file: file.to_owned(),
            message: format!("{RUNTIME} panicked while {what}: {message}"),
        }),
    }
}

fn tract_error(file: &str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::Runtime {
        file: file.to_owned(),
        message: format!("{RUNTIME} failed while {what}: {e:#}"),
    }
}

/// Label values to class indices. Class labels come in the model's order, which need not be
/// sorted (`classlabels_ints` may read `[2, 1, 0]`), so they are looked up by value.
enum ClassLookup<'a> {
    Ints(HashMap<i64, u32>),
    Strings(HashMap<&'a str, u32>),
}

impl<'a> ClassLookup<'a> {
    fn new(classes: &'a Classes) -> Self {
        // Built in reverse so that a repeated label maps to its first position.
        match classes {
            Classes::Ints(values) => ClassLookup::Ints(
                values.iter().enumerate().rev().map(|(i, &v)| (v, i as u32)).collect(),
            ),
            Classes::Strings(names) => ClassLookup::Strings(
                names.iter().enumerate().rev().map(|(i, n)| (n.as_str(), i as u32)).collect(),
            ),
        }
    }

    /// The class index of each label in tract's label output; `None` for a label that is no
    /// class.
    fn indices(&self, labels: &Tensor) -> anyhow::Result<Vec<Option<u32>>> {
        Ok(match self {
            ClassLookup::Ints(index) => {
                labels.to_plain_array_view::<i64>()?.iter().map(|v| index.get(v).copied()).collect()
            }
            ClassLookup::Strings(index) => labels
                .to_plain_array_view::<String>()?
                .iter()
                .map(|v| index.get(v.as_str()).copied())
                .collect(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_inside_tract_becomes_an_error_with_its_message() {
        let result: Result<()> = guarded("m.onnx", "testing", || panic!("boom"));
        let message = result.unwrap_err().to_string();
        assert_eq!(message, format!("m.onnx: {RUNTIME} panicked while testing: boom"));
    }

    #[test]
    fn an_error_inside_tract_names_the_model_file() {
        let result: Result<()> = guarded("m.onnx", "loading the model", || anyhow::bail!("bad"));
        let message = result.unwrap_err().to_string();
        assert_eq!(message, format!("m.onnx: {RUNTIME} failed while loading the model: bad"));
    }

    #[test]
    fn class_labels_in_any_order_are_found_by_value() {
        let classes = Classes::Ints(vec![2, 1, 0]);
        let labels = Tensor::from(tract_ndarray::arr1(&[0i64, 2, 1, 7]));
        let found = ClassLookup::new(&classes).indices(&labels).unwrap();
        assert_eq!(found, [Some(2), Some(0), Some(1), None]);
    }
}
