//! `onnxify predict`: runs a checked model on a CSV, in file order, streaming, on every core.
//!
//! Columns are matched to the model's recorded feature names by name, in any order; a model
//! without recorded names (made by another converter) takes the columns in order. Rows are
//! parsed, run through tract and formatted on the worker threads, and written in file order, a
//! bounded number of chunks at a time, so memory does not grow with the file.

use std::fmt::Write as _;
use std::io::Write;
use std::path::{Path, PathBuf};

use crate::output::Pending;

use ndarray::ArrayView2;

use crate::data::Classes;
use crate::data::records::{self, ParsedChunk, Role};
use crate::error::{Error, Result};
use crate::onnx::Precision;
use crate::onnx::load::{self, ModelInfo};
use crate::progress::Progress;
use crate::runtime::TractModel;

/// What to predict and where to write it.
#[derive(Debug, Clone)]
pub struct PredictConfig {
    pub model: PathBuf,
    pub data: PathBuf,
    /// Output CSV; `None` writes to stdout.
    pub output: Option<PathBuf>,
    /// A column copied through to the output, first.
    pub id_column: Option<String>,
    pub delimiter: u8,
}

/// What a prediction run did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PredictSummary {
    pub rows: u64,
    /// Data columns the model does not use.
    pub ignored_columns: Vec<String>,
}

/// How the data's columns feed the model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ColumnPlan {
    pub roles: Vec<Role>,
    pub ignored: Vec<String>,
}

/// Matches data columns to model features: by the model's recorded feature names when it has
/// them, else in order (the count must match). `id` and `target` name columns with those roles.
pub(crate) fn plan_columns(
    info: &ModelInfo,
    file: &str,
    columns: &[String],
    id: Option<&str>,
    target: Option<&str>,
) -> Result<ColumnPlan> {
    let mut roles = vec![Role::Ignore; columns.len()];
    let find = |name: &str, what: &str| {
        columns.iter().position(|c| c == name).ok_or_else(|| Error::MissingColumn {
            file: file.to_owned(),
            name: name.to_owned(),
            why: what.to_owned(),
            columns: records::list_columns(columns),
        })
    };
    if let Some(id) = id {
        roles[find(id, "given by --id-column")?] = Role::Id;
    }
    if let Some(target) = target {
        roles[find(target, "the target column")?] = Role::Label;
    }
    match info.column_names() {
        Some(names) => {
            for (j, name) in names.iter().enumerate() {
                let column = find(name, "a feature the model needs")?;
                if roles[column] != Role::Ignore {
                    return Err(Error::MissingColumn {
                        file: file.to_owned(),
                        name: name.clone(),
                        why: "a feature the model needs, and it cannot also be the id or target"
                            .into(),
                        columns: records::list_columns(columns),
                    });
                }
                roles[column] = Role::Feature(j);
            }
        }
        None => {
            let free: Vec<usize> =
                (0..columns.len()).filter(|&c| roles[c] == Role::Ignore).collect();
            if free.len() != info.n_features {
                return Err(Error::ColumnCount {
                    file: file.to_owned(),
                    found: free.len(),
                    expected: info.n_features,
                });
            }
            for (j, column) in free.into_iter().enumerate() {
                roles[column] = Role::Feature(j);
            }
        }
    }
    let ignored = columns
        .iter()
        .zip(&roles)
        .filter(|(_, r)| **r == Role::Ignore)
        .map(|(c, _)| c.clone())
        .collect();
    Ok(ColumnPlan { roles, ignored })
}

/// Predicts every row of the data file.
pub fn predict(
    config: &PredictConfig,
    progress: &Progress,
    note: impl Fn(&str),
) -> Result<PredictSummary> {
    let checked = load::read(&config.model)?.check()?;
    let model = TractModel::load(&checked)?;
    let info = &checked.info;
    let csv = records::open(&config.data, config.delimiter)?;
    let plan = plan_columns(info, &csv.name, &csv.columns, config.id_column.as_deref(), None)?;
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
    let format =
        Format::new(&info.classes, info.n_features, config.id_column.as_deref(), config.delimiter);
    let io = |e| match &config.output {
        Some(path) => Error::io(path, e),
        None => Error::io(Path::new("stdout"), e),
    };
    sink.write_all(format.header.as_bytes()).map_err(io)?;

    let step = progress.bytes("predicting", csv.n_bytes);
    let mut rows = 0u64;
    let classes = &info.classes;
    csv.parse(
        &plan.roles,
        &step,
        |chunk| format.chunk(&chunk, &model, classes),
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

/// Output CSV text: the id column, the label, one probability column per class.
struct Format {
    header: String,
    n_features: usize,
    class_names: Vec<String>,
    with_id: bool,
    delimiter: char,
}

impl Format {
    fn new(classes: &Classes, n_features: usize, id: Option<&str>, delimiter: u8) -> Format {
        let delimiter = char::from(delimiter);
        let names: Vec<String> = (0..classes.len()).map(|c| classes.name(c)).collect();
        let mut header = String::new();
        if let Some(id) = id {
            header.push_str(&quote(id, delimiter));
            header.push(delimiter);
        }
        header.push_str("label");
        for name in &names {
            header.push(delimiter);
            header.push_str(&quote(&format!("p_{name}"), delimiter));
        }
        header.push('\n');
        Format {
            header,
            n_features,
            class_names: names.iter().map(|n| quote(n, delimiter)).collect(),
            with_id: id.is_some(),
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
        let x = ArrayView2::from_shape((rows, self.n_features), &chunk.values)
            .expect("every row has one value per feature");
        let (labels, proba) = model.predict(x, classes, &Progress::hidden().rows("", 0))?;
        // Probabilities print as the shortest decimal that reads back to the model's value.
        let single = model.output_precision() == Precision::Float32;
        let mut text = String::with_capacity(rows * (16 + 12 * classes.len()));
        let mut float = ryu::Buffer::new();
        for (r, (label, p)) in labels.iter().zip(proba.rows()).enumerate() {
            if self.with_id {
                text.push_str(&quote(chunk.id(r), self.delimiter));
                text.push(self.delimiter);
            }
            let label = label.ok_or_else(|| {
                Error::Runtime(format!("the model gave row {r} a label that is no class"))
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
