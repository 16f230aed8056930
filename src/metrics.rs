//! Held-out metrics, with scikit-learn's definitions: accuracy, log loss, per-class precision,
//! recall, F1 and support, macro F1, the confusion matrix and, for two classes, ROC AUC; and
//! the scorers model selection ranks candidates by ([`Scoring`]).

use ndarray::ArrayView2;
use serde::{Deserialize, Serialize};

use crate::data::Classes;

/// Metrics of predictions against true classes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub n_rows: usize,
    pub accuracy: f64,
    /// Mean negative log-probability of the true class, probabilities clipped to
    /// [eps, 1 - eps] (f64 eps) as scikit-learn's `log_loss` does.
    pub log_loss: f64,
    pub macro_f1: f64,
    /// Area under the ROC curve of the second class's probability (two classes only).
    pub roc_auc: Option<f64>,
    pub per_class: Vec<ClassMetrics>,
    /// `confusion_matrix[true][predicted]`, in class order.
    pub confusion_matrix: Vec<Vec<u64>>,
}

/// Metrics of one class against the rest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClassMetrics {
    pub class: String,
    /// `tp / (tp + fp)`, 0 when the class is never predicted (scikit-learn's zero_division).
    pub precision: f64,
    /// `tp / (tp + fn)`, 0 for a class absent from the rows.
    pub recall: f64,
    /// `2 tp / (2 tp + fp + fn)`, 0 when that is 0 / 0.
    pub f1: f64,
    pub support: u64,
}

/// Scores `predicted` classes and `proba` (rows x classes) against `truth`.
pub fn evaluate(
    truth: &[u32],
    predicted: &[u32],
    proba: ArrayView2<f64>,
    classes: &Classes,
) -> Metrics {
    let k = classes.len();
    let n = truth.len();
    let confusion = confusion_matrix(truth, predicted, k);
    let correct: u64 = (0..k).map(|c| confusion[c][c]).sum();

    let per_class: Vec<ClassMetrics> = (0..k)
        .map(|c| {
            let tp = confusion[c][c] as f64;
            let support: u64 = confusion[c].iter().sum();
            let predicted_c: u64 = confusion.iter().map(|row| row[c]).sum();
            let false_pos = predicted_c as f64 - tp;
            let false_neg = support as f64 - tp;
            ClassMetrics {
                class: classes.name(c),
                precision: ratio(tp, tp + false_pos),
                recall: ratio(tp, tp + false_neg),
                f1: ratio(2.0 * tp, 2.0 * tp + false_pos + false_neg),
                support,
            }
        })
        .collect();

    let eps = f64::EPSILON;
    let log_loss = truth
        .iter()
        .zip(proba.rows())
        .map(|(&t, p)| -p[t as usize].clamp(eps, 1.0 - eps).ln())
        .sum::<f64>()
        / n as f64;

    let roc_auc = (k == 2).then(|| {
        let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
        roc_auc(&proba.column(1).to_vec(), &positive)
    });

    Metrics {
        n_rows: n,
        accuracy: correct as f64 / n as f64,
        log_loss,
        macro_f1: per_class.iter().map(|m| m.f1).sum::<f64>() / k as f64,
        roc_auc: roc_auc.flatten(),
        per_class,
        confusion_matrix: confusion,
    }
}

/// A scorer, named and signed as scikit-learn's: higher is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scoring {
    /// Fraction of rows predicted right (what `GridSearchCV` uses when given no scoring).
    #[default]
    Accuracy,
    /// Mean recall over the classes present.
    BalancedAccuracy,
    /// Minus the log loss of the probabilities.
    NegLogLoss,
    /// Area under the ROC curve of the decision function (two classes only).
    RocAuc,
    /// Unweighted mean of the classes' F1 scores.
    F1Macro,
}

impl Scoring {
    /// scikit-learn's name of the scorer.
    pub fn name(self) -> &'static str {
        match self {
            Scoring::Accuracy => "accuracy",
            Scoring::BalancedAccuracy => "balanced_accuracy",
            Scoring::NegLogLoss => "neg_log_loss",
            Scoring::RocAuc => "roc_auc",
            Scoring::F1Macro => "f1_macro",
        }
    }

    /// Whether the scorer is defined for `n_classes` classes.
    pub fn supports(self, n_classes: usize) -> bool {
        self != Scoring::RocAuc || n_classes == 2
    }

    /// The score of `predicted` classes, class probabilities `proba` and raw scores `decision`
    /// (one column for two classes) against `truth`, for `n_classes` classes. NaN where the
    /// score is undefined (ROC AUC of rows of one class).
    pub fn score(
        self,
        truth: &[u32],
        predicted: &[u32],
        proba: ArrayView2<f64>,
        decision: ArrayView2<f64>,
        n_classes: usize,
    ) -> f64 {
        let n = truth.len() as f64;
        match self {
            Scoring::Accuracy => {
                truth.iter().zip(predicted).filter(|(t, p)| t == p).count() as f64 / n
            }
            Scoring::NegLogLoss => {
                let eps = f64::EPSILON;
                let terms: Vec<f64> = truth
                    .iter()
                    .zip(proba.rows())
                    .map(|(&t, p)| -p[t as usize].clamp(eps, 1.0 - eps).ln())
                    .collect();
                -numpy_sum(&terms) / n
            }
            Scoring::RocAuc => {
                let positive: Vec<bool> = truth.iter().map(|&t| t == 1).collect();
                roc_auc(&decision.column(0).to_vec(), &positive).unwrap_or(f64::NAN)
            }
            Scoring::BalancedAccuracy | Scoring::F1Macro => {
                let confusion = confusion_matrix(truth, predicted, n_classes);
                let per_class: Vec<f64> = if self == Scoring::BalancedAccuracy {
                    // Recall of each class present in `truth` (scikit-learn leaves the others out).
                    (0..n_classes)
                        .filter_map(|c| {
                            let support: u64 = confusion[c].iter().sum();
                            (support > 0).then(|| confusion[c][c] as f64 / support as f64)
                        })
                        .collect()
                } else {
                    // F1 of each class present in `truth` or in `predicted` (scikit-learn's
                    // labels), 0 where it is 0 / 0.
                    (0..n_classes)
                        .filter_map(|c| {
                            let tp = confusion[c][c] as f64;
                            let support: u64 = confusion[c].iter().sum();
                            let predicted_c: u64 = confusion.iter().map(|row| row[c]).sum();
                            (support + predicted_c > 0)
                                .then(|| ratio(2.0 * tp, support as f64 + predicted_c as f64))
                        })
                        .collect()
                };
                numpy_sum(&per_class) / per_class.len() as f64
            }
        }
    }
}

/// The sum of `values` as numpy's `add.reduce` computes it (pairwise, eight partial sums in a
/// block of up to 128), so that means computed here tie exactly where scikit-learn's tie.
pub fn numpy_sum(values: &[f64]) -> f64 {
    0.0 + pairwise_sum(values)
}

fn pairwise_sum(a: &[f64]) -> f64 {
    let n = a.len();
    if n < 8 {
        a.iter().fold(0.0, |sum, &x| sum + x)
    } else if n <= 128 {
        let mut r = [0.0; 8];
        r.copy_from_slice(&a[..8]);
        let whole = n - n % 8;
        for block in a[8..whole].chunks_exact(8) {
            for (partial, &x) in r.iter_mut().zip(block) {
                *partial += x;
            }
        }
        let mut sum = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
        for &x in &a[whole..] {
            sum += x;
        }
        sum
    } else {
        let half = n / 2;
        let half = half - half % 8;
        pairwise_sum(&a[..half]) + pairwise_sum(&a[half..])
    }
}

/// `confusion[true][predicted]` counts over `k` classes.
fn confusion_matrix(truth: &[u32], predicted: &[u32], k: usize) -> Vec<Vec<u64>> {
    let mut confusion = vec![vec![0u64; k]; k];
    for (&t, &p) in truth.iter().zip(predicted) {
        confusion[t as usize][p as usize] += 1;
    }
    confusion
}

fn ratio(numerator: f64, denominator: f64) -> f64 {
    if denominator == 0.0 { 0.0 } else { numerator / denominator }
}

/// ROC AUC as the Mann-Whitney statistic with tied scores sharing their average rank, which
/// equals the trapezoidal area under the ROC curve. `None` unless both kinds of rows occur.
fn roc_auc(scores: &[f64], positive: &[bool]) -> Option<f64> {
    let n_pos = positive.iter().filter(|&&p| p).count() as f64;
    let n_neg = positive.len() as f64 - n_pos;
    if n_pos == 0.0 || n_neg == 0.0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut positive_rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start..end (0-based) share the average 1-based rank.
        let average_rank = (start + end + 1) as f64 / 2.0;
        let positives = order[start..end].iter().filter(|&&i| positive[i]).count() as f64;
        positive_rank_sum += positives * average_rank;
        start = end;
    }
    Some((positive_rank_sum - n_pos * (n_pos + 1.0) / 2.0) / (n_pos * n_neg))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roc_auc_counts_ties_as_half() {
        assert_eq!(roc_auc(&[0.1, 0.4, 0.35, 0.8], &[false, false, true, true]), Some(0.75));
        assert_eq!(roc_auc(&[0.5, 0.5], &[false, true]), Some(0.5));
        assert_eq!(roc_auc(&[0.5, 0.7], &[true, true]), None);
    }

    #[test]
    fn a_class_never_predicted_has_zero_precision() {
        let classes = Classes::Ints(vec![0, 1]);
        let proba = ndarray::array![[0.9, 0.1], [0.8, 0.2], [0.6, 0.4]];
        let m = evaluate(&[0, 1, 0], &[0, 0, 0], proba.view(), &classes);
        assert_eq!(m.per_class[1].precision, 0.0);
        assert_eq!(m.per_class[0].precision, 2.0 / 3.0);
        assert_eq!(m.confusion_matrix, vec![vec![2, 0], vec![1, 0]]);
        assert_eq!(m.accuracy, 2.0 / 3.0);
    }
}
