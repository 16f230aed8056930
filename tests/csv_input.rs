//! What the trainer accepts and what it refuses, through the real binary: every refusal exits
//! with code 2, names the file, line and column, never panics and writes nothing.

mod common;

use std::path::Path;

use common::{onnxify_in, stderr, stdout, write_file};
use onnxify::data::{Classes, CsvOptions, read_csv};
use onnxify::progress::Progress;

/// Runs `onnxify train` on `contents` saved as `name`; returns (exit code, stdout, stderr).
fn train(name: &str, contents: &[u8], extra: &[&str]) -> (i32, String, String) {
    let path = write_file(name, contents);
    let dir = path.parent().unwrap();
    let before = files_in(dir);
    let mut args = vec!["train", name];
    args.extend_from_slice(extra);
    let output = onnxify_in(dir, &args);
    let err = stderr(&output);
    assert!(!err.contains("panicked"), "onnxify panicked:\n{err}");
    let code = output.status.code().expect("onnxify exits normally");
    if code != 0 {
        assert_eq!(files_in(dir), before, "a failed run must not write files");
    }
    (code, stdout(&output), err)
}

fn files_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Asserts that training on `contents` fails with exit code 2 and a message containing `expected`.
fn refuses(contents: &[u8], expected: &str) {
    let (code, _, err) = train("data.csv", contents, &[]);
    assert_eq!(code, 2, "exit code; stderr:\n{err}");
    assert!(
        err.contains(expected),
        "expected the error to contain\n  {expected}\nbut it was\n  {err}"
    );
}

/// A small valid file: two classes, six rows each.
fn valid_rows() -> String {
    let mut text = String::from("f1,f2,label\n");
    for i in 0..12 {
        text.push_str(&format!(
            "{}.5,{},{}\n",
            i,
            (i * 7) % 5,
            if i % 2 == 0 { "yes" } else { "no" }
        ));
    }
    text
}

/// Twelve rows of `valid_rows()` with the cell of feature `f2` in data row `row` replaced.
fn with_f2(row: usize, value: &str) -> Vec<u8> {
    let text = valid_rows();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    let mut cells: Vec<String> = lines[row + 1].split(',').map(str::to_owned).collect();
    cells[1] = value.to_owned();
    lines[row + 1] = cells.join(",");
    (lines.join("\n") + "\n").into_bytes()
}

#[test]
fn rejects_a_stray_text_cell_in_a_numeric_column_quoting_it_with_its_line() {
    refuses(
        &with_f2(1, "abc"),
        r#"data.csv: column "f2": 11 of its 12 values are numbers but 1 is not: "abc" (line 3); if they mean a missing value, leave the cells empty (or write NA); if the column is categorical, pass --categorical "f2""#,
    );
}

#[test]
fn rejects_a_decimal_comma() {
    let text = valid_rows().replace(',', ";").replacen("0.5;0;", "0.5;12,5;", 1);
    let (code, _, err) = train("data.csv", text.as_bytes(), &["--delimiter", ";"]);
    assert_eq!(code, 2, "{err}");
    assert!(
        err.contains(
            r#"column "f2": 11 of its 12 values are numbers but 1 is not: "12,5" (line 2)"#
        ),
        "{err}"
    );
}

#[test]
fn missing_cells_in_pandas_spellings_are_imputed() {
    for token in ["", "NA", "NaN", "null", "N/A", "#N/A", "<NA>", "None", "nan"] {
        let csv = with_f2(1, token);
        let (code, out, err) = train("data.csv", &csv, &["--json", "-o", "model.onnx"]);
        assert_eq!(code, 0, "{token:?}: {err}");
        let summary: serde_json::Value = serde_json::from_str(&out).unwrap();
        assert_eq!(summary["parameters"]["numeric"], serde_json::json!(["f1", "f2"]), "{token:?}");
        assert_eq!(summary["parameters"]["impute"], "mean", "{token:?}");
        assert_eq!(summary["model"]["verification"]["passed"], true, "{token:?}");
    }
}

#[test]
fn rejects_infinite_and_overflowing_values() {
    refuses(b"f1,f2,label\n1,2,a\n3,-inf,b\n", r#"line 3, column "f2": "-inf" is infinite"#);
    refuses(
        b"f1,f2,label\n1,1e400,a\n3,4,b\n",
        r#"line 2, column "f2": "1e400" is outside the range of a 64-bit float"#,
    );
}

#[test]
fn rejects_rows_with_the_wrong_number_of_fields() {
    refuses(
        b"f1,f2,label\n1,2,a\n3,b\n",
        r#"data.csv: line 3, column "label": the row has 2 fields but the header has 3"#,
    );
    refuses(
        b"f1,f2,label\n1,2,a,x\n",
        r#"data.csv: line 2: the row has 4 fields but the header has 3; field 4 is beyond the last column, "label""#,
    );
}

#[test]
fn rejects_an_empty_file() {
    refuses(b"", "data.csv: the file is empty");
    refuses(b"\n\n", "data.csv: the file is empty");
}

#[test]
fn rejects_a_header_without_rows() {
    refuses(b"f1,f2,label\n", "data.csv: the file has a header row but no data rows");
}

#[test]
fn rejects_duplicate_column_names() {
    refuses(
        b"f1,f1,label\n1,2,a\n",
        r#"data.csv: line 1: the column name "f1" appears more than once (columns 1 and 2)"#,
    );
}

#[test]
fn rejects_an_empty_column_name() {
    refuses(b"f1,,label\n1,2,a\n", "data.csv: line 1: column 2 of the header has an empty name");
    refuses(b"f1,f2,label,\n1,2,a,\n", "column 4 of the header has an empty name");
}

#[test]
fn rejects_an_unknown_target_listing_the_columns() {
    let (code, _, err) = train("data.csv", valid_rows().as_bytes(), &["--target", "species"]);
    assert_eq!(code, 2);
    assert!(
        err.contains(
            r#"data.csv: there is no column named "species"; the columns are "f1", "f2", "label""#
        ),
        "{err}"
    );
}

#[test]
fn rejects_a_single_class() {
    refuses(
        b"f1,label\n1,a\n2,a\n3,a\n",
        r#"data.csv: the target column "label" has only one class ("a")"#,
    );
}

#[test]
fn rejects_a_class_too_small_for_the_stratified_split() {
    refuses(
        b"f1,label\n1,a\n2,a\n3,a\n4,b\n",
        r#"data.csv: line 5, column "label": class "b" has only this row, too few for a stratified split"#,
    );
}

#[test]
fn a_class_of_one_row_trains_without_a_held_out_split() {
    let (code, out, err) =
        train("data.csv", b"f1,label\n1,a\n2,a\n3,a\n4,b\n", &["--test-size", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("all 4 rows train the model"), "{out}");
}

#[test]
fn rejects_invalid_utf8_naming_the_cell() {
    refuses(
        b"f1,label\n1,a\n2,b\xff\n",
        r#"data.csv: line 3, column "label": the text is not valid UTF-8"#,
    );
    refuses(b"f1,lab\xe9l\n1,a\n", "data.csv: line 1: the text is not valid UTF-8");
}

#[test]
fn rejects_utf16() {
    let text: Vec<u8> =
        "\u{feff}f1,label\n1,a\n2,b\n".encode_utf16().flat_map(u16::to_le_bytes).collect();
    refuses(&text, "data.csv: line 1: the text is not valid UTF-8");
}

#[test]
fn rejects_an_empty_label() {
    refuses(b"f1,label\n1,a\n2,\n", r#"data.csv: line 3, column "label": the label is empty"#);
}

#[test]
fn rejects_an_unterminated_quote() {
    refuses(
        b"f1,label\n1,a\n2,\"b\n3,c\n",
        "data.csv: line 3: a quoted field starts here and is never closed",
    );
}

#[test]
fn rejects_invalid_hyperparameters_with_the_flag_name() {
    for (flag, value, expected) in [
        ("--C", "0", "invalid value for --C: 0 is not a positive finite number"),
        ("--C", "-1", "invalid value for --C"),
        ("--tol", "-1e-3", "invalid value for --tol"),
        ("--max-iter", "0", "invalid value for --max-iter: must be at least 1"),
        ("--test-size", "1", "invalid value for --test-size: 1 is not a fraction in [0, 1)"),
        ("--delimiter", ";;", "invalid value for --delimiter"),
    ] {
        let (code, _, err) = train("data.csv", valid_rows().as_bytes(), &[flag, value]);
        assert_eq!(code, 2, "{flag} {value}: {err}");
        assert!(err.contains(expected), "{flag} {value}: {err}");
    }
}

#[test]
fn a_missing_file_is_an_input_error() {
    let dir = common::scratch();
    let output = onnxify_in(dir, &["train", "no-such-file.csv"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("no-such-file.csv: "), "{}", stderr(&output));
}

#[test]
fn accepts_a_bom_crlf_line_ends_and_blank_lines() {
    let text = valid_rows().replace('\n', "\r\n").replacen("\r\n", "\r\n\r\n", 3);
    let bom = [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat();
    let (code, out, err) = train("data.csv", &bom, &["--test-size", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("12 rows, 2 features, target \"label\""), "{out}");
}

#[test]
fn accepts_quoted_fields_with_delimiters_quotes_and_newlines() {
    let text = "\"f,1\",f2,label\n1,2,\"tall, \"\"green\"\"\"\n3,4,\"short\nand round\"\n5,6,\"tall, \"\"green\"\"\"\n7,8,\"short\nand round\"\n";
    let data = read(text.as_bytes(), &CsvOptions::default());
    assert_eq!(data.feature_names, vec!["f,1", "f2"]);
    assert_eq!(
        data.classes,
        Classes::Strings(vec!["short\nand round".into(), "tall, \"green\"".into()])
    );
    assert_eq!(data.rows.targets, vec![1, 0, 1, 0]);
    assert_eq!(data.rows.lines, vec![2, 3, 5, 6]);
}

#[test]
fn picks_the_target_by_name_anywhere_in_the_row() {
    let data = read(
        b"label,f1,f2\n1,0.5,2\n0,1.5,3\n",
        &CsvOptions { target: Some("label".into()), ..Default::default() },
    );
    assert_eq!(data.feature_names, vec!["f1", "f2"]);
    assert_eq!(data.rows.features.row(1).to_vec(), vec![1.5, 3.0]);
    assert_eq!(data.classes, Classes::Ints(vec![0, 1]));
}

#[test]
fn reads_semicolon_and_tab_separated_files() {
    let (code, out, err) = train(
        "data.csv",
        valid_rows().replace(',', ";").as_bytes(),
        &["--delimiter", ";", "--test-size", "0"],
    );
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("12 rows, 2 features"), "{out}");
    let (code, out, err) =
        train("data.tsv", valid_rows().replace(',', "\t").as_bytes(), &["--test-size", "0"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("12 rows, 2 features"), "{out}");
}

#[test]
fn integer_labels_are_ordered_numerically_and_strings_by_code_point() {
    let ints = read(b"f,label\n1,10\n2,9\n3,-1\n", &CsvOptions::default());
    assert_eq!(ints.classes, Classes::Ints(vec![-1, 9, 10]));
    let strings = read(b"f,label\n1,b\n2,B\n3,10\n4,9\n", &CsvOptions::default());
    assert_eq!(
        strings.classes,
        Classes::Strings(vec!["10".into(), "9".into(), "B".into(), "b".into()])
    );
}

/// Files larger than one chunk, with and without quotes, give the same rows as a reference
/// reading line by line, and line numbers count from the file's start.
#[test]
fn large_files_are_read_whole_across_chunk_boundaries() {
    let mut plain = String::from("a,b,label\n");
    let mut quoted = String::from("a,b,label\n");
    let mut expected = Vec::new();
    for i in 0..120_000u32 {
        let (a, b) = (f64::from(i) * 0.25, f64::from(i % 97) - 40.5);
        let label = ["x", "y", "z"][(i % 3) as usize];
        plain.push_str(&format!("{a},{b},{label}\n"));
        quoted.push_str(&format!("\"{a}\",{b},\"{label}\"\n"));
        expected.push((a, b, i % 3));
    }
    for text in [&plain, &quoted] {
        let data = read(text.as_bytes(), &CsvOptions::default());
        assert_eq!(data.rows.len(), expected.len());
        for (r, &(a, b, class)) in expected.iter().enumerate() {
            assert_eq!(data.rows.features.row(r).to_vec(), vec![a, b], "row {r}");
            assert_eq!(data.rows.targets[r], class, "row {r}");
            assert_eq!(data.rows.lines[r], r as u64 + 2, "row {r}");
        }
    }
    let mut bad = plain.clone();
    bad.push_str("1,oops,x\n");
    let path = write_file("big.csv", bad.as_bytes());
    let err = read_csv(&path, &CsvOptions::default(), &Progress::hidden()).unwrap_err();
    assert!(
        err.to_string().ends_with(r#"big.csv: line 120002, column "b": "oops" is not a number"#),
        "{err}"
    );
}

fn read(contents: &[u8], options: &CsvOptions) -> onnxify::data::Dataset {
    let path = write_file("data.csv", contents);
    read_csv(&path, options, &Progress::hidden()).unwrap()
}

#[test]
fn the_convergence_warning_names_the_remedy() {
    let (code, out, err) = train(
        "data.csv",
        valid_rows().as_bytes(),
        &["--max-iter", "1", "--test-size", "0", "--C", "100"],
    );
    assert_eq!(code, 0);
    assert!(
        err.contains("warning: the optimiser did not converge: it reached max_iter = 1 iterations"),
        "{err}"
    );
    assert!(err.contains("raise --max-iter"), "{err}");
    assert!(out.contains("did NOT converge in 1 iterations"), "{out}");
}

#[test]
fn quiet_prints_nothing_and_json_prints_a_parsable_summary() {
    let (code, out, err) =
        train("data.csv", valid_rows().as_bytes(), &["--quiet", "--max-iter", "1"]);
    assert_eq!((code, out.as_str(), err.as_str()), (0, "", ""));
    let (code, out, _) = train("data.csv", valid_rows().as_bytes(), &["--json"]);
    assert_eq!(code, 0);
    let summary: serde_json::Value = serde_json::from_str(&out).expect("stdout is JSON");
    assert_eq!(summary["dataset"]["rows"], 12);
    assert_eq!(summary["split"]["test_rows"], 3);
    assert_eq!(summary["metrics"]["n_rows"], 3);
    assert_eq!(summary["hyperparameters"]["C"], 1.0);
}
