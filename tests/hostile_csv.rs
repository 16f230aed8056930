//! The hostile CSV corpus, generated here, through `train` and `predict`: each case ends with
//! the documented result or with one error line naming the file, line and column; never a
//! panic; no partial output; an existing output file replaced only by a verified one. What an
//! accepted case writes is checked against references run live (tests/python/hostile_csv.py):
//! the companion record against hashlib and pandas, the model against scikit-learn fitted on the
//! rows pandas reads, the predictions against onnxruntime.

mod common;

use std::path::{Path, PathBuf};
use std::process::Output;
use std::sync::OnceLock;

use common::{EVERY_ROW_CONVERGED, assert_close, floats, labels, onnxify_in, stderr};
use serde_json::{Value, json};

/// What a command must do with a case.
#[derive(Clone, Copy)]
enum Expect {
    /// Succeed.
    Ok,
    /// Succeed with the very result of `base()`: the same rows, spelled differently.
    Same,
    /// Fail with exit code 2 and this text in the one-line error.
    Refuse(&'static str),
    /// Succeed, training the column pipeline of a table (missing values); its parity with
    /// scikit-learn is checked in tests/table_input.rs.
    Table,
}

use Expect::{Ok as Accept, Refuse, Same, Table};

struct Case {
    name: &'static str,
    bytes: Vec<u8>,
    train: Expect,
    predict: Expect,
    /// Extra flags for train.
    flags: &'static [&'static str],
}

fn rows(labels: &[&str]) -> String {
    let mut text = String::from("f1,f2,label\n");
    for (i, label) in labels.iter().enumerate() {
        text.push_str(&format!("{}.5,{},{}\n", i, (i * 7) % 5, label));
    }
    text
}

/// Twelve rows, two classes of six.
fn base() -> String {
    rows(&["yes", "no", "yes", "no", "yes", "no", "yes", "no", "yes", "no", "yes", "no"])
}

/// `base()` with the cell at (row, column) replaced; rows count from 0 below the header.
fn with_cell(row: usize, column: usize, value: &str) -> Vec<u8> {
    with_cells(&[(row, column, value)])
}

fn with_cells(changes: &[(usize, usize, &str)]) -> Vec<u8> {
    let text = base();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    for &(row, column, value) in changes {
        let mut cells: Vec<String> = lines[row + 1].split(',').map(str::to_owned).collect();
        cells[column] = value.to_owned();
        lines[row + 1] = cells.join(",");
    }
    (lines.join("\n") + "\n").into_bytes()
}

/// `base()` with a column `name` of `values` (one per row) inserted before the label.
fn with_column(name: &str, values: impl Fn(usize) -> String) -> String {
    let text = base();
    let mut lines = text.lines();
    let header = lines.next().unwrap().replacen(",label", &format!(",{name},label"), 1);
    let mut out = header + "\n";
    for (i, line) in lines.enumerate() {
        let (features, label) = line.rsplit_once(',').unwrap();
        out.push_str(&format!("{features},{},{label}\n", values(i)));
    }
    out
}

fn case(name: &'static str, bytes: impl Into<Vec<u8>>, train: Expect, predict: Expect) -> Case {
    Case { name, bytes: bytes.into(), train, predict, flags: &[] }
}

fn corpus() -> Vec<Case> {
    let b = base();
    let mut wide = String::new();
    let columns = 100_000;
    wide.push_str(&(0..columns).map(|c| format!("c{c}")).collect::<Vec<_>>().join(","));
    wide.push_str(",f1,f2,label\n");
    for r in 0..8 {
        wide.push_str(
            &(0..columns).map(|c| ((r * 31 + c) % 7).to_string()).collect::<Vec<_>>().join(","),
        );
        wide.push_str(&format!(",{r}.5,{},{}\n", r % 3, if r % 2 == 0 { "yes" } else { "no" }));
    }
    let many_classes: Vec<String> =
        (0..300).flat_map(|c| [format!("class{c}"), format!("class{c}")]).collect();
    let many_refs: Vec<&str> = many_classes.iter().map(String::as_str).collect();
    let giant = format!("1{}", "0".repeat(16 << 20));
    let utf16: Vec<u8> = format!("\u{feff}{b}").encode_utf16().flat_map(u16::to_le_bytes).collect();

    vec![
        // Encodings.
        case("utf8_bom", [b"\xEF\xBB\xBF".as_slice(), b.as_bytes()].concat(), Same, Same),
        case(
            "utf16_with_bom",
            utf16,
            Refuse("data.csv: line 1: the text is not valid UTF-8"),
            Refuse("line 1: the text is not valid UTF-8"),
        ),
        case(
            "latin1_label",
            latin1(with_cell(2, 2, "caf\u{e9}")),
            Refuse(r#"data.csv: line 4, column "label": the text is not valid UTF-8"#),
            Accept,
        ),
        case(
            "latin1_feature",
            latin1(with_cell(3, 0, "1\u{e9}")),
            Refuse(r#"data.csv: line 5, column "f1": the text is not valid UTF-8"#),
            Refuse(r#"line 5, column "f1": the text is not valid UTF-8"#),
        ),
        case(
            "nul_in_feature",
            with_cell(1, 1, "6.3\0"),
            Refuse(r#"line 3, column "f2": the text contains a NUL byte"#),
            Refuse(r#"line 3, column "f2""#),
        ),
        case(
            "nul_in_label",
            with_cell(1, 2, "vir\0ginica"),
            Refuse(r#"line 3, column "label": the label contains a NUL byte"#),
            Accept,
        ),
        // Line structure.
        case("crlf_line_ends", b.replace('\n', "\r\n"), Same, Same),
        case("cr_only_line_ends", b.replace('\n', "\r"), Same, Same),
        case(
            "cr_only_error_line",
            with_cell(4, 0, "x")
                .iter()
                .map(|&c| if c == b'\n' { b'\r' } else { c })
                .collect::<Vec<u8>>(),
            Refuse(r#"column "f1": 11 of its 12 values are numbers but 1 is not: "x" (line 6)"#),
            Refuse(r#"line 6, column "f1""#),
        ),
        case(
            "crlf_error_line",
            String::from_utf8(with_cell(4, 0, "x")).unwrap().replace('\n', "\r\n"),
            Refuse(r#"column "f1": 11 of its 12 values are numbers but 1 is not: "x" (line 6)"#),
            Refuse(r#"line 6, column "f1""#),
        ),
        case(
            "crlf_blank_line_error_line",
            String::from_utf8(with_cell(0, 0, "x")).unwrap().replacen('\n', "\r\n\r\n", 1),
            Refuse(r#"column "f1": 11 of its 12 values are numbers but 1 is not: "x" (line 3)"#),
            Refuse(r#"line 3, column "f1""#),
        ),
        case("blank_lines", b.replace('\n', "\n\n"), Same, Same),
        case(
            "empty_file",
            "",
            Refuse("data.csv: the file is empty"),
            Refuse("data.csv: the file is empty"),
        ),
        case(
            "only_line_ends",
            "\n\r\n\n",
            Refuse("data.csv: the file is empty"),
            Refuse("the file is empty"),
        ),
        case(
            "header_only",
            "f1,f2,label\n",
            Refuse("data.csv: the file has a header row but no data rows"),
            Accept,
        ),
        case(
            "short_row",
            format!("{b}1,2\n"),
            Refuse(
                r#"data.csv: line 14, column "label": the row has 2 fields but the header has 3"#,
            ),
            Refuse(r#"line 14, column "label": the row has 2 fields"#),
        ),
        case(
            "long_row",
            format!("{b}1,2,yes,4\n"),
            Refuse(
                r#"data.csv: line 14: the row has 4 fields but the header has 3; field 4 is beyond"#,
            ),
            Refuse("line 14: the row has 4 fields"),
        ),
        case("no_final_line_end", b.trim_end().to_owned(), Same, Same),
        // Headers.
        case(
            "trailing_delimiter",
            b.replace('\n', ",\n"),
            Refuse("data.csv: line 1: column 4 of the header has an empty name"),
            Refuse("column 4 of the header has an empty name"),
        ),
        case(
            "duplicate_header",
            b.replacen("f2", "f1", 1),
            Refuse(
                r#"data.csv: line 1: the column name "f1" appears more than once (columns 1 and 2)"#,
            ),
            Refuse("appears more than once"),
        ),
        case(
            "empty_header_name",
            b.replacen("f2", "", 1),
            Refuse("data.csv: line 1: column 2 of the header has an empty name"),
            Refuse("column 2 of the header has an empty name"),
        ),
        case(
            "only_a_target_column",
            "label\nyes\nno\n",
            Refuse(r#"there are no feature columns besides the target column "label""#),
            Refuse(r#"no column named "f1""#),
        ),
        case("long_column_name", b.replacen("label", &"l".repeat(10_000), 1), Accept, Accept),
        case(
            "semicolons_without_flag",
            b.replace(',', ";"),
            Refuse("there are no feature columns besides the target column"),
            Refuse(r#"no column named "f1""#),
        ),
        // Quoting.
        case("quoted_comma_in_label", b.replace("yes", "\"tall, green\""), Accept, Accept),
        case("quoted_newline_in_label", b.replace("yes", "\"virgi\nnica\""), Accept, Accept),
        case("escaped_quotes", b.replace("yes", "\"say \"\"yes\"\"\""), Accept, Accept),
        case("quote_inside_unquoted_field", b.replace("yes", "12\" pipe"), Accept, Accept),
        case(
            "unterminated_quote",
            format!("{b}1,2,\"yes\n3,4,no\n"),
            Refuse("data.csv: line 14: a quoted field starts here and is never closed"),
            Refuse("line 14: a quoted field starts here"),
        ),
        case(
            "quoted_number_with_thousands_separator",
            with_cell(0, 0, "\"1,234.5\""),
            Refuse(
                r#"column "f1": 11 of its 12 values are numbers but 1 is not: "1,234.5" (line 2)"#,
            ),
            Refuse(r#""1,234.5" is not a number"#),
        ),
        // Values.
        case(
            "nan",
            with_cell(5, 1, "NaN"),
            Table,
            Refuse(r#""NaN" marks a missing value, but this model takes a number in every cell"#),
        ),
        case("na_marker", with_cell(5, 1, "NA"), Table, Refuse(r#""NA" marks a missing value"#)),
        case(
            "null_marker",
            with_cell(5, 1, "null"),
            Table,
            Refuse(r#""null" marks a missing value"#),
        ),
        case(
            "empty_cell",
            with_cell(5, 1, ""),
            Table,
            Refuse("the cell is empty, but this model takes a number in every cell"),
        ),
        case(
            "infinity",
            with_cell(5, 0, "inf"),
            Refuse(r#"line 7, column "f1": "inf" is infinite"#),
            Refuse(r#""inf" is infinite"#),
        ),
        case(
            "negative_infinity",
            with_cell(5, 0, "-Infinity"),
            Refuse(r#""-Infinity" is infinite"#),
            Refuse("is infinite"),
        ),
        case(
            "overflows_f64",
            with_cell(5, 0, "1e400"),
            Refuse(r#"line 7, column "f1": "1e400" is outside the range of a 64-bit float"#),
            Refuse("outside the range of a 64-bit float"),
        ),
        case(
            "beyond_f32",
            with_cell(5, 0, "1e39"),
            Refuse(r#"line 7, column "f1": "1e39" is beyond the range of a 32-bit float"#),
            Refuse("beyond the range of a 32-bit float"),
        ),
        case(
            "largest_f64",
            with_cell(5, 0, "-1.7e308"),
            Refuse("beyond the range of a 32-bit float"),
            Refuse("beyond the range of a 32-bit float"),
        ),
        case("subnormal", with_cell(5, 0, "1e-320"), Accept, Accept),
        case(
            "underscore_digits",
            with_cell(5, 0, "1_000"),
            Refuse(r#"12 values are numbers but 1 is not: "1_000" (line 7)"#),
            Refuse(r#""1_000" is not a number"#),
        ),
        case("spaces_around_number", with_cell(5, 0, " 5.0 "), Accept, Accept),
        case(
            "hex_float",
            with_cell(5, 0, "0x1p3"),
            Refuse(r#"12 values are numbers but 1 is not: "0x1p3" (line 7)"#),
            Refuse("is not a number"),
        ),
        case(
            "arabic_indic_digits",
            with_cell(5, 0, "\u{661}\u{662}"),
            Refuse("12 values are numbers but 1 is not"),
            Refuse("is not a number"),
        ),
        case(
            "sign_and_dot_spellings",
            with_cells(&[(5, 0, "+5"), (6, 0, ".5"), (7, 0, "5."), (8, 1, "-0")]),
            Accept,
            Accept,
        ),
        case(
            "giant_numeric_field",
            with_cell(5, 0, &giant),
            Refuse(r#"... (16777217 bytes)" is outside the range of a 64-bit float"#),
            Refuse("(16777217 bytes)"),
        ),
        // Text columns and the guards of the column pipeline.
        case(
            "text_column",
            with_column("colour", |i| ["red", "blue", "NA"][i % 3].into()),
            Table,
            Accept,
        ),
        case(
            "column_without_values",
            with_column("empty", |_| "NA".into()),
            Refuse(r#"data.csv: column "empty": every one of its 12 cells is missing"#),
            Accept,
        ),
        case(
            "identifier_column",
            with_column("id", |i| format!("id{i}")),
            Refuse(
                r#"data.csv: column "id": each of its 12 values is different, so it looks like an identifier"#,
            ),
            Accept,
        ),
        Case {
            flags: &["--max-categories", "2"],
            ..case(
                "too_many_categories",
                with_column("colour", |i| ["red", "blue", "green"][i % 3].into()),
                Refuse(
                    r#"data.csv: column "colour": it has 3 distinct values, more than --max-categories 2"#,
                ),
                Accept,
            )
        },
        case(
            "nul_in_text",
            with_column("colour", |i| if i == 4 { "r\0ed".into() } else { "red".into() }),
            Refuse(r#"data.csv: line 6, column "colour": the text contains a NUL byte"#),
            Accept,
        ),
        case(
            "overlong_text",
            with_column("colour", |i| if i == 2 { "x".repeat(5000) } else { "red".into() }),
            Refuse(r#"data.csv: line 4, column "colour": the text is 5000 bytes long"#),
            Accept,
        ),
        case(
            "stray_text_in_numbers",
            with_column("age", |i| if i == 7 { "?".into() } else { format!("{}", 20 + i) }),
            Refuse(
                r#"data.csv: column "age": 11 of its 12 values are numbers but 1 is not: "?" (line 9)"#,
            ),
            Accept,
        ),
        // Labels and classes.
        case(
            "single_class",
            rows(&["a"; 12]),
            Refuse(r#"the target column "label" has only one class ("a")"#),
            Accept,
        ),
        case("single_row", rows(&["a"]), Refuse("has only one class"), Accept),
        case(
            "class_of_one_row",
            rows(&["a", "a", "a", "b"]),
            Refuse(r#"data.csv: line 5, column "label": class "b" has only this row, too few"#),
            Accept,
        ),
        case(
            "empty_label",
            with_cell(3, 2, ""),
            Refuse(r#"line 5, column "label": the label is empty"#),
            Accept,
        ),
        case(
            "giant_label",
            with_cell(3, 2, &"x".repeat(1 << 20)),
            Refuse(r#"line 5, column "label": the label is 1048576 bytes long"#),
            Accept,
        ),
        case(
            "integer_label_spellings",
            rows(&["1", "01", "+1", "2", "02", "2", "1", "2", "1", "2", "1", "2"]),
            Accept,
            Accept,
        ),
        case(
            "case_and_space_variants_are_distinct",
            rows(&["a", "A", " a", "a", "A", " a", "a", "A", " a", "a", "A", " a"]),
            Accept,
            Accept,
        ),
        case(
            "formula_like_labels",
            rows(&["=cmd", "@sum", "=cmd", "@sum", "=cmd", "@sum"]),
            Accept,
            Accept,
        ),
        case(
            "na_as_label_text",
            rows(&["NA", "NaN", "NA", "NaN", "NA", "NaN"]),
            Refuse(
                r#"line 2, column "label": the label "NA" marks a missing value (as pandas reads it)"#,
            ),
            Accept,
        ),
        case("three_hundred_classes", rows(&many_refs), Accept, Accept),
        // Shape.
        case("one_hundred_thousand_columns", wide, Accept, Accept),
        Case {
            name: "unknown_target",
            bytes: b.clone().into_bytes(),
            train: Refuse(
                r#"there is no column named "species"; the columns are "f1", "f2", "label""#,
            ),
            predict: Accept,
            flags: &["--target", "species"],
        },
    ]
}

/// Turns the UTF-8 encoding of U+00E9 into the single Latin-1 byte 0xE9.
fn latin1(bytes: Vec<u8>) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i..].starts_with(&[0xC3, 0xA9]) {
            out.push(0xE9);
            i += 2;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    out
}

/// A model trained on `base()`, for predict.
fn model() -> &'static PathBuf {
    static MODEL: OnceLock<PathBuf> = OnceLock::new();
    MODEL.get_or_init(|| {
        let dir = tempfile::tempdir_in(common::scratch()).unwrap().keep();
        std::fs::write(dir.join("base.csv"), base()).unwrap();
        let output = onnxify_in(&dir, &["base.csv", "-o", "model.onnx", "-q"]);
        assert!(output.status.success(), "{}", stderr(&output));
        dir.join("model.onnx")
    })
}

fn check(command: &str, case: &Case, expect: Expect, output: &Output, dir: &Path, previous: &Path) {
    let err = stderr(output);
    assert!(!err.contains("panicked"), "{command} {}: panicked: {err}", case.name);
    match expect {
        Expect::Ok | Expect::Same | Expect::Table => {
            assert!(
                output.status.success(),
                "{command} {}: expected success, got: {err}",
                case.name
            );
            assert_ne!(
                std::fs::read(previous).unwrap(),
                b"previous",
                "{command} {}: the output was not written",
                case.name
            );
        }
        Expect::Refuse(message) => {
            assert_eq!(
                output.status.code(),
                Some(2),
                "{command} {}: exit code; stderr: {err}",
                case.name
            );
            let errors: Vec<&str> =
                err.lines().filter(|l| l.starts_with("onnxify: error: ")).collect();
            assert_eq!(errors.len(), 1, "{command} {}: one error line expected: {err}", case.name);
            assert!(
                errors[0].contains("data.csv"),
                "{command} {}: names the file: {err}",
                case.name
            );
            assert!(
                errors[0].contains(message),
                "{command} {}: expected\n  {message}\nin\n  {err}",
                case.name
            );
            assert_eq!(
                std::fs::read(previous).unwrap(),
                b"previous",
                "{command} {}: the previous output was replaced",
                case.name
            );
        }
    }
    let temporary = std::fs::read_dir(dir)
        .unwrap()
        .filter(|e| e.as_ref().unwrap().file_name().to_string_lossy().ends_with(".tmp"))
        .count();
    assert_eq!(temporary, 0, "{command} {}: a temporary file was left behind", case.name);
}

#[test]
fn the_corpus_has_at_least_forty_cases_with_distinct_names() {
    let cases = corpus();
    assert!(cases.len() >= 40, "{} cases", cases.len());
    let mut names: Vec<&str> = cases.iter().map(|c| c.name).collect();
    names.sort_unstable();
    names.dedup();
    assert_eq!(names.len(), cases.len());
}

#[test]
fn train_ends_every_hostile_csv_with_the_documented_result() {
    let mut accepted = Vec::new();
    for case in corpus() {
        let dir = tempfile::tempdir_in(common::scratch()).unwrap();
        std::fs::write(dir.path().join("data.csv"), &case.bytes).unwrap();
        std::fs::write(dir.path().join("model.onnx"), b"previous").unwrap();
        let args = [&["train", "data.csv", "-o", "model.onnx", "-q"], case.flags].concat();
        let output = onnxify_in(dir.path(), &args);
        check("train", &case, case.train, &output, dir.path(), &dir.path().join("model.onnx"));
        if let Expect::Same = case.train {
            let record = |path: PathBuf| -> serde_json::Value {
                serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap()
            };
            let (got, base) =
                (record(dir.path().join("model.onnx.json")), record(json_of(model())));
            for field in ["probes", "metrics", "class_labels", "n_iter"] {
                assert_eq!(
                    got[field], base[field],
                    "train {}: {field} differs from base",
                    case.name
                );
            }
        }
        if matches!(case.train, Expect::Ok | Expect::Same | Expect::Table) {
            accepted.push((case, dir));
        }
    }
    assert_records_describe_the_csvs(&accepted);
}

/// The companion record of each accepted case describes its CSV as the references read it: the
/// sha256 of the bytes (hashlib), the data rows and columns, feature names and target (pandas),
/// and the class labels in the order of scikit-learn's classes_ (np.unique of the target).
fn assert_records_describe_the_csvs(accepted: &[(Case, tempfile::TempDir)]) {
    assert!(accepted.len() >= 15, "{} accepted cases", accepted.len());
    let jobs: Vec<Value> = accepted
        .iter()
        .map(|(case, dir)| json!({"csv": dir.path().join("data.csv"), "target": target_of(case)}))
        .collect();
    for ((case, dir), expected) in accepted.iter().zip(references(&jobs)) {
        let record: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("model.onnx.json")).unwrap())
                .unwrap();
        let name = case.name;
        let dataset = &record["dataset"];
        assert_eq!(dataset["sha256"], expected["sha256"], "train {name}: sha256 of the CSV");
        assert_eq!(dataset["rows"], expected["rows"], "train {name}: data rows");
        assert_eq!(dataset["columns"], expected["columns"], "train {name}: columns");
        assert_eq!(record["target"], expected["target"], "train {name}: target column");
        assert!(
            record["feature_names"] == expected["features"],
            "train {name}: feature names differ from pandas' columns"
        );
        assert_eq!(
            labels(&record["class_labels"]),
            labels(&expected["classes"]),
            "train {name}: class labels in scikit-learn's classes_ order"
        );
    }
}

/// The target column a case names with `--target`, or null for the last column.
fn target_of(case: &Case) -> Value {
    let at = case.flags.iter().position(|&f| f == "--target");
    at.map_or(Value::Null, |i| json!(case.flags[i + 1]))
}

/// Runs tests/python/hostile_csv.py on `jobs`; one result per job, in order.
fn references(jobs: &[Value]) -> Vec<Value> {
    let path = common::write_file("jobs.json", Value::from(jobs.to_vec()).to_string().as_bytes());
    let results = common::python_json("hostile_csv.py", &[path.to_str().unwrap()]);
    let results = results.as_array().unwrap().clone();
    assert_eq!(results.len(), jobs.len());
    results
}

/// Each accepted case trained on every row to a gradient of 1e-10 predicts every row like
/// scikit-learn's converged pipeline fitted on the rows as pandas reads them, with the model file
/// run by onnxruntime: so the cells were read as the numbers pandas reads, the labels as the
/// classes it finds, and the file holds that fit.
///
/// Tolerance 1e-6 on probabilities: both fits are converged (onnxify to a gradient of 1e-10,
/// newton-cg at tol 1e-10 to ~1e-11), and the float32 graph moves a probability by a few units
/// of 6e-8; measured, the largest difference on any case (100,000 columns included) is 5.5e-8,
/// while one cell read differently moves the fit by orders of magnitude more. A label may
/// differ only where scikit-learn's top two probabilities are closer than 2e-6, where that
/// rounding can swap them.
#[test]
fn accepted_csvs_train_the_model_scikit_learn_fits_on_the_rows_pandas_reads() {
    let mut trained = Vec::new();
    for case in corpus() {
        if !matches!(case.train, Expect::Ok | Expect::Same) {
            continue;
        }
        let dir = tempfile::tempdir_in(common::scratch()).unwrap();
        std::fs::write(dir.path().join("data.csv"), &case.bytes).unwrap();
        let args =
            [&["train", "data.csv", "-o", "model.onnx", "-q"], case.flags, &EVERY_ROW_CONVERGED]
                .concat();
        let output = onnxify_in(dir.path(), &args);
        assert!(output.status.success(), "train {}: {}", case.name, stderr(&output));
        trained.push((case, dir));
    }
    let jobs: Vec<Value> = trained
        .iter()
        .map(|(case, dir)| {
            json!({
                "csv": dir.path().join("data.csv"),
                "target": target_of(case),
                "model": dir.path().join("model.onnx"),
                "fit": true,
            })
        })
        .collect();
    for ((case, dir), expected) in trained.iter().zip(references(&jobs)) {
        let name = case.name;
        let record: Value =
            serde_json::from_slice(&std::fs::read(dir.path().join("model.onnx.json")).unwrap())
                .unwrap();
        assert_eq!(
            labels(&record["class_labels"]),
            labels(&expected["classes"]),
            "{name}: classes_"
        );
        let (onnx, sklearn) = (&expected["onnx"], &expected["sklearn"]);
        let proba = floats(&onnx["proba"]);
        let sklearn_proba = floats(&sklearn["proba"]);
        assert_close(&format!("{name}: probabilities"), &proba, &sklearn_proba, 1e-6);
        let n_classes = expected["classes"].as_array().unwrap().len();
        let rows = sklearn_proba.chunks(n_classes);
        for (row, ((got, want), p)) in
            labels(&onnx["labels"]).iter().zip(labels(&sklearn["labels"])).zip(rows).enumerate()
        {
            assert!(
                got == &want || top_two_margin(p) < 2e-6,
                "{name}: row {row}: onnxruntime's label {got:?}, scikit-learn's {want:?} ({p:?})"
            );
        }
    }
}

/// Difference between the two largest values.
fn top_two_margin(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(|a, b| b.total_cmp(a));
    sorted[0] - sorted.get(1).copied().unwrap_or(f64::NEG_INFINITY)
}

fn json_of(model: &Path) -> PathBuf {
    PathBuf::from(format!("{}.json", model.display()))
}

#[test]
fn predict_ends_every_hostile_csv_with_the_documented_result() {
    let model = model();
    let mut accepted = Vec::new();
    for case in corpus() {
        let dir = tempfile::tempdir_in(common::scratch()).unwrap();
        std::fs::write(dir.path().join("data.csv"), &case.bytes).unwrap();
        std::fs::write(dir.path().join("out.csv"), b"previous").unwrap();
        let output = onnxify_in(
            dir.path(),
            &["predict", model.to_str().unwrap(), "data.csv", "-o", "out.csv", "-q"],
        );
        check("predict", &case, case.predict, &output, dir.path(), &dir.path().join("out.csv"));
        if let Expect::Same = case.predict {
            assert_eq!(
                std::fs::read_to_string(dir.path().join("out.csv")).unwrap(),
                base_predictions(),
                "predict {}: the predictions differ from base's",
                case.name
            );
        }
        if matches!(case.predict, Expect::Ok | Expect::Same) {
            accepted.push((case, dir));
        }
    }
    assert_predictions_are_onnxruntimes(model, &accepted);
}

/// What predict wrote for each accepted case is what onnxruntime gives for the same model file
/// on the feature columns as pandas reads them: one row per data row, the same labels, and
/// probabilities within 1e-6 (both run the same float32 graph, so they differ only in the
/// order of float32 operations, a few units in the last place of a number at most 1), under a
/// header naming base()'s classes in code-point order, the order of the model's outputs.
fn assert_predictions_are_onnxruntimes(model: &Path, accepted: &[(Case, tempfile::TempDir)]) {
    assert!(accepted.len() >= 25, "{} accepted cases", accepted.len());
    let base = base();
    let mut classes: Vec<&str> =
        base.lines().skip(1).map(|l| l.rsplit(',').next().unwrap()).collect();
    classes.sort_unstable();
    classes.dedup();
    let header: Vec<String> =
        ["label".to_owned()].into_iter().chain(classes.iter().map(|c| format!("p_{c}"))).collect();
    let jobs: Vec<Value> = accepted
        .iter()
        .map(|(_, dir)| {
            json!({"csv": dir.path().join("data.csv"), "model": model, "features": ["f1", "f2"]})
        })
        .collect();
    for ((case, dir), expected) in accepted.iter().zip(references(&jobs)) {
        let name = case.name;
        let mut reader = csv::Reader::from_path(dir.path().join("out.csv")).unwrap();
        assert_eq!(reader.headers().unwrap(), header, "predict {name}: header");
        let written: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
        let onnx = &expected["onnx"];
        let want_labels = labels(&onnx["labels"]);
        assert_eq!(
            written.len(),
            expected["rows"].as_u64().unwrap() as usize,
            "predict {name}: rows"
        );
        let got_labels: Vec<String> = written.iter().map(|r| r[0].to_owned()).collect();
        assert_eq!(got_labels, want_labels, "predict {name}: labels");
        let got_proba: Vec<f64> =
            written.iter().flat_map(|r| r.iter().skip(1).map(|v| v.parse().unwrap())).collect();
        assert_close(
            &format!("predict {name}: probabilities"),
            &got_proba,
            &floats(&onnx["proba"]),
            1e-6,
        );
    }
}

/// What predict writes for `base()` itself.
fn base_predictions() -> &'static str {
    static PREDICTIONS: OnceLock<String> = OnceLock::new();
    PREDICTIONS.get_or_init(|| {
        let dir = model().parent().unwrap();
        let args = ["predict", "model.onnx", "base.csv", "-o", "base-predictions.csv", "-q"];
        let output = onnxify_in(dir, &args);
        assert!(output.status.success(), "{}", stderr(&output));
        std::fs::read_to_string(dir.join("base-predictions.csv")).unwrap()
    })
}
