//! Fuzzes the Spark stage reader: any bytes are a stage's `data/part-*.parquet`, decoded (footer
//! checks, page-header pre-scan, the Parquet decoder under its panic guard) and, if a row comes
//! out, read as the fitted values of each stage class onnxify converts (vectors, matrices,
//! label lists). Nothing may panic, hang or allocate without bound.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onnxify::spark::{Metadata, SavedStage, Stage, read_data_row};

/// The stage classes with data, and parameters that make each read its fitted values.
const STAGES: [(&str, &str); 5] = [
    ("org.apache.spark.ml.feature.StringIndexerModel", r#"{"inputCols":["a"],"outputCols":["b"]}"#),
    ("org.apache.spark.ml.feature.OneHotEncoderModel", r#"{"inputCols":["a"],"outputCols":["b"]}"#),
    ("org.apache.spark.ml.feature.ImputerModel", r#"{"inputCols":["a"],"outputCols":["b"]}"#),
    ("org.apache.spark.ml.feature.StandardScalerModel", r#"{"inputCol":"a","outputCol":"b"}"#),
    ("org.apache.spark.ml.classification.LogisticRegressionModel", r#"{"threshold":0.3}"#),
];

fuzz_target!(|data: &[u8]| {
    let Ok(row) = read_data_row("data/part-00000.parquet", data.to_vec()) else {
        return;
    };
    for (class, params) in STAGES {
        let line = format!(
            r#"{{"class":"{class}","uid":"stage","sparkVersion":"4.3.0","paramMap":{params}}}"#
        );
        let metadata = Metadata::parse("metadata/part-00000", line.as_bytes()).expect("valid metadata");
        let saved = SavedStage { dir: String::new(), metadata, data: Some(row.clone()) };
        let _ = Stage::read(&saved).map(|stage| stage.describe());
    }
});
