//! Fuzzes the CSV reader: any bytes are written to a file and read as training data (the
//! chunking, quoting, number and label rules). Nothing may panic or hang.

#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;

use libfuzzer_sys::fuzz_target;
use onnxify::data::{CsvOptions, read_csv};
use onnxify::progress::Progress;

fn scratch() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let dir = std::env::temp_dir().join(format!("onnxify-fuzz-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir.join("input.csv")
    })
}

fuzz_target!(|data: &[u8]| {
    std::fs::write(scratch(), data).unwrap();
    for delimiter in [b',', b';'] {
        let options = CsvOptions { delimiter, target: None };
        if let Ok(dataset) = read_csv(scratch(), &options, &Progress::hidden()) {
            assert_eq!(dataset.rows.features.nrows(), dataset.rows.targets.len());
            assert!(dataset.rows.features.iter().all(|v| v.is_finite()));
            assert!(dataset.classes.len() >= 2);
        }
    }
});
