//! The folds of a cross-validation on a numeric matrix, fitted side by side.
//!
//! Fitting the folds one after another reads each fold's design matrix once per loss
//! evaluation, and the design of a K-fold split holds every row K - 1 times: on data larger
//! than the cache the evaluations wait on memory. A [`FoldStack`] keeps one matrix instead,
//! scaled once for all folds, and evaluates every fold's loss in one pass over it: each block of
//! rows is multiplied by the weights of all the folds that train on it at once.
//!
//! Each fold still fits its own pipeline. Its StandardScaler is fitted on its training part, and
//! its parameters are the weights on that scaling; an affine map carries them to the common
//! scaling (`x_fold = x_common * ratio + offset` column by column, so the fold's weights `W`,
//! `b` become `W * ratio` and `b + W . offset`) and the gradient back. The fold's objective is
//! the same function of the same parameters; only rounding differs.
//!
//! The folds' optimisers run in threads, one per fold ([`FoldStack::lockstep`]); each loss
//! evaluation is a request to the calling thread, which answers once every fold still fitting
//! has asked, with one pass for them all. Which folds share a pass depends only on how many
//! evaluations each fold's fits take, so results do not depend on timing or thread count.

use std::ops::Range;
use std::sync::mpsc::{Receiver, Sender, channel};

use ndarray::{Array2, ArrayView2, Axis, s};
use rayon::prelude::*;

use super::design::Design;
use super::objective::{
    BLOCK_ROWS, Differentiable, binary_residuals, class_scores, dot, multinomial_residuals,
    regularise, residual_gradient, weight_sum,
};
use super::optimizer::WarmStart;
use super::scaler::{FittedStandardScaler, StandardScaler};

/// The training rows of a K-fold cross-validation, scaled once, with each fold's scaler.
pub struct FoldStack<'a> {
    /// The rows as given, from which each fold's test part is scaled by its own scaler.
    features: ArrayView2<'a, f64>,
    /// The test fold of each row of `features`.
    test_folds: &'a [u32],
    /// The rows scaled by a StandardScaler fitted on them all, grouped by test fold.
    scaled: Array2<f64>,
    /// The class index of each row of `scaled`.
    y: Vec<u32>,
    /// Rows of `scaled` per block, and the fold whose test part they are.
    blocks: Vec<(Range<usize>, u32)>,
    /// Per fold, the StandardScaler fitted on its training part.
    scalers: Vec<FittedStandardScaler>,
    /// Per fold, per column: the fold's scaling of a value from the common one is
    /// `common * ratio + offset`.
    ratio: Vec<Vec<f64>>,
    offset: Vec<Vec<f64>>,
    /// Weight rows of a model: 1 for two classes, else the number of classes.
    rows: usize,
    n_classes: usize,
}

impl<'a> FoldStack<'a> {
    /// `features` are the training rows as read, `y` their class indices and `test_folds` the
    /// test fold of each (every fold from 0 to `n_folds - 1` has rows).
    pub fn new(
        features: ArrayView2<'a, f64>,
        test_folds: &'a [u32],
        n_folds: usize,
        y: &[u32],
        n_classes: usize,
    ) -> FoldStack<'a> {
        let mut order: Vec<usize> = (0..features.nrows()).collect();
        order.sort_by_key(|&row| test_folds[row]);
        let common = StandardScaler::new().fit(features);
        let mut scaled = features.select(Axis(0), &order);
        common.transform_in_place(scaled.view_mut());

        let mut blocks = Vec::new();
        let mut start = 0;
        for fold in 0..n_folds as u32 {
            let end = start + test_folds.iter().filter(|&&f| f == fold).count();
            blocks.extend(
                (start..end).step_by(BLOCK_ROWS).map(|b| (b..(b + BLOCK_ROWS).min(end), fold)),
            );
            start = end;
        }

        let scalers: Vec<FittedStandardScaler> = (0..n_folds as u32)
            .into_par_iter()
            .map(|fold| {
                let train: Vec<usize> =
                    (0..features.nrows()).filter(|&r| test_folds[r] != fold).collect();
                StandardScaler::new().fit_selected(features, &train)
            })
            .collect();
        let ratio = scalers
            .iter()
            .map(|fold| fold.scale().iter().zip(common.scale()).map(|(f, c)| c / f).collect())
            .collect();
        let offset = scalers
            .iter()
            .map(|fold| {
                (fold.mean().iter().zip(common.mean()).zip(fold.scale()))
                    .map(|((fm, cm), fs)| (cm - fm) / fs)
                    .collect()
            })
            .collect();
        FoldStack {
            features,
            test_folds,
            y: order.iter().map(|&row| y[row]).collect(),
            scaled,
            blocks,
            scalers,
            ratio,
            offset,
            rows: if n_classes == 2 { 1 } else { n_classes },
            n_classes,
        }
    }

    /// A start for the fit on all the rows, scaled by a StandardScaler fitted on them all: the
    /// mean of the folds' `solutions` (a fold and where its fit ended), each carried to that
    /// scaling. `None` when there is none.
    pub fn common_start(&self, solutions: &[(u32, &WarmStart)]) -> Option<WarmStart> {
        let (k, p) = (self.rows, self.scaled.ncols());
        let mut params = vec![0.0; k * (p + 1)];
        for &(fold, solution) in solutions {
            let (weights, intercepts) = self.to_common(fold, &solution.params);
            params.iter_mut().zip(weights.iter().chain(&intercepts)).for_each(|(m, v)| *m += v);
        }
        let n = solutions.len() as f64;
        params.iter_mut().for_each(|m| *m /= n);
        let first = solutions.first()?;
        Some(WarmStart { params, scale: first.1.scale })
    }

    /// A fold's weights and intercepts (`params`) carried to the common scaling: `W * ratio`
    /// and `b + W . offset`.
    fn to_common(&self, fold: u32, params: &[f64]) -> (Vec<f64>, Vec<f64>) {
        let (k, p) = (self.rows, self.scaled.ncols());
        let fold = fold as usize;
        let (w, b) = params.split_at(k * p);
        let mut weights = w.to_vec();
        let mut intercepts = b.to_vec();
        for (c, row) in weights.chunks_exact_mut(p).enumerate() {
            intercepts[c] += dot(&w[c * p..(c + 1) * p], &self.offset[fold]);
            row.iter_mut().zip(&self.ratio[fold]).for_each(|(v, r)| *v *= r);
        }
        (weights, intercepts)
    }

    /// The test part of fold `fold`, in row order, scaled by the fold's StandardScaler.
    pub fn test_design(&self, fold: u32) -> Design {
        let test: Vec<usize> =
            (0..self.test_folds.len()).filter(|&r| self.test_folds[r] == fold).collect();
        let scaler = &self.scalers[fold as usize];
        Design::dense(scaler.transform(self.features.select(Axis(0), &test).view()))
    }

    /// Runs `work` for each of `folds` in a thread of its own, given the fold's [`Lane`], and
    /// answers the lanes' loss evaluations here, batched. Returns the results in `folds`' order.
    pub fn lockstep<R, W>(&self, folds: &[u32], work: W) -> Vec<R>
    where
        R: Send,
        W: Fn(&Lane) -> R + Sync,
    {
        let (requests, inbox) = channel();
        let mut answers = Vec::new();
        let lanes: Vec<Lane> = folds
            .iter()
            .enumerate()
            .map(|(index, &fold)| {
                let (answer, replies) = channel();
                answers.push(answer);
                Lane { stack: self, fold, index, requests: requests.clone(), replies }
            })
            .collect();
        drop(requests);
        let work = &work;
        std::thread::scope(|scope| {
            let threads: Vec<_> =
                lanes.into_iter().map(|lane| scope.spawn(move || work(&lane))).collect();
            self.serve(&inbox, &answers);
            threads
                .into_iter()
                .map(|thread| {
                    thread.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    }

    /// Answers the lanes' requests until every lane is done: a batch is evaluated once each
    /// lane still fitting has one request waiting.
    fn serve(&self, inbox: &Receiver<Message>, answers: &[Sender<Sums>]) {
        let mut waiting: Vec<Option<Request>> = answers.iter().map(|_| None).collect();
        let mut live = answers.len();
        while live > 0 {
            match inbox.recv() {
                Ok(Message::Evaluate(request)) => {
                    let lane = request.lane;
                    waiting[lane] = Some(request);
                }
                Ok(Message::Done) => live -= 1,
                Err(_) => break,
            }
            if live > 0 && waiting.iter().flatten().count() == live {
                let batch: Vec<Request> = waiting.iter_mut().filter_map(Option::take).collect();
                for (request, sums) in batch.iter().zip(self.evaluate(&batch)) {
                    // A lane that stopped listening has panicked; its thread reports it.
                    let _ = answers[request.lane].send(sums);
                }
            }
        }
    }

    /// Every request's loss sum and gradient sum over its fold's training rows, in the fold's
    /// own scaling (weights, then intercepts).
    fn evaluate(&self, batch: &[Request]) -> Vec<Sums> {
        let (k, p) = (self.rows, self.scaled.ncols());
        // Each request's weights and intercepts on the common scaling.
        let common: Vec<(Vec<f64>, Vec<f64>)> =
            batch.iter().map(|request| self.to_common(request.fold, &request.params)).collect();
        // Per test fold, every other fold in fold order, with its request's parameters or,
        // where its lane asks nothing in this batch, zeros. Each block's products then have
        // the same shape in every batch, and so each fold's sums the same rounding whichever
        // folds are still fitting: the same fit gives the same numbers, as in scikit-learn.
        let n_folds = self.scalers.len() as u32;
        let groups: Vec<Group> = (0..n_folds)
            .map(|test_fold| {
                let members: Vec<Option<usize>> = (0..n_folds)
                    .filter(|&fold| fold != test_fold)
                    .map(|fold| batch.iter().position(|request| request.fold == fold))
                    .collect();
                let (zeros, no_intercepts) = (vec![0.0; k * p], vec![0.0; k]);
                let parameters = |member: &Option<usize>| match member {
                    Some(i) => (&common[*i].0, &common[*i].1),
                    None => (&zeros, &no_intercepts),
                };
                Group {
                    weights: members.iter().flat_map(|m| parameters(m).0.clone()).collect(),
                    intercepts: members.iter().flat_map(|m| parameters(m).1.clone()).collect(),
                    class_weights: members
                        .iter()
                        .map(|m| m.and_then(|i| batch[i].class_weights.as_deref()))
                        .collect(),
                    members,
                }
            })
            .collect();
        let partials: Vec<Option<BlockSums>> = self
            .blocks
            .par_iter()
            .map(|(rows, test_fold)| {
                let group = &groups[*test_fold as usize];
                group.members.iter().any(Option::is_some).then(|| self.block(rows.clone(), group))
            })
            .collect();

        // Block sums added in block order, whatever the thread count.
        let mut sums: Vec<Sums> = batch.iter().map(|_| (0.0, vec![0.0; k * p + k])).collect();
        for ((_, test_fold), partial) in self.blocks.iter().zip(&partials) {
            let Some(partial) = partial else { continue };
            let group = &groups[*test_fold as usize];
            for (slot, member) in group.members.iter().enumerate() {
                let Some(member) = *member else { continue };
                let (loss, grad) = &mut sums[member];
                *loss += partial.loss[slot];
                // The block's gradient: every member's weight rows, then their intercepts.
                let (weights, intercepts) = partial.gradient.split_at(group.members.len() * k * p);
                let weights = &weights[slot * k * p..(slot + 1) * k * p];
                grad[..k * p].iter_mut().zip(weights).for_each(|(g, v)| *g += v);
                let intercepts = &intercepts[slot * k..(slot + 1) * k];
                grad[k * p..].iter_mut().zip(intercepts).for_each(|(g, v)| *g += v);
            }
        }
        // Back to each fold's scaling: d/dW = d/dW_common * ratio + d/db_common * offset.
        for ((_, grad), request) in sums.iter_mut().zip(batch) {
            let fold = request.fold as usize;
            let (weights, intercepts) = grad.split_at_mut(k * p);
            for (row, &gb) in weights.chunks_exact_mut(p).zip(intercepts.iter()) {
                for ((g, r), o) in row.iter_mut().zip(&self.ratio[fold]).zip(&self.offset[fold]) {
                    *g = *g * r + gb * o;
                }
            }
        }
        sums
    }

    /// The loss sums and gradient sums, on the common scaling, of one block's rows for each
    /// member of `group`.
    fn block(&self, rows: Range<usize>, group: &Group) -> BlockSums {
        let (k, p) = (self.rows, self.scaled.ncols());
        let n = rows.len();
        let x = self.scaled.slice(s![rows.clone(), ..]);
        let x = x.as_slice().expect("blocks of a standard-layout matrix are contiguous");
        let y = &self.y[rows];
        // One row of scores per member and class.
        let mut scores = class_scores(x, p, &group.weights);
        let loss = (scores.chunks_exact_mut(k * n))
            .zip(group.intercepts.chunks_exact(k))
            .zip(&group.class_weights)
            .map(|((member_scores, intercepts), &class_weights)| {
                if k == 1 {
                    binary_residuals(member_scores, intercepts[0], y, class_weights)
                } else {
                    multinomial_residuals(member_scores, intercepts, y, class_weights)
                }
            })
            .collect();
        BlockSums { loss, gradient: residual_gradient(&scores, x, p) }
    }
}

/// A loss sum and its gradient sum: weight rows, then intercepts.
type Sums = (f64, Vec<f64>);

/// The requests whose folds train on one test fold's rows, their parameters stacked.
struct Group<'r> {
    /// Per fold but the test fold, its request's index in the batch, if it made one.
    members: Vec<Option<usize>>,
    /// The members' weight rows on the common scaling, one after the other.
    weights: Vec<f64>,
    intercepts: Vec<f64>,
    class_weights: Vec<Option<&'r [f64]>>,
}

/// One block's sums for each member of a group: losses, and the gradient (every member's
/// weight rows, then every member's intercepts).
struct BlockSums {
    loss: Vec<f64>,
    gradient: Vec<f64>,
}

struct Request {
    lane: usize,
    fold: u32,
    params: Vec<f64>,
    class_weights: Option<Vec<f64>>,
}

enum Message {
    Evaluate(Request),
    /// A lane's work has ended (returned or panicked).
    Done,
}

/// One fold's connection to a [`FoldStack::lockstep`] run.
pub struct Lane<'s, 'a> {
    stack: &'s FoldStack<'a>,
    fold: u32,
    index: usize,
    requests: Sender<Message>,
    replies: Receiver<Sums>,
}

impl<'s, 'a> Lane<'s, 'a> {
    pub fn fold(&self) -> u32 {
        self.fold
    }

    /// The shape of a model's weight matrix: (weight rows, features).
    pub(crate) fn shape(&self) -> (usize, usize) {
        (self.stack.rows, self.stack.scaled.ncols())
    }

    /// The fold's regularised objective at `c`, its training rows (whose class indices are
    /// `y`, in order) weighed per class by `class_weights`.
    pub(crate) fn objective(
        &self,
        c: f64,
        class_weights: Option<Vec<f64>>,
        y: &[u32],
    ) -> FoldObjective<'_, 's, 'a> {
        let weight_sum = weight_sum(y, class_weights.as_deref());
        FoldObjective { lane: self, c, class_weights, weight_sum }
    }

    pub(crate) fn n_classes(&self) -> usize {
        self.stack.n_classes
    }
}

impl Drop for Lane<'_, '_> {
    fn drop(&mut self) {
        // The server is still listening: it stops only once every lane is done.
        let _ = self.requests.send(Message::Done);
    }
}

/// A fold's objective, evaluated by the lockstep server.
pub(crate) struct FoldObjective<'l, 's, 'a> {
    lane: &'l Lane<'s, 'a>,
    c: f64,
    class_weights: Option<Vec<f64>>,
    weight_sum: f64,
}

impl Differentiable for FoldObjective<'_, '_, '_> {
    fn n_params(&self) -> usize {
        let (rows, columns) = self.lane.shape();
        rows * (columns + 1)
    }

    fn evaluate(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let request = Request {
            lane: self.lane.index,
            fold: self.lane.fold,
            params: params.to_vec(),
            class_weights: self.class_weights.clone(),
        };
        self.lane.requests.send(Message::Evaluate(request)).expect("the server outlives its lanes");
        let (loss, sums) = self.lane.replies.recv().expect("the server answers every request");
        grad.copy_from_slice(&sums);
        regularise(loss, grad, params, self.lane.stack.rows, self.c, self.weight_sum)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::objective::Objective;

    const FOLDS: u32 = 3;

    /// Rows on mixed scales and offsets, labels from a noisy rule, and test folds.
    fn data(n_classes: usize) -> (Array2<f64>, Vec<u32>, Vec<u32>) {
        data_of(700, 5, n_classes, FOLDS)
    }

    fn data_of(
        n: usize,
        p: usize,
        n_classes: usize,
        n_folds: u32,
    ) -> (Array2<f64>, Vec<u32>, Vec<u32>) {
        let x = Array2::from_shape_fn((n, p), |(i, j)| {
            let wave = ((i * (j + 3)) as f64 * 0.37).sin() + 0.3 * ((i * i + j) as f64).cos();
            wave * 10f64.powi(j as i32 - 2) + 1000.0 * j as f64
        });
        let y = (0..n)
            .map(|i| ((x[[i, 0]] * 7.0 + x[[i, 2]] * 0.02).abs() as usize % n_classes) as u32)
            .collect();
        let folds = (0..n).map(|i| (i * 7 % n_folds as usize) as u32).collect();
        (x, y, folds)
    }

    /// Each fold's objective through a lockstep run, at `evaluations[fold]` parameter vectors,
    /// against the same objective on the fold's training rows scaled by their own scaler.
    fn check(n_classes: usize, balanced: bool, evaluations: [usize; FOLDS as usize]) {
        let (x, y, test_folds) = data(n_classes);
        let stack = FoldStack::new(x.view(), &test_folds, FOLDS as usize, &y, n_classes);
        let train_rows =
            |fold: u32| -> Vec<usize> { (0..y.len()).filter(|&r| test_folds[r] != fold).collect() };
        let weights = |train_y: &[u32]| {
            balanced
                .then(|| (0..n_classes).map(|c| 1.0 + c as f64 * 0.5).collect::<Vec<f64>>())
                .filter(|_| !train_y.is_empty())
        };
        let params = |fold: u32, evaluation: usize, len: usize| -> Vec<f64> {
            (0..len).map(|i| ((i + 3 * evaluation) as f64 * 0.7 + fold as f64).sin()).collect()
        };
        let folds: Vec<u32> = (0..FOLDS).collect();
        let through_stack = stack.lockstep(&folds, |lane| {
            let train_y: Vec<u32> = train_rows(lane.fold()).iter().map(|&r| y[r]).collect();
            let objective = lane.objective(0.3, weights(&train_y), &train_y);
            (0..evaluations[lane.fold() as usize])
                .map(|e| {
                    let mut grad = vec![0.0; objective.n_params()];
                    let loss = objective.evaluate(&params(lane.fold(), e, grad.len()), &mut grad);
                    (loss, grad)
                })
                .collect::<Vec<_>>()
        });
        for (fold, results) in folds.iter().zip(&through_stack) {
            assert_eq!(results.len(), evaluations[*fold as usize]);
            let train = train_rows(*fold);
            let train_y: Vec<u32> = train.iter().map(|&r| y[r]).collect();
            let mut design = x.select(Axis(0), &train);
            StandardScaler::new().fit(design.view()).transform_in_place(design.view_mut());
            let mut objective = Objective::new(design.view(), &train_y, n_classes, 0.3);
            if let Some(weights) = weights(&train_y) {
                objective = objective.with_class_weights(weights);
            }
            for (e, (loss, grad)) in results.iter().enumerate() {
                let mut expected = vec![0.0; grad.len()];
                let expected_loss =
                    objective.evaluate(&params(*fold, e, grad.len()), &mut expected);
                assert!((loss - expected_loss).abs() <= 1e-12 * expected_loss.abs(), "fold {fold}");
                for (g, want) in grad.iter().zip(&expected) {
                    assert!((g - want).abs() <= 1e-11, "fold {fold}: {g} against {want}");
                }
            }
        }
    }

    #[test]
    fn a_folds_sums_do_not_depend_on_which_folds_share_the_pass() {
        for (n, p, n_classes, n_folds) in
            [(150, 4, 3, 5), (700, 5, 3, 3), (900, 30, 10, 5), (300, 7, 2, 4)]
        {
            let (x, y, test_folds) = data_of(n, p, n_classes, n_folds);
            let stack = FoldStack::new(x.view(), &test_folds, n_folds as usize, &y, n_classes);
            let folds: Vec<u32> = (0..n_folds).collect();
            // Fold 0 asks for the same points again and again, while the other folds stop one
            // after another: fold f asks n_folds - f times.
            let runs = stack.lockstep(&folds, |lane| {
                let train_y: Vec<u32> =
                    (0..y.len()).filter(|&r| test_folds[r] != lane.fold()).map(|r| y[r]).collect();
                let objective = lane.objective(1.0, None, &train_y);
                let mut grad = vec![0.0; objective.n_params()];
                (0..n_folds - lane.fold())
                    .map(|e| {
                        let params: Vec<f64> = (0..grad.len())
                            .map(|i| ((i as u32 + e % 2) as f64 * 0.37).cos() * 3.0)
                            .collect();
                        (objective.evaluate(&params, &mut grad), grad.clone())
                    })
                    .collect::<Vec<_>>()
            });
            for e in 2..n_folds as usize {
                assert_eq!(
                    runs[0][e],
                    runs[0][e % 2],
                    "{n} x {p}, {n_classes} classes, {n_folds} folds: evaluation {e}"
                );
            }
        }
    }

    #[test]
    fn a_start_carried_to_the_common_scaling_scores_rows_as_the_fold_did() {
        let n_classes = 3;
        let (x, y, test_folds) = data(n_classes);
        let stack = FoldStack::new(x.view(), &test_folds, FOLDS as usize, &y, n_classes);
        let (k, p) = (n_classes, x.ncols());
        let params: Vec<f64> = (0..k * (p + 1)).map(|i| (i as f64 * 0.9).sin()).collect();
        let fold = 1;
        let warm = WarmStart { params: params.clone(), scale: Some(0.5) };
        let start = stack.common_start(&[(fold, &warm)]).expect("one solution");
        assert_eq!(start.scale, Some(0.5));
        let train: Vec<usize> = (0..y.len()).filter(|&r| test_folds[r] != fold).collect();
        let mut fold_scaled = x.clone();
        StandardScaler::new()
            .fit_selected(x.view(), &train)
            .transform_in_place(fold_scaled.view_mut());
        let mut common_scaled = x.clone();
        StandardScaler::new().fit(x.view()).transform_in_place(common_scaled.view_mut());
        for ((fold_row, common_row), r) in
            fold_scaled.rows().into_iter().zip(common_scaled.rows()).zip(0..)
        {
            for c in 0..k {
                let score = |params: &[f64], row: ndarray::ArrayView1<f64>| {
                    params[k * p + c] + (0..p).map(|j| params[c * p + j] * row[j]).sum::<f64>()
                };
                let (ours, fold_score) =
                    (score(&start.params, common_row), score(&params, fold_row));
                assert!(
                    (ours - fold_score).abs() <= 1e-9 * fold_score.abs().max(1.0),
                    "row {r}, class {c}"
                );
            }
        }
        assert_eq!(stack.common_start(&[]), None);
    }

    #[test]
    fn each_fold_evaluates_as_its_own_scaled_rows_would() {
        check(4, false, [2, 2, 2]);
        check(2, false, [2, 2, 2]);
    }

    #[test]
    fn class_weights_and_folds_that_stop_early_are_served() {
        check(3, true, [1, 4, 2]);
        check(2, true, [3, 0, 1]);
    }
}
