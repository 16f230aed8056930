//! StandardScaler with scikit-learn's semantics: population variance (ddof 0) by the corrected
//! two-pass formula, scale 1 for (near-)constant features, and `(x - mean) / scale` with a true
//! division, so that scaled values match scikit-learn's bit for bit on row-ordered input.

use ndarray::{Array1, ArrayView1, ArrayView2, ArrayViewMut2};

/// Settings of a StandardScaler (scikit-learn's defaults: centre and scale every feature).
#[derive(Debug, Clone, Default)]
pub struct StandardScaler {}

impl StandardScaler {
    pub fn new() -> StandardScaler {
        StandardScaler {}
    }

    /// Learns each column's mean and scale. Sums run row by row in f64, the order scikit-learn
    /// uses for a row-major array.
    pub fn fit(&self, x: ArrayView2<f64>) -> FittedStandardScaler {
        fit_rows(x.dim(), |visit| for_each_row(x, visit))
    }

    /// [`fit`](Self::fit) on rows `rows` of `x`, in that order, without copying them out.
    pub fn fit_selected(&self, x: ArrayView2<f64>, rows: &[usize]) -> FittedStandardScaler {
        fit_rows((rows.len(), x.ncols()), |visit| {
            for &r in rows {
                match x.row(r).as_slice() {
                    Some(row) => visit(row),
                    None => visit(&x.row(r).to_vec()),
                }
            }
        })
    }
}

/// A StandardScaler fitted on `n` rows of `f` columns, which `rows` passes to its argument one
/// by one, in order, each time it is called.
fn fit_rows((n, f): (usize, usize), rows: impl Fn(&mut dyn FnMut(&[f64]))) -> FittedStandardScaler {
    let mut sum = vec![0.0; f];
    rows(&mut |row| {
        for (s, v) in sum.iter_mut().zip(row) {
            *s += v;
        }
    });
    let n_f = n as f64;
    let mean: Vec<f64> = sum.iter().map(|s| s / n_f).collect();

    // Corrected two-pass variance: the second sum removes the rounding left in the mean.
    let mut squares = vec![0.0; f];
    let mut deviations = vec![0.0; f];
    rows(&mut |row| {
        for (((sq, dev), v), m) in squares.iter_mut().zip(&mut deviations).zip(row).zip(&mean) {
            let d = v - m;
            *sq += d * d;
            *dev += d;
        }
    });
    let var: Vec<f64> =
        squares.iter().zip(&deviations).map(|(sq, dev)| (sq - dev * dev / n_f) / n_f).collect();

    // A variance within the rounding error of its own computation counts as zero.
    let eps = f64::EPSILON;
    let scale = var
        .iter()
        .zip(&mean)
        .map(|(&v, &m)| {
            let bound = n_f * eps * v + (n_f * m * eps).powi(2);
            if v <= bound { 1.0 } else { v.sqrt() }
        })
        .collect();
    FittedStandardScaler {
        mean: Array1::from(mean),
        var: Array1::from(var),
        scale,
        n_samples_seen: n,
    }
}

/// Calls `f` on each row of `x` as a slice (rows of a standard-layout matrix are contiguous;
/// others are copied row by row).
fn for_each_row(x: ArrayView2<f64>, f: &mut dyn FnMut(&[f64])) {
    match x.as_slice() {
        Some(values) => values.chunks_exact(x.ncols().max(1)).for_each(f),
        None => x.rows().into_iter().for_each(|row| f(&row.to_vec())),
    }
}

/// A fitted StandardScaler.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedStandardScaler {
    mean: Array1<f64>,
    var: Array1<f64>,
    scale: Array1<f64>,
    n_samples_seen: usize,
}

impl FittedStandardScaler {
    /// A scaler fitted elsewhere, from what `transform` uses: the offset subtracted (`mean_`,
    /// or zeros with `with_mean=False`) and the divisor (`scale_`, or ones with
    /// `with_std=False`). The variance is taken as `scale²` and the sample count is unknown (0).
    pub fn from_parameters(mean: Array1<f64>, scale: Array1<f64>) -> FittedStandardScaler {
        let var = scale.mapv(|s| s * s);
        FittedStandardScaler { mean, var, scale, n_samples_seen: 0 }
    }

    /// Per-feature mean (`mean_`).
    pub fn mean(&self) -> ArrayView1<'_, f64> {
        self.mean.view()
    }

    /// Per-feature population variance (`var_`).
    pub fn var(&self) -> ArrayView1<'_, f64> {
        self.var.view()
    }

    /// Per-feature divisor (`scale_`): the standard deviation, or 1 for a constant feature.
    pub fn scale(&self) -> ArrayView1<'_, f64> {
        self.scale.view()
    }

    /// Rows the scaler was fitted on (`n_samples_seen_`).
    pub fn n_samples_seen(&self) -> usize {
        self.n_samples_seen
    }

    /// Scales `x` in place: `(x - mean) / scale`.
    pub fn transform_in_place(&self, mut x: ArrayViewMut2<f64>) {
        let (mean, scale) =
            (self.mean.as_slice().expect("contiguous"), self.scale.as_slice().expect("contiguous"));
        let columns = x.ncols().max(1);
        let scale_row = |row: &mut [f64]| {
            for ((v, m), s) in row.iter_mut().zip(mean).zip(scale) {
                *v = (*v - m) / s;
            }
        };
        match x.as_slice_mut() {
            Some(values) => values.chunks_exact_mut(columns).for_each(scale_row),
            None => x.rows_mut().into_iter().for_each(|mut row| {
                let mut values = row.to_vec();
                scale_row(&mut values);
                row.assign(&Array1::from(values));
            }),
        }
    }

    /// A scaled copy of `x`.
    pub fn transform(&self, x: ArrayView2<f64>) -> ndarray::Array2<f64> {
        let mut out = x.to_owned();
        self.transform_in_place(out.view_mut());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn fitting_selected_rows_is_fitting_a_copy_of_them() {
        let x = ndarray::Array2::from_shape_fn((50, 3), |(i, j)| ((i * 7 + j) as f64).sin() * 1e3);
        let rows = [3, 9, 10, 11, 40, 2, 49];
        let copy = x.select(ndarray::Axis(0), &rows);
        assert_eq!(
            StandardScaler::new().fit_selected(x.view(), &rows),
            StandardScaler::new().fit(copy.view())
        );
        let strided = x.slice(ndarray::s![.., ..;2]);
        assert_eq!(
            StandardScaler::new().fit_selected(strided, &rows),
            StandardScaler::new().fit(strided.select(ndarray::Axis(0), &rows).view())
        );
    }

    #[test]
    fn uses_the_population_variance() {
        let fitted = StandardScaler::new().fit(array![[1.0], [2.0], [3.0], [4.0]].view());
        assert_eq!(fitted.mean()[0], 2.5);
        assert_eq!(fitted.var()[0], 1.25);
        assert_eq!(fitted.scale()[0], 1.25f64.sqrt());
    }

    #[test]
    fn a_constant_feature_gets_scale_one() {
        let x = ndarray::Array2::from_elem((1000, 1), 0.1);
        let fitted = StandardScaler::new().fit(x.view());
        assert_eq!(fitted.scale()[0], 1.0);
    }

    #[test]
    fn a_tiny_but_real_spread_is_not_constant() {
        let x = array![[3.0], [3.0], [3.0000000001], [3.0]];
        let fitted = StandardScaler::new().fit(x.view());
        assert!(fitted.scale()[0] < 1e-10, "{}", fitted.scale()[0]);
    }

    #[test]
    fn transform_divides_rather_than_multiplying_by_the_reciprocal() {
        let x = array![[0.1, 7.0], [0.7, 3.0], [0.3, 11.0]];
        let fitted = StandardScaler::new().fit(x.view());
        let scaled = fitted.transform(x.view());
        for ((r, c), &v) in scaled.indexed_iter() {
            assert_eq!(v, (x[[r, c]] - fitted.mean()[c]) / fitted.scale()[c]);
        }
    }
}
