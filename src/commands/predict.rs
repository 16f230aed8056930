//! `onnxify predict`: runs a checked model on a CSV, in file order, streaming, on every core.
//!
//! With public keys, the model's bytes must carry a valid signature by each before anything
//! parses them.
//!
//! Columns are matched to the model's recorded feature names by name, in any order; a model
//! without recorded names (made by another converter) takes the columns in order. Rows are
//! parsed, run through tract and formatted on the worker threads, and written in file order, a
//! bounded number of chunks at a time, so memory does not grow with the file.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use ndarray::{Array2, ArrayView2};

use super::{Console, Failure};
use crate::data::cell_rows::{CellColumns, chunk_cells, table_roles};
use crate::data::columns::{ColumnPlan, Features, plan_columns};
use crate::data::records::{self, ParsedChunk};
use crate::data::{Classes, Delimiter};
use crate::error::{Error, Location, Result};
use crate::export::output::Pending;
use crate::model::ColumnNames;
use crate::onnx::Precision;
use crate::onnx::load;
use crate::onnx::{ModelInfo, TableInfo};
use crate::progress::Progress;
use crate::proof::runtime::TractModel;
use crate::signing::{Pairing, PublicKey, check_keys};
use crate::util::excerpt;

/// What to predict and where to write it.
#[derive(Debug, Clone)]
pub struct PredictConfig {
    pub model: PathBuf,
    pub data: PathBuf,
    /// Output CSV; `None` writes to stdout.
    pub output: Option<PathBuf>,
    /// A column copied through to the output, first.
    pub id_column: Option<String>,
    pub delimiter: Delimiter,
    /// Public keys whose signatures of the model must hold before it is run.
    pub keys: Vec<PublicKey>,
    /// Which signature file each key is checked against.
    pub signatures: Pairing,
}

/// A whole `predict` command: the prediction and what to print about it.
#[derive(Debug, Clone)]
pub struct PredictCommand {
    pub config: PredictConfig,
    /// Print nothing but errors.
    pub quiet: bool,
}

/// Predicts, printing notes (columns the model ignores) and, for an output file, the row count
/// on stderr unless quiet.
pub fn run(command: &PredictCommand, console: &Console) -> Result<(), Failure> {
    let quiet = command.quiet;
    let summary = predict(&command.config, &console.progress, |note| {
        if !quiet {
            eprintln!("onnxify: note: {note}");
        }
    })?;
    if let (Some(output), false) = (&command.config.output, quiet) {
        eprintln!("Wrote {} predictions to {}", summary.rows, output.display());
    }
    Ok(())
}

/// What a prediction run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictSummary {
    pub rows: u64,
    /// Data columns the model does not use.
    pub ignored_columns: Vec<String>,
}

/// Predicts every row of the data file.
pub fn predict(
    config: &PredictConfig,
    progress: &Progress,
    note: impl Fn(&str),
) -> Result<PredictSummary> {
    let model_name = config.model.display().to_string();
    let checked = read_signed(config)?.check()?;
    let model = TractModel::load(&checked, &model_name)?;
    let info = &checked.info;
    let csv = records::open(&config.data, config.delimiter)?;
    let names = match &info.table {
        // A table's model is fed by column name, always.
        Some(table) => Some(table.numeric.iter().chain(&table.categorical).cloned().collect()),
        None => info.column_names(),
    };
    let count = names.as_ref().map_or(info.n_features, Vec::len);
    let features = Features { names: names.as_deref(), count };
    let mut plan =
        plan_columns(features, &csv.name, &csv.columns, config.id_column.as_deref(), None)?;
    if let Some(table) = &info.table {
        table_roles(&mut plan, table.numeric.len(), &csv.name, &csv.columns)?;
    }
    let names = info.table.as_ref().map(TableInfo::column_names);
    let integer = names.as_ref().map(ColumnNames::integer_flags);
    let columns = names.as_ref().zip(integer.as_deref()).map(|(names, integer)| CellColumns {
        numeric: &names.numeric,
        categorical: &names.categorical,
        integer,
    });
    if !plan.ignored.is_empty() {
        note(&format!(
            "ignoring columns the model does not use: {}",
            records::list_columns(&plan.ignored)
        ));
    }
    let output = config
        .output
        .as_ref()
        .map(|path| Pending::create(path, &[&config.data, &config.model], "the predictions"))
        .transpose()?;
    let mut sink: Box<dyn Write> = match &output {
        Some(file) => Box::new(std::io::BufWriter::new(file.writer()?)),
        None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
    };
    // The CSV file is consumed by the parse; its name is kept for messages.
    let data_name = csv.name.clone();
    let format = Format::new(
        info,
        &plan,
        config.id_column.as_deref(),
        config.delimiter.byte(),
        Names { data: &data_name, model: &model_name, float32: csv.float32 },
    );

    let io = |e| match &config.output {
        Some(path) => Error::io(path, e),
        None => Error::io(Path::new("stdout"), e),
    };
    sink.write_all(format.header.as_bytes()).map_err(io)?;

    let step = progress.bytes("predicting", csv.n_bytes);
    let mut rows = 0u64;
    let classes = &info.classes;
    csv.parse_rows(
        &plan.roles,
        &step,
        |chunk| match &info.table {
            Some(_) => format.table_chunk(&chunk, columns.expect("a table"), &model, classes),
            None => format.chunk(&chunk, &model, classes),
        },
        |(text, n)| {
            rows += n;
            sink.write_all(text.as_bytes()).map_err(io)
        },
    )?;
    step.finish();
    sink.flush().map_err(io)?;
    drop(sink);
    if let Some(output) = output {
        output.commit()?;
    }
    Ok(PredictSummary { rows, ignored_columns: plan.ignored })
}

/// Reads the model; with keys, refuses it unless every key's signature holds for its bytes,
/// which nothing has parsed before.
fn read_signed(config: &PredictConfig) -> Result<load::OnnxFile> {
    let name = config.model.display().to_string();
    let bytes = load::read_bytes(&config.model)?;
    let failed: Vec<String> = check_keys(&config.model, &bytes, &config.keys, &config.signatures)
        .iter()
        .filter(|check| check.result.is_err())
        .map(|check| format!("key {}: {}", check.fingerprint, check.describe()))
        .collect();
    if !failed.is_empty() {
        return Err(Error::ModelRefused {
            file: name,
            message: format!("not run: its signature does not hold ({})", failed.join("; ")),
        });
    }
    load::decode(&name, bytes)
}

/// What the formatter's messages name.
struct Names<'a> {
    data: &'a str,
    model: &'a str,
    /// Refuse feature values a float32 cannot hold, as the CSV engine does.
    float32: bool,
}

/// Output CSV text: the id column, the label, one probability column per class.
struct Format<'a> {
    header: String,
    n_features: usize,
    class_names: Vec<String>,
    /// The id column's name, when there is one.
    id: Option<&'a str>,
    /// The feature the id column also feeds (see [`ColumnPlan::id_feature`]).
    id_feature: Option<usize>,
    names: Names<'a>,
    delimiter: char,
}

impl<'a> Format<'a> {
    fn new(
        info: &ModelInfo,
        plan: &ColumnPlan,
        id: Option<&'a str>,
        delimiter: u8,
        names: Names<'a>,
    ) -> Format<'a> {
        let delimiter = char::from(delimiter);
        let classes = &info.classes;
        let class_names: Vec<String> = (0..classes.len()).map(|c| classes.name(c)).collect();
        let mut header = String::new();
        if let Some(id) = id {
            header.push_str(&quote(id, delimiter));
            header.push(delimiter);
        }
        header.push_str("label");
        for name in &class_names {
            header.push(delimiter);
            header.push_str(&quote(&format!("p_{name}"), delimiter));
        }
        header.push('\n');
        Format {
            header,
            n_features: info.n_features,
            class_names: class_names.iter().map(|n| quote(n, delimiter)).collect(),
            id,
            id_feature: plan.id_feature,
            names,
            delimiter,
        }
    }

    /// Runs a parsed chunk through the model and formats its rows.
    fn chunk(
        &self,
        chunk: &ParsedChunk,
        model: &TractModel,
        classes: &Classes,
    ) -> Result<(String, u64)> {
        let rows = chunk.lines.len();
        if rows == 0 {
            return Ok((String::new(), 0));
        }
        let with_id_feature;
        let values = match self.id_feature {
            None => &chunk.values,
            Some(k) => {
                with_id_feature = self.insert_id_feature(chunk, k)?;
                &with_id_feature
            }
        };
        let x = ArrayView2::from_shape((rows, self.n_features), values)
            .expect("every row has one value per feature");
        let outputs = model.predict(x, classes, &Progress::hidden().rows("", 0))?;
        self.format(chunk, outputs, model, classes)
    }

    /// Runs a parsed chunk of a table (its numeric cell columns first, then its categorical
    /// ones, read as text) through a column pipeline's model and formats its rows.
    fn table_chunk(
        &self,
        chunk: &ParsedChunk,
        columns: CellColumns,
        model: &TractModel,
        classes: &Classes,
    ) -> Result<(String, u64)> {
        if chunk.lines.is_empty() {
            return Ok((String::new(), 0));
        }
        let cells = chunk_cells(chunk, columns, self.names.data)?;
        let outputs = model.predict_cells(&cells, classes, &Progress::hidden().rows("", 0))?;
        self.format(chunk, outputs, model, classes)
    }

    /// Formats a chunk's labels and probabilities.
    fn format(
        &self,
        chunk: &ParsedChunk,
        (labels, proba): (Vec<Option<u32>>, Array2<f64>),
        model: &TractModel,
        classes: &Classes,
    ) -> Result<(String, u64)> {
        let rows = chunk.lines.len();
        // Probabilities print as the shortest decimal that reads back to the model's value.
        let single = model.output_precision() == Precision::Float32;
        let mut text = String::with_capacity(rows * (16 + 12 * classes.len()));
        let mut float = ryu::Buffer::new();
        for (r, (label, p)) in labels.iter().zip(proba.rows()).enumerate() {
            if self.id.is_some() {
                text.push_str(&quote(chunk.id(r), self.delimiter));
                text.push(self.delimiter);
            }
            let label = label.ok_or_else(|| Error::Runtime {
                file: Location::line(self.names.data, chunk.lines[r]).to_string(),
                message: format!(
                    "the model {} gave the row a label that is none of its classes {classes}",
                    self.names.model
                ),
            })?;
            text.push_str(&self.class_names[label as usize]);
            for &v in p {
                text.push(self.delimiter);
                if v.is_finite() && single {
                    text.push_str(float.format_finite(v as f32));
                } else if v.is_finite() {
                    text.push_str(float.format_finite(v));
                } else {
                    let _ = write!(text, "{v}");
                }
            }
            text.push('\n');
        }
        Ok((text, rows as u64))
    }

    /// The chunk's feature values with feature `k` read from the id text of each row.
    fn insert_id_feature(&self, chunk: &ParsedChunk, k: usize) -> Result<Vec<f64>> {
        let column = self.id.expect("an id feature comes from the id column");
        let others = self.n_features - 1;
        let mut values = Vec::with_capacity(chunk.lines.len() * self.n_features);
        for (r, &line) in chunk.lines.iter().enumerate() {
            let row = &chunk.values[r * others..(r + 1) * others];
            let at = || Location::cell(self.names.data, line, column);
            values.extend_from_slice(&row[..k]);
            values.push(feature_value(chunk.id(r), self.names.float32, at)?);
            values.extend_from_slice(&row[k..]);
        }
        Ok(values)
    }
}

/// The id column's text as a feature value, for an id column that is also a feature: as the
/// CSV engine reads a feature cell, surrounding ASCII whitespace is allowed and the value must
/// be a finite number (within the float32 range when `float32`). Any correctly rounding parser
/// gives the engine's value bit for bit; a refusal is reported more tersely than the engine's.
fn feature_value(text: &str, float32: bool, at: impl Fn() -> Location) -> Result<f64> {
    let trimmed = text.trim_ascii();
    match trimmed.parse::<f64>() {
        Ok(v) if v.is_finite() && !(float32 && v.abs() > f64::from(f32::MAX)) => Ok(v),
        Ok(v) if v.is_finite() => Err(Error::OutsideFloat32 { at: at(), value: excerpt(text) }),
        _ if trimmed.is_empty() => Err(Error::EmptyCell { at: at() }),
        _ => Err(Error::NotANumber { at: at(), value: excerpt(text) }),
    }
}

/// A CSV field, quoted if it holds the delimiter, a quote or a line break.
fn quote(field: &str, delimiter: char) -> String {
    if field.contains([delimiter, '"', '\n', '\r']) {
        format!("\"{}\"", field.replace('"', "\"\""))
    } else {
        field.to_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_only_fields_that_need_it() {
        assert_eq!(quote("setosa", ','), "setosa");
        assert_eq!(quote("a,b", ','), "\"a,b\"");
        assert_eq!(quote("say \"hi\"", ','), "\"say \"\"hi\"\"\"");
        assert_eq!(quote("a,b", ';'), "a,b");
    }
}
