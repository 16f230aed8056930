//! Fuzzes the pickle reader: any bytes (compressed or not, or a zip archive) are scanned and,
//! if accepted, turned into a pipeline and run on its probe rows; each loader's reading is
//! traced as the differential tests trace it. Nothing may panic, hang or allocate without bound.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onnxify::onnx::Precision;
use onnxify::pickle::archive::{is_zip, scan_archive};
use onnxify::pickle::{loads, scan_bytes};
use onnxify::proof::probes::probe_inputs;

fuzz_target!(|data: &[u8]| {
    if is_zip(data) {
        let _ = scan_archive("fuzz.pt", data).to_string();
        return;
    }
    let _ = loads(data);
    let scan = scan_bytes("fuzz.pkl", data);
    let _ = scan.report.to_string();
    let _ = serde_json::to_string(&scan.report);
    if let Some(model) = scan.model {
        let x = probe_inputs(model.probe_center.view(), model.probe_spread.view(), 4, Precision::Float64);
        let _ = model.pipeline.predict_with_proba(x.view());
    }
});
