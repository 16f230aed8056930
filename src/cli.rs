//! The command line: clap types, their conversion into the commands' checked configs, the
//! dispatch, and the one place that knows each setting's flag.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::commands::convert::{self, ConvertCommand, ConvertConfig, DataFile};
use crate::commands::inspect::{self, InspectCommand};
use crate::commands::keygen::{self, KeygenCommand};
use crate::commands::predict::{self, PredictCommand, PredictConfig};
use crate::commands::scan::{self, ScanCommand, ScanFormat};
use crate::commands::sign::{self, SignCommand};
use crate::commands::train::{self, TrainCommand, TrainConfig};
use crate::commands::verify::{self, LabelledData, VerifyCommand, VerifyConfig};
use crate::commands::{Console, Failure};
use crate::data::split::TestFraction;
use crate::data::{DEFAULT_MAX_CATEGORIES, Delimiter, TableOptions};
use crate::error::{Error, Parameter};
use crate::metrics::Scoring;
use crate::model::{ClassWeight, ImputeStrategy, LogisticRegressionParams, SimpleImputer};
use crate::onnx::{DEFAULT_OPSET, GraphOptions, InputLayout, Ops, Precision};
use crate::progress::Progress;
use crate::selection::{Grid, GridSearch, StratifiedKFold, logspace};
use crate::signing::{Curve, Pairing, PrivateKey, PublicKey, Signer};
use crate::terminal::{key_password, progress_on_stderr};

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
     lists every global. For a saved Spark model: a stage class or setting onnxify does not
     convert, named, or a symbolic link in the directory";

const EXAMPLES: &str = "\
Examples:
  onnxify samples/iris.csv                      writes iris.onnx and iris.onnx.json
  onnxify train.csv -o model.onnx --target species --C 0.5
  onnxify train.csv -o model.onnx --test-size 0 --json > summary.json
  onnxify train.csv --dry-run --C 0.1           metrics only, nothing written
  onnxify train.csv --cv 5 --C 1e-3..1e3:7 --class-weight none,balanced
                                                grid search by 5-fold cross-validation,
                                                then the best candidate refit and exported
  onnxify train.csv --ops standard --dtype f64  default-domain operators, double precision
  onnxify penguins.csv --target species --drop id --impute median
                                                a table with text columns and missing cells
  onnxify predict model.onnx new.csv -o predictions.csv --id-column id
  onnxify inspect model.onnx
  onnxify verify model.onnx --data test.csv
  onnxify scan model.pkl                        what the pickle references; loads nothing
  onnxify keygen trainer                        a key pair: trainer.pem and trainer.pub
  onnxify train.csv -o model.onnx --sign trainer.pem
                                                and signs it into model.onnx.sig
  onnxify verify model.onnx --public-key trainer.pub
                                                and checks the signature
  onnxify convert model.pkl -o model.onnx       pickle -> verified ONNX, without loading it
  onnxify convert spark_model/ -o model.onnx --data rows.parquet
                                                a saved Spark MLlib pipeline -> verified
                                                ONNX, without a JVM, checked on real rows too

Environment:
  SOURCE_DATE_EPOCH     training date to record, in seconds since 1970 (reproducible builds:
                        two runs on the same input then write byte-identical files)
  ONNXIFY_KEY_PASSWORD  the password of an encrypted private key (else it is asked on the
                        terminal; never a flag)";

/// Train a StandardScaler -> LogisticRegression pipeline (or, for a table with text columns or
/// missing cells, scikit-learn's column pipeline) from a CSV with scikit-learn's exact
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
    #[command(after_help = format!("{EXIT_CODES}\n\n{TRAIN_EXAMPLES}"))]
    Train(TrainArgs),

    /// Run a model on a CSV and write each row's label and class probabilities as CSV.
    #[command(after_help = format!("{EXIT_CODES}\n\n{PREDICT_EXAMPLES}"))]
    Predict(PredictArgs),

    /// Show what a model file holds, and that it holds no training data.
    #[command(after_help = format!("{EXIT_CODES}\n\n{INSPECT_EXAMPLES}"))]
    Inspect(InspectArgs),

    /// The reviewer's checklist: check a model file and its provenance, pass or fail per line.
    #[command(after_help = format!("{EXIT_CODES}\n\n{VERIFY_EXAMPLES}"))]
    Verify(VerifyArgs),

    /// Convert a pickled scikit-learn pipeline (pickle or joblib), or a directory Spark MLlib
    /// saved, to a verified ONNX model, without loading or executing either.
    #[command(after_help = format!("{EXIT_CODES}\n\n{CONVERT_EXAMPLES}"))]
    Convert(ConvertArgs),

    /// Report what model files hold and whether each is safe to accept: every global a pickle
    /// (or each pickle in a zip archive) references, an ONNX model's checks, a saved Spark
    /// model's stages and files; loads nothing. Takes files and directories, for CI.
    #[command(after_help = format!("{EXIT_CODES}\n\n{SCAN_EXAMPLES}"))]
    Scan(ScanArgs),

    /// Sign a model file with a private key (OpenSSF model signing format, which
    /// `model_signing verify key` checks too).
    #[command(after_help = format!("{EXIT_CODES}\n\n{SIGN_EXAMPLES}"))]
    Sign(SignArgs),

    /// Make a key pair for signing: NAME.pem (private, readable by its owner only) and
    /// NAME.pub; never replaces a file.
    #[command(after_help = format!("{EXIT_CODES}\n\n{KEYGEN_EXAMPLES}"))]
    Keygen(KeygenArgs),

    /// Print the shell completion script for bash, zsh, fish, powershell or elvish.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),

    /// Print the manual page (roff), or write one page per command into a directory.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
}

const TRAIN_EXAMPLES: &str = "\
Examples:
  onnxify train samples/iris.csv                writes iris.onnx and iris.onnx.json
  onnxify train penguins.csv --target species --drop id -o penguins.onnx
                                                a table with text columns and missing cells
  onnxify train train.csv --cv 5 --C 1e-3..1e3:7
                                                grid search by 5-fold cross-validation";

const PREDICT_EXAMPLES: &str = "\
Examples:
  onnxify predict iris.onnx samples/iris.csv    labels and probabilities on stdout
  onnxify predict model.onnx new.csv -o predictions.csv --id-column id
  onnxify predict iris.onnx new.csv --public-key reviewer.pub
                                                runs only a model the reviewer signed";

const INSPECT_EXAMPLES: &str = "\
Examples:
  onnxify inspect iris.onnx                     inputs, classes, parameters, metadata
  onnxify inspect model.onnx --json > report.json";

const VERIFY_EXAMPLES: &str = "\
Examples:
  onnxify verify iris.onnx                      checks iris.onnx with iris.onnx.json
  onnxify verify model.onnx --data test.csv     and scores a labelled CSV
  onnxify verify iris.onnx --public-key trainer.pub --public-key reviewer.pub
                                                and a signature by each key, found beside
                                                the model (iris.onnx.sig, iris.onnx.*.sig)";

const CONVERT_EXAMPLES: &str = "\
Examples:
  onnxify convert model.pkl -o model.onnx       pickle or joblib file, never loaded
  onnxify convert pipeline.joblib --ops standard --dtype f64
  onnxify convert spark_model/ -o model.onnx --data rows.parquet
                                                a saved Spark MLlib pipeline";

const SCAN_EXAMPLES: &str = "\
Examples:
  onnxify scan model.pkl                        every global it references, and the verdict
  onnxify scan models/ --format sarif > onnxify.sarif
                                                every model file under models/, for code
                                                scanning; exit 3 if any is refused";

const SIGN_EXAMPLES: &str = "\
Examples:
  onnxify sign iris.onnx --key trainer.pem      writes iris.onnx.sig
  onnxify sign iris.onnx --key reviewer.pem --signature iris.onnx.review.sig
                                                a reviewer's countersignature, beside the first";

const KEYGEN_EXAMPLES: &str = "\
Examples:
  onnxify keygen trainer                        writes trainer.pem and trainer.pub
  onnxify keygen keys/reviewer --encrypt        the private key encrypted under a password";

const COMPLETIONS_EXAMPLES: &str = "\
Examples:
  onnxify completions bash > ~/.local/share/bash-completion/completions/onnxify
  onnxify completions zsh > ~/.zfunc/_onnxify      with fpath+=(~/.zfunc) before compinit
  onnxify completions fish > ~/.config/fish/completions/onnxify.fish";

const MAN_EXAMPLES: &str = "\
Examples:
  onnxify man | man -l -                           read it now
  onnxify man --out-dir /usr/local/share/man/man1  onnxify.1 and onnxify-train.1, ...";

#[derive(Debug, Args)]
struct SignArgs {
    /// The ONNX model file to sign.
    model: PathBuf,

    /// The private key: PEM, EC (P-256, P-384 or P-521) in SEC1 or PKCS#8, maybe encrypted
    /// (its password from ONNXIFY_KEY_PASSWORD, else asked on the terminal).
    #[arg(long, value_name = "KEY.pem")]
    key: PathBuf,

    /// Where to write the signature [default: MODEL.sig, unless it holds another key's
    /// signature].
    #[arg(long, value_name = "PATH")]
    signature: Option<PathBuf>,
}

#[derive(Debug, Args)]
struct KeygenArgs {
    /// The key pair's name: writes NAME.pem and NAME.pub.
    name: PathBuf,

    /// The curve.
    #[arg(long, value_enum, default_value = "p256")]
    curve: CurveArg,

    /// Encrypt the private key under a password (from ONNXIFY_KEY_PASSWORD, else asked twice
    /// on the terminal).
    #[arg(long)]
    encrypt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum CurveArg {
    /// NIST P-256 (prime256v1), signing with SHA-256.
    P256,
    /// NIST P-384, signing with SHA-384.
    P384,
    /// NIST P-521, signing with SHA-512.
    P521,
}

/// Public keys and the signature files they check (shared by `verify` and `predict`).
#[derive(Debug, Args)]
struct SignatureArgs {
    /// A public key (PEM) whose signature of the model must be valid; repeat for several
    /// signers (who trained, who reviewed).
    #[arg(long = "public-key", value_name = "KEY.pub")]
    public_keys: Vec<PathBuf>,

    /// The signature file of each --public-key, in the same order [default: found beside the
    /// model by the key it names, among MODEL.sig and MODEL.*.sig].
    #[arg(long = "signature", value_name = "PATH", requires = "public_keys")]
    signatures: Vec<PathBuf>,
}

impl SignatureArgs {
    fn check(self) -> Result<(Vec<PublicKey>, Pairing), Error> {
        let keys = self
            .public_keys
            .iter()
            .map(|path| PublicKey::read(path))
            .collect::<Result<Vec<_>, Error>>()?;
        let pairing = match self.signatures.len() {
            0 => Pairing::Beside,
            n if n == keys.len() => Pairing::Given(self.signatures),
            n => {
                return Err(Error::InvalidParameter {
                    parameter: Parameter::Signature,
                    message: format!(
                        "{n} signature files for {} public keys; give one per key, in the same \
                         order, or none (each key's signature is then found beside the model)",
                        keys.len()
                    ),
                });
            }
        };
        Ok((keys, pairing))
    }
}

/// Reads the private key at `path` (asking for its password if it is encrypted).
fn signer(path: PathBuf) -> Result<Signer, Error> {
    let key = PrivateKey::read(&path, &mut || key_password(&path, false))?;
    Ok(Signer { key: std::sync::Arc::new(key), key_file: path })
}

#[derive(Debug, Args)]
struct CompletionsArgs {
    /// The shell to complete in.
    shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
struct ManArgs {
    /// Write onnxify.1 and one page per command (onnxify-train.1, ...) into this directory
    /// instead of printing onnxify.1.
    #[arg(long, value_name = "DIR")]
    out_dir: Option<PathBuf>,
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

    #[command(flatten)]
    signatures: SignatureArgs,

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

    #[command(flatten)]
    signatures: SignatureArgs,

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

    /// Default-domain operator set the graph targets (13 to 21); the IR version follows it
    /// [default: 17; 19 for the standard graph of a table with text columns, which compares
    /// strings with Equal].
    #[arg(long, value_name = "N")]
    target_opset: Option<i64>,

    /// How a table's columns reach the graph: `columns` gives one input per column, named
    /// after it, [N, 1] (scikit-learn's converter's convention for a DataFrame); `grouped` gives
    /// `numeric` [N, numeric columns] and `categorical` [N, text columns].
    #[arg(long, value_enum, default_value = "columns")]
    inputs: InputsArg,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ClassWeightArg {
    /// Every row weighs 1.
    None,
    /// A row of class c weighs n_samples / (n_classes * count of c), so every class weighs the
    /// same in all.
    Balanced,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScoringArg {
    /// Fraction of rows predicted right.
    Accuracy,
    /// Mean recall over the classes.
    #[value(name = "balanced_accuracy")]
    BalancedAccuracy,
    /// Minus the log loss of the probabilities.
    #[value(name = "neg_log_loss")]
    NegLogLoss,
    /// Area under the ROC curve (two classes only).
    #[value(name = "roc_auc")]
    RocAuc,
    /// Mean of the classes' F1 scores.
    #[value(name = "f1_macro")]
    F1Macro,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum InputsArg {
    /// One input per column, [N, 1], named after it.
    Columns,
    /// Two inputs: `numeric` and `categorical`.
    Grouped,
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
            opset: self.target_opset.unwrap_or(DEFAULT_OPSET),
            opset_given: self.target_opset.is_some(),
            layout: match self.inputs {
                InputsArg::Columns => InputLayout::Columns,
                InputsArg::Grouped => InputLayout::Grouped,
            },
        }
        .check()
    }
}

#[derive(Debug, Args)]
struct ConvertArgs {
    /// The pickle: a `joblib.dump` (uncompressed, or zlib, gzip, bz2, lzma or xz) or
    /// `pickle.dump` (protocol 2 to 5) of a fitted scikit-learn pipeline ending in a
    /// LogisticRegression; or a directory written by Spark MLlib's `PipelineModel.save` (or
    /// `LogisticRegressionModel.save`).
    #[arg(value_name = "SOURCE")]
    source: PathBuf,

    /// Where to write the model; its provenance record goes to OUTPUT.json beside it
    /// [default: the source's name with .onnx, in the current directory].
    #[arg(short, long, value_name = "OUTPUT")]
    output: Option<PathBuf>,

    /// Also verify the written model on the rows of this data file (a CSV, or a .parquet
    /// file), its columns taken by name: for a model of a table's columns.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,

    /// Field delimiter of a CSV data file: one ASCII character, or `tab` [default: tab for
    /// .tsv files, else `,`].
    #[arg(long, requires = "data")]
    delimiter: Option<String>,

    #[command(flatten)]
    graph: GraphArgs,

    /// Sign the verified model with this private key, into OUTPUT.sig (see `onnxify sign`).
    #[arg(long, value_name = "KEY.pem")]
    sign: Option<PathBuf>,

    /// Print the conversion's summary as JSON on stdout instead of text.
    #[arg(long, conflicts_with = "quiet")]
    json: bool,

    /// Print nothing but errors (and the report of a refused file).
    #[arg(long, short)]
    quiet: bool,
}

#[derive(Debug, Args)]
struct ScanArgs {
    /// Files and directories: a pickle or joblib file, a zip archive of pickles (PyTorch's .pt
    /// and .pth), an ONNX model, or a directory a Spark model was saved in. A directory is
    /// walked, following no symbolic link, and every file in it is read by its content;
    /// files of no such kind are skipped, whatever their names.
    #[arg(value_name = "PATH", required = true)]
    paths: Vec<PathBuf>,

    /// How to print the reports: text, JSON, or SARIF 2.1.0 for code-scanning services.
    #[arg(long, value_enum, default_value = "text")]
    format: ScanFormatArg,

    /// Print the report as JSON (the same as --format json).
    #[arg(long, conflicts_with = "format")]
    json: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScanFormatArg {
    Text,
    Json,
    Sarif,
}

#[derive(Debug, Args)]
struct TrainArgs {
    /// The training data: a header row, feature columns (numbers or text; missing cells as
    /// pandas reads them) and one label column.
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

    /// Read these columns as categorical even where every cell is a number (integer codes,
    /// zip codes). Text columns are categorical without it.
    #[arg(long, value_name = "COL,...", value_delimiter = ',')]
    categorical: Vec<String>,

    /// Leave these columns out of the model (identifiers, free text).
    #[arg(long, value_name = "COL,...", value_delimiter = ',')]
    drop: Vec<String>,

    /// The most distinct values a categorical column may have; more looks like an identifier
    /// or free text.
    #[arg(long, value_name = "N", default_value_t = DEFAULT_MAX_CATEGORIES)]
    max_categories: usize,

    /// How a missing number is filled: mean, median, most_frequent (scikit-learn's
    /// SimpleImputer strategies, fitted on the training rows) or constant:VALUE. Missing text
    /// is a category of its own.
    #[arg(long, value_name = "STRATEGY", default_value = "mean")]
    impute: String,

    /// Add a 0/1 column per numeric column that had a missing value in training
    /// (scikit-learn's add_indicator=True).
    #[arg(long)]
    missing_indicator: bool,

    /// Inverse regularisation strength, as scikit-learn's C: a positive number, or for a grid
    /// search (with --cv) a list `0.01,0.1,1` or a log range `1e-3..1e3:7` (7 values evenly
    /// spaced in log10, as numpy.logspace(-3, 3, 7)).
    #[arg(long = "C", value_name = "C", default_value = "1", allow_hyphen_values = true)]
    c: String,

    /// Stop when the inf-norm of the mean objective's gradient is at most this.
    /// scikit-learn's default is 1e-4, which stops far from the optimum on large data.
    #[arg(long, value_name = "TOL", default_value = "1e-8", allow_hyphen_values = true)]
    tol: f64,

    /// Iteration limit of the L-BFGS optimiser (scikit-learn's default is 100).
    #[arg(long, value_name = "N", default_value_t = 1000)]
    max_iter: u64,

    /// How each class's rows weigh in the loss, as scikit-learn's class_weight; a list
    /// (`none,balanced`) is searched over with --cv.
    #[arg(long, value_enum, value_delimiter = ',', default_value = "none")]
    class_weight: Vec<ClassWeightArg>,

    /// Cross-validate on the training rows with K stratified folds (scikit-learn's
    /// StratifiedKFold), choose the best candidate of the --C and --class-weight grid by its
    /// mean score (GridSearchCV), and refit it on all training rows.
    #[arg(long, value_name = "K")]
    cv: Option<usize>,

    /// Shuffle each class's fold assignment with --seed (StratifiedKFold(shuffle=True,
    /// random_state=seed)); without it the folds follow the file's order.
    #[arg(long, requires = "cv")]
    cv_shuffle: bool,

    /// The score that ranks candidates, as scikit-learn names its scorers (higher is better).
    #[arg(long, value_enum, default_value = "accuracy", requires = "cv")]
    scoring: ScoringArg,

    /// Fraction of rows held out for evaluation (stratified), in [0, 1); 0 trains on every
    /// row and skips the held-out metrics.
    #[arg(long, value_name = "FRACTION", default_value_t = 0.25, allow_hyphen_values = true)]
    test_size: f64,

    /// Seed of the held-out split; the same seed selects the same rows on every machine.
    #[arg(long, value_name = "N", default_value_t = 0)]
    seed: u64,

    #[command(flatten)]
    graph: GraphArgs,

    /// Sign the verified model with this private key, into OUTPUT.sig (see `onnxify sign`).
    #[arg(long, value_name = "KEY.pem")]
    sign: Option<PathBuf>,

    /// Train and evaluate only: write no model and verify nothing.
    #[arg(long, conflicts_with_all = ["output", "sign"])]
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
    try_parse(args).unwrap_or_else(|e| e.exit())
}

/// [`parse`], returning a usage error instead of exiting.
pub fn try_parse(args: impl IntoIterator<Item = OsString>) -> Result<Cli, clap::Error> {
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
    Cli::try_parse_from(args)
}

/// Runs the parsed command.
pub fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Train(args) => {
            let console = console(args.quiet || args.json);
            train::run(&args.command()?, &console)
        }
        Command::Predict(args) => {
            let console = console(args.quiet);
            predict::run(&args.command()?, &console)
        }
        Command::Inspect(args) => {
            inspect::run(&InspectCommand { model: args.model, json: args.json })
        }
        Command::Verify(args) => verify::run(&args.command()?, &console(false)),
        Command::Convert(args) => {
            let console = console(args.quiet || args.json);
            convert::run(&args.command()?, &console)
        }
        Command::Scan(args) => {
            let format = match (args.json, args.format) {
                (true, _) | (_, ScanFormatArg::Json) => ScanFormat::Json,
                (_, ScanFormatArg::Text) => ScanFormat::Text,
                (_, ScanFormatArg::Sarif) => ScanFormat::Sarif,
            };
            scan::run(&ScanCommand { paths: args.paths, format })
        }
        Command::Sign(args) => {
            let command = SignCommand {
                model: args.model,
                signer: signer(args.key)?,
                signature: args.signature,
            };
            sign::run(&command)
        }
        Command::Keygen(args) => {
            let password = if args.encrypt {
                Some(key_password(&keygen::key_paths(&args.name).0, true)?)
            } else {
                None
            };
            let curve = match args.curve {
                CurveArg::P256 => Curve::P256,
                CurveArg::P384 => Curve::P384,
                CurveArg::P521 => Curve::P521,
            };
            keygen::run(&KeygenCommand { name: args.name, curve, password })
        }
        Command::Completions(args) => {
            let mut out = std::io::stdout().lock();
            clap_complete::generate(args.shell, &mut Cli::command(), "onnxify", &mut out);
            out.flush().map_err(Failure::Stdout)
        }
        Command::Man(args) => man(args.out_dir.as_deref()),
    }
}

/// The manual pages, made from the same definitions as `--help`: onnxify.1 on stdout, or it and
/// one page per command written into `out_dir`.
fn man(out_dir: Option<&std::path::Path>) -> Result<(), Failure> {
    let command = Cli::command();
    let Some(dir) = out_dir else {
        let mut out = std::io::stdout().lock();
        return clap_mangen::Man::new(command)
            .render(&mut out)
            .and_then(|()| out.flush())
            .map_err(Failure::Stdout);
    };
    let mut pages = vec![("onnxify.1".to_owned(), command.clone())];
    for sub in command.get_subcommands() {
        let name = format!("onnxify-{}", sub.get_name());
        pages
            .push((format!("{name}.1"), sub.clone().name(name).version(env!("CARGO_PKG_VERSION"))));
    }
    for (file, page) in pages {
        let path = dir.join(file);
        let mut bytes = Vec::new();
        clap_mangen::Man::new(page).render(&mut bytes).map_err(|e| Error::io(&path, e))?;
        std::fs::write(&path, bytes).map_err(|e| Error::io(&path, e))?;
    }
    Ok(())
}

/// Progress bars unless `quiet`, and settings named by their flags.
fn console(quiet: bool) -> Console {
    let progress = if quiet { Progress::hidden() } else { progress_on_stderr() };
    Console { progress, naming: flag }
}

/// The flag (or environment variable) that sets `parameter`.
pub fn flag(parameter: Parameter) -> &'static str {
    match parameter {
        Parameter::C => "--C",
        Parameter::Tol => "--tol",
        Parameter::MaxIter => "--max-iter",
        Parameter::TestSize => "--test-size",
        Parameter::Ops => "--ops",
        Parameter::Dtype => "--dtype",
        Parameter::InputDtype => "--input-dtype",
        Parameter::TargetOpset => "--target-opset",
        Parameter::Delimiter => "--delimiter",
        Parameter::RecordedDate => "SOURCE_DATE_EPOCH",
        Parameter::IdColumn => "--id-column",
        Parameter::Categorical => "--categorical",
        Parameter::Drop => "--drop",
        Parameter::MaxCategories => "--max-categories",
        Parameter::Impute => "--impute",
        Parameter::Inputs => "--inputs",
        Parameter::ClassWeight => "--class-weight",
        Parameter::Cv => "--cv",
        Parameter::CvShuffle => "--cv-shuffle",
        Parameter::Scoring => "--scoring",
        Parameter::Data => "--data",
        Parameter::Signature => "--signature",
    }
}

impl TrainArgs {
    fn command(self) -> Result<TrainCommand, Error> {
        let delimiter = Delimiter::for_file(&self.csv, self.delimiter.as_deref())?;
        let c = c_values(&self.c)?;
        let class_weight: Vec<ClassWeight> = self
            .class_weight
            .iter()
            .map(|w| match w {
                ClassWeightArg::None => ClassWeight::None,
                ClassWeightArg::Balanced => ClassWeight::Balanced,
            })
            .collect();
        let model = LogisticRegressionParams::new()
            .c(c[0])
            .tol(self.tol)
            .max_iter(self.max_iter)
            .class_weight(class_weight.first().copied().unwrap_or_default())
            .check()?;
        let search = match self.cv {
            Some(k) => {
                let shuffle = if self.cv_shuffle {
                    Some(u32::try_from(self.seed).map_err(|_| Error::InvalidParameter {
                        parameter: Parameter::CvShuffle,
                        message: format!(
                            "shuffled folds are drawn as numpy's RandomState draws them, whose \
                             seed is below 2^32; --seed {} is not",
                            self.seed
                        ),
                    })?)
                } else {
                    None
                };
                Some(GridSearch::new(
                    StratifiedKFold::new(k, shuffle)?,
                    Grid::new(c, class_weight)?,
                    scoring(self.scoring),
                )?)
            }
            None if c.len() > 1 || class_weight.len() > 1 => {
                let (parameter, n) = if c.len() > 1 {
                    (Parameter::C, c.len())
                } else {
                    (Parameter::ClassWeight, class_weight.len())
                };
                return Err(Error::InvalidParameter {
                    parameter,
                    message: format!(
                        "{n} values make a grid search, which chooses between them by \
                         cross-validation; add {{cv}} K (scikit-learn's default is 5 folds)"
                    ),
                });
            }
            None => None,
        };
        let config = TrainConfig {
            table: TableOptions {
                delimiter,
                target: self.target,
                categorical: self.categorical,
                drop: self.drop,
                max_categories: self.max_categories,
            },
            imputer: SimpleImputer::new()
                .strategy(impute_strategy(&self.impute)?)
                .add_indicator(self.missing_indicator),
            model,
            search,
            test_fraction: TestFraction::new(self.test_size)?,
            seed: self.seed,
            keep_reference: !self.dry_run,
            csv: self.csv,
        };
        Ok(TrainCommand {
            graph: self.graph.check()?,
            output: self.output.unwrap_or_else(|| train::default_output(&config.csv)),
            trained_at: recorded_date()?,
            sign: self.sign.map(signer).transpose()?,
            config,
            dry_run: self.dry_run,
            json: self.json,
            quiet: self.quiet,
        })
    }
}

/// C as a number, a list `0.01,0.1,1`, or a log range `A..B:N` (numpy.logspace(A, B, N)).
fn c_values(text: &str) -> Result<Vec<f64>, Error> {
    let invalid = |message: String| Error::InvalidParameter { parameter: Parameter::C, message };
    let number = |t: &str| {
        t.trim().parse::<f64>().map_err(|_| invalid(format!("{:?} is not a number", t.trim())))
    };
    let values =
        if let Some((range, count)) = text.split_once(':') {
            let Some((start, stop)) = range.split_once("..") else {
                return Err(invalid(format!(
                    "{text:?} is not a log range; write START..STOP:COUNT, as 1e-3..1e3:7"
                )));
            };
            let count: usize =
                count.trim().parse().ok().filter(|&n| n >= 1).ok_or_else(|| {
                    invalid(format!("{:?} is not a count of values", count.trim()))
                })?;
            let (start, stop) = (number(start)?, number(stop)?);
            if !(start > 0.0 && stop > 0.0) {
                return Err(invalid(format!(
                    "the ends of the log range {text:?} must be positive values of C"
                )));
            }
            logspace(start.log10(), stop.log10(), count)
        } else {
            text.split(',').map(number).collect::<Result<Vec<f64>, Error>>()?
        };
    if let Some(bad) = values.iter().find(|c| !(c.is_finite() && **c > 0.0)) {
        return Err(invalid(format!("{bad} is not a positive finite number")));
    }
    Ok(values)
}

fn scoring(arg: ScoringArg) -> Scoring {
    match arg {
        ScoringArg::Accuracy => Scoring::Accuracy,
        ScoringArg::BalancedAccuracy => Scoring::BalancedAccuracy,
        ScoringArg::NegLogLoss => Scoring::NegLogLoss,
        ScoringArg::RocAuc => Scoring::RocAuc,
        ScoringArg::F1Macro => Scoring::F1Macro,
    }
}

/// `mean`, `median`, `most_frequent` or `constant:VALUE`.
fn impute_strategy(text: &str) -> Result<ImputeStrategy, Error> {
    let invalid =
        |message: String| Error::InvalidParameter { parameter: Parameter::Impute, message };
    match text {
        "mean" => Ok(ImputeStrategy::Mean),
        "median" => Ok(ImputeStrategy::Median),
        "most_frequent" => Ok(ImputeStrategy::MostFrequent),
        _ => match text.strip_prefix("constant:") {
            Some(value) => match value.trim().parse::<f64>() {
                Ok(v) if v.is_finite() => Ok(ImputeStrategy::Constant(v)),
                _ => Err(invalid(format!("{value:?} is not a finite number to fill with"))),
            },
            None => Err(invalid(format!(
                "{text:?} is not a strategy; choose mean, median, most_frequent or constant:VALUE"
            ))),
        },
    }
}

impl PredictArgs {
    fn command(self) -> Result<PredictCommand, Error> {
        let (keys, signatures) = self.signatures.check()?;
        let config = PredictConfig {
            keys,
            signatures,
            delimiter: Delimiter::for_file(&self.data, self.delimiter.as_deref())?,
            model: self.model,
            data: self.data,
            output: self.output,
            id_column: self.id_column,
        };
        Ok(PredictCommand { config, quiet: self.quiet })
    }
}

impl VerifyArgs {
    fn command(self) -> Result<VerifyCommand, Error> {
        let data = match self.data {
            Some(path) => Some(LabelledData {
                delimiter: Delimiter::for_file(&path, self.delimiter.as_deref())?,
                target: self.target,
                path,
            }),
            None => None,
        };
        let (keys, signatures) = self.signatures.check()?;
        let config =
            VerifyConfig { model: self.model, companion: self.companion, data, keys, signatures };
        Ok(VerifyCommand { config, json: self.json })
    }
}

impl ConvertArgs {
    fn command(self) -> Result<ConvertCommand, Error> {
        let data = self
            .data
            .map(|path| {
                let delimiter = Delimiter::for_file(&path, self.delimiter.as_deref())?;
                Ok::<_, Error>(DataFile { path, delimiter })
            })
            .transpose()?;
        let config = ConvertConfig {
            output: self.output.unwrap_or_else(|| convert::default_output(&self.source)),
            source: self.source,
            graph: self.graph.check()?,
            data,
            converted_at: recorded_date()?,
            sign: self.sign.map(signer).transpose()?,
        };
        Ok(ConvertCommand { config, json: self.json, quiet: self.quiet })
    }
}

/// The failure and its causes on one line, `a: b: c`, settings named by their flags, skipping a
/// cause whose text the message already ends with (an I/O error names its cause in its own text).
pub fn error_message(failure: &Failure) -> String {
    let mut message = failure.message_naming(flag);
    let mut cause = std::error::Error::source(failure);
    while let Some(error) = cause {
        let text = error.to_string();
        if !message.ends_with(&text) {
            message = format!("{message}: {text}");
        }
        cause = error.source();
    }
    message
}

/// The training or conversion date: `SOURCE_DATE_EPOCH` (seconds since 1970) if set, else now.
fn recorded_date() -> Result<SystemTime, Error> {
    match std::env::var("SOURCE_DATE_EPOCH") {
        Err(_) => Ok(SystemTime::now()),
        Ok(text) => text
            .trim()
            .parse::<u64>()
            .map(|s| SystemTime::UNIX_EPOCH + Duration::from_secs(s))
            .map_err(|_| Error::InvalidParameter {
                parameter: Parameter::RecordedDate,
                message: format!("{text:?} is not a whole number of seconds since 1970"),
            }),
    }
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
        assert_eq!(args.c, "0.5");
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
    fn every_parameter_has_a_flag_that_the_command_line_declares() {
        let declared: Vec<String> = Cli::command()
            .get_subcommands()
            .flat_map(|c| {
                c.get_arguments()
                    .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
                    .collect::<Vec<_>>()
            })
            .collect();
        for parameter in Parameter::ALL {
            let name = flag(parameter);
            assert!(
                name == "SOURCE_DATE_EPOCH" || declared.iter().any(|d| d == name),
                "{parameter:?} maps to {name}, which no subcommand declares"
            );
        }
    }
}
