//! Writes an artefact: the ONNX model of a fitted pipeline (trained by onnxify or converted from
//! a pickle) and its companion JSON, and only once the written file has been loaded back with
//! tract and its predictions proven.
//!
//! Order of work: the model is built and its predictions checked; the verification result
//! joins the provenance record; the final bytes go to a temporary file beside the output,
//! which is loaded back and must reproduce exactly the same comparison; only then are the
//! model and the JSON renamed onto their paths. On any failure nothing appears at the output
//! path and a file already there is left untouched ([`output::Pending`]).

pub mod companion;
pub mod output;

pub use companion::{Companion, companion_path};

use std::fmt;
use std::path::{Path, PathBuf};
use std::time::{Instant, SystemTime};

use crate::error::{Error, Parameter, Result, spell};
use crate::model::{ColumnPipeline, FittedPipeline};
use crate::onnx::load;
use crate::onnx::{
    ColumnsRecord, GraphOptions, GraphRecord, GraphSpec, InputLayout, OpsetImport, Origin,
    Precision, Provenance, TableGraphSpec, ir_version, model_bytes, name_clash, table_model_bytes,
    table_options,
};
use crate::progress::Progress;
use crate::proof::compare::{self, Comparison, FIRST_ROWS, Float32Culprit, Reference};
use crate::proof::probes;
use crate::proof::runtime::Inputs;
use crate::proof::runtime::TractModel;
use crate::signing::{self, Signer};
use crate::util::sha256_hex;
use output::Pending;

/// Where and how: the output path and the graph, and who signs the written file.
#[derive(Debug, Clone)]
pub struct ExportOptions {
    pub output: PathBuf,
    pub graph: GraphOptions,
    /// Sign the verified file, into `<output>.sig`.
    pub sign: Option<Signer>,
}

/// A fitted pipeline to write, what to prove it on, and what to record about it.
#[derive(Debug, Clone)]
pub struct Artefact<'a> {
    pub pipeline: FittedPipeline<'a>,
    /// The feature columns in the graph's input order (for a table: numeric, then text).
    pub feature_names: &'a [String],
    /// The name of a numeric matrix's one input (a table's inputs are named after its
    /// columns): [`crate::onnx::INPUT`], or the vector column a Spark model reads.
    pub matrix_input: &'a str,
    /// Rows the written file must reproduce the native predictions on.
    pub reference: &'a Reference,
    /// Where the parameters came from.
    pub origin: Origin,
    /// The doc string's opening: what the model is and where it came from.
    pub summary: String,
    /// Input files, which the outputs may never replace.
    pub inputs: Vec<&'a Path>,
}

/// A written, verified model.
#[derive(Debug, Clone)]
pub struct Exported {
    pub model_path: PathBuf,
    pub json_path: PathBuf,
    pub model_bytes: u64,
    pub model_sha256: String,
    pub provenance: Provenance,
    pub comparison: Comparison,
    /// Seconds spent loading the model into tract and running it on the rows.
    pub verify_seconds: f64,
    /// The signature written beside the model, and the signing key's fingerprint.
    pub signature: Option<(PathBuf, String)>,
}

/// Why a model was not written: its predictions disagree with the native pipeline's.
#[derive(Debug, Clone)]
pub struct VerificationFailure {
    pub output: String,
    /// The input precision of the last graph tried.
    pub input: Precision,
    /// The precision of the graph's arithmetic.
    pub arithmetic: Precision,
    pub comparison: Comparison,
    /// Features whose float32 rounding can explain the disagreement, worst first.
    pub culprits: Vec<Float32Culprit>,
}

impl VerificationFailure {
    /// The message, with the settings that would help named by `naming`.
    pub fn message_naming(&self, naming: fn(Parameter) -> &'static str) -> String {
        let v = &self.comparison.summary;
        let mut text = format!(
            "verification failed: on {} {} rows, labels agree on {} ({} near ties) and the largest probability \
             difference is {:.3e} ({} {}), above the tolerance {:e}",
            v.rows_checked,
            v.rows_used,
            v.labels_agreeing,
            v.near_ties,
            v.max_probability_difference,
            v.row_word(),
            v.max_difference_line.map_or_else(|| "-".into(), |l| l.to_string()),
            v.probability_tolerance
        );
        if self.input == Precision::Float64 {
            text.push_str(" (with float64 input)");
        }
        if !self.culprits.is_empty() {
            let names: Vec<String> = self
                .culprits
                .iter()
                .map(|c| format!("{:?} (|mean|/std {:.1e})", c.feature, c.mean_over_std))
                .collect();
            text.push_str(&format!(
                "; float32 arithmetic cannot represent these features precisely enough: {}",
                names.join(", ")
            ));
            text.push_str(&spell(
                " ({input-dtype} auto or f64 scales them in float64 first)",
                naming,
            ));
        } else if self.arithmetic == Precision::Float32 {
            // No feature's rounding explains it: the classifier's float32 arithmetic does.
            text.push_str(&spell(
                "; the float32 arithmetic of the classifier is not precise enough for this model \
                 ({ops} standard {dtype} f64 computes in float64 throughout)",
                naming,
            ));
        }
        text.push_str(&format!("; nothing was written to {}", self.output));
        text
    }
}

impl fmt::Display for VerificationFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message_naming(Parameter::name))
    }
}

/// Why an artefact was not written.
#[derive(Debug, thiserror::Error)]
pub enum NotWritten {
    /// Bad input, I/O, or the runtime broke.
    #[error(transparent)]
    Error(#[from] Error),
    /// The model's predictions disagree with the native pipeline's.
    #[error("{0}")]
    Unverified(Box<VerificationFailure>),
}

/// Exports `artefact` to `options.output` (and `<output>.json`), verified.
pub fn export(
    artefact: &Artefact,
    options: &ExportOptions,
    progress: &Progress,
) -> Result<Exported, NotWritten> {
    let output = &options.output;
    let json_path = companion_path(output);
    // The signing key is an input too, which no output may replace.
    let mut inputs = artefact.inputs.clone();
    inputs.extend(options.sign.as_ref().map(|signer| signer.key_file.as_path()));
    let mut model_file = Pending::create(output, &inputs, "the model")?;
    let mut json_file = Pending::create(&json_path, &inputs, "the provenance record")?;
    let mut signature_file = match &options.sign {
        Some(_) => {
            let path = signing::signature_path(output);
            Some((Pending::create(&path, &inputs, "the signature")?, path))
        }
        None => None,
    };

    let name = output.display().to_string();
    let graph = match artefact.pipeline {
        FittedPipeline::Plain(_) => options.graph,
        FittedPipeline::Table(pipeline) => table_options(options.graph, pipeline.columns())?,
    };
    let mut provenance = provenance(artefact, graph);
    let bytes_of = |provenance: &Provenance| {
        let input = provenance.graph.input_dtype;
        let doc_string = doc_string(artefact, input, graph.layout);
        let metadata = provenance.metadata_props();
        match artefact.pipeline {
            FittedPipeline::Plain(pipeline) => model_bytes(&GraphSpec {
                pipeline,
                input_name: artefact.matrix_input,
                feature_names: artefact.feature_names,
                options: graph,
                input,
                doc_string,
                metadata,
            }),
            FittedPipeline::Table(pipeline) => table_model_bytes(&TableGraphSpec {
                pipeline,
                options: graph,
                input,
                doc_string,
                metadata,
            }),
        }
    };
    if let FittedPipeline::Table(pipeline) = artefact.pipeline {
        let spec = TableGraphSpec {
            pipeline,
            options: graph,
            input: Precision::Float32,
            doc_string: String::new(),
            metadata: Vec::new(),
        };
        if let Some(column) = name_clash(&spec) {
            return Err(Error::BadColumn {
                file: name,
                column,
                message: "the graph gives one of its own tensors this name, and an input is named \
                          after its column; rename the column or use {inputs} grouped"
                    .into(),
            }
            .into());
        }
    }

    let classes = artefact.pipeline.classes();
    let reference = artefact.reference;
    let rows = reference.labels.len() as u64;

    // Each input precision in turn (float32 first when onnxify chooses): the first that passes
    // verification is written. One that may yet be rejected for a wider one is first tried on
    // the first rows only when the fitted scaler says that float32 cannot carry some feature
    // (or, for a table, always): a rejection then costs a sliver of the rows, and the common
    // case runs one graph over the rows once.
    let verifying = Instant::now();
    let candidates = graph.input_candidates();
    let mut rejected: Option<(Precision, Comparison)> = None;
    let mut passed = None;
    for (i, &input) in candidates.iter().enumerate() {
        provenance.graph.input_dtype = input;
        provenance.graph.input_dtype_reason =
            rejected.as_ref().map(|(p, c)| switch_reason(*p, c, rows));
        let file = load::decode(&name, bytes_of(&provenance))?;
        let model = file.check()?;
        let tract = TractModel::load(&model, &name)?;
        let last = i + 1 == candidates.len();
        let doubtful = match artefact.pipeline {
            FittedPipeline::Plain(pipeline) => {
                input == Precision::Float32
                    && !compare::float32_culprits(pipeline, artefact.feature_names).is_empty()
            }
            FittedPipeline::Table(_) => true,
        };
        if !last && doubtful && rows > FIRST_ROWS as u64 {
            let sample = reference.head(FIRST_ROWS);
            let step = progress.rows("verifying the first rows", FIRST_ROWS as u64);
            let sampled = compare::compare(&tract, classes, &sample, &step)?;
            step.finish();
            if !sampled.summary.passed {
                rejected = Some((input, sampled));
                continue;
            }
        }
        let step = progress.rows("verifying", rows);
        let comparison = compare::compare(&tract, classes, reference, &step)?;
        step.finish();
        // A table's model must also agree where the held-out rows may not reach: missing
        // cells, unseen and every known category (rows made from the file's own parameters).
        let comparison = match (artefact.pipeline, comparison.summary.passed) {
            (FittedPipeline::Table(pipeline), true) => {
                let cells = probes::table_probe_cells(&model.info);
                let (labels, proba) = pipeline.predict_with_proba(&cells);
                let probe_reference = Reference {
                    lines: (1..=cells.len() as u64).collect(),
                    inputs: Inputs::Cells(cells),
                    proba,
                    labels,
                    rows_used: "probe",
                    decision: pipeline.classifier().decision().clone(),
                };
                let step =
                    progress.rows("verifying probe rows", probe_reference.labels.len() as u64);
                let probed = compare::compare(&tract, classes, &probe_reference, &step)?;
                step.finish();
                if probed.summary.passed { comparison } else { probed }
            }
            _ => comparison,
        };
        if comparison.summary.passed {
            passed = Some((comparison, file));
            break;
        }
        rejected = Some((input, comparison));
    }
    let mut verify_seconds = verifying.elapsed().as_secs_f64();
    let Some((comparison, verified)) = passed else {
        let (input, comparison) = rejected.expect("there is at least one input precision to try");
        // The input's rounding to float32 is what the culprits explain.
        let culprits = match artefact.pipeline {
            FittedPipeline::Plain(pipeline) if input == Precision::Float32 => {
                compare::float32_culprits(pipeline, artefact.feature_names)
            }
            _ => Vec::new(),
        };
        return Err(NotWritten::Unverified(Box::new(VerificationFailure {
            output: name,
            input,
            arithmetic: graph.dtype,
            comparison,
            culprits,
        })));
    };

    provenance.verification = Some(comparison.summary.clone());
    let bytes = bytes_of(&provenance);
    model_file.write_all(&bytes)?;
    let written = std::fs::read(model_file.path()).map_err(|e| Error::io(model_file.path(), e))?;
    // The written file may differ from the verified one in its metadata alone (which now
    // holds the verification record): then tract, which reads no metadata, computes the same
    // outputs from it on every row, bit for bit, as it did from the verified one. That is
    // shown without running every row again: the two decode to the same model but for the
    // metadata, and the written file, loaded and run, reproduces the digest of the verified
    // one's outputs on the first rows.
    let verifying = Instant::now();
    let step = progress.rows("verifying the written file", rows.min(FIRST_ROWS as u64));
    let written_file = load::decode(&name, written.clone())?;
    let checked = written_file.check()?;
    let reloaded = TractModel::load(&checked, &name)?;
    let digest = compare::first_rows_digest(&reloaded, classes, reference, &step)?;
    step.finish();
    if !verified.same_but_metadata(&written_file) || digest != comparison.first_rows_sha256 {
        return Err(Error::Runtime {
            file: name,
            message: "the written file's predictions differ from those of the model that was \
                      verified; nothing was written"
                .into(),
        }
        .into());
    }
    // Made from the written file, so that `verify` can make them again from the file alone.
    let probes = probes::record(&reloaded, &checked.info)?;
    verify_seconds += verifying.elapsed().as_secs_f64();

    let companion = Companion {
        model_file: file_name(output),
        model_sha256: sha256_hex(&written),
        model_bytes: written.len() as u64,
        provenance,
        probes,
    };
    json_file.write_all(&companion.to_json())?;
    // The bytes signed are the bytes verified above, read back from the file to be renamed.
    let signature = match (&options.sign, signature_file.as_mut()) {
        (Some(signer), Some((file, path))) => {
            file.write_all(&signing::sign(&written, &file_name(output), &signer.key))?;
            Some((path.clone(), signer.key.public().fingerprint().to_owned()))
        }
        _ => None,
    };

    model_file.commit()?;
    json_file.commit()?;
    if let Some((file, _)) = signature_file {
        file.commit()?;
    }
    Ok(Exported {
        model_path: output.clone(),
        json_path,
        model_bytes: companion.model_bytes,
        model_sha256: companion.model_sha256,
        provenance: companion.provenance,
        comparison,
        verify_seconds,
        signature,
    })
}

pub fn file_name(path: &Path) -> String {
    path.file_name()
        .map_or_else(|| path.display().to_string(), |n| n.to_string_lossy().into_owned())
}

fn provenance(artefact: &Artefact, graph: GraphOptions) -> Provenance {
    Provenance {
        onnxify_version: env!("CARGO_PKG_VERSION").into(),
        ir_version: ir_version(graph.opset),
        opset_imports: graph
            .opset_imports()
            .into_iter()
            .map(|(domain, version)| OpsetImport { domain: domain.into(), version })
            .collect(),
        graph: GraphRecord {
            ops: graph.ops,
            input_dtype: graph.input_candidates()[0],
            dtype: graph.dtype,
            input_dtype_reason: None,
        },
        origin: artefact.origin.clone(),
        feature_names: artefact.feature_names.to_vec(),
        columns: match artefact.pipeline {
            FittedPipeline::Plain(_) => None,
            FittedPipeline::Table(pipeline) => Some(columns_record(pipeline, graph.layout)),
        },
        class_labels: artefact.pipeline.classes().clone(),
        verification: None,
    }
}

fn columns_record(pipeline: &ColumnPipeline, layout: InputLayout) -> ColumnsRecord {
    let columns = pipeline.columns();
    ColumnsRecord {
        inputs: layout,
        numeric: columns.numeric.clone(),
        categorical: columns.categorical.clone(),
        integer_columns: match layout {
            InputLayout::Columns => columns.integer_columns(),
            InputLayout::Grouped => Vec::new(),
        },
        impute: pipeline.imputer().strategy(),
        statistics: pipeline.statistics().to_vec(),
        indicator_features: pipeline.imputer().indicator_features().to_vec(),
        categories: pipeline.categories().to_vec(),
        missing_number: "NaN".into(),
        missing_text: String::new(),
    }
}

/// A date as the provenance record writes it: UTC, RFC 3339, whole seconds.
pub fn rfc3339(at: SystemTime) -> String {
    humantime::format_rfc3339_seconds(at).to_string()
}

fn doc_string(artefact: &Artefact, input: Precision, layout: InputLayout) -> String {
    if let FittedPipeline::Table(pipeline) = artefact.pipeline {
        let columns = pipeline.columns();
        let inputs = match layout {
            InputLayout::Columns => format!(
                "one input per column, named after it, [N, 1]: {} {} and STRING {}",
                input.name(),
                list_or_none(&columns.numeric),
                list_or_none(&columns.categorical)
            ),
            InputLayout::Grouped => format!(
                "\"numeric\" {} [N, {}] ({}) and \"categorical\" STRING [N, {}] ({})",
                input.name(),
                columns.numeric.len(),
                list_or_none(&columns.numeric),
                columns.categorical.len(),
                list_or_none(&columns.categorical)
            ),
        };
        return format!(
            "{} Inputs: {inputs}. Feed a missing number as NaN and a missing text as the empty \
             string \"\"; a text value not seen in training counts for nothing. Outputs \
             \"label\" [N] and \"probabilities\" [N, {}], one column per class in class_labels \
             order. Pure data: no code, no training rows.",
            artefact.summary,
            pipeline.classes().len()
        );
    }
    format!(
        "{} Input \"input\": {} [N, {}]. Outputs \"label\" [N] and \"probabilities\" [N, {}], one \
         column per class in class_labels order. Pure data: no code, no training rows.",
        artefact.summary,
        input.name(),
        artefact.feature_names.len(),
        artefact.pipeline.classes().len()
    )
}

fn list_or_none(names: &[String]) -> String {
    if names.is_empty() { "(none)".into() } else { names.join(", ") }
}

/// Why onnxify chose a wider input than `rejected`, from the comparison that rejected it.
/// `rows` is the number of rows verification runs on, of which the comparison may have
/// checked only the first.
fn switch_reason(rejected: Precision, comparison: &Comparison, rows: u64) -> String {
    let v = &comparison.summary;
    let first = if (v.rows_checked as u64) < rows { "the first " } else { "" };
    format!(
        "{} input changed {} of {first}{} {} labels and moved probabilities by up to {:.2e}, so the input is float64, scaled in float64",
        rejected.name(),
        v.rows_checked - v.labels_agreeing - v.near_ties,
        v.rows_checked,
        v.rows_used,
        v.max_probability_difference
    )
}
