//! The candidates of a grid search, in scikit-learn's `ParameterGrid` order: parameter names
//! sorted (`C` before `class_weight`), then the product of their values in the order given,
//! the last name varying fastest.

use serde::{Serialize, Serializer};

use crate::error::{Error, Parameter, Result};
use crate::model::ClassWeight;

/// One point of the grid.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Candidate {
    #[serde(rename = "C")]
    pub c: f64,
    #[serde(serialize_with = "as_scikit_learn")]
    pub class_weight: ClassWeight,
}

/// `class_weight` as scikit-learn's `params` hold it: `null` or `"balanced"`.
fn as_scikit_learn<S: Serializer>(weight: &ClassWeight, serializer: S) -> Result<S::Ok, S::Error> {
    weight.scikit_learn().serialize(serializer)
}

/// The values searched, each list non-empty and its C values positive and finite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Grid {
    #[serde(rename = "C")]
    c: Vec<f64>,
    #[serde(serialize_with = "all_as_scikit_learn")]
    class_weight: Vec<ClassWeight>,
}

fn all_as_scikit_learn<S: Serializer>(
    weights: &[ClassWeight],
    serializer: S,
) -> Result<S::Ok, S::Error> {
    serializer.collect_seq(weights.iter().map(|w| w.scikit_learn()))
}

impl Grid {
    pub fn new(c: Vec<f64>, class_weight: Vec<ClassWeight>) -> Result<Grid> {
        if c.is_empty() {
            return Err(invalid(Parameter::C, "give at least one value".into()));
        }
        if let Some(bad) = c.iter().find(|c| !(c.is_finite() && **c > 0.0)) {
            return Err(invalid(Parameter::C, format!("{bad} is not a positive finite number")));
        }
        if class_weight.is_empty() {
            return Err(invalid(Parameter::ClassWeight, "give at least one value".into()));
        }
        Ok(Grid { c, class_weight })
    }

    /// The C values, in the order given.
    pub fn c(&self) -> &[f64] {
        &self.c
    }

    /// The class weightings, in the order given.
    pub fn class_weight(&self) -> &[ClassWeight] {
        &self.class_weight
    }

    /// Number of candidates.
    pub fn len(&self) -> usize {
        self.c.len() * self.class_weight.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Every candidate, in `ParameterGrid` order.
    pub fn candidates(&self) -> Vec<Candidate> {
        self.c
            .iter()
            .flat_map(|&c| {
                self.class_weight.iter().map(move |&class_weight| Candidate { c, class_weight })
            })
            .collect()
    }
}

fn invalid(parameter: Parameter, message: String) -> Error {
    Error::InvalidParameter { parameter, message }
}

/// `num` values spaced evenly in log10 from `10^start` to `10^stop`, as `numpy.logspace`
/// computes them (`10 ** linspace(start, stop, num)`, the last exponent exactly `stop`).
pub fn logspace(start: f64, stop: f64, num: usize) -> Vec<f64> {
    if num == 1 {
        return vec![10f64.powf(start)];
    }
    let div = (num - 1) as f64;
    let step = (stop - start) / div;
    (0..num)
        .map(|i| {
            let exponent = if i == num - 1 {
                stop
            } else if step == 0.0 {
                i as f64 / div * (stop - start) + start
            } else {
                i as f64 * step + start
            };
            10f64.powf(exponent)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn candidates_vary_class_weight_fastest() {
        let grid =
            Grid::new(vec![0.1, 1.0], vec![ClassWeight::Balanced, ClassWeight::None]).unwrap();
        let order: Vec<(f64, ClassWeight)> =
            grid.candidates().iter().map(|c| (c.c, c.class_weight)).collect();
        assert_eq!(
            order,
            [
                (0.1, ClassWeight::Balanced),
                (0.1, ClassWeight::None),
                (1.0, ClassWeight::Balanced),
                (1.0, ClassWeight::None)
            ]
        );
    }

    #[test]
    fn refuses_an_empty_list_and_a_c_that_is_not_positive() {
        assert!(Grid::new(vec![], vec![ClassWeight::None]).is_err());
        assert!(Grid::new(vec![1.0, 0.0], vec![ClassWeight::None]).is_err());
        assert!(Grid::new(vec![1.0], vec![]).is_err());
    }

    #[test]
    fn logspace_ends_on_both_exponents() {
        let values = logspace(-3.0, 3.0, 7);
        assert_eq!(values.len(), 7);
        assert_eq!(values[0], 1e-3);
        assert_eq!(values[6], 1e3);
        assert_eq!(logspace(2.0, 5.0, 1), [100.0]);
    }
}
