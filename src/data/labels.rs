//! Class labels: discovering them in the target column and ordering them as scikit-learn's
//! `classes_` does (`np.unique`), which fixes the meaning of every probability column.

use std::fmt;

use serde::{Deserialize, Serialize};

/// The distinct labels of the target column, in scikit-learn's `classes_` order.
///
/// Integer labels (also spelled as integral floats) are integers in numeric order, as pandas and
/// scikit-learn read them; other labels are the label strings, verbatim, numbers in numeric order
/// and any other text in byte order (see [`discover`]).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Classes {
    Ints(Vec<i64>),
    Strings(Vec<String>),
}

impl Classes {
    /// Number of classes.
    pub fn len(&self) -> usize {
        match self {
            Classes::Ints(v) => v.len(),
            Classes::Strings(v) => v.len(),
        }
    }

    /// Always false for a fitted model (it has at least two classes).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The label of class `index` as text.
    pub fn name(&self, index: usize) -> String {
        match self {
            Classes::Ints(v) => v[index].to_string(),
            Classes::Strings(v) => v[index].clone(),
        }
    }

    /// The class a label text names, by the rules that made the classes: integers (also spelled
    /// as integral floats) by value, numbers among text labels by value, other text exactly.
    pub fn index_of(&self, text: &str) -> Option<usize> {
        match self {
            Classes::Ints(values) => {
                let value = integer_value(text)?;
                values.iter().position(|c| *c == value)
            }
            Classes::Strings(names) => names.iter().position(|n| n == text).or_else(|| {
                let value = finite_value(text)?;
                names.iter().position(|n| finite_value(n) == Some(value))
            }),
        }
    }

    /// The label of class `index` for messages: strings are quoted, integers are not.
    pub fn display(&self, index: usize) -> String {
        match self {
            Classes::Ints(v) => v[index].to_string(),
            Classes::Strings(v) => format!("{:?}", v[index]),
        }
    }
}

impl fmt::Display for Classes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<String> = (0..self.len()).map(|i| self.display(i)).collect();
        write!(f, "[{}]", names.join(", "))
    }
}

/// Orders the distinct labels (each valid UTF-8, in order of first appearance) into classes.
/// Returns the classes and, for each distinct label, the index of its class.
///
/// The order is the one scikit-learn gives a column pandas read from the same file:
/// - labels that are all integers, or floats with integral values (`1`, `01`, `+1`, `1.0` and
///   `1e0` are all the integer 1), become integer classes in numeric order;
/// - labels that are all other finite numbers stay text, in numeric order, and spellings of one
///   number (`1.5`, `1.50`) are one class, named by its first spelling in the file;
/// - anything else is text in byte order.
pub fn discover(labels: &[&str]) -> (Classes, Vec<u32>) {
    if let Some(values) = labels.iter().map(|s| integer_value(s)).collect::<Option<Vec<i64>>>() {
        let mut classes = values.clone();
        classes.sort_unstable();
        classes.dedup();
        let index = values.iter().map(|v| position(&classes, v)).collect();
        return (Classes::Ints(classes), index);
    }
    if let Some(values) = labels.iter().map(|s| finite_value(s)).collect::<Option<Vec<f64>>>() {
        let mut order: Vec<usize> = (0..labels.len()).collect();
        // A stable sort keeps the first spelling of a number ahead of its other spellings.
        order.sort_by(|&a, &b| values[a].total_cmp(&values[b]));
        order.dedup_by(|b, a| values[*a] == values[*b]);
        let index =
            values.iter().map(|v| order.partition_point(|&i| values[i] < *v) as u32).collect();
        let names = order.iter().map(|&i| labels[i].to_owned()).collect();
        return (Classes::Strings(names), index);
    }
    let mut classes: Vec<&str> = labels.to_vec();
    // `str`'s order is byte order, which for UTF-8 is code-point order, as numpy sorts.
    classes.sort_unstable();
    classes.dedup();
    let index = labels.iter().map(|l| position(&classes, l)).collect();
    (Classes::Strings(classes.into_iter().map(str::to_owned).collect()), index)
}

/// The integer a label spells: `7`, `+7`, `007`, or a float with an integral value such as
/// `7.0` or `7e0` (pandas reads a column of those as floats, and scikit-learn's converter writes
/// them as integer labels).
fn integer_value(text: &str) -> Option<i64> {
    let text = text.trim();
    if let Ok(value) = text.parse::<i64>() {
        return Some(value);
    }
    let value = finite_value(text)?;
    // Below 2^63 in magnitude, an f64 without a fraction converts to i64 exactly.
    (value.fract() == 0.0 && value.abs() < 2f64.powi(63)).then_some(value as i64)
}

/// The finite number a label spells, if any (`nan` and `inf` are not numbers here).
fn finite_value(text: &str) -> Option<f64> {
    text.trim().parse::<f64>().ok().filter(|v| v.is_finite())
}

fn position<T: Ord>(sorted: &[T], value: &T) -> u32 {
    // Every value comes from the list `sorted` was built from, so the search always succeeds.
    sorted.binary_search(value).map_or(0, |i| i as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_labels_sort_numerically() {
        let (classes, index) = discover(&["10", "9", "-1", "9"]);
        assert_eq!(classes, Classes::Ints(vec![-1, 9, 10]));
        assert_eq!(index, vec![2, 1, 0, 1]);
    }

    #[test]
    fn string_labels_sort_by_code_point() {
        let (classes, index) = discover(&["b", "a", "_x", "B", "10", "9"]);
        let expected = ["10", "9", "B", "_x", "a", "b"].map(String::from).to_vec();
        assert_eq!(classes, Classes::Strings(expected));
        assert_eq!(index, vec![5, 4, 3, 2, 0, 1]);
    }

    #[test]
    fn spellings_of_one_integer_are_one_class() {
        let (classes, index) = discover(&["1", "01", " +1", "2"]);
        assert_eq!(classes, Classes::Ints(vec![1, 2]));
        assert_eq!(index, vec![0, 0, 0, 1]);
    }

    #[test]
    fn integral_floats_are_integers() {
        let (classes, index) = discover(&["10.0", "9.0", "1e1", "-0.0"]);
        assert_eq!(classes, Classes::Ints(vec![0, 9, 10]));
        assert_eq!(index, vec![2, 1, 2, 0]);
    }

    #[test]
    fn other_numbers_are_text_in_numeric_order() {
        let (classes, index) = discover(&["10.5", "9.5", "1.5", "-2", "1.50"]);
        let expected = ["-2", "1.5", "9.5", "10.5"].map(String::from).to_vec();
        assert_eq!(classes, Classes::Strings(expected));
        assert_eq!(index, vec![3, 2, 1, 0, 1]);
    }

    #[test]
    fn a_label_text_finds_its_class_by_the_same_rules() {
        let (ints, _) = discover(&["9", "10"]);
        assert_eq!(ints.index_of("10.0"), Some(1));
        assert_eq!(ints.index_of(" 09"), Some(0));
        assert_eq!(ints.index_of("11"), None);
        let (numbers, _) = discover(&["1.5", "2.5"]);
        assert_eq!(numbers.index_of("2.50"), Some(1));
        let (text, _) = discover(&["a", "b"]);
        assert_eq!(text.index_of("b"), Some(1));
        assert_eq!(text.index_of("B"), None);
    }

    #[test]
    fn a_single_non_number_makes_every_label_text_in_byte_order() {
        let (classes, _) = discover(&["1", "2", "10", "nan"]);
        let expected = ["1", "10", "2", "nan"].map(String::from).to_vec();
        assert_eq!(classes, Classes::Strings(expected));
    }
}
