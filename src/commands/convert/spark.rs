//! A directory Spark MLlib saved: its files read as data ([`crate::spark`]), its stages rebuilt
//! as a column pipeline, without a JVM.

use super::{
    ConvertConfig, Converted, Source, VERIFICATION_ROWS, data_reference, inputs, probe_reference,
    table_probes,
};
use crate::commands::Failure;
use crate::commands::scan::SparkReport;
use crate::error::{Error, Parameter};
use crate::export::{Artefact, ExportOptions, export, file_name, rfc3339};
use crate::model::{FittedPipeline, Pipeline};
use crate::onnx::{INPUT, Origin, Precision, SparkRecord};
use crate::progress::Progress;
use crate::proof::compare::Reference;
use crate::proof::probes::probe_inputs;
use crate::proof::runtime::Inputs;
use crate::spark::{self, Rebuilt};
use ndarray::Array1;

/// Converts the Spark model saved in the directory `config.source`.
pub(super) fn convert(config: &ConvertConfig, progress: &Progress) -> Result<Converted, Failure> {
    let dir = config.source.display().to_string();
    let rejected = |problem| Failure::SparkRejected { dir: dir.clone(), problem };
    let scanned = spark::scan(&config.source).map_err(rejected)?;
    let rebuilt = spark::rebuild(&scanned).map_err(rejected)?;
    let (reference, feature_names, fitted, matrix_input) = match &rebuilt {
        Rebuilt::Table(pipeline) => {
            let reference = match &config.data {
                Some(data) => data_reference(data, pipeline, progress)?,
                // Numbers around the scaler's centre of each column (its mean, or 0 without
                // centring), spread by its scale.
                None => {
                    let n_numeric = pipeline.columns().numeric.len();
                    let center = pipeline.mean().slice_move(ndarray::s![..n_numeric]);
                    let spread = pipeline.scale().slice_move(ndarray::s![..n_numeric]);
                    table_probes(pipeline, (center, spread))
                }
            };
            let columns = pipeline.columns();
            let names: Vec<String> =
                columns.numeric.iter().chain(&columns.categorical).cloned().collect();
            (reference, names, FittedPipeline::Table(pipeline), INPUT)
        }
        Rebuilt::Vector { pipeline, features } => {
            if config.data.is_some() {
                return Err(Error::InvalidParameter {
                    parameter: Parameter::Data,
                    message: format!(
                        "the model is a LogisticRegression alone, which reads the vector column \
                         {features:?} and is verified on probe rows; a data file verifies a \
                         pipeline of a table's columns"
                    ),
                }
                .into());
            }
            let names: Vec<String> =
                (0..pipeline.n_features()).map(|j| format!("{features}[{j}]")).collect();
            (vector_probes(pipeline), names, FittedPipeline::Plain(pipeline), features.as_str())
        }
    };
    let report = SparkReport::of(&dir, &scanned);
    let stages: Vec<String> =
        report.stages.iter().map(|s| format!("{} ({})", s.uid, s.class)).collect();
    let short = |class: &str| class.rsplit('.').next().unwrap_or(class).to_owned();
    let chain: Vec<String> = report.stages.iter().map(|s| short(&s.class)).collect();
    let directory = file_name(&config.source);
    let artefact = Artefact {
        pipeline: fitted,
        feature_names: &feature_names,
        matrix_input,
        reference: &reference,
        origin: Origin::Spark(SparkRecord {
            directory: directory.clone(),
            spark_version: report.spark_version.clone(),
            class: report.class.clone(),
            uid: report.uid.clone(),
            stages,
            files: report.files.clone(),
            converted_at: rfc3339(config.converted_at),
        }),
        summary: format!(
            "Spark MLlib {} ({}) saved by Spark {}, converted by onnxify {} from {directory} \
             without a JVM.",
            short(&report.class),
            chain.join(" -> "),
            report.spark_version,
            env!("CARGO_PKG_VERSION"),
        ),
        inputs: inputs(config),
    };
    let options = ExportOptions {
        output: config.output.clone(),
        graph: config.graph,
        sign: config.sign.clone(),
    };
    let exported = export(&artefact, &options, progress)?;
    Ok(Converted { source: Source::Spark(Box::new(report)), feature_names, exported })
}

/// Probe rows for a model of a vector, whose scale the files do not record: each feature spread
/// around 0 so that it moves the scores by about one over the square root of the feature
/// count, so that the rows' probabilities span the whole range.
fn vector_probes(pipeline: &Pipeline) -> Reference {
    let f = pipeline.n_features();
    let coef = pipeline.coef();
    let spread = Array1::from_shape_fn(f, |j| {
        let largest = coef.column(j).iter().fold(0.0f64, |m, w| m.max(w.abs()));
        if largest > 0.0 { 1.0 / (largest * (f as f64).sqrt()) } else { 1.0 }
    });
    let features =
        probe_inputs(Array1::zeros(f).view(), spread.view(), VERIFICATION_ROWS, Precision::Float64);
    let predicted = pipeline.predict_with_proba(features.view());
    probe_reference(Inputs::Matrix(features), predicted, pipeline.classifier())
}
