//! `onnxify inspect`: what a model file holds and what it does not, for a person or as JSON.
//!
//! Any file that decodes is described; the allow-list check is reported with it, and when it
//! fails the command fails too. The statement about training data is backed by the check: in
//! an allow-listed graph every number is a fitted parameter of a known count, and any item
//! large enough to hold data (in a foreign file, or in the metadata) is listed.

use std::io::{self, Write};
use std::path::Path;

use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::data::hex;
use crate::error::{Error, Result};
use crate::onnx::load::{self, CheckedModel, ModelInfo};
use crate::onnx::{Audit, DATA_SIZED, Description};

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
    pub nodes: Vec<Node>,
    pub initializers: Vec<Initializer>,
    /// "passed", or the reason the allow-list check refused the file.
    pub check: String,
    /// The fitted parameters, when the check passed.
    pub parameters: Option<Parameters>,
    pub metadata: Vec<(String, String)>,
    /// The statement about training data, and the items behind it.
    pub training_data: TrainingData,
}

#[derive(Debug, Serialize)]
pub struct Value {
    pub name: String,
    pub elem_type: String,
    pub dims: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Node {
    pub name: String,
    pub op_type: String,
    pub domain: String,
    /// (name, type, number of values)
    pub attributes: Vec<(String, String, usize)>,
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
    /// `mean_` (the offset subtracted).
    pub mean: Vec<f64>,
    /// `scale_` (the divisor, or the reciprocal of the ai.onnx.ml Scaler's factor).
    pub scale: Vec<f64>,
    /// One row per score column (two opposite rows for two classes).
    pub coefficients: Vec<Vec<f64>>,
    pub intercepts: Vec<f64>,
    pub post_transform: String,
}

#[derive(Debug, Serialize)]
pub struct TrainingData {
    pub stored: bool,
    pub statement: String,
    /// Items large enough to hold data.
    pub large_items: Vec<String>,
}

/// Inspects the model at `path`. Fails (after the report is built) if the file does not decode
/// or the allow-list check refuses it; the report is returned with the refusal.
pub fn inspect(path: &Path) -> Result<(Inspection, Option<Error>)> {
    let file = load::read(path)?;
    let checked = file.check();
    let description = file.describe();
    let audit = file.audit();
    let sha256 = hex(&Sha256::digest(file.bytes()));
    let (check, parameters) = match &checked {
        Ok(model) => ("passed".to_owned(), Some(parameters(&model.info))),
        Err(e) => (e.to_string(), None),
    };
    let training_data = training_data(checked.as_ref().ok(), &description, &audit);
    let inspection = Inspection {
        file: file.name().to_owned(),
        bytes: description.n_bytes,
        sha256,
        ir_version: description.ir_version,
        producer: description.producer.clone(),
        opsets: description.opsets.clone(),
        inputs: description.inputs.iter().map(value).collect(),
        outputs: description.outputs.iter().map(value).collect(),
        nodes: description
            .nodes
            .iter()
            .map(|n| Node {
                name: n.name.clone(),
                op_type: n.op_type.clone(),
                domain: n.domain.clone(),
                attributes: n.attributes.clone(),
            })
            .collect(),
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
        training_data,
    };
    Ok((inspection, checked.err()))
}

fn value(s: &load::Signature) -> Value {
    Value { name: s.name.clone(), elem_type: s.elem_type.clone(), dims: s.dims.clone() }
}

fn parameters(info: &ModelInfo) -> Parameters {
    let f = info.n_features;
    let (mean, scale) = match &info.scaler {
        Some(scaler) => scaler.mean_and_scale(f),
        None => (vec![0.0; f], vec![1.0; f]),
    };
    let classifier = &info.classifier;
    Parameters {
        feature_names: info.feature_names(),
        classes: (0..info.classes.len()).map(|c| info.classes.name(c)).collect(),
        mean,
        scale,
        coefficients: classifier.coefficients.chunks(f.max(1)).map(<[f64]>::to_vec).collect(),
        intercepts: classifier.intercepts.clone(),
        post_transform: classifier.post_transform.clone(),
    }
}

fn training_data(
    checked: Option<&CheckedModel>,
    description: &Description,
    audit: &Audit,
) -> TrainingData {
    let metadata_bytes: usize = description.metadata.iter().map(|(k, v)| k.len() + v.len()).sum();
    let large_items: Vec<String> = audit.oversized.iter().chain(&audit.large).cloned().collect();
    let statement = match checked {
        Some(model) => {
            let info = &model.info;
            let (f, rows) = (info.n_features, info.classifier.rows);
            let scaler = if info.scaler.is_some() {
                format!("{f} offsets, {f} scales, ")
            } else {
                String::new()
            };
            format!(
                "No training data is stored. Every number in the graph is a fitted parameter ({scaler}{} coefficients, \
                 {rows} intercepts, {} class labels); there are no initializers; the metadata is {} text entries \
                 ({metadata_bytes} bytes){}.",
                rows * f,
                info.classes.len(),
                description.metadata.len(),
                if large_items.is_empty() {
                    ", none large enough to hold data"
                } else {
                    "; see the large items below"
                }
            )
        }
        None if large_items.is_empty() => format!(
            "The graph is not one onnxify recognises, so its numbers cannot all be accounted for as parameters; \
             no initializer, attribute or metadata entry holds {DATA_SIZED} or more values or bytes."
        ),
        None => {
            "The graph is not one onnxify recognises, and it holds items large enough to hold data:"
                .to_owned()
        }
    };
    TrainingData { stored: !large_items.is_empty(), statement, large_items }
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
            writeln!(out, "Scaler (mean_, scale_) per feature:")?;
            for j in 0..p.mean.len() {
                let name = p
                    .feature_names
                    .as_ref()
                    .map_or_else(|| format!("feature {}", j + 1), |n| n[j].clone());
                writeln!(out, "  {name}: mean {}, scale {}", p.mean[j], p.scale[j])?;
            }
            writeln!(out, "Scores ({}), one row per score column:", p.post_transform)?;
            for (row, (coefficients, intercept)) in
                p.coefficients.iter().zip(&p.intercepts).enumerate()
            {
                writeln!(
                    out,
                    "  row {}: intercept {intercept}, coefficients {coefficients:?}",
                    row + 1
                )?;
            }
        }
        writeln!(out, "Metadata ({} entries):", self.metadata.len())?;
        for (key, value) in &self.metadata {
            writeln!(out, "  {key}: {}", crate::error::excerpt(value))?;
        }
        writeln!(out, "Training data: {}", self.training_data.statement)?;
        for item in &self.training_data.large_items {
            writeln!(out, "  large: {item}")?;
        }
        Ok(())
    }
}
