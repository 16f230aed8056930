//! Spark MLlib models read as data, without a JVM: a directory written by
//! `PipelineModel.save` (or a single model's `save`) is JSON metadata and Parquet files, which
//! [`read`] turns into each stage's parameters and fitted values, and [`Stage::read`] into the
//! stages onnxify reads.

mod files;
mod linalg;
mod metadata;
mod parquet;
mod pipeline;
mod stages;

use std::fmt;
use std::path::Path;

pub use metadata::Metadata;
pub use parquet::Field;
pub use pipeline::{Rebuilt, rebuild};
pub use stages::{Invalid, Stage};

use files::{MAX_DATA_BYTES, MAX_METADATA_BYTES, Reader};

/// PipelineModels nested in PipelineModels, at most.
const MAX_NESTING: usize = 4;
const PIPELINE_MODEL: &str = "org.apache.spark.ml.PipelineModel";

/// What was wrong with a model directory, and where.
#[derive(Debug, Clone, PartialEq)]
pub struct SparkProblem {
    /// The file or folder, relative to the model directory ("" for the directory itself).
    pub path: String,
    pub refused: bool,
    pub message: String,
}

impl SparkProblem {
    pub(crate) fn unreadable(path: &str, message: impl Into<String>) -> SparkProblem {
        SparkProblem { path: path.to_owned(), refused: false, message: message.into() }
    }

    pub(crate) fn refused(path: &str, message: impl Into<String>) -> SparkProblem {
        SparkProblem { path: path.to_owned(), refused: true, message: message.into() }
    }

    pub(crate) fn io(path: &Path, e: std::io::Error) -> SparkProblem {
        SparkProblem::unreadable(&path.display().to_string(), e.to_string())
    }
}

impl fmt::Display for SparkProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.path.is_empty() {
            write!(f, "{}", self.message)
        } else {
            write!(f, "{} {}", self.path, self.message)
        }
    }
}

/// One saved stage: where it is, its metadata, and its data row if it has fitted values.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedStage {
    /// Its folder, relative to the model directory ("" for a model saved alone).
    pub dir: String,
    pub metadata: Metadata,
    pub data: Option<Field>,
}

/// A saved model: the top-level metadata, its stages in order (nested pipelines flattened;
/// a single model is its own one stage), and every file read with its SHA-256.
#[derive(Debug, Clone, PartialEq)]
pub struct SavedModel {
    pub metadata: Metadata,
    pub stages: Vec<SavedStage>,
    pub files: Vec<(String, String)>,
}

/// A saved model and its stages, read.
#[derive(Debug, Clone, PartialEq)]
pub struct Scanned {
    pub saved: SavedModel,
    pub stages: Vec<Stage>,
}

/// The one row of a stage's data file, `bytes` read from `path` (named in errors), decoded as
/// `scan` decodes it: the entry point the Parquet fuzz target drives.
pub fn read_data_row(path: &str, bytes: Vec<u8>) -> Result<Field, SparkProblem> {
    parquet::read_row(files::ReadFile { path: path.to_owned(), bytes })
}

/// Reads the model saved in `dir` and each of its stages.
pub fn scan(dir: &Path) -> Result<Scanned, SparkProblem> {
    let saved = read(dir)?;
    let stages = saved.stages.iter().map(Stage::read).collect::<Result<_, _>>()?;
    Ok(Scanned { saved, stages })
}

/// Reads the model saved in `dir`.
pub fn read(dir: &Path) -> Result<SavedModel, SparkProblem> {
    let mut reader = Reader::new(dir)?;
    let mut stages = Vec::new();
    let metadata = read_stage(&mut reader, "", None, 0, &mut stages)?;
    Ok(SavedModel { metadata, stages, files: reader.read })
}

/// Reads the model in folder `dir`, appending its stages; returns its metadata. `uid` is the
/// uid its pipeline lists for it.
fn read_stage(
    reader: &mut Reader,
    dir: &str,
    uid: Option<&str>,
    depth: usize,
    stages: &mut Vec<SavedStage>,
) -> Result<Metadata, SparkProblem> {
    let join = |name: &str| if dir.is_empty() { name.to_owned() } else { format!("{dir}/{name}") };
    let folder = join("metadata");
    let Some(file) = reader.single_part(&folder, MAX_METADATA_BYTES)? else {
        return Err(SparkProblem::unreadable(
            dir,
            "has no metadata folder; is it a directory written by a Spark model's save?",
        ));
    };
    let metadata = Metadata::parse(&file.path, &file.bytes)?;
    if let Some(uid) = uid
        && metadata.uid != uid
    {
        return Err(SparkProblem::unreadable(
            &file.path,
            format!("names the stage {:?}, but its pipeline lists {uid:?} here", metadata.uid),
        ));
    }
    if metadata.class != PIPELINE_MODEL {
        let data = match reader.single_part(&join("data"), MAX_DATA_BYTES)? {
            Some(file) => Some(parquet::read_row(file)?),
            None => None,
        };
        stages.push(SavedStage { dir: dir.to_owned(), metadata: metadata.clone(), data });
        return Ok(metadata);
    }
    if depth == MAX_NESTING {
        return Err(SparkProblem::unreadable(
            dir,
            format!("nests pipelines more than {MAX_NESTING} deep"),
        ));
    }
    let Some(uids) = metadata.texts("stageUids") else {
        return Err(SparkProblem::unreadable(&file.path, "has no stageUids list"));
    };
    // Spark names stage folders `<index>_<uid>`, the index padded to the digits of the count.
    let width = uids.len().to_string().len();
    let expected: Vec<String> =
        uids.iter().enumerate().map(|(i, uid)| format!("{i:0width$}_{uid}")).collect();
    let stages_dir = join("stages");
    let found = reader.list(&stages_dir)?.unwrap_or_default();
    let mut sorted = expected.clone();
    sorted.sort();
    if found != sorted {
        return Err(SparkProblem::unreadable(
            &stages_dir,
            format!(
                "holds {} folders where the pipeline lists {} stages ({})",
                found.len(),
                uids.len(),
                expected.join(", ")
            ),
        ));
    }
    for (name, uid) in expected.iter().zip(&uids) {
        read_stage(reader, &format!("{stages_dir}/{name}"), Some(uid), depth + 1, stages)?;
    }
    Ok(metadata)
}
