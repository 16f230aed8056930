//! A scikit-learn pickle or joblib file: scanned and its parameters read as data
//! ([`crate::pickle`]), never loaded.

use super::{
    ConvertConfig, Converted, Source, VERIFICATION_ROWS, data_reference, inputs, probe_reference,
    table_probes,
};
use crate::commands::Failure;
use crate::error::{Error, Parameter};
use crate::export::{Artefact, ExportOptions, export, file_name, rfc3339};
use crate::onnx::{ConversionRecord, Origin, Precision, SourceRecord};
use crate::pickle::{self, PickledPipeline};
use crate::progress::Progress;
use crate::proof::probes::probe_inputs;
use crate::proof::runtime::Inputs;

/// Converts the pickle at `config.source`.
pub(super) fn convert(config: &ConvertConfig, progress: &Progress) -> Result<Converted, Failure> {
    let scan = pickle::scan(&config.source)?;
    let Some(model) = scan.model else {
        return Err(Failure::PickleRejected(Box::new(scan.report)));
    };
    let report = scan.report;
    let reference = match (&config.data, &model.pipeline) {
        (Some(data), PickledPipeline::Table(pipeline)) => data_reference(data, pipeline, progress)?,
        (Some(_), PickledPipeline::Plain(_)) => {
            return Err(Error::InvalidParameter {
                parameter: Parameter::Data,
                message: "the pickle holds a pipeline of a numeric matrix, which is verified on \
                          probe rows; a data file verifies a model of a table's columns"
                    .into(),
            }
            .into());
        }
        (None, PickledPipeline::Plain(pipeline)) => {
            let center = model.probe_center.view();
            let features = probe_inputs(
                center,
                model.probe_spread.view(),
                VERIFICATION_ROWS,
                Precision::Float64,
            );
            let predicted = pipeline.predict_with_proba(features.view());
            probe_reference(Inputs::Matrix(features), predicted, pipeline.classifier())
        }
        (None, PickledPipeline::Table(pipeline)) => {
            table_probes(pipeline, (model.probe_center.view(), model.probe_spread.view()))
        }
    };
    let source_name = file_name(&config.source);
    let version = model.sklearn_version.as_deref().unwrap_or("version not recorded");
    let artefact = Artefact {
        pipeline: model.pipeline.fitted(),
        feature_names: &model.feature_names,
        matrix_input: crate::onnx::INPUT,
        reference: &reference,
        origin: Origin::Converted(ConversionRecord {
            source: SourceRecord {
                file_name: source_name.clone(),
                sha256: report.sha256.clone(),
                bytes: report.bytes,
                format: report.format(),
            },
            sklearn_version: model.sklearn_version.clone(),
            estimator: model.estimator.into(),
            feature_names_recorded: model.feature_names_recorded,
            steps: report.model.as_ref().map(|m| m.steps.clone()).unwrap_or_default(),
            search: model.search.clone(),
            converted_at: rfc3339(config.converted_at),
        }),
        summary: format!(
            "{} fitted by scikit-learn ({version}), converted by onnxify {} from {source_name} \
             without loading the pickle.",
            match &model.pipeline {
                PickledPipeline::Table(_) => "ColumnTransformer -> LogisticRegression",
                PickledPipeline::Plain(_) if model.estimator == "Pipeline" => {
                    "scaler -> LogisticRegression"
                }
                PickledPipeline::Plain(_) => "LogisticRegression",
            },
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
    Ok(Converted {
        source: Source::Pickle(Box::new(report)),
        feature_names: model.feature_names,
        exported,
    })
}
