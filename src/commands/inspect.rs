//! `onnxify inspect`: what a model file holds and what it does not, for a person or as JSON.
//!
//! Any file that decodes is described; the allow-list check is reported with it, and when it
//! fails the command fails too. The statement about training data is backed by the check and
//! by the wire walk's account of every byte: in an allow-listed graph every number is a fitted
//! parameter of a known count, so the only other room for data is text and fields the schema
//! does not declare. "No training data is stored" is said only when there are no undeclared
//! fields and the text beyond the model's feature and class names is within
//! [`TEXT_ALLOWANCE`]; otherwise the report says how many bytes could hold data, and where.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::summary::write_search;
use super::{Failure, to_stdout};
use crate::error::{Error, Result};
use crate::model::{CategoryKind, columns_of_kind};
use crate::onnx::load;
use crate::onnx::{
    Audit, DATA_SIZED, Description, Layout, NodeDescription, Room, TEXT_ALLOWANCE, room,
};
use crate::onnx::{Flavor, InputLayout, ModelInfo, SearchRecord, Signature, TableInfo};
use crate::signing::{Claim, beside::signatures_beside, claim, read_signature};
use crate::util::sha256_hex;

/// A whole `inspect` command: the model and how to print what it holds.
#[derive(Debug, Clone)]
pub struct InspectCommand {
    pub model: PathBuf,
    /// Print the report as JSON.
    pub json: bool,
}

/// Prints what the model holds; a model the check refuses is described as far as it can be,
/// then its refusal is the [`Failure`].
pub fn run(command: &InspectCommand) -> Result<(), Failure> {
    let (inspection, refusal) = inspect(&command.model)?;
    to_stdout(
        |out| {
            if command.json { inspection.write_json(out) } else { inspection.write_text(out) }
        },
    )?;
    refusal.map_or(Ok(()), |e| Err(e.into()))
}

/// Everything `inspect` reports.
#[derive(Debug, Serialize)]
pub struct Inspection {
    pub file: String,
    pub bytes: usize,
    pub sha256: String,
    pub ir_version: i64,
    pub producer: String,
    pub opsets: Vec<(String, i64)>,
    pub inputs: Vec<Value>,
    pub outputs: Vec<Value>,
    pub nodes: Vec<NodeDescription>,
    pub initializers: Vec<Initializer>,
    /// "passed", or the reason the allow-list check refused the file.
    pub check: String,
    /// The fitted parameters, when the check passed.
    pub parameters: Option<Parameters>,
    pub metadata: Vec<(String, String)>,
    /// The grid search that chose the hyperparameters, read from the metadata entry
    /// `model_selection`; absent when there is none or it does not read as one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_selection: Option<SearchRecord>,
    /// The statement about training data, and the items behind it.
    pub training_data: TrainingData,
    /// Signature files beside the model and what each claims, unverified (no key is given to
    /// `inspect`; `verify --public-key` checks them).
    pub signatures: Vec<SignatureClaim>,
}

/// What a signature file beside the model says, read without trusting it.
#[derive(Debug, Serialize)]
pub struct SignatureClaim {
    pub file: String,
    /// The fingerprint of the key it names, the file name and SHA-256 it gives; absent when
    /// the file does not read as a model signature.
    pub claim: Option<Claim>,
    /// Whether the SHA-256 it gives is this file's.
    pub matches_this_file: bool,
    /// Why the file does not read as a model signature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Value {
    pub name: String,
    pub elem_type: String,
    pub dims: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Initializer {
    pub name: String,
    pub elem_type: String,
    pub dims: Vec<i64>,
}

/// The numbers of an allow-listed model, as scikit-learn names them.
#[derive(Debug, Serialize)]
pub struct Parameters {
    pub feature_names: Option<Vec<String>>,
    pub classes: Vec<String>,
    /// `mean_` (the offset subtracted); `None` when the graph has no scaler.
    pub mean: Option<Vec<f64>>,
    /// `scale_` (the divisor, or the reciprocal of the ai.onnx.ml Scaler's factor); `None`
    /// when the graph has no scaler.
    pub scale: Option<Vec<f64>>,
    /// One row per score column (two opposite rows for two classes, or one row for the
    /// positive class).
    pub coefficients: Vec<Vec<f64>>,
    /// The class each coefficient row scores.
    pub rows: Vec<String>,
    pub intercepts: Vec<f64>,
    pub post_transform: String,
    /// The Normalizer's norm (MAX, L1 or L2) applied to the probabilities, if there is one.
    pub normalizer: Option<String>,
    /// The label's divisor of each class's probability, when the label is the largest
    /// quotient rather than the most probable class (Spark's thresholds).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub thresholds: Option<Vec<f64>>,
    /// A table's columns and what was fitted to them; absent for a numeric matrix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub columns: Option<TableColumns>,
}

/// A table's model: its columns by role, how missing values are fed and filled, and the
/// categories of each text column.
#[derive(Debug, Serialize)]
pub struct TableColumns {
    /// "columns" (one input per column) or "grouped".
    pub inputs: InputLayout,
    pub numeric: Vec<String>,
    pub categorical: Vec<String>,
    /// The categorical columns fed as INT64 (integer categories); the others are STRING.
    pub integer_columns: Vec<String>,
    /// The value filled in for a missing number, per numeric column.
    pub statistics: Vec<f64>,
    /// Numeric columns with a missing indicator.
    pub indicator_features: Vec<String>,
    /// Per text column, its categories; "" is the missing category.
    pub categories: Vec<Vec<String>>,
    /// How to feed a missing value.
    pub missing_number: &'static str,
    pub missing_text: &'static str,
}

/// The statement about training data and what backs it.
#[derive(Debug, Serialize)]
pub struct TrainingData {
    /// Whether the file has room for data beyond its fitted parameters (then the statement
    /// says where), or holds items large enough to be data (for a graph onnxify does not
    /// recognise).
    pub stored: bool,
    pub statement: String,
    /// Where data could be: items, text and fields, with their sizes.
    pub places: Vec<String>,
    /// Bytes that could hold data: the text besides the model's names when it is more than
    /// the allowance, and every byte in undeclared and refused fields.
    pub room_bytes: usize,
    /// Where every byte of the file is.
    pub bytes: Bytes,
}

/// The file's bytes by kind; they add up to its size.
#[derive(Debug, Serialize)]
pub struct Bytes {
    /// Values in attributes and tensors: the parameters and the operators' settings.
    pub numbers: usize,
    /// Names, doc strings, metadata and string values.
    pub text: usize,
    /// Fields the ONNX schema onnxify reads does not declare.
    pub undeclared: usize,
    /// Fields onnxify refuses (functions, training programs, sparse tensors).
    pub refused: usize,
    /// Tags, lengths, versions, types and shapes.
    pub structure: usize,
}

/// Inspects the model at `path`. Fails (after the report is built) if the file does not decode
/// or the allow-list check refuses it; the report is returned with the refusal.
pub fn inspect(path: &Path) -> Result<(Inspection, Option<Error>)> {
    let file = load::read(path)?;
    let checked = file.check();
    let description = file.describe();
    let audit = file.audit();
    let sha256 = sha256_hex(file.bytes());
    let signatures = signature_claims(path, &sha256);
    let (check, parameters) = match &checked {
        Ok(model) => ("passed".to_owned(), Some(parameters(&model.info))),
        Err(e) => (e.to_string(), None),
    };
    let info = checked.as_ref().ok().map(|model| &model.info);
    let training_data = training_data(info, &description, &audit, file.layout());
    let inspection = Inspection {
        file: file.name().to_owned(),
        bytes: description.n_bytes,
        sha256,
        ir_version: description.ir_version,
        producer: description.producer.clone(),
        opsets: description.opsets.clone(),
        inputs: description.inputs.iter().map(value).collect(),
        outputs: description.outputs.iter().map(value).collect(),
        nodes: description.nodes.clone(),
        initializers: description
            .initializers
            .iter()
            .map(|(name, elem_type, dims, _)| Initializer {
                name: name.clone(),
                elem_type: elem_type.clone(),
                dims: dims.clone(),
            })
            .collect(),
        check,
        parameters,
        metadata: description.metadata.clone(),
        model_selection: description
            .metadata
            .iter()
            .find(|(key, _)| key == "model_selection")
            .and_then(|(_, value)| serde_json::from_str(value).ok()),
        training_data,
        signatures,
    };
    Ok((inspection, checked.err()))
}

/// What each signature file beside the model claims, and whether its digest is `sha256`.
fn signature_claims(model: &Path, sha256: &str) -> Vec<SignatureClaim> {
    signatures_beside(model)
        .iter()
        .map(|signature| {
            let claim = read_signature(signature).and_then(|bytes| claim(&bytes));
            SignatureClaim {
                file: signature.display().to_string(),
                matches_this_file: claim.as_ref().is_ok_and(|c| c.sha256 == sha256),
                problem: claim.as_ref().err().map(ToString::to_string),
                claim: claim.ok(),
            }
        })
        .collect()
}

fn value(s: &Signature) -> Value {
    Value { name: s.name.clone(), elem_type: s.elem_type.clone(), dims: s.dims.clone() }
}

fn parameters(info: &ModelInfo) -> Parameters {
    let f = info.n_features;
    // A table's scaler covers its numeric block only.
    let scaled = info.table.as_ref().map_or(f, TableInfo::numeric_width);
    let (mean, scale) = match &info.scaler {
        Some(scaler) => {
            let (mean, scale) = scaler.mean_and_scale(scaled);
            (Some(mean), Some(scale))
        }
        None => (None, None),
    };
    let classifier = &info.classifier;
    let classes: Vec<String> = (0..info.classes.len()).map(|c| info.classes.name(c)).collect();
    // One row per class, or for two classes one row scoring the second (LOGISTIC gives its
    // probability, the first class has the rest).
    let rows = if classifier.rows == classes.len() {
        classes.clone()
    } else {
        classes.iter().skip(1).take(classifier.rows).cloned().collect()
    };
    Parameters {
        feature_names: info.feature_names(),
        classes,
        mean,
        scale,
        coefficients: classifier.coefficients.chunks(f.max(1)).map(<[f64]>::to_vec).collect(),
        rows,
        intercepts: classifier.intercepts.clone(),
        post_transform: classifier.post_transform.clone(),
        normalizer: info.normalizer.clone(),
        thresholds: info.thresholds.clone(),
        columns: info.table.as_ref().map(|table| TableColumns {
            inputs: table.layout,
            numeric: table.numeric.clone(),
            categorical: table.categorical.clone(),
            integer_columns: columns_of_kind(
                &table.categorical,
                &table.kinds,
                CategoryKind::Integer,
            ),
            statistics: table.statistics.clone(),
            indicator_features: table
                .indicator_features
                .iter()
                .map(|&j| table.numeric[j].clone())
                .collect(),
            categories: table.categories.clone(),
            missing_number: "NaN",
            missing_text: table.missing_text,
        }),
    }
}

/// How a table's categories count: as fitted parameters, like the names, within caps.
const CATEGORIES_COUNTED: &str = " and categories, which are fitted text: the first 1000 \
    categories of each column count, up to 1 MiB in all";

fn training_data(
    checked: Option<&ModelInfo>,
    description: &Description,
    audit: &Audit,
    layout: &Layout,
) -> TrainingData {
    let room = room(layout, checked);
    let bytes = Bytes {
        numbers: layout.numbers,
        text: layout.text,
        undeclared: layout.unknown,
        refused: layout.refused,
        structure: layout.structure,
    };
    let (stored, statement, places) = match checked {
        Some(info) => {
            let parameters = fitted(info, description);
            if room.is_small() {
                let statement = format!(
                    "No training data is stored. Every number in the graph is a fitted parameter \
                     {parameters}; the file's {} bytes are {} bytes of numbers (these and the \
                     operators' settings), {} bytes of text (names, doc strings and {} metadata \
                     entries, within the {} bytes allowed besides the model's feature and class \
                     names{}) and {} bytes of protobuf structure, with no undeclared fields.",
                    layout.total,
                    layout.numbers,
                    layout.text,
                    description.metadata.len(),
                    TEXT_ALLOWANCE,
                    if info.table.is_some() { CATEGORIES_COUNTED } else { "" },
                    layout.structure,
                );
                (false, statement, Vec::new())
            } else {
                (true, may_be_stored(&parameters, &room), room.places.clone())
            }
        }
        None => {
            // Text beyond its limits is among the room's places, by place.
            let oversized = audit.oversized.iter().filter(|o| !audit.oversized_text.contains(o));
            let mut places: Vec<String> = oversized.chain(&audit.large).cloned().collect();
            places.extend(room.places.iter().cloned());
            let statement = if places.is_empty() {
                format!(
                    "The graph is not one onnxify recognises, so its numbers cannot all be \
                     accounted for as parameters; no initializer, attribute or metadata entry \
                     holds {DATA_SIZED} or more values or bytes, there are no undeclared fields \
                     and the text is {} bytes.",
                    layout.text
                )
            } else {
                "The graph is not one onnxify recognises, and it has room for data:".to_owned()
            };
            (!places.is_empty(), statement, places)
        }
    };
    TrainingData { stored, statement, places, room_bytes: room.bytes(), bytes }
}

/// The fitted parameters of a recognised model, counted, and where they are held.
fn fitted(info: &ModelInfo, description: &Description) -> String {
    let (f, rows) = (info.n_features, info.classifier.rows);
    let count =
        |n: usize, what: &str| if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") };
    let mut parts = Vec::new();
    if let Some(table) = &info.table {
        parts.push(count(table.statistics.len(), "imputation statistic"));
        let categories: usize = table.categories.iter().map(Vec::len).sum();
        parts.push(if categories == 1 {
            "1 category".to_owned()
        } else {
            format!("{categories} categories")
        });
    }
    if info.scaler.is_some() {
        let scaled = info.table.as_ref().map_or(f, TableInfo::numeric_width);
        parts.extend([count(scaled, "offset"), count(scaled, "scale")]);
    }
    parts.extend([
        count(rows * f, "coefficient"),
        count(rows, "intercept"),
        count(info.classes.len(), "class label"),
    ]);
    if let Some(thresholds) = &info.thresholds {
        parts.push(count(thresholds.len(), "class threshold"));
    }
    let initializers = count(description.initializers.len(), "initializer");
    let held = match (info.flavor, description.initializers.len()) {
        (Flavor::Standard, _) => initializers,
        (Flavor::Ml, 0) => "node attributes".to_owned(),
        (Flavor::Ml, _) => format!("node attributes and {initializers}"),
    };
    format!("({}), held in {held}", parts.join(", "))
}

/// The statement for a recognised graph with room for data.
fn may_be_stored(parameters: &str, room: &Room) -> String {
    let mut parts = Vec::new();
    if room.text_over() {
        parts.push(format!(
            "{} bytes of text besides the model's feature and class names, more than the \
             {TEXT_ALLOWANCE} onnxify accepts as names, doc strings and provenance",
            room.text - room.names
        ));
    }
    if room.unknown > 0 {
        parts.push(format!("{} bytes in fields the ONNX schema does not declare", room.unknown));
    }
    if room.refused > 0 {
        parts.push(format!("{} bytes in fields onnxify refuses", room.refused));
    }
    format!(
        "Training data may be stored. Every number in the graph is a fitted parameter \
         {parameters}, but {} bytes of the file could hold data: {}. Where:",
        room.bytes(),
        parts.join("; ")
    )
}

/// A table's columns: the inputs, how missing values are fed and filled, the categories.
fn write_table_columns(out: &mut dyn Write, c: &TableColumns) -> io::Result<()> {
    let inputs = match c.inputs {
        InputLayout::Columns => "one input per column, named after it",
        InputLayout::Grouped => "grouped: \"numeric\" and \"categorical\"",
    };
    writeln!(
        out,
        "Columns:   {} numeric, {} text ({inputs}); feed a missing number as NaN and a missing \
         text as {:?}",
        c.numeric.len(),
        c.categorical.len(),
        c.missing_text
    )?;
    for (name, statistic) in c.numeric.iter().zip(&c.statistics) {
        let indicator =
            if c.indicator_features.contains(name) { ", with a missing indicator" } else { "" };
        writeln!(out, "  {name}: a missing value is filled with {statistic}{indicator}")?;
    }
    for (name, categories) in c.categorical.iter().zip(&c.categories) {
        let integer = c.integer_columns.contains(name);
        let shown: Vec<String> = categories
            .iter()
            .take(20)
            .map(|v| match v {
                v if integer => v.clone(),
                v if *v == c.missing_text => "(missing)".to_owned(),
                v => format!("{v:?}"),
            })
            .collect();
        let more = categories.len().saturating_sub(shown.len());
        let more = if more > 0 { format!(" and {more} more") } else { String::new() };
        writeln!(
            out,
            "  {name}: {}{} categories: {}{more}; any other value encodes as zeros",
            if integer { "INT64, " } else { "" },
            categories.len(),
            shown.join(", ")
        )?;
    }
    Ok(())
}

impl Inspection {
    pub fn write_json(&self, out: &mut dyn Write) -> io::Result<()> {
        serde_json::to_writer_pretty(&mut *out, self)?;
        writeln!(out)
    }

    pub fn write_text(&self, out: &mut dyn Write) -> io::Result<()> {
        writeln!(out, "File:      {} ({} bytes, sha256 {})", self.file, self.bytes, self.sha256)?;
        let opsets: Vec<String> = self
            .opsets
            .iter()
            .map(|(d, v)| format!("{} {v}", if d.is_empty() { "ai.onnx" } else { d }))
            .collect();
        writeln!(
            out,
            "Producer:  {}; IR version {}; operator sets {}",
            self.producer,
            self.ir_version,
            opsets.join(", ")
        )?;
        for (kind, values) in [("Input", &self.inputs), ("Output", &self.outputs)] {
            for v in values {
                writeln!(out, "{kind:<10} {:?} {} [{}]", v.name, v.elem_type, v.dims.join(", "))?;
            }
        }
        writeln!(out, "Nodes:")?;
        for (i, n) in self.nodes.iter().enumerate() {
            let attributes: Vec<String> = n
                .attributes
                .iter()
                .map(|(name, t, count)| format!("{name} {t}[{count}]"))
                .collect();
            writeln!(
                out,
                "  {}. {:?}: {} ({}) {}",
                i + 1,
                n.name,
                n.op_type,
                n.domain,
                attributes.join(", ")
            )?;
        }
        for init in &self.initializers {
            writeln!(out, "Initializer {:?} {} {:?}", init.name, init.elem_type, init.dims)?;
        }
        writeln!(out, "Check:     {}", self.check)?;
        if let Some(p) = &self.parameters {
            writeln!(out, "Classes:   {}", p.classes.join(", "))?;
            if let Some(thresholds) = &p.thresholds {
                let each: Vec<String> =
                    p.classes.iter().zip(thresholds).map(|(c, t)| format!("{c} {t}")).collect();
                writeln!(
                    out,
                    "Label:     the class whose probability divided by its threshold is largest \
                     (the first on ties); thresholds {}",
                    each.join(", ")
                )?;
            }
            // A table's scaled features: its numeric columns, then the indicators.
            let scaled_names: Option<Vec<String>> = match &p.columns {
                Some(c) => {
                    write_table_columns(out, c)?;
                    Some(
                        c.numeric
                            .iter()
                            .cloned()
                            .chain(c.indicator_features.iter().map(|n| format!("missing {n}")))
                            .collect(),
                    )
                }
                None => p.feature_names.clone(),
            };
            match (&p.mean, &p.scale) {
                (Some(mean), Some(scale)) => {
                    writeln!(out, "Scaler (mean_, scale_) per feature:")?;
                    for (j, (mean, scale)) in mean.iter().zip(scale).enumerate() {
                        let name = scaled_names
                            .as_ref()
                            .and_then(|names| names.get(j).cloned())
                            .unwrap_or_else(|| format!("feature {}", j + 1));
                        writeln!(out, "  {name}: mean {mean}, scale {scale}")?;
                    }
                }
                _ => writeln!(out, "Scaler:    none; the features reach the classifier unscaled")?,
            }
            writeln!(out, "Scores ({}), one row per score column:", p.post_transform)?;
            for ((class, coefficients), intercept) in
                p.rows.iter().zip(&p.coefficients).zip(&p.intercepts)
            {
                writeln!(
                    out,
                    "  class {class}: intercept {intercept}, coefficients {coefficients:?}"
                )?;
            }
            if p.rows.len() == 1 && p.classes.len() == 2 {
                writeln!(
                    out,
                    "  class {}: the complement (one score row for two classes)",
                    p.classes[0]
                )?;
            }
            if let Some(norm) = &p.normalizer {
                writeln!(out, "Normalizer: norm {norm}, applied to the probabilities")?;
            }
        }
        writeln!(out, "Metadata ({} entries):", self.metadata.len())?;
        for (key, value) in &self.metadata {
            writeln!(out, "  {key}: {}", crate::util::excerpt(value))?;
        }
        if let Some(search) = &self.model_selection {
            write_search(out, search, None)?;
        }
        writeln!(out, "Training data: {}", self.training_data.statement)?;
        for place in &self.training_data.places {
            writeln!(out, "  {place}")?;
        }
        self.write_signatures(out)
    }

    fn write_signatures(&self, out: &mut dyn Write) -> io::Result<()> {
        if self.signatures.is_empty() {
            return writeln!(out, "Signatures: none beside the file");
        }
        writeln!(out, "Signatures (what each claims, not checked: verify --public-key checks):")?;
        for s in &self.signatures {
            match (&s.claim, &s.problem) {
                (Some(c), _) => writeln!(
                    out,
                    "  {}: by key {}, for {:?} with sha256 {} ({})",
                    s.file,
                    c.key.as_deref().unwrap_or("(not named)"),
                    c.file_name,
                    c.sha256,
                    if s.matches_this_file { "this file's" } else { "NOT this file's" }
                )?,
                (None, problem) => {
                    writeln!(out, "  {}: {}", s.file, problem.as_deref().unwrap_or("unreadable"))?
                }
            }
        }
        Ok(())
    }
}
