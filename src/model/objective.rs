//! The objective scikit-learn's LogisticRegression minimises, with its gradient:
//!
//! ```text
//! f(W, b) = (1/n) * sum_i loss_i(x_i W^T + b)  +  ||W||^2 / (2 C n)
//! ```
//!
//! Binary models have one weight row and the half-binomial loss; three or more classes have K
//! rows and the multinomial (softmax) loss. The intercept is not penalised.
//!
//! Parameters are one flat vector: the weight rows one after the other, then the intercepts.
//! Rows are processed in fixed blocks whose partial sums are added in block order, so the
//! result does not depend on the number of threads.

use std::cell::RefCell;
use std::sync::Mutex;

use ndarray::{Array2, ArrayView2, s};
use rayon::prelude::*;

/// One-hot columns given by their indices: row i has a 1 in each column `codes[i][j]` of its
/// categorical columns j (none where the code is [`NO_COLUMN`]), after the dense columns.
#[derive(Debug, Clone, Copy)]
pub(crate) struct OneHotColumns<'a> {
    pub(crate) codes: ArrayView2<'a, u32>,
    /// The number of one-hot columns.
    pub(crate) width: usize,
}

/// In [`OneHotColumns::codes`], a cell with no one-hot column (an unknown category).
pub(crate) const NO_COLUMN: u32 = u32::MAX;

/// Rows per block: large enough to amortise the per-block work, small enough (800 KiB at 100
/// columns) to stay in a core's cache between the product that scores the block and the one
/// that takes its gradient.
pub(crate) const BLOCK_ROWS: usize = 1000;

/// The regularised mean loss of a dataset, as a function of the flat parameter vector.
pub(crate) struct Objective<'a> {
    x: ArrayView2<'a, f64>,
    y: &'a [u32],
    /// Number of weight rows: 1 for a binary model, else the number of classes.
    rows: usize,
    c: f64,
    one_hot: Option<OneHotColumns<'a>>,
    /// Per class, the weight of its rows' loss terms (scikit-learn's `class_weight`); `None`
    /// weighs every row 1.
    class_weights: Option<Vec<f64>>,
    /// The sum of the rows' weights, which the loss and the penalty are divided by.
    weight_sum: f64,
    /// The StandardScaler's means and the reciprocals of its scales, when `x` holds the
    /// features as read and each block is scaled as it is used ([`Objective::with_scaling`]).
    scaling: Option<(&'a [f64], Vec<f64>)>,
    /// Each block's loss and gradient sums, kept between evaluations so that an evaluation
    /// allocates nothing the size of the data.
    partials: Mutex<Vec<f64>>,
}

impl<'a> Objective<'a> {
    /// `x` is the scaled design matrix, `y` the class index of each row.
    pub(crate) fn new(
        x: ArrayView2<'a, f64>,
        y: &'a [u32],
        n_classes: usize,
        c: f64,
    ) -> Objective<'a> {
        let rows = if n_classes == 2 { 1 } else { n_classes };
        let weight_sum = weight_sum(y, None);
        Objective {
            x,
            y,
            rows,
            c,
            one_hot: None,
            class_weights: None,
            weight_sum,
            scaling: None,
            partials: Mutex::new(Vec::new()),
        }
    }

    /// Weighs each row's loss term by its class's weight; the loss and the penalty are then
    /// divided by the sum of the rows' weights, as scikit-learn's LogisticRegression does.
    pub(crate) fn with_class_weights(mut self, weights: Vec<f64>) -> Objective<'a> {
        self.weight_sum = weight_sum(self.y, Some(&weights));
        self.class_weights = Some(weights);
        self
    }

    /// Takes `x` as read and scales each block as StandardScaler transforms it when the block is
    /// used: the objective on a scaled copy of `x`, without the copy (a block is scaled into a
    /// buffer of its core's, in cache for the passes over it).
    ///
    /// The block is multiplied by the scales' reciprocals where StandardScaler divides: within
    /// an ulp of its values, far below what moves the optimum the optimiser's tolerance stops
    /// at, while a division per value cost as much as all the rest of an evaluation (33 of 64
    /// ms per evaluation on 1,000,000 x 50, measured).
    pub(crate) fn with_scaling(mut self, mean: &'a [f64], scale: &[f64]) -> Objective<'a> {
        self.scaling = Some((mean, scale.iter().map(|s| 1.0 / s).collect()));
        self
    }

    /// A design of dense columns `x` (row-major) followed by one-hot columns.
    pub(crate) fn with_one_hot(
        x: ArrayView2<'a, f64>,
        one_hot: OneHotColumns<'a>,
        y: &'a [u32],
        n_classes: usize,
        c: f64,
    ) -> Objective<'a> {
        Objective { one_hot: Some(one_hot), ..Objective::new(x, y, n_classes, c) }
    }

    /// Weight rows: 1 for a binary model, else the number of classes.
    pub(crate) fn rows(&self) -> usize {
        self.rows
    }

    /// Columns of the design: the dense ones, then the one-hot ones.
    pub(crate) fn n_columns(&self) -> usize {
        self.x.ncols() + self.one_hot.map_or(0, |o| o.width)
    }

    /// Splits a parameter vector into the weight matrix (rows x features) and the intercepts.
    pub(crate) fn unpack(&self, params: &[f64]) -> (Array2<f64>, Vec<f64>) {
        unpack(params, self.rows, self.n_columns())
    }
}

impl Differentiable for Objective<'_> {
    fn n_params(&self) -> usize {
        self.rows * (self.n_columns() + 1)
    }

    fn evaluate(&self, params: &[f64], grad: &mut [f64]) -> f64 {
        let n = self.x.nrows();
        let (weights, intercepts) = self.unpack(params);
        // One slot per block: its loss, then its gradient sums.
        let stride = 1 + grad.len();
        let mut partials = self.partials.lock().unwrap_or_else(|e| e.into_inner());
        partials.resize(n.div_ceil(BLOCK_ROWS) * stride, 0.0);

        partials.par_chunks_mut(stride).enumerate().for_each(|(b, out)| {
            let rows = b * BLOCK_ROWS..((b + 1) * BLOCK_ROWS).min(n);
            let x = self.x.slice(s![rows.clone(), ..]);
            let Some((mean, reciprocal)) = &self.scaling else {
                return self.block(rows, x, &weights, &intercepts, out);
            };
            SCALED_BLOCK.with_borrow_mut(|buffer| {
                let values =
                    x.as_slice().expect("blocks of a standard-layout matrix are contiguous");
                buffer.resize(values.len(), 0.0);
                scale_block(values, mean, reciprocal, buffer);
                let x = ArrayView2::from_shape(x.dim(), &buffer[..]).expect("one value per cell");
                self.block(rows, x, &weights, &intercepts, out);
            });
        });

        // Added in block order, so that the sums do not depend on the number of threads.
        grad.fill(0.0);
        let mut loss = 0.0;
        for block in partials.chunks_exact(stride) {
            loss += block[0];
            for (g, bg) in grad.iter_mut().zip(&block[1..]) {
                *g += bg;
            }
        }
        regularise(loss, grad, params, self.rows, self.c, self.weight_sum)
    }
}

/// `scaled = (values - mean) * reciprocal`, row by row.
fn scale_block(values: &[f64], mean: &[f64], reciprocal: &[f64], scaled: &mut [f64]) {
    #[cfg(target_arch = "x86_64")]
    if is_x86_feature_detected!("avx2") {
        // SAFETY: the processor has AVX2.
        return unsafe { scale_block_avx2(values, mean, reciprocal, scaled) };
    }
    scale_block_inline(values, mean, reciprocal, scaled);
}

/// [`scale_block`] in four lanes (the same arithmetic: no operation is fused).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn scale_block_avx2(values: &[f64], mean: &[f64], reciprocal: &[f64], scaled: &mut [f64]) {
    scale_block_inline(values, mean, reciprocal, scaled);
}

#[inline(always)]
fn scale_block_inline(values: &[f64], mean: &[f64], reciprocal: &[f64], scaled: &mut [f64]) {
    let columns = mean.len().max(1);
    for (out, row) in scaled.chunks_exact_mut(columns).zip(values.chunks_exact(columns)) {
        for (((z, v), m), r) in out.iter_mut().zip(row).zip(mean).zip(reciprocal) {
            *z = (v - m) * r;
        }
    }
}

thread_local! {
    /// A block scaled for [`Objective::with_scaling`]: one per core, reused by every block.
    static SCALED_BLOCK: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
}

impl Objective<'_> {
    /// One block's loss (into `out[0]`) and gradient sums (into the rest of `out`), for rows
    /// `rows` whose scaled features are `x`.
    fn block(
        &self,
        rows: std::ops::Range<usize>,
        x: ArrayView2<f64>,
        weights: &Array2<f64>,
        intercepts: &[f64],
        out: &mut [f64],
    ) {
        let y = &self.y[rows.clone()];
        let cw = self.class_weights.as_deref();
        let (loss, block_grad) = out.split_first_mut().expect("a slot holds the loss");
        *loss = match self.one_hot {
            Some(one_hot) => {
                let codes = one_hot.codes.slice(s![rows, ..]);
                let (block_loss, sums) = if self.rows == 1 {
                    let w = weights.row(0);
                    let w = w.as_slice().expect("contiguous");
                    coded_binary_block(x, codes, y, w, intercepts[0], cw)
                } else {
                    coded_multinomial_block(x, codes, y, weights, intercepts, cw)
                };
                block_grad.copy_from_slice(&sums);
                block_loss
            }
            None if self.rows == 1 => {
                let w = weights.row(0);
                let w = w.as_slice().expect("contiguous");
                binary_block(x, y, w, intercepts[0], cw, block_grad)
            }
            None => {
                let (block_loss, sums) = multinomial_block(x, y, weights, intercepts, cw);
                block_grad.copy_from_slice(&sums);
                block_loss
            }
        };
    }
}

/// The sum of the rows' weights (their count without class weights): what the loss and the
/// penalty are divided by.
pub(crate) fn weight_sum(y: &[u32], class_weights: Option<&[f64]>) -> f64 {
    match class_weights {
        Some(weights) => y.iter().map(|&label| weights[label as usize]).sum(),
        None => y.len() as f64,
    }
}

/// A smooth function of a flat parameter vector, as the optimiser sees it.
pub(crate) trait Differentiable {
    /// Length of the parameter vector.
    fn n_params(&self) -> usize;

    /// The function at `params`, writing its gradient into `grad`.
    fn evaluate(&self, params: &[f64], grad: &mut [f64]) -> f64;
}

/// Splits a parameter vector into the weight matrix (`rows` x `columns`) and the intercepts.
pub(crate) fn unpack(params: &[f64], rows: usize, columns: usize) -> (Array2<f64>, Vec<f64>) {
    let weights = Array2::from_shape_vec((rows, columns), params[..rows * columns].to_vec())
        .expect("the parameter vector has rows * columns weights");
    (weights, params[rows * columns..].to_vec())
}

/// The objective from the sums over rows of the (weighted) loss and its gradient, which
/// `grad` holds on entry: their mean (over the rows' weights), plus the L2 term on the
/// weights only (the first `rows` x columns parameters, not the intercepts).
pub(crate) fn regularise(
    loss_sum: f64,
    grad: &mut [f64],
    params: &[f64],
    rows: usize,
    c: f64,
    weight_sum: f64,
) -> f64 {
    let n_weights = params.len() - rows;
    let penalty = 1.0 / (c * weight_sum);
    let mut squared_norm = 0.0;
    for (i, g) in grad.iter_mut().enumerate() {
        *g /= weight_sum;
        if i < n_weights {
            *g += penalty * params[i];
            squared_norm += params[i] * params[i];
        }
    }
    loss_sum / weight_sum + 0.5 * penalty * squared_norm
}

/// A row's loss term and derivative times its class's weight, if classes are weighed.
#[inline]
fn weighed(
    (loss, derivative): (f64, f64),
    class_weights: Option<&[f64]>,
    label: u32,
) -> (f64, f64) {
    match class_weights {
        None => (loss, derivative),
        Some(weights) => {
            let weight = weights[label as usize];
            (weight * loss, weight * derivative)
        }
    }
}

/// The binary model's loss sum over one block, its gradient sums (weights, then intercept)
/// written into `grad`: the block's scores, then their residuals, then the residuals times the
/// block's rows, each a pass over at most [`BLOCK_ROWS`] rows that are still in the core's
/// cache from the pass before.
fn binary_block(
    x: ArrayView2<f64>,
    y: &[u32],
    w: &[f64],
    b: f64,
    class_weights: Option<&[f64]>,
    grad: &mut [f64],
) -> f64 {
    let x = x.as_slice().expect("blocks of a standard-layout matrix are contiguous");
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the processor has AVX2 and FMA.
        return unsafe { binary_block_avx2(x, y, w, b, class_weights, grad) };
    }
    binary_block_inline::<false>(x, y, w, b, class_weights, grad)
}

/// [`binary_block`] compiled for four lanes of doubles (the products' arithmetic is the same
/// as without them: only the residuals' polynomials fuse their multiply-adds).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn binary_block_avx2(
    x: &[f64],
    y: &[u32],
    w: &[f64],
    b: f64,
    class_weights: Option<&[f64]>,
    grad: &mut [f64],
) -> f64 {
    binary_block_inline::<true>(x, y, w, b, class_weights, grad)
}

#[inline(always)]
fn binary_block_inline<const FUSED: bool>(
    x: &[f64],
    y: &[u32],
    w: &[f64],
    b: f64,
    class_weights: Option<&[f64]>,
    grad: &mut [f64],
) -> f64 {
    let f = w.len();
    let n = y.len();
    let mut scores = [0.0; BLOCK_ROWS];
    let scores = &mut scores[..n];
    // Four rows at a time: four independent sums hide the additions' latency.
    let grouped = n / 4 * 4;
    for (rows, z) in x[..grouped * f].chunks_exact(4 * f).zip(scores.chunks_exact_mut(4)) {
        let (r0, rest) = rows.split_at(f);
        let (r1, rest) = rest.split_at(f);
        let (r2, r3) = rest.split_at(f);
        z.copy_from_slice(&dot4([r0, r1, r2, r3], w));
    }
    for (row, z) in x[grouped * f..].chunks_exact(f).zip(&mut scores[grouped..]) {
        *z = dot(row, w);
    }
    let loss = binary_residuals_inline::<FUSED>(scores, b, y, class_weights);
    let (weight_grad, intercept_grad) = grad.split_at_mut(f);
    weight_grad.fill(0.0);
    let mut intercept = 0.0;
    for (rows, g) in x[..grouped * f].chunks_exact(4 * f).zip(scores.chunks_exact(4)) {
        let (r0, rest) = rows.split_at(f);
        let (r1, rest) = rest.split_at(f);
        let (r2, r3) = rest.split_at(f);
        for ((((o, a0), a1), a2), a3) in weight_grad.iter_mut().zip(r0).zip(r1).zip(r2).zip(r3) {
            *o += (g[0] * a0 + g[1] * a1) + (g[2] * a2 + g[3] * a3);
        }
        intercept += (g[0] + g[1]) + (g[2] + g[3]);
    }
    for (row, &g) in x[grouped * f..].chunks_exact(f).zip(&scores[grouped..]) {
        axpy(g, row, weight_grad);
        intercept += g;
    }
    intercept_grad[0] = intercept;
    loss
}

/// The dot products of four rows with `w`, each summed as [`dot`] sums it.
#[inline(always)]
fn dot4(rows: [&[f64]; 4], w: &[f64]) -> [f64; 4] {
    let whole = w.len() / 4 * 4;
    let (w4, w_rest) = w.split_at(whole);
    let [(a, a_rest), (b, b_rest), (c, c_rest), (d, d_rest)] = rows.map(|r| r.split_at(whole));
    let mut acc = [[0.0; 4]; 4];
    let lanes = a.chunks_exact(4).zip(b.chunks_exact(4)).zip(c.chunks_exact(4));
    for (((ca, cb), cc), (cd, cw)) in lanes.zip(d.chunks_exact(4).zip(w4.chunks_exact(4))) {
        for l in 0..4 {
            acc[0][l] += ca[l] * cw[l];
            acc[1][l] += cb[l] * cw[l];
            acc[2][l] += cc[l] * cw[l];
            acc[3][l] += cd[l] * cw[l];
        }
    }
    let mut out = [0.0; 4];
    for ((o, acc), rest) in out.iter_mut().zip(&acc).zip([a_rest, b_rest, c_rest, d_rest]) {
        *o = (acc[0] + acc[1]) + (acc[2] + acc[3]);
        for (v, wv) in rest.iter().zip(w_rest) {
            *o += v * wv;
        }
    }
    out
}

/// [`binary_block`] for dense columns followed by one-hot columns; `w` covers both.
fn coded_binary_block(
    x: ArrayView2<f64>,
    codes: ArrayView2<u32>,
    y: &[u32],
    w: &[f64],
    b: f64,
    class_weights: Option<&[f64]>,
) -> (f64, Vec<f64>) {
    let f = w.len();
    let d = x.ncols();
    let mut grad = vec![0.0; f + 1];
    let mut loss = 0.0;
    for ((row, coded), &label) in x.rows().into_iter().zip(codes.rows()).zip(y) {
        let row = row.to_slice().expect("rows of a standard-layout matrix are contiguous");
        let mut z = dot(row, &w[..d]) + b;
        for &c in coded {
            if c != NO_COLUMN {
                z += w[d + c as usize];
            }
        }
        let (l, g) = weighed(binomial_lanes::<false>(z, f64::from(label)), class_weights, label);
        loss += l;
        axpy(g, row, &mut grad[..d]);
        for &c in coded {
            if c != NO_COLUMN {
                grad[d + c as usize] += g;
            }
        }
        grad[f] += g;
    }
    (loss, grad)
}

/// [`multinomial_block`] for dense columns followed by one-hot columns; each row of `w` covers
/// both.
fn coded_multinomial_block(
    x: ArrayView2<f64>,
    codes: ArrayView2<u32>,
    y: &[u32],
    w: &Array2<f64>,
    b: &[f64],
    class_weights: Option<&[f64]>,
) -> (f64, Vec<f64>) {
    let (rows, d) = x.dim();
    let (k, f) = w.dim();
    let x = x.as_slice().expect("blocks of a standard-layout matrix are contiguous");
    let w = w.as_slice().expect("a new matrix is contiguous");
    let mut scores = vec![0.0; rows * k];
    if d > 0 {
        // SAFETY: `scores` is rows x k; `x` is rows x d row-major; the first d columns of the
        // k x f row-major `w`, read transposed, are d x k with strides (1, f).
        unsafe {
            matmul(
                &mut scores,
                (k as isize, 1),
                (rows, k, d),
                x,
                (d as isize, 1),
                w,
                (1, f as isize),
            )
        };
    }
    for (z, coded) in scores.chunks_exact_mut(k).zip(codes.rows()) {
        for &c in coded {
            if c != NO_COLUMN {
                for (class, v) in z.iter_mut().enumerate() {
                    *v += w[class * f + d + c as usize];
                }
            }
        }
    }
    let mut loss = 0.0;
    for (z, &label) in scores.chunks_exact_mut(k).zip(y) {
        let label = label as usize;
        let z_label = z[label] + b[label];
        let (log_sum, max) = softmax_in_place(z, b);
        z[label] -= 1.0;
        match class_weights {
            None => loss += log_sum + max - z_label,
            Some(weights) => {
                let weight = weights[label];
                loss += weight * (log_sum + max - z_label);
                z.iter_mut().for_each(|v| *v *= weight);
            }
        }
    }
    let mut grad = vec![0.0; k * f + k];
    if d > 0 {
        let mut dense = vec![0.0; k * d];
        // SAFETY: `dense` is k x d, `scores` rows x k read transposed, `x` rows x d.
        unsafe {
            matmul(
                &mut dense,
                (d as isize, 1),
                (k, d, rows),
                &scores,
                (1, k as isize),
                x,
                (d as isize, 1),
            )
        };
        for (class, values) in dense.chunks_exact(d).enumerate() {
            grad[class * f..class * f + d].copy_from_slice(values);
        }
    }
    for (z, coded) in scores.chunks_exact(k).zip(codes.rows()) {
        for &c in coded {
            if c != NO_COLUMN {
                for (class, p) in z.iter().enumerate() {
                    grad[class * f + d + c as usize] += p;
                }
            }
        }
        for (g, p) in grad[k * f..].iter_mut().zip(z) {
            *g += p;
        }
    }
    (loss, grad)
}

/// Loss sum and gradient sum (weight rows, then intercepts) of one block for K classes.
fn multinomial_block(
    x: ArrayView2<f64>,
    y: &[u32],
    w: &Array2<f64>,
    b: &[f64],
    class_weights: Option<&[f64]>,
) -> (f64, Vec<f64>) {
    let f = x.ncols();
    let x = x.as_slice().expect("blocks of a standard-layout matrix are contiguous");
    let w = w.as_slice().expect("a new matrix is contiguous");
    let mut scores = class_scores(x, f, w);
    let loss = multinomial_residuals(&mut scores, b, y, class_weights);
    (loss, residual_gradient(&scores, x, f))
}

/// The scores `x w^T` of a block `x` (rows of `p` values) under the weight rows `w` (each of
/// `p` values), class-major: one row of the block's length per weight row.
pub(crate) fn class_scores(x: &[f64], p: usize, w: &[f64]) -> Vec<f64> {
    let (n, m) = (x.len() / p, w.len() / p);
    let mut by_row = vec![0.0; n * m];
    // SAFETY: `by_row` is n x m row-major, `x` n x p row-major and `w` m x p row-major, read
    // transposed.
    unsafe {
        matmul(&mut by_row, (m as isize, 1), (n, m, p), x, (p as isize, 1), w, (1, p as isize))
    };
    class_major(&by_row, m)
}

/// The gradient sums of class-major residuals `r` (one row of the block's length per weight
/// row) over a block `x` (rows of `p` values): `r x` (weight rows), then each row's sum
/// (intercepts).
pub(crate) fn residual_gradient(r: &[f64], x: &[f64], p: usize) -> Vec<f64> {
    let n = x.len() / p;
    let m = r.len() / n;
    let mut grad = vec![0.0; m * p + m];
    // SAFETY: the first m * p entries of `grad` are m x p, `r` m x n and `x` n x p, both
    // row-major.
    unsafe {
        matmul(
            &mut grad[..m * p],
            (p as isize, 1),
            (m, p, n),
            r,
            (n as isize, 1),
            x,
            (p as isize, 1),
        )
    };
    for (g, row) in grad[m * p..].iter_mut().zip(r.chunks_exact(n)) {
        *g = row.iter().sum();
    }
    grad
}

/// Scores laid out one row per data row (n x m) turned class-major (m x n): each class's
/// scores contiguous, so the softmax runs down whole rows of them, four lanes at a time. The
/// product reads a block fastest when it writes row by row; packing the block for a
/// class-major product would cost more than this transposition.
fn class_major(by_row: &[f64], m: usize) -> Vec<f64> {
    let n = by_row.len() / m;
    let mut scores = vec![0.0; m * n];
    // Eight rows at a time, so that each write fills a cache line.
    for first in (0..n).step_by(8) {
        let rows = first..(first + 8).min(n);
        for c in 0..m {
            for i in rows.clone() {
                scores[c * n + i] = by_row[i * m + c];
            }
        }
    }
    scores
}

/// Class-major scores (one row of `y.len()` per class) and intercepts: returns the rows' loss
/// sum and leaves in `scores` each row's softmax minus its one-hot target, times its weight.
pub(crate) fn multinomial_residuals(
    scores: &mut [f64],
    intercepts: &[f64],
    y: &[u32],
    class_weights: Option<&[f64]>,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the processor has AVX2 and FMA.
        return unsafe { multinomial_residuals_avx2(scores, intercepts, y, class_weights) };
    }
    multinomial_residuals_inline::<false>(scores, intercepts, y, class_weights)
}

/// [`multinomial_residuals`] compiled for four lanes of doubles, its exponentials' polynomial
/// in fused multiply-adds: the exponentials are most of its work. The matrix products already
/// use FMA where the processor has it, so results already differ in the last bits between
/// processors with and without it.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn multinomial_residuals_avx2(
    scores: &mut [f64],
    intercepts: &[f64],
    y: &[u32],
    class_weights: Option<&[f64]>,
) -> f64 {
    multinomial_residuals_inline::<true>(scores, intercepts, y, class_weights)
}

#[inline(always)]
fn multinomial_residuals_inline<const FUSED: bool>(
    scores: &mut [f64],
    intercepts: &[f64],
    y: &[u32],
    class_weights: Option<&[f64]>,
) -> f64 {
    let n = y.len();
    let mut max = vec![f64::NEG_INFINITY; n];
    for (class_scores, b) in scores.chunks_exact_mut(n).zip(intercepts) {
        for (z, m) in class_scores.iter_mut().zip(&mut max) {
            *z += b;
            *m = m.max(*z);
        }
    }
    let target: Vec<f64> =
        y.iter().enumerate().map(|(i, &label)| scores[label as usize * n + i]).collect();
    let mut sum = vec![0.0; n];
    for class_scores in scores.chunks_exact_mut(n) {
        for ((z, m), total) in class_scores.iter_mut().zip(&max).zip(&mut sum) {
            *z = exp_polynomial::<FUSED>(*z - m);
            *total += *z;
        }
    }
    for class_scores in scores.chunks_exact_mut(n) {
        class_scores.iter_mut().zip(&sum).for_each(|(z, total)| *z /= total);
    }
    let mut loss = 0.0;
    for (i, &label) in y.iter().enumerate() {
        // log(sum(exp(z))) - z_label, without the rounding of log(p_label).
        let term = sum[i].ln() + max[i] - target[i];
        scores[label as usize * n + i] -= 1.0;
        match class_weights {
            None => loss += term,
            Some(weights) => {
                let weight = weights[label as usize];
                loss += weight * term;
                scores[i..].iter_mut().step_by(n).for_each(|z| *z *= weight);
            }
        }
    }
    loss
}

/// [`multinomial_residuals`] for a binary model's one row of scores: adds the intercept,
/// returns the rows' loss sum and leaves each row's loss derivative in `scores`.
pub(crate) fn binary_residuals(
    scores: &mut [f64],
    intercept: f64,
    y: &[u32],
    class_weights: Option<&[f64]>,
) -> f64 {
    #[cfg(target_arch = "x86_64")]
    if has_avx2_fma() {
        // SAFETY: the processor has AVX2 and FMA.
        return unsafe { binary_residuals_avx2(scores, intercept, y, class_weights) };
    }
    binary_residuals_inline::<false>(scores, intercept, y, class_weights)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2,fma")]
unsafe fn binary_residuals_avx2(
    scores: &mut [f64],
    intercept: f64,
    y: &[u32],
    class_weights: Option<&[f64]>,
) -> f64 {
    binary_residuals_inline::<true>(scores, intercept, y, class_weights)
}

/// The loss terms go to their own array first: summing them in the loop that computes them
/// would chain every row's polynomials to the one before and keep them out of vector lanes.
#[inline(always)]
fn binary_residuals_inline<const FUSED: bool>(
    scores: &mut [f64],
    intercept: f64,
    y: &[u32],
    class_weights: Option<&[f64]>,
) -> f64 {
    let mut loss = 0.0;
    let mut terms = [0.0; BLOCK_ROWS];
    for (scores, y) in scores.chunks_mut(BLOCK_ROWS).zip(y.chunks(BLOCK_ROWS)) {
        let terms = &mut terms[..y.len()];
        for ((z, term), &label) in scores.iter_mut().zip(terms.iter_mut()).zip(y) {
            (*term, *z) = binomial_lanes::<FUSED>(*z + intercept, f64::from(label));
        }
        // A loop of its own: a branch on the weighting in the loop above kept it out of vector
        // lanes (it was half of a binary evaluation's arithmetic).
        if let Some(weights) = class_weights {
            for ((z, term), &label) in scores.iter_mut().zip(terms.iter_mut()).zip(y) {
                (*term, *z) = weighed((*term, *z), Some(weights), label);
            }
        }
        for term in terms.iter() {
            loss += term;
        }
    }
    loss
}

/// [`binomial`] without branches, so that a block's rows share vector lanes: the same
/// function to within a few ulps (the tests hold it to [`binomial`] on a fine grid), from
/// `a = e^-|z|`: the loss `ln(1 + a) + max(z, 0) - y z`, the derivative the sigmoid of `z`
/// (`1/(1 + a)` or `a/(1 + a)`) less `y`, each side written without a cancellation.
#[inline(always)]
fn binomial_lanes<const FUSED: bool>(z: f64, y: f64) -> (f64, f64) {
    let a = exp_polynomial::<FUSED>(-z.abs());
    // scikit-learn's outer branches take e for ln(1 + e), which differ below 2e-16.
    let far = z > 18.0 || z <= -37.0;
    let log_term = if far { a } else { ln_1p_unit::<FUSED>(a) };
    let loss = log_term + (z.max(0.0) - y * z);
    let positive = z >= 0.0;
    let (sigmoid, complement) = if positive { (1.0, a) } else { (a, 1.0) };
    let derivative = if y == 0.0 { sigmoid } else { -complement } / (1.0 + a);
    (loss, derivative)
}

/// `ln(1 + a)` for `0 <= a <= 1` without branches, within a few ulps of `f64::ln_1p`:
/// `u = 1 + a` rounded, with the rounding's own correction `(a - (u - 1)) / u`;
/// `u = 2^k m` with `m` in `[1/sqrt 2, sqrt 2]`, and `ln m = 2 atanh(s)`, `s = (m - 1)/(m + 1)`
/// (`|s| < 0.172`), by its odd series to `s^25` (the first term left out is below 1e-19).
#[inline(always)]
fn ln_1p_unit<const FUSED: bool>(a: f64) -> f64 {
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // 1/25, 1/23, ..., 1/3: Horner's scheme in s^2 from the highest power.
    const ODD: [f64; 12] = [
        1.0 / 25.0,
        1.0 / 23.0,
        1.0 / 21.0,
        1.0 / 19.0,
        1.0 / 17.0,
        1.0 / 15.0,
        1.0 / 13.0,
        1.0 / 11.0,
        1.0 / 9.0,
        1.0 / 7.0,
        1.0 / 5.0,
        1.0 / 3.0,
    ];
    let u = 1.0 + a;
    let correction = (a - (u - 1.0)) / u;
    let halve = u > std::f64::consts::SQRT_2;
    let m = if halve { u * 0.5 } else { u };
    let k = if halve { 1.0 } else { 0.0 };
    let f = m - 1.0;
    let s = f / (2.0 + f);
    let s2 = s * s;
    let mut p = ODD[0];
    for &c in &ODD[1..] {
        p = if FUSED { p.mul_add(s2, c) } else { p * s2 + c };
    }
    // 2 atanh(s) = 2s + 2 s^3 p, and 2s = f - s f (as s (2 + f) = f).
    let ln_m = (f - s * f) + 2.0 * (s * s2 * p);
    k * LN2_HI + (ln_m + (k * LN2_LO + correction))
}

/// `dst (m x n) = lhs (m x depth) * rhs (depth x n)`, each given with its (row, column)
/// strides. The gemm crate beats matrixmultiply by about 1.5x on these thin shapes
/// (2048 x 100 by 100 x 10), where packing dominates.
///
/// # Safety
/// `dst` (of m x n elements), `lhs` and `rhs` must hold every element their shapes and strides
/// address.
unsafe fn matmul(
    dst: &mut [f64],
    (dst_row, dst_col): (isize, isize),
    (m, n, depth): (usize, usize, usize),
    lhs: &[f64],
    (lhs_row, lhs_col): (isize, isize),
    rhs: &[f64],
    (rhs_row, rhs_col): (isize, isize),
) {
    debug_assert_eq!(dst.len(), m * n);
    debug_assert!(lhs.len() >= m * depth && rhs.len() >= depth * n);
    // SAFETY: the caller vouches for the operands.
    unsafe {
        gemm::gemm(
            m,
            n,
            depth,
            dst.as_mut_ptr(),
            dst_col,
            dst_row,
            false,
            lhs.as_ptr(),
            lhs_col,
            lhs_row,
            rhs.as_ptr(),
            rhs_col,
            rhs_row,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// Adds `bias` to the scores `z` and replaces them by their softmax (the maximum subtracted
/// first, so no exponential overflows). Returns `log(sum(exp(z - max)))` and `max`, from which
/// the loss `log(sum(exp(z))) - z_y` follows without the rounding of `ln(p_y)`.
#[inline]
pub(crate) fn softmax_in_place(z: &mut [f64], bias: &[f64]) -> (f64, f64) {
    let mut max = f64::NEG_INFINITY;
    for (v, b) in z.iter_mut().zip(bias) {
        *v += b;
        max = max.max(*v);
    }
    for v in z.iter_mut() {
        *v = exp_nonpositive(*v - max);
    }
    let mut sum = 0.0;
    for v in z.iter() {
        sum += v;
    }
    for v in z.iter_mut() {
        *v /= sum;
    }
    (sum.ln(), max)
}

/// Whether the processor has AVX2 and FMA, for which the hot loops have a build of their own.
#[cfg(target_arch = "x86_64")]
fn has_avx2_fma() -> bool {
    is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma")
}

/// `e^x` for `x <= 0` (softmax's shifted scores), within an ulp of `f64::exp`, written
/// without branches or calls so that the exponentials of a row's scores vectorise: with ten
/// classes they were a quarter of the loss's cost as libm calls.
///
/// `x = k ln 2 + r` with `|r| <= ln 2 / 2`; `e^r` by its Taylor series to degree 13 (the first
/// term left out is below 5e-18 relative); `2^k` built from the exponent bits, in two factors
/// so that results down to the smallest subnormal come out right.
#[inline(always)]
pub(crate) fn exp_nonpositive(x: f64) -> f64 {
    exp_polynomial::<false>(x)
}

/// [`exp_nonpositive`], its polynomial in fused multiply-adds if `FUSED` (each a single
/// instruction where the caller is compiled for FMA, a library call otherwise).
#[inline(always)]
fn exp_polynomial<const FUSED: bool>(x: f64) -> f64 {
    const INV_LN2: f64 = std::f64::consts::LOG2_E;
    // ln 2 in two parts, the first with trailing zero bits so that k * LN2_HI is exact.
    const LN2_HI: f64 = f64::from_bits(0x3fe6_2e42_fee0_0000);
    const LN2_LO: f64 = f64::from_bits(0x3dea_39ef_3579_3c76);
    // Adding 1.5 * 2^52 rounds to an integer and leaves it in the low bits of the sum.
    const ROUND: f64 = 6_755_399_441_055_744.0;
    const ROUND_BITS: u64 = 0x4338_0000_0000_0000;
    let x = x.max(-745.2);
    let k = (x * INV_LN2 + ROUND) - ROUND;
    let r = (x - k * LN2_HI) - k * LN2_LO;
    // 1/13!, 1/12!, ..., 1/2!, 1, 1: Horner's scheme from the highest power.
    const TAYLOR: [f64; 14] = [
        1.0 / 6_227_020_800.0,
        1.0 / 479_001_600.0,
        1.0 / 39_916_800.0,
        1.0 / 3_628_800.0,
        1.0 / 362_880.0,
        1.0 / 40_320.0,
        1.0 / 5_040.0,
        1.0 / 720.0,
        1.0 / 120.0,
        1.0 / 24.0,
        1.0 / 6.0,
        0.5,
        1.0,
        1.0,
    ];
    let mut p = TAYLOR[0];
    for &c in &TAYLOR[1..] {
        p = if FUSED { p.mul_add(r, c) } else { p * r + c };
    }
    // 2^k as 2^(k/2 rounded) * 2^(the rest): each factor a normal number for k >= -1075.
    let half = (k * 0.5 + ROUND) - ROUND;
    let power = |n: f64| {
        let bits = (n + ROUND).to_bits().wrapping_sub(ROUND_BITS).wrapping_add(1023) << 52;
        f64::from_bits(bits)
    };
    p * power(half) * power(k - half)
}

/// Dot product with four independent accumulators, so the compiler can vectorise it.
#[inline]
pub(crate) fn dot(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0; 4];
    let (a4, a_rest) = a.split_at(a.len() / 4 * 4);
    let (b4, b_rest) = b.split_at(a4.len());
    for (ca, cb) in a4.chunks_exact(4).zip(b4.chunks_exact(4)) {
        for l in 0..4 {
            acc[l] += ca[l] * cb[l];
        }
    }
    let mut total = (acc[0] + acc[1]) + (acc[2] + acc[3]);
    for (x, y) in a_rest.iter().zip(b_rest) {
        total += x * y;
    }
    total
}

/// `out += alpha * x`.
#[inline]
fn axpy(alpha: f64, x: &[f64], out: &mut [f64]) {
    for (o, v) in out.iter_mut().zip(x) {
        *o += alpha * v;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    /// Central differences of the objective agree with the analytic gradient.
    fn check_gradient(n_classes: usize) {
        let x = array![
            [0.5, -1.0, 2.0],
            [1.5, 0.2, -0.3],
            [-1.0, 0.7, 0.1],
            [0.3, -0.4, -1.2],
            [2.0, 1.0, 0.0]
        ];
        let y = [0, 1, 2 % n_classes as u32, 1, 0];
        let objective = Objective::new(x.view(), &y, n_classes, 0.7);
        let params: Vec<f64> = (0..objective.n_params()).map(|i| 0.3 * (i as f64).sin()).collect();
        let mut grad = vec![0.0; params.len()];
        objective.evaluate(&params, &mut grad);
        let mut scratch = grad.clone();
        for i in 0..params.len() {
            let h = 1e-6;
            let mut plus = params.clone();
            plus[i] += h;
            let mut minus = params.clone();
            minus[i] -= h;
            let numeric = (objective.evaluate(&plus, &mut scratch)
                - objective.evaluate(&minus, &mut scratch))
                / (2.0 * h);
            assert!(
                (numeric - grad[i]).abs() < 1e-8,
                "param {i}: numeric {numeric} vs analytic {}",
                grad[i]
            );
        }
    }

    /// Central differences of the objective with one-hot columns agree with the analytic
    /// gradient, and the objective equals the one of the same design written out densely.
    fn check_one_hot_gradient(n_classes: usize) {
        let x = array![[0.5, -1.0], [1.5, 0.2], [-1.0, 0.7], [0.3, -0.4], [2.0, 1.0]];
        let codes = array![[0, 3], [1, NO_COLUMN], [2, 4], [0, 3], [NO_COLUMN, 4]];
        let y = [0, 1, 2 % n_classes as u32, 1, 0];
        let one_hot = OneHotColumns { codes: codes.view(), width: 5 };
        let objective = Objective::with_one_hot(x.view(), one_hot, &y, n_classes, 0.7);
        let mut dense = Array2::zeros((5, 7));
        for i in 0..5 {
            dense[[i, 0]] = x[[i, 0]];
            dense[[i, 1]] = x[[i, 1]];
            for &c in codes.row(i) {
                if c != NO_COLUMN {
                    dense[[i, 2 + c as usize]] = 1.0;
                }
            }
        }
        let written_out = Objective::new(dense.view(), &y, n_classes, 0.7);
        let params: Vec<f64> = (0..objective.n_params()).map(|i| 0.3 * (i as f64).sin()).collect();
        let mut grad = vec![0.0; params.len()];
        let mut dense_grad = grad.clone();
        let loss = objective.evaluate(&params, &mut grad);
        let dense_loss = written_out.evaluate(&params, &mut dense_grad);
        assert!((loss - dense_loss).abs() < 1e-14, "{loss} vs {dense_loss}");
        for (a, b) in grad.iter().zip(&dense_grad) {
            assert!((a - b).abs() < 1e-14, "{grad:?} vs {dense_grad:?}");
        }
        let mut scratch = grad.clone();
        for i in 0..params.len() {
            let h = 1e-6;
            let (mut plus, mut minus) = (params.clone(), params.clone());
            plus[i] += h;
            minus[i] -= h;
            let numeric = (objective.evaluate(&plus, &mut scratch)
                - objective.evaluate(&minus, &mut scratch))
                / (2.0 * h);
            assert!((numeric - grad[i]).abs() < 1e-8, "param {i}: {numeric} vs {}", grad[i]);
        }
    }

    /// With class weights, the gradient matches central differences and the loss is the
    /// weighted mean of the row terms: here, rows repeated instead of weighed give the same
    /// objective (weights 2 and 1 against the class-0 rows written twice).
    #[test]
    fn class_weights_weigh_each_row_as_repeating_it_would() {
        for n_classes in [2, 3] {
            let x = array![[0.5, -1.0], [1.5, 0.2], [-1.0, 0.7], [0.3, -0.4], [2.0, 1.0]];
            let y = [0, 1, 2 % n_classes as u32, 1, 0];
            let weights = vec![2.0, 1.0, 1.0][..n_classes].to_vec();
            let weighted = Objective::new(x.view(), &y, n_classes, 0.7).with_class_weights(weights);
            let repeated_rows: Vec<usize> =
                (0..5).flat_map(|i| if y[i] == 0 { vec![i, i] } else { vec![i] }).collect();
            let xr = x.select(ndarray::Axis(0), &repeated_rows);
            let yr: Vec<u32> = repeated_rows.iter().map(|&i| y[i]).collect();
            let repeated = Objective::new(xr.view(), &yr, n_classes, 0.7);
            let params: Vec<f64> =
                (0..weighted.n_params()).map(|i| 0.3 * (i as f64).cos()).collect();
            let (mut g1, mut g2) = (vec![0.0; params.len()], vec![0.0; params.len()]);
            let (l1, l2) =
                (weighted.evaluate(&params, &mut g1), repeated.evaluate(&params, &mut g2));
            assert!((l1 - l2).abs() < 1e-14, "{l1} vs {l2}");
            for (a, b) in g1.iter().zip(&g2) {
                assert!((a - b).abs() < 1e-14, "{g1:?} vs {g2:?}");
            }
        }
    }

    /// An objective that scales each block as it uses it computes what the same objective
    /// computes on a copy scaled beforehand, to the last bits (a reciprocal's rounding).
    #[test]
    fn scaling_blocks_in_the_fit_equals_fitting_a_scaled_copy() {
        let (rows, columns) = (2 * BLOCK_ROWS + 37, 7);
        let raw = Array2::from_shape_fn((rows, columns), |(i, j)| {
            1e6 * j as f64 + ((i * 7919 + j * 104_729) % 1000) as f64 / 37.0
        });
        let mean: Vec<f64> = (0..columns).map(|j| 1e6 * j as f64 + 13.5).collect();
        let scale: Vec<f64> = (0..columns).map(|j| 7.7 + j as f64).collect();
        let mut scaled = raw.clone();
        for mut row in scaled.rows_mut() {
            for ((v, m), s) in row.iter_mut().zip(&mean).zip(&scale) {
                *v = (*v - m) / s;
            }
        }
        for n_classes in [2, 3] {
            let y: Vec<u32> = (0..rows).map(|i| (i * 31 % 7 % n_classes) as u32).collect();
            let in_fit = Objective::new(raw.view(), &y, n_classes, 0.5).with_scaling(&mean, &scale);
            let copied = Objective::new(scaled.view(), &y, n_classes, 0.5);
            let params: Vec<f64> = (0..copied.n_params()).map(|i| 0.1 * (i as f64).sin()).collect();
            let (mut g1, mut g2) = (vec![0.0; params.len()], vec![0.0; params.len()]);
            let (l1, l2) = (in_fit.evaluate(&params, &mut g1), copied.evaluate(&params, &mut g2));
            let close = |a: f64, b: f64| (a - b).abs() <= 1e-13 * a.abs().max(b.abs()).max(1e-3);
            assert!(close(l1, l2), "{n_classes} classes: loss {l1} vs {l2}");
            for (a, b) in g1.iter().zip(&g2) {
                assert!(close(*a, *b), "{n_classes} classes: {g1:?} vs {g2:?}");
            }
        }
    }

    #[test]
    fn the_one_hot_gradients_match_finite_differences_and_the_dense_design() {
        check_one_hot_gradient(2);
        check_one_hot_gradient(3);
    }

    #[test]
    fn the_binary_gradient_matches_finite_differences() {
        check_gradient(2);
    }

    #[test]
    fn the_multinomial_gradient_matches_finite_differences() {
        check_gradient(3);
    }

    /// Half-binomial loss and its derivative in the raw score `z`, for target `y` in {0, 1},
    /// with scikit-learn's branches (which keep both accurate for any `z`), in libm's
    /// functions: what [`binomial_lanes`] must compute.
    #[inline]
    fn binomial(z: f64, y: f64) -> (f64, f64) {
        if z <= -37.0 {
            let e = z.exp();
            (e - y * z, e - y)
        } else if z <= -2.0 {
            let e = z.exp();
            (e.ln_1p() - y * z, ((1.0 - y) * e - y) / (1.0 + e))
        } else if z <= 18.0 {
            let e = (-z).exp();
            (e.ln_1p() + (1.0 - y) * z, ((1.0 - y) - y * e) / (1.0 + e))
        } else {
            let e = (-z).exp();
            (e + (1.0 - y) * z, ((1.0 - y) - y * e) / (1.0 + e))
        }
    }

    #[test]
    fn the_branchless_binomial_is_scikit_learns_to_a_few_ulps() {
        let ulps = |ours: f64, reference: f64| {
            if ours == reference {
                0.0
            } else {
                ((ours - reference) / reference).abs() / f64::EPSILON
            }
        };
        let (mut worst_loss, mut worst_derivative): (f64, f64) = (0.0, 0.0);
        for i in -800_000..800_000 {
            let z = f64::from(i) * 1e-4 + f64::from(i % 7) * 1e-9;
            for y in [0.0, 1.0] {
                let (loss, derivative) = binomial(z, y);
                for lanes in [binomial_lanes::<false>(z, y), binomial_lanes::<true>(z, y)] {
                    worst_loss = worst_loss.max(ulps(lanes.0, loss));
                    worst_derivative = worst_derivative.max(ulps(lanes.1, derivative));
                }
            }
        }
        assert!(worst_loss <= 12.0 && worst_derivative <= 4.0, "{worst_loss} {worst_derivative}");
        for z in [-800.0, -40.0, 40.0, 800.0] {
            for y in [0.0, 1.0] {
                assert_eq!(binomial_lanes::<true>(z, y), binomial(z, y), "z {z}, y {y}");
            }
        }
        let mut worst: f64 = 0.0;
        for i in 1..=1_000_000 {
            let a = f64::from(i) * 1e-6;
            worst = worst.max(ulps(ln_1p_unit::<true>(a), a.ln_1p()));
            worst = worst.max(ulps(ln_1p_unit::<false>(a), a.ln_1p()));
        }
        assert!(worst <= 4.0, "{worst} ulp");
    }

    #[test]
    fn the_binomial_loss_is_accurate_far_into_both_tails() {
        // log(1 + e^z) - y z, evaluated where naive formulas overflow or cancel.
        assert_eq!(binomial(-800.0, 0.0).0, 0.0);
        assert_eq!(binomial(800.0, 1.0).0, 0.0);
        assert!((binomial(40.0, 0.0).0 - 40.0).abs() < 1e-12);
        assert!((binomial(-40.0, 1.0).0 - 40.0).abs() < 1e-12);
        let (loss, grad) = binomial(0.0, 1.0);
        assert!((loss - 2f64.ln()).abs() < 1e-15 && (grad + 0.5).abs() < 1e-15);
    }

    #[test]
    fn the_softmax_exponential_is_within_an_ulp_of_libm() {
        let mut worst: f64 = 0.0;
        for i in 0..2_000_000 {
            let x = -(i as f64) * 3.6e-4 - (i % 7) as f64 * 1e-9;
            let libm = x.exp();
            for ours in [exp_nonpositive(x), exp_polynomial::<true>(x)] {
                if libm > f64::MIN_POSITIVE {
                    worst = worst.max(((ours - libm) / libm).abs() / f64::EPSILON);
                } else {
                    assert!((ours - libm).abs() <= 2.0 * 4.9e-324, "{x}: {ours} against {libm}");
                }
            }
        }
        assert!(worst <= 1.0, "{worst} ulp");
        for exp in [exp_nonpositive, exp_polynomial::<true>] {
            assert_eq!(exp(0.0), 1.0);
            assert_eq!(exp(-1000.0), 0.0);
            assert_eq!(exp(f64::NEG_INFINITY), 0.0);
        }
    }
}
