//! `verify --data`: the model's predictions on a labelled CSV, scored with the held-out metrics.

use ndarray::Array2;

use super::{DataScore, LabelledData};
use crate::data::Classes;
use crate::data::columns::{Features, plan_columns};
use crate::data::records;
use crate::error::{Error, Location, Result};
use crate::metrics;
use crate::onnx::CheckedModel;
use crate::progress::Progress;
use crate::proof::runtime::TractModel;

/// Predicts the labelled CSV and scores it.
pub(super) fn score(
    data: &LabelledData,
    checked: &CheckedModel,
    model: &TractModel,
    progress: &Progress,
) -> Result<DataScore> {
    let info = &checked.info;
    let csv = records::open(&data.path, data.delimiter)?;
    let target = match data.target.as_deref().or(info.metadata("target")) {
        Some(name) if csv.columns.iter().any(|c| c == name) => name.to_owned(),
        Some(name) if data.target.is_some() => name.to_owned(),
        _ => csv.columns.last().cloned().unwrap_or_default(),
    };
    let names = info.column_names();
    let features = Features { names: names.as_deref(), count: info.n_features };
    let plan = plan_columns(features, &csv.name, &csv.columns, None, Some(&target))?;
    let file = csv.name.clone();
    let (mut truth, mut predicted, mut proba) = (Vec::new(), Vec::new(), Vec::new());
    let step = progress.bytes("scoring", csv.n_bytes);
    csv.parse_rows(
        &plan.roles,
        &step,
        |chunk| {
            let rows = chunk.lines.len();
            let x = ndarray::ArrayView2::from_shape((rows, info.n_features), &chunk.values)
                .expect("every row has one value per feature");
            let (labels, p) = model.predict(x, &info.classes, &Progress::hidden().rows("", 0))?;
            let classes: Vec<Option<u32>> =
                chunk.distinct.iter().map(|l| class_of(&info.classes, l)).collect();
            let mut row_truth = Vec::with_capacity(rows);
            for (r, &label) in chunk.labels.iter().enumerate() {
                let class = classes[label as usize].ok_or_else(|| Error::UnknownClass {
                    at: Location::cell(&file, chunk.lines[r], &target),
                    label: String::from_utf8_lossy(&chunk.distinct[label as usize]).into_owned(),
                    classes: info.classes.to_string(),
                })?;
                row_truth.push(class);
            }
            Ok((row_truth, labels, p))
        },
        |(t, l, p)| {
            truth.extend(t);
            predicted.extend(l.into_iter().map(|c| c.unwrap_or(0)));
            proba.extend(p.rows().into_iter().map(|r| r.to_vec()));
            Ok(())
        },
    )?;
    step.finish();
    if truth.is_empty() {
        return Err(Error::NoRows { file });
    }
    let k = info.classes.len();
    let proba = Array2::from_shape_vec((truth.len(), k), proba.into_iter().flatten().collect())
        .expect("one row per label");
    Ok(DataScore {
        file,
        metrics: metrics::evaluate(&truth, &predicted, proba.view(), &info.classes),
    })
}

/// The class a label text names, by the rules training used (see [`Classes::index_of`]).
fn class_of(classes: &Classes, label: &[u8]) -> Option<u32> {
    let text = std::str::from_utf8(label).ok()?;
    classes.index_of(text).map(|i| i as u32)
}
