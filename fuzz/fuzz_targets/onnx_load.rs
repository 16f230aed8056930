//! Fuzzes the ONNX loader: any bytes are decoded and checked against the allow-list; a file
//! that passes is loaded in tract and run on two rows. Nothing may panic or hang.

#![no_main]

use libfuzzer_sys::fuzz_target;
use onnxify::onnx::load;
use onnxify::progress::Progress;
use onnxify::proof::runtime::TractModel;

fuzz_target!(|data: &[u8]| {
    let Ok(file) = load::decode("fuzz.onnx", data.to_vec()) else { return };
    let _ = file.describe();
    let _ = file.audit();
    let Ok(checked) = file.check() else { return };
    let Ok(model) = TractModel::load(&checked, "fuzz.onnx") else { return };
    let x = ndarray::Array2::<f64>::from_elem((2, checked.info.n_features), 0.5);
    let _ = model.predict(x.view(), &checked.info.classes, &Progress::hidden().rows("", 0));
});
