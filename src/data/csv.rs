//! Reads a training CSV into a [`Dataset`]: every column but the target is a numeric feature,
//! the target holds class labels.

use std::path::Path;

use ndarray::Array2;

use super::labels;
use super::records::{self, Dictionary, ParsedChunk, Role};
use super::{Dataset, Delimiter, Rows, Source};
use crate::error::{Error, Result};
use crate::progress::Progress;

/// How to read a CSV file.
#[derive(Debug, Clone)]
pub struct CsvOptions {
    /// Field separator. Default `,`.
    pub delimiter: Delimiter,
    /// Name of the label column. Default: the last column.
    pub target: Option<String>,
}

impl Default for CsvOptions {
    fn default() -> CsvOptions {
        CsvOptions { delimiter: Delimiter::COMMA, target: None }
    }
}

/// Reads `path` as a header row followed by data rows.
///
/// Fails on the first problem in file order, naming the line and column.
pub fn read_csv(path: &Path, options: &CsvOptions, progress: &Progress) -> Result<Dataset> {
    let csv = records::open(path, options.delimiter)?;
    let (file_name, total_bytes, columns) = (csv.name.clone(), csv.n_bytes, csv.columns.clone());
    let target = target_column(&file_name, &columns, options.target.as_deref())?;
    let mut roles = Vec::with_capacity(columns.len());
    let mut next_feature = 0;
    for column in 0..columns.len() {
        roles.push(if column == target {
            Role::Label
        } else {
            next_feature += 1;
            Role::Feature(next_feature - 1)
        });
    }

    let step = progress.bytes("reading", total_bytes);
    let mut assembled = Assembled::default();
    let sha256 = csv.parse(&roles, &step, Ok, |chunk| {
        assembled.append(chunk);
        Ok(())
    })?;
    step.finish();

    let n_rows = assembled.targets.len();
    if n_rows == 0 {
        return Err(Error::NoRows { file: file_name });
    }
    let label_texts: Vec<&str> = assembled.labels.texts.iter().map(String::as_str).collect();
    let (classes, class_of_label) = labels::discover(&label_texts);
    let target_name = columns[target].clone();
    if classes.len() < 2 {
        return Err(Error::SingleClass {
            file: file_name,
            target: target_name,
            class: classes.display(0),
        });
    }
    let targets = assembled.targets.iter().map(|&l| class_of_label[l as usize]).collect();

    let features = Array2::from_shape_vec((n_rows, columns.len() - 1), assembled.values)
        .expect("every parsed row has one value per feature");
    let feature_names =
        columns.iter().enumerate().filter(|&(i, _)| i != target).map(|(_, n)| n.clone());
    Ok(Dataset {
        source: Source {
            file_name,
            sha256,
            n_bytes: total_bytes,
            n_rows,
            n_columns: columns.len(),
        },
        feature_names: feature_names.collect(),
        target_name,
        classes,
        rows: Rows { features, targets, lines: assembled.lines },
    })
}

/// The index of the target column: `target` by name, else the last column. At least one
/// other column must remain for the features.
pub(crate) fn target_column(file: &str, columns: &[String], target: Option<&str>) -> Result<usize> {
    let index = match target {
        None => columns.len() - 1,
        Some(wanted) => {
            columns.iter().position(|n| n == wanted).ok_or_else(|| Error::UnknownTarget {
                file: file.to_owned(),
                name: wanted.to_owned(),
                columns: records::list_columns(columns),
            })?
        }
    };
    if columns.len() < 2 {
        return Err(Error::NoFeatures { file: file.to_owned(), target: columns[index].clone() });
    }
    Ok(index)
}

/// Rows put back in file order, with labels numbered across the whole file.
#[derive(Default)]
struct Assembled {
    values: Vec<f64>,
    lines: Vec<u64>,
    targets: Vec<u32>,
    labels: Dictionary,
}

impl Assembled {
    fn append(&mut self, chunk: ParsedChunk) {
        let global = self.labels.renumber(chunk.distinct);
        self.targets.extend(chunk.labels.iter().map(|&l| global[l as usize]));
        self.values.extend_from_slice(&chunk.values);
        self.lines.extend_from_slice(&chunk.lines);
    }
}
