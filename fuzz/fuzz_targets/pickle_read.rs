//! Fuzzes the pickle reader: any bytes (compressed or not) are scanned and, if accepted, turned
//! into a pipeline and run on its probe rows. Nothing may panic, hang or allocate without bound.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onnxify::onnx::Precision;
use onnxify::pickle::scan_bytes;
use onnxify::probe::probe_inputs;

fuzz_target!(|data: &[u8]| {
    let scan = scan_bytes("fuzz.pkl", data);
    let _ = scan.report.to_string();
    let _ = serde_json::to_string(&scan.report);
    if let Some(model) = scan.model {
        let x = probe_inputs(model.probe_center.view(), model.probe_spread.view(), 4, Precision::Float64);
        let _ = model.pipeline.predict_with_proba(x.view());
    }
});
