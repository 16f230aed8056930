//! Class labels: discovering them in the target column and ordering them as scikit-learn's
//! `classes_` does (`np.unique`), which fixes the meaning of every probability column.

use std::fmt;

use serde::Serialize;

/// The distinct labels of the target column, in scikit-learn's `classes_` order.
///
/// If every label parses as an integer the classes are integers in numeric order (as pandas reads
/// such a column); otherwise they are the label strings, verbatim, in byte order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
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
/// Returns the classes and, for each distinct label, the index of its class. Several labels can
/// map to one integer class (`1`, `01` and `+1` are all the integer 1).
pub fn discover(labels: &[&str]) -> (Classes, Vec<u32>) {
    let ints: Option<Vec<i64>> = labels.iter().map(|s| s.trim().parse::<i64>().ok()).collect();
    match ints {
        Some(values) => {
            let mut classes = values.clone();
            classes.sort_unstable();
            classes.dedup();
            let index = values.iter().map(|v| position(&classes, v)).collect();
            (Classes::Ints(classes), index)
        }
        None => {
            let mut classes: Vec<&str> = labels.to_vec();
            // `str`'s order is byte order, which for UTF-8 is code-point order, as numpy sorts.
            classes.sort_unstable();
            classes.dedup();
            let index = labels.iter().map(|l| position(&classes, l)).collect();
            (Classes::Strings(classes.into_iter().map(str::to_owned).collect()), index)
        }
    }
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
    fn a_single_non_integer_makes_every_label_a_string() {
        let (classes, _) = discover(&["1", "2", "1.5"]);
        assert_eq!(classes, Classes::Strings(vec!["1".into(), "1.5".into(), "2".into()]));
    }
}
