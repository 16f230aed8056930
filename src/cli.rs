//! The command line: clap types, their conversion into checked configs, and the dispatch.

use std::ffi::OsString;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context;
use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::convert::{self, ConvertConfig, ConvertSummary, convert};
use crate::data::CsvOptions;
use crate::data::split::TestFraction;
use crate::error::Error;
use crate::export::{ExportOptions, export_training};
use crate::inspect::inspect;
use crate::model::LogisticRegressionParams;
use crate::onnx::{DEFAULT_OPSET, GraphOptions, Ops, Precision};
use crate::pickle::{self, Decision};
use crate::predict::{PredictConfig, predict};
use crate::progress::Progress;
use crate::report::TrainSummary;
use crate::train::{TrainConfig, train};
use crate::verify::{VerifyConfig, verify};

const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  a check failed: verification of a new model, or a line of `onnxify verify`; or the
     runtime failed
  2  bad input or usage: an unreadable, malformed or refused file (the message names the
     file, line and column, or the rule), or a bad flag
  3  `convert` or `scan`: the pickle is outside the allow-list (a dangerous global, an
     allowed one used another way, a reading that differs from the loader's, or a model
     onnxify does not convert), or for `scan` a zip archive holds such a pickle; the report
     lists every global";

const EXAMPLES: &str = "\
Examples:
  onnxify samples/iris.csv                      writes iris.onnx and iris.onnx.json
  onnxify train.csv -o model.onnx --target species --C 0.5
  onnxify train.csv -o model.onnx --test-size 0 --json > summary.json
  onnxify train.csv --dry-run --C 0.1           metrics only, nothing written
  onnxify train.csv --ops standard --dtype f64  default-domain operators, double precision
  onnxify predict model.onnx new.csv -o predictions.csv --id-column id
  onnxify inspect model.onnx
  onnxify verify model.onnx --data test.csv
  onnxify scan model.pkl                        what the pickle references; loads nothing
  onnxify convert model.pkl -o model.onnx       pickle -> verified ONNX, without loading it

Environment:
  SOURCE_DATE_EPOCH  training date to record, in seconds since 1970 (reproducible builds: two
                     runs on the same input then write byte-identical files)";

/// Train a StandardScaler -> LogisticRegression pipeline from a CSV with scikit-learn's exact
/// semantics, export it as a pure-data ONNX model, prove the written file with tract, and record
/// its provenance.
///
/// `onnxify FILE.csv` is short for `onnxify train FILE.csv`.
#[derive(Debug, Parser)]
#[command(name = "onnxify", version, after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"), max_term_width = 100)]
pub struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Train on a CSV, evaluate on held-out rows, write the verified ONNX model (the default).
    #[command(after_help = format!("{EXAMPLES}\n\n{EXIT_CODES}"))]
    Train(TrainArgs),

    /// Run a model on a CSV and write each row's label and class probabilities as CSV.
    #[command(after_help = EXIT_CODES)]
    Predict(PredictArgs),

    /// Show what a model file holds, and that it holds no training data.
    #[command(after_help = EXIT_CODES)]
    Inspect(InspectArgs),

    /// The reviewer's checklist: check a model file and its provenance, pass or fail per line.
    #[command(after_help = EXIT_CODES)]
    Verify(VerifyArgs),

    /// Convert a pickled scikit-learn pipeline (pickle or joblib) to a verified ONNX model,
    /// without loading or executing the pickle.
    #[command(after_help = EXIT_CODES)]
    Convert(ConvertArgs),

    /// Report every global a pickle (or each pickle in a zip archive, such as PyTorch's .pt)
    /// references and whether `convert` accepts it; loads nothing.
    #[command(after_help = EXIT_CODES)]
    Scan(ScanArgs),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum OpsArg {
    /// ai.onnx.ml Scaler and LinearClassifier (scikit-learn's converter's graph).
    Ml,
    /// Default-domain operators only (Sub, Div, MatMul, Add, Sigmoid or Softmax, ArgMax, Gather).
    Standard,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum PrecisionArg {
    /// float32.
    F32,
    /// float64.
    F64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum InputArg {
    /// float32, unless float32 would change a verified label.
    Auto,
    /// float32.
    F32,
    /// float64.
    F64,
}

fn precision(arg: PrecisionArg) -> Precision {
    match arg {
        PrecisionArg::F32 => Precision::Float32,
        PrecisionArg::F64 => Precision::Float64,
    }
}

#[derive(Debug, Args)]
struct PredictArgs {
    /// The ONNX model (onnxify's, or scikit-learn's converter's with zipmap off).
    model: PathBuf,

    /// Rows to predict: a CSV with a header. Columns are matched to the model's recorded
    /// feature names in any order; a model without names takes the columns in order.
    data: PathBuf,

    /// Write the predictions here instead of stdout (replaced only once complete).
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,

    /// A column copied through as the first output column (a row identifier).
    #[arg(long, value_name = "NAME")]
    id_column: Option<String>,

    /// Field delimiter of the data and the output: one ASCII character, or `tab`
    /// [default: tab for .tsv files, else `,`].
    #[arg(long, value_name = "CHAR")]
    delimiter: Option<String>,

    /// Print nothing but errors on stderr.
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct InspectArgs {
    /// The ONNX model.
    model: PathBuf,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct VerifyArgs {
    /// The ONNX model.
    model: PathBuf,

    /// The companion JSON [default: MODEL.json].
    #[arg(long, value_name = "PATH")]
    companion: Option<PathBuf>,

    /// A labelled CSV: predict it and report the metrics against its target column.
    #[arg(long, value_name = "CSV")]
    data: Option<PathBuf>,

    /// The data's label column [default: the model's recorded target, else the last column].
    #[arg(long, value_name = "NAME", requires = "data")]
    target: Option<String>,

    /// Field delimiter of the data: one ASCII character, or `tab` [default: tab for .tsv
    /// files, else `,`].
    #[arg(long, value_name = "CHAR", requires = "data")]
    delimiter: Option<String>,

    /// Print the checklist as JSON.
    #[arg(long)]
    json: bool,
}

/// How the ONNX graph is written (shared by `train` and `convert`).
#[derive(Debug, Args)]
struct GraphArgs {
    /// Operators of the graph: `ml` is scikit-learn's converter's graph (ai.onnx.ml Scaler and
    /// LinearClassifier); `standard` uses default-domain operators only, for runtimes without
    /// ai.onnx.ml.
    #[arg(long, value_enum, default_value = "ml")]
    ops: OpsArg,

    /// Precision of the graph's arithmetic; f64 needs --ops standard.
    #[arg(long, value_enum, default_value = "f32")]
    dtype: PrecisionArg,

    /// Precision of the graph's input: auto keeps float32 unless float32 would change a
    /// verified label, and then takes float64 (scaled in float64) and says so.
    #[arg(long, value_enum, default_value = "auto")]
    input_dtype: InputArg,

    /// Default-domain operator set the graph targets (13 to 21); the IR version follows it.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_OPSET)]
    target_opset: i64,
}

impl GraphArgs {
    fn check(&self) -> Result<GraphOptions, Error> {
        GraphOptions {
            ops: match self.ops {
                OpsArg::Ml => Ops::Ml,
                OpsArg::Standard => Ops::Standard,
            },
            dtype: precision(self.dtype),
            input: match self.input_dtype {
                InputArg::Auto => None,
                InputArg::F32 => Some(Precision::Float32),
                InputArg::F64 => Some(Precision::Float64),
            },
            opset: self.target_opset,
        }
        .check()
    }
}

#[derive(Debug, Args)]
struct ConvertArgs {
    /// The pickle: a `joblib.dump` (uncompressed, or zlib, gzip, bz2, lzma or xz) or
    /// `pickle.dump` (protocol 2 to 5) of a fitted Pipeline of StandardScaler and
    /// LogisticRegression, or of a bare LogisticRegression.
    pickle: PathBuf,

    /// Where to write the model; its provenance record goes to OUTPUT.json beside it
    /// [default: the pickle's name with .onnx, in the current directory].
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,

    #[command(flatten)]
    graph: GraphArgs,

    /// Print the conversion's summary as JSON on stdout instead of text.
    #[arg(long, conflicts_with = "quiet")]
    json: bool,

    /// Print nothing but errors (and the report of a refused file).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// The pickle or joblib file, or a zip archive of pickles (PyTorch's .pt and .pth).
    pickle: PathBuf,

    /// Print the report as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// The training data: a header row, numeric feature columns and one label column.
    csv: PathBuf,

    /// Where to write the model; its provenance record goes to OUTPUT.json beside it
    /// [default: the CSV's name with .onnx, in the current directory].
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,

    /// The label column [default: the last column].
    #[arg(long, value_name = "NAME")]
    target: Option<String>,

    /// Field delimiter: one ASCII character, or `tab` [default: tab for .tsv files, else `,`].
    #[arg(long, value_name = "CHAR")]
    delimiter: Option<String>,

    /// Inverse regularisation strength, as scikit-learn's C (a positive number).
    #[arg(long = "C", value_name = "C", default_value_t = 1.0, allow_hyphen_values = true)]
    c: f64,

    /// Stop when the inf-norm of the mean objective's gradient is at most this.
    /// scikit-learn's default is 1e-4, which stops far from the optimum on large data.
    #[arg(long, value_name = "TOL", default_value = "1e-8", allow_hyphen_values = true)]
    tol: f64,

    /// Iteration limit of the L-BFGS optimiser (scikit-learn's default is 100).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_iter: u64,

    /// Fraction of rows held out for evaluation (stratified), in [0, 1); 0 trains on every
    /// row and skips the held-out metrics.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.25, allow_hyphen_values = true)]
    test_size: f64,

    /// Seed of the held-out split; the same seed selects the same rows on every machine.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,

    #[command(flatten)]
    graph: GraphArgs,

    /// Train and evaluate only: write no model and verify nothing.
    #[arg(long, conflicts_with = "output")]
    dry_run: bool,

    /// Print the run's summary as JSON on stdout instead of text.
    #[arg(long, conflicts_with = "quiet")]
    json: bool,

    /// Print nothing but errors.
    #[arg(long, short)]
    quiet: bool,
}

/// Parses the process arguments, reading a first argument that is not a subcommand as the
/// CSV of the default `train` command. Exits with code 2 on a usage error.
pub fn parse(args: impl IntoIterator<Item = OsString>) -> Cli {
    let mut args: Vec<OsString> = args.into_iter().collect();
    if let Some(first) = args.get(1) {
        let first = first.to_string_lossy();
        let is_flag_of_the_program = ["-h", "--help", "-V", "--version"].contains(&first.as_ref());
        // clap adds `help` when it builds the command, so it is not among the declared ones.
        let is_subcommand = first == "help"
            || Cli::command().get_subcommands().any(|command| command.get_name() == first);
        if !is_subcommand && !is_flag_of_the_program {
            args.insert(1, "train".into());
        }
    }
    Cli::parse_from(args)
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> anyhow::Result<()> {
    match cli.command {
        Command::Train(args) => run_train(args),
        Command::Predict(args) => run_predict(args),
        Command::Inspect(args) => run_inspect(args),
        Command::Verify(args) => run_verify(args),
        Command::Convert(args) => run_convert(args),
        Command::Scan(args) => run_scan(args),
    }
}

fn run_convert(args: ConvertArgs) -> anyhow::Result<()> {
    let config = ConvertConfig {
        output: args.output.clone().unwrap_or_else(|| convert::default_output(&args.pickle)),
        pickle: args.pickle,
        graph: args.graph.check()?,
        converted_at: recorded_date()?,
    };
    let progress = if args.quiet || args.json { Progress::hidden() } else { Progress::on_stderr() };
    let converted = match convert(&config, &progress) {
        Ok(converted) => converted,
        Err(Error::PickleRejected(report)) => {
            // The report is the answer to "why": print it whole before the one-line error.
            eprintln!("{report}");
            return Err(Error::PickleRejected(report).into());
        }
        Err(Error::VerificationFailed(failure)) => {
            write_worst_rows(&failure.comparison);
            return Err(Error::VerificationFailed(failure).into());
        }
        Err(e) => return Err(e.into()),
    };
    let summary = ConvertSummary::new(&converted);
    print_summary(
        args.json,
        args.quiet,
        |out| summary.write_json(out),
        |out| summary.write_text(out),
    )
}

fn run_scan(args: ScanArgs) -> anyhow::Result<()> {
    let scanned = pickle::scan_file(&args.pickle)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        pickle::report::write_json_ascii(&mut out, &scanned).context("writing to stdout")?;
        writeln!(out).context("writing to stdout")?;
    } else {
        writeln!(out, "{scanned}").context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    match scanned {
        _ if scanned.decision() == Decision::Accepted => Ok(()),
        pickle::Scanned::Pickle(report) => Err(Error::PickleRejected(Box::new(report)).into()),
        pickle::Scanned::Archive(report) => Err(Error::ArchiveRejected(Box::new(report)).into()),
    }
}

fn run_predict(args: PredictArgs) -> anyhow::Result<()> {
    let config = PredictConfig {
        delimiter: delimiter_for(&args.data, args.delimiter.as_deref())?,
        model: args.model,
        data: args.data,
        output: args.output,
        id_column: args.id_column,
    };
    let progress = if args.quiet { Progress::hidden() } else { Progress::on_stderr() };
    let quiet = args.quiet;
    let summary = predict(&config, &progress, |note| {
        if !quiet {
            eprintln!("onnxify: note: {note}");
        }
    })?;
    if let (Some(output), false) = (&config.output, quiet) {
        eprintln!("Wrote {} predictions to {}", summary.rows, output.display());
    }
    Ok(())
}

fn run_inspect(args: InspectArgs) -> anyhow::Result<()> {
    let (inspection, refusal) = inspect(&args.model)?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        inspection.write_json(&mut out).context("writing to stdout")?;
    } else {
        inspection.write_text(&mut out).context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    refusal.map_or(Ok(()), |e| Err(e.into()))
}

fn run_verify(args: VerifyArgs) -> anyhow::Result<()> {
    let delimiter = match &args.data {
        Some(data) => delimiter_for(data, args.delimiter.as_deref())?,
        None => b',',
    };
    let config = VerifyConfig {
        model: args.model,
        companion: args.companion,
        data: args.data,
        target: args.target,
        delimiter,
    };
    let report = verify(&config, &Progress::on_stderr())?;
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if args.json {
        report.write_json(&mut out).context("writing to stdout")?;
    } else {
        report.write_text(&mut out).context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    match report.items.iter().find(|i| !i.passed) {
        None => Ok(()),
        Some(first) => {
            Err(Error::CheckFailed(format!("{}: {}: {}", report.model, first.check, first.detail))
                .into())
        }
    }
}

/// The exit code for an error (see [`Error::exit_code`]; 1 for anything else).
pub fn exit_code(error: &anyhow::Error) -> u8 {
    error.downcast_ref::<Error>().map_or(1, Error::exit_code)
}

/// The error and its causes on one line, `a: b: c`, skipping a cause whose text the message
/// already ends with (an I/O error names its cause in its own text).
pub fn error_message(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        if message.is_empty() {
            message = text;
        } else if !message.ends_with(&text) {
            message = format!("{message}: {text}");
        }
    }
    message
}

/// True if the error is a write to a closed pipe (`onnxify ... | head`), which is not a failure.
pub fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|e| {
        e.downcast_ref::<io::Error>().is_some_and(|e| e.kind() == io::ErrorKind::BrokenPipe)
    })
}

fn run_train(args: TrainArgs) -> anyhow::Result<()> {
    let delimiter = delimiter_for(&args.csv, args.delimiter.as_deref())?;
    let model =
        LogisticRegressionParams::new().c(args.c).tol(args.tol).max_iter(args.max_iter).check()?;
    let config = TrainConfig {
        csv: args.csv,
        csv_options: CsvOptions { delimiter, target: args.target },
        model,
        test_fraction: TestFraction::new(args.test_size)?,
        seed: args.seed,
        keep_reference: !args.dry_run,
    };
    let graph = args.graph.check()?;
    let output = args.output.clone().unwrap_or_else(|| default_output(&config.csv));
    let trained_at = recorded_date()?;
    let progress = if args.quiet || args.json { Progress::hidden() } else { Progress::on_stderr() };
    let mut training = train(&config, &progress)?;

    let classifier = training.pipeline.classifier();
    if !classifier.converged() && !args.quiet {
        // More iterations help only when the iteration limit stopped the fit.
        let advice = if classifier.n_iter() >= config.model.max_iter() {
            "raise --max-iter or --tol"
        } else {
            "raise --tol (more iterations would not lower the loss)"
        };
        eprintln!(
            "onnxify: warning: the optimiser did not converge: it {} with the gradient's inf-norm at {:.2e}, \
             above --tol {:e} (scikit-learn would raise a ConvergenceWarning); {advice}",
            classifier.stop_reason().unwrap_or("stopped"),
            classifier.gradient_norm(),
            config.model.tol()
        );
    }

    let clock = Instant::now();
    let exported = if args.dry_run {
        None
    } else {
        match export_training(
            &training,
            &config,
            &ExportOptions { output, graph },
            trained_at,
            &progress,
        ) {
            Ok(exported) => Some(exported),
            Err(Error::VerificationFailed(failure)) => {
                write_worst_rows(&failure.comparison);
                return Err(Error::VerificationFailed(failure).into());
            }
            Err(e) => return Err(e.into()),
        }
    };
    training.seconds.export = clock.elapsed().as_secs_f64();

    let summary = TrainSummary::new(
        &training,
        exported.as_ref(),
        config.model,
        config.test_fraction.get(),
        config.seed,
    );
    print_summary(
        args.json,
        args.quiet,
        |out| summary.write_json(out),
        |out| summary.write_text(out),
    )
}

/// Prints a run's summary on stdout: as JSON, as text, or (quiet) not at all.
fn print_summary(
    json: bool,
    quiet: bool,
    as_json: impl FnOnce(&mut dyn Write) -> io::Result<()>,
    as_text: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> anyhow::Result<()> {
    let stdout = io::stdout();
    let mut out = stdout.lock();
    if json {
        as_json(&mut out).context("writing to stdout")?;
    } else if !quiet {
        as_text(&mut out).context("writing to stdout")?;
    }
    out.flush().context("writing to stdout")?;
    Ok(())
}

/// Prints the rows where a model disagreed with the native pipeline, worst first.
fn write_worst_rows(comparison: &crate::compare::Comparison) {
    eprintln!("onnxify: rows where the ONNX model and the native model disagree most:");
    let row = comparison.summary.row_word();
    for r in &comparison.worst_rows {
        eprintln!(
            "  {row} {}: native label {} {:?}, ONNX label {} {:?} (difference {:.3e})",
            r.line, r.native_label, r.native_proba, r.onnx_label, r.onnx_proba, r.max_difference
        );
    }
}

/// `data/train.csv` -> `train.onnx` in the current directory.
fn default_output(csv: &Path) -> PathBuf {
    let stem = csv.file_stem().map_or_else(|| "model".into(), |s| s.to_owned());
    let mut name = stem;
    name.push(".onnx");
    PathBuf::from(name)
}

/// The training or conversion date: `SOURCE_DATE_EPOCH` (seconds since 1970) if set, else now.
fn recorded_date() -> Result<SystemTime, Error> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Err(_) => Ok(SystemTime::now()),
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .map_err(|_| Error::InvalidArgument {
                flag: "SOURCE_DATE_EPOCH",
                message: format!("{text:?} is not a whole number of seconds since 1970"),
            }),
    }
}

/// The field delimiter: the flag's value, else tab for `.tsv` files, else a comma.
fn delimiter_for(csv: &Path, flag: Option<&str>) -> Result<u8, Error> {
    let Some(text) = flag else {
        let is_tsv = csv.extension().is_some_and(|e| e.eq_ignore_ascii_case("tsv"));
        return Ok(if is_tsv { b'\t' } else { b',' });
    };
    let byte = match text {
        "tab" | "\\t" | "\t" => b'\t',
        _ if text.len() == 1 && text.is_ascii() => text.as_bytes()[0],
        _ => {
            return Err(Error::InvalidArgument {
                flag: "--delimiter",
                message: format!("{text:?} is not a single ASCII character or `tab`"),
            });
        }
    };
    if matches!(byte, b'"' | b'\n' | b'\r')
        || byte.is_ascii_alphanumeric()
        || byte == b'.'
        || byte == b'-'
    {
        return Err(Error::InvalidArgument {
            flag: "--delimiter",
            message: format!("{text:?} cannot separate fields that hold numbers or quotes"),
        });
    }
    Ok(byte)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parsed(args: &[&str]) -> Cli {
        parse(args.iter().map(OsString::from))
    }

    #[test]
    fn a_csv_as_first_argument_means_train() {
        let Command::Train(args) = parsed(&["onnxify", "data.csv", "--C", "0.5"]).command else {
            panic!()
        };
        assert_eq!(args.csv, PathBuf::from("data.csv"));
        assert_eq!(args.c, 0.5);
        let Command::Train(args) = parsed(&["onnxify", "--seed", "3", "data.csv"]).command else {
            panic!()
        };
        assert_eq!(args.seed, 3);
    }

    #[test]
    fn the_explicit_subcommands_still_work() {
        let Command::Train(args) = parsed(&["onnxify", "train", "data.csv"]).command else {
            panic!()
        };
        assert_eq!(args.csv, PathBuf::from("data.csv"));
        let Command::Predict(args) = parsed(&["onnxify", "predict", "m.onnx", "d.csv"]).command
        else {
            panic!()
        };
        assert_eq!(args.model, PathBuf::from("m.onnx"));
    }

    #[test]
    fn the_default_output_is_the_csv_name_with_onnx_in_the_current_directory() {
        assert_eq!(default_output(Path::new("data/train.csv")), PathBuf::from("train.onnx"));
        assert_eq!(default_output(Path::new("x.tsv")), PathBuf::from("x.onnx"));
    }

    #[test]
    fn chooses_the_delimiter_from_the_flag_or_the_extension() {
        assert_eq!(delimiter_for(Path::new("a.tsv"), None).unwrap(), b'\t');
        assert_eq!(delimiter_for(Path::new("a.TSV"), None).unwrap(), b'\t');
        assert_eq!(delimiter_for(Path::new("a.csv"), None).unwrap(), b',');
        assert_eq!(delimiter_for(Path::new("a.csv"), Some(";")).unwrap(), b';');
        assert_eq!(delimiter_for(Path::new("a.csv"), Some("tab")).unwrap(), b'\t');
        assert!(delimiter_for(Path::new("a.csv"), Some(";;")).is_err());
        assert!(delimiter_for(Path::new("a.csv"), Some("\"")).is_err());
        assert!(delimiter_for(Path::new("a.csv"), Some(".")).is_err());
    }
}
