//! The one use the allow-list binds each allowed global to, and joblib's arrays.
//!
//! A global is a callable or a class: `numpy.dtype` may only be called with `(descr, False,
//! True)`, `NumpyArrayWrapper` only built by `NEWOBJ` and given its state by `BUILD`, and so
//! on. Anywhere else (the value of an attribute, an item of a list, a `BUILD` state, the pickle's
//! result) a loader hands the callable itself to whatever reads that value, so loading could
//! hijack a method of the model while onnxify converted it as normal: every such use is refused.
//! The containers a global may sit in (`_reconstruct`'s argument tuple, a wrapper's state dict)
//! are bound to that use in turn.
//!
//! joblib's `NumpyUnpickler` replaces each wrapper by its array at the wrapper's `BUILD`, reading
//! the array's bytes, or an object array's nested stream, from the file: past the current frame,
//! after padding only when `numpy_array_alignment_bytes` is not None.

use super::values::{Array, Elements};
use super::{Binding, Id, Loader, Machine, Stop, Value, limit, stop};
use crate::pickle::allow::Allowed;
use crate::pickle::numpy::{Dtype, DtypeState, Kind, shape_text};

/// Attributes of an object's state (a fitted LogisticRegression has about 25). Each `BUILD`
/// copies its dict, as Python's does, so this also bounds the work one `BUILD` can cost.
const MAX_ATTRIBUTES: usize = 4_096;
/// Dimensions of an array (numpy allows 64).
const MAX_DIMENSIONS: usize = 64;
/// Arguments or state items read from a tuple for an allowed call or `BUILD` (at most 9).
const MAX_CALL_ITEMS: usize = 9;
/// The attributes joblib gives a wrapper; the last was added in joblib 1.2.
const WRAPPER_KEYS: [&str; 6] =
    ["subclass", "shape", "order", "dtype", "allow_mmap", "numpy_array_alignment_bytes"];

/// Where a value is put.
enum Slot {
    /// The item at this index of a tuple, list or set.
    Item(usize),
    /// A dict's key.
    Key,
    /// A dict's value under this key.
    Value(Id),
}

impl Machine<'_> {
    /// What a value bound to one use is, or `None` for a value free to go anywhere.
    fn bound_as(&self, id: Id) -> Option<String> {
        match self.value(id) {
            // A type is a value like any other: it goes anywhere, and is never called.
            Value::Global(index) if self.globals[*index].allowed == Some(Allowed::TypeToken) => {
                None
            }
            Value::Global(index) if self.globals[*index].allowed.is_some() => {
                Some(self.global_name(*index))
            }
            Value::Object { class: Allowed::ArrayWrapper, .. } => {
                Some("a joblib NumpyArrayWrapper".into())
            }
            _ => self.bound.get(&id).map(|binding| match binding {
                Binding::ReconstructArgs => "a tuple holding numpy.ndarray".into(),
                Binding::WrapperState => "a dict holding numpy.ndarray".into(),
                Binding::MaskedArgs => "a tuple holding numpy.ma.MaskedArray".into(),
                Binding::ScorerState => "a dict holding a metric function".into(),
            }),
        }
    }

    /// Checks the items just put in container `into`.
    pub(super) fn place_items(&mut self, at: usize, into: Id, items: &[Id]) {
        for (index, &item) in items.iter().enumerate() {
            self.place(at, into, Slot::Item(index), item);
        }
    }

    /// Checks the keys and values just put in dict `into`.
    pub(super) fn place_pairs(&mut self, at: usize, into: Id, pairs: &[(Id, Id)]) {
        for &(key, value) in pairs {
            self.place(at, into, Slot::Key, key);
            self.place(at, into, Slot::Value(key), value);
        }
    }

    fn place(&mut self, at: usize, into: Id, slot: Slot, value: Id) {
        let Some(what) = self.bound_as(value) else { return };
        let is = |id: Id, class: Allowed| matches!(self.value(id), Value::Global(g) if self.globals[*g].allowed == Some(class));
        let ndarray = is(value, Allowed::NdArray);
        let binding = match (self.value(into), slot) {
            (Value::Tuple(_), Slot::Item(0)) if ndarray => Some(Binding::ReconstructArgs),
            (Value::Tuple(_), Slot::Item(0)) if is(value, Allowed::MaskedArray) => {
                Some(Binding::MaskedArgs)
            }
            (Value::Tuple(items), Slot::Item(1))
                if ndarray && is(items[0], Allowed::MaskedArray) =>
            {
                Some(Binding::MaskedArgs)
            }
            (Value::Dict(_), Slot::Value(key)) if ndarray && self.text(key) == Some("subclass") => {
                Some(Binding::WrapperState)
            }
            (Value::Dict(_), Slot::Value(key))
                if is(value, Allowed::ScoreFunction) && self.text(key) == Some("_score_func") =>
            {
                Some(Binding::ScorerState)
            }
            _ => None,
        };
        match binding {
            Some(binding) => {
                self.bound.insert(into, binding);
            }
            None => {
                let container = self.value(into).kind();
                self.refuse(
                    at,
                    format!(
                        "{what} is put in a {container}, where a loader hands it to whatever \
                         reads that value; scikit-learn and numpy pickles use it only {}",
                        self.one_use(value)
                    ),
                );
            }
        }
    }

    /// The one use of a bound value, for messages.
    fn one_use(&self, id: Id) -> &'static str {
        match self.value(id) {
            Value::Global(index) => match self.globals[*index].allowed {
                Some(Allowed::NdArray) => {
                    "as a joblib wrapper's subclass or as _reconstruct's first argument"
                }
                Some(class) if class.is_estimator() || class == Allowed::ArrayWrapper => {
                    "as the class NEWOBJ builds"
                }
                Some(Allowed::MaskedArray) => "as _mareconstruct's first argument",
                Some(Allowed::ScoreFunction) => "as a scorer's _score_func",
                _ => "as the callable of a REDUCE, with the arguments numpy writes",
            },
            Value::Object { .. } => "as the target of its BUILD",
            _ => "as the arguments or state it was made for",
        }
    }

    /// The pickle's result may not be a bound value: the loader would return the callable.
    pub(super) fn check_result(&mut self, root: Id) {
        if let Some(what) = self.bound_as(root) {
            let at = self.op_at;
            self.refuse(at, format!("the pickle's result is {what}, not a model"));
        }
    }

    fn trace_array(&mut self, array: &Array) {
        if self.tracing {
            self.trace.arrays.push(array.clone());
        }
    }

    /// The items of a short tuple (arguments, a state): a long one is never copied, since a
    /// shared (memoised) tuple can be given to any number of calls.
    fn few_items(&self, id: Id) -> Option<Vec<Id>> {
        match self.items(id) {
            Some(items) if items.len() <= MAX_CALL_ITEMS => Some(items.to_vec()),
            _ => None,
        }
    }

    /// A shape: a tuple of non-negative ints.
    fn shape(&self, id: Id) -> Option<Vec<usize>> {
        let dims = self.items(id)?;
        if dims.len() > MAX_DIMENSIONS {
            return None;
        }
        dims.iter().map(|&d| self.int(d).and_then(|n| usize::try_from(n).ok())).collect()
    }

    fn built_dtype(&self, id: Id) -> Option<&Dtype> {
        match self.value(id) {
            Value::Dtype { dtype, built: true } => Some(dtype),
            _ => None,
        }
    }

    /// `REDUCE`: only the allowed numpy constructors, with the arguments numpy itself writes.
    pub(super) fn call(&mut self, at: usize, callable: Id, args: Id) -> Result<Value, Stop> {
        let index = match self.value(callable) {
            Value::Global(index) => *index,
            Value::Opaque => return Ok(Value::Opaque),
            other => {
                let kind = other.kind();
                self.refuse(at, format!("REDUCE calls a {kind}, not a global"));
                return Ok(Value::Opaque);
            }
        };
        let Some(allowed) = self.globals[index].allowed else {
            // The global itself is already reported.
            return Ok(Value::Opaque);
        };
        let name = self.global_name(index);
        let no_arguments = matches!(self.value(args), Value::Tuple(items) if items.is_empty());
        let args = self.few_items(args).unwrap_or_default();
        let arg = |i: usize| args.get(i).map(|&id| self.value(id));
        let made = match allowed {
            Allowed::Dtype => match (args.len(), arg(0), arg(1), arg(2)) {
                (3, Some(Value::Str(descr)), Some(Value::Bool(false)), Some(Value::Bool(true))) => {
                    Dtype::parse(descr).map(|dtype| Value::Dtype { dtype, built: false })
                }
                _ => {
                    Err(format!("{name} is called with arguments other than (descr, False, True)"))
                }
            },
            Allowed::Scalar => {
                let dtype = args.first().and_then(|&d| self.built_dtype(d));
                match (args.len(), dtype, arg(1)) {
                    (2, Some(dtype), Some(Value::Bytes(bytes)))
                        if dtype.kind != Kind::Object && bytes.len() == dtype.itemsize =>
                    {
                        let scalar = Array {
                            dtype: dtype.clone(),
                            shape: Vec::new(),
                            fortran: false,
                            elements: Elements::Bytes(args[1]),
                        };
                        // numpy.str_ subclasses str and equals the text it holds (labels in an
                        // object array are often numpy.str_), so it is read as that text.
                        let value = match dtype.kind {
                            Kind::Unicode => scalar
                                .unicode(bytes)
                                .map(|mut text| Value::Str(text.remove(0)))
                                .unwrap_or_else(|_| Value::Array(scalar.clone())),
                            _ => Value::Array(scalar.clone()),
                        };
                        self.trace_array(&scalar);
                        Ok(value)
                    }
                    _ => Err(format!(
                        "{name} is called with arguments other than (dtype, its bytes)"
                    )),
                }
            }
            Allowed::Reconstruct => match (args.len(), arg(0), arg(1), arg(2)) {
                (
                    3,
                    Some(Value::Global(g)),
                    Some(Value::Tuple(shape)),
                    Some(Value::Bytes(code)),
                ) if self.globals[*g].allowed == Some(Allowed::NdArray)
                    && shape.len() == 1
                    && self.int(shape[0]) == Some(0)
                    && code == b"b" =>
                {
                    Ok(Value::PendingArray)
                }
                _ => Err(format!(
                    "{name} is called with arguments other than (numpy.ndarray, (0,), b'b')"
                )),
            },
            Allowed::FromBuffer => {
                let shape = args.get(2).and_then(|&s| self.shape(s));
                let dtype = args.get(1).and_then(|&d| self.built_dtype(d));
                match (args.len(), arg(0), dtype, shape, arg(3)) {
                    (
                        4,
                        Some(Value::Bytes(bytes)),
                        Some(dtype),
                        Some(shape),
                        Some(Value::Str(order)),
                    ) if dtype.kind != Kind::Object && (order == "C" || order == "F") => {
                        match Array::count(&shape).and_then(|n| n.checked_mul(dtype.itemsize)) {
                            Some(n) if n == bytes.len() => {
                                let array = Array {
                                    dtype: dtype.clone(),
                                    shape,
                                    fortran: order == "F",
                                    elements: Elements::Bytes(args[0]),
                                };
                                self.trace_array(&array);
                                Ok(Value::Array(array))
                            }
                            _ => Err(format!(
                                "{name} is given {} bytes for an array of shape {} and dtype {}",
                                bytes.len(),
                                shape_text(&shape),
                                dtype
                            )),
                        }
                    }
                    _ => Err(format!(
                        "{name} is called with arguments other than (buffer, dtype, shape, order)"
                    )),
                }
            }
            // How protocol 2 spells bytes: the codec must be the one pickle writes, since a
            // codec's name makes Python import and run that codec's module.
            Allowed::Encode => match (args.len(), arg(0), arg(1)) {
                (2, Some(Value::Str(text)), Some(Value::Str(codec))) if codec == "latin1" => text
                    .chars()
                    .map(|c| {
                        u8::try_from(u32::from(c))
                            .map_err(|_| format!("{name}: {c:?} is not latin-1"))
                    })
                    .collect::<Result<Vec<u8>, String>>()
                    .map(Value::Bytes),
                _ => Err(format!("{name} is called with arguments other than (str, 'latin1')")),
            },
            Allowed::Slice => {
                let bound = |i: usize| match arg(i) {
                    Some(Value::Int(n)) => Some(Some(*n)),
                    Some(Value::None) => Some(None),
                    _ => None,
                };
                match (args.len(), bound(0), bound(1), bound(2)) {
                    (3, Some(start), Some(stop), Some(step)) => {
                        Ok(Value::Slice { start, stop, step })
                    }
                    _ => Err(format!(
                        "{name} is called with arguments other than (start, stop, step), each \
                         an int or None"
                    )),
                }
            }
            Allowed::MaReconstruct => {
                let global = |i: usize, class: Allowed| matches!(arg(i), Some(Value::Global(g)) if self.globals[*g].allowed == Some(class));
                let code = matches!(arg(3), Some(Value::Str(c)) if c == "b")
                    || matches!(arg(3), Some(Value::Bytes(c)) if c == b"b");
                let shape = matches!(arg(2), Some(Value::Tuple(shape))
                    if shape.len() == 1 && self.int(shape[0]) == Some(0));
                if args.len() == 4
                    && global(0, Allowed::MaskedArray)
                    && global(1, Allowed::NdArray)
                    && shape
                    && code
                {
                    Ok(Value::PendingMaskedArray)
                } else {
                    Err(format!(
                        "{name} is called with arguments other than (numpy.ma.MaskedArray, \
                         numpy.ndarray, (0,), 'b')"
                    ))
                }
            }
            Allowed::LossObject if no_arguments => {
                Ok(Value::Object { class: Allowed::LossObject, state: None })
            }
            Allowed::LossObject => Err(format!(
                "{name} is called with arguments other than (); scikit-learn writes ()"
            )),
            Allowed::TypeToken | Allowed::ScoreFunction | Allowed::MaskedArray => {
                Err(format!("{name} is called; it is only ever a value"))
            }
            Allowed::Pipeline
            | Allowed::StandardScaler
            | Allowed::MinMaxScaler
            | Allowed::MaxAbsScaler
            | Allowed::RobustScaler
            | Allowed::LogisticRegression
            | Allowed::LogisticRegressionCV
            | Allowed::SgdClassifier
            | Allowed::OneVsRestClassifier
            | Allowed::LabelBinarizer
            | Allowed::ColumnTransformer
            | Allowed::ColumnSelector
            | Allowed::SimpleImputer
            | Allowed::MissingIndicator
            | Allowed::OneHotEncoder
            | Allowed::OrdinalEncoder
            | Allowed::FunctionTransformer
            | Allowed::GridSearchCV
            | Allowed::RandomizedSearchCV
            | Allowed::Splitter
            | Allowed::Scorer
            | Allowed::ArrayWrapper
            | Allowed::NdArray => Err(format!(
                "{name} is called with REDUCE; only NEWOBJ with no arguments is allowed"
            )),
        };
        match made {
            Ok(value) => {
                match &value {
                    Value::Bytes(bytes) => self.charge(at, bytes.len())?,
                    Value::Str(text) => self.charge(at, text.len())?,
                    _ => {}
                }
                Ok(value)
            }
            Err(message) => {
                self.refuse_call(at, message);
                Ok(Value::Opaque)
            }
        }
    }

    /// `NEWOBJ`: only the allowed classes, with no arguments.
    pub(super) fn construct(&mut self, at: usize, class: Id, args: Id) -> Value {
        let index = match self.value(class) {
            Value::Global(index) => *index,
            Value::Opaque => return Value::Opaque,
            other => {
                let kind = other.kind();
                self.refuse(at, format!("NEWOBJ builds a {kind}, not a class"));
                return Value::Opaque;
            }
        };
        match self.globals[index].allowed {
            None => Value::Opaque,
            Some(class)
                if (class.is_estimator() || class == Allowed::ArrayWrapper)
                    && self.items(args).is_some_and(<[Id]>::is_empty) =>
            {
                Value::Object { class, state: None }
            }
            Some(_) => {
                let name = self.global_name(index);
                self.refuse_call(
                    at,
                    format!("NEWOBJ builds {name} in a way onnxify does not accept"),
                );
                Value::Opaque
            }
        }
    }

    /// `BUILD`: an object's attribute dict, a dtype's state, an array's state, or a joblib
    /// wrapper's description followed by the array. Returns the value that replaces the target
    /// on the stack, if any (joblib replaces a wrapper by its array; everything else is set in
    /// place, so that the memo sees it too).
    pub(super) fn build(&mut self, at: usize, target: Id, state: Id) -> Result<Option<Id>, Stop> {
        let wrapper_state = self.bound.get(&state) == Some(&Binding::WrapperState);
        let wrapper_target =
            matches!(self.value(target), Value::Object { class: Allowed::ArrayWrapper, .. });
        let scorer_state = self.bound.get(&state) == Some(&Binding::ScorerState);
        let scorer_target =
            matches!(self.value(target), Value::Object { class: Allowed::Scorer, state: None });
        if let Some(what) = self.bound_as(state)
            && !(wrapper_state && wrapper_target)
            && !(scorer_state && scorer_target)
        {
            self.refuse(
                at,
                format!("BUILD gives {what} as a state, which a loader hands to the object"),
            );
            return Ok(None);
        }
        if matches!(self.value(target), Value::Object { class: Allowed::LossObject, .. }) {
            self.refuse(
                at,
                "BUILD gives a state to a loss object, which scikit-learn never writes".into(),
            );
            return Ok(None);
        }
        // Only small values are cloned: a large one could be the target of many BUILDs.
        let target_value = match self.value(target) {
            value @ (Value::Object { class: Allowed::ArrayWrapper, .. }
            | Value::Object { state: None, .. }
            | Value::Dtype { built: false, .. }
            | Value::PendingArray
            | Value::PendingMaskedArray
            | Value::Opaque
            | Value::Global(_)) => value.clone(),
            Value::Object { .. } | Value::Dtype { .. } | Value::Array(_) => {
                let kind = self.value(target).kind();
                self.refuse(at, format!("a second BUILD sets the state of the same {kind}"));
                return Ok(None);
            }
            other => {
                let kind = other.kind();
                self.refuse(
                    at,
                    format!(
                        "BUILD sets the state of a value of type {kind}, which would call its code"
                    ),
                );
                return Ok(None);
            }
        };
        match target_value {
            Value::Object { class: Allowed::ArrayWrapper, state: old } => {
                let Some(new) = self.attributes(at, state, &WRAPPER_KEYS)? else {
                    return Ok(None);
                };
                // joblib merges a second state into the first, then reads another array.
                let state = match old {
                    Some(old) => {
                        self.refuse(
                            at,
                            "a second BUILD of the same joblib NumpyArrayWrapper, which joblib \
                             does not write"
                                .into(),
                        );
                        self.merge(at, old, new)?
                    }
                    None => new,
                };
                self.values[target as usize] =
                    Value::Object { class: Allowed::ArrayWrapper, state: Some(state) };
                self.wrappers = true;
                if self.loader != Loader::Joblib {
                    // pickle.load builds the wrapper as any object; the array's bytes follow
                    // as opcodes.
                    return Ok(None);
                }
                if self.nested > 0 {
                    self.refuse(
                        at,
                        "a joblib NumpyArrayWrapper inside an object array's nested stream: \
                         joblib reads that stream with a plain unpickler, which does not read \
                         an array after it, so the bytes that follow are opcodes"
                            .into(),
                    );
                    return Ok(None);
                }
                self.read_wrapped_array(at, state).map(Some)
            }
            Value::Object { class, state: None } => {
                let Some(copy) = self.attributes(at, state, &[])? else { return Ok(None) };
                self.values[target as usize] = Value::Object { class, state: Some(copy) };
                // scikit-learn's __setstate__ pops the version from the dict it is given.
                if let Value::Dict(pairs) = &self.values[state as usize]
                    && let Some(at) =
                        pairs.iter().position(|&(k, _)| self.text(k) == Some("_sklearn_version"))
                    && let Value::Dict(pairs) = &mut self.values[state as usize]
                {
                    pairs.remove(at);
                    self.clean_states.remove(&state);
                }
                Ok(None)
            }
            Value::Dtype { mut dtype, built: false } => {
                let result = match self.dtype_state(state) {
                    Some(state) => dtype.set_state(&state),
                    None => Err(format!(
                        "dtype {}'s state is not the 8-item tuple numpy writes",
                        dtype.descr
                    )),
                };
                match result {
                    Ok(()) => self.values[target as usize] = Value::Dtype { dtype, built: true },
                    Err(message) => {
                        // What numpy makes of other flags or a subarray is not known here: the
                        // dtype is no longer one onnxify can read an array with.
                        self.values[target as usize] = Value::Opaque;
                        self.refuse(at, message);
                    }
                }
                Ok(None)
            }
            pending @ (Value::PendingArray | Value::PendingMaskedArray) => {
                let made = match pending {
                    Value::PendingArray => self.array_state(state),
                    _ => self.masked_array_state(state),
                };
                match made {
                    Ok(array) => {
                        self.trace_array(&array);
                        if let Elements::Objects(objects) = &array.elements {
                            self.charge(at, 4 * objects.len())?;
                        }
                        self.values[target as usize] = Value::Array(array);
                    }
                    Err(message) => self.refuse(at, message),
                }
                Ok(None)
            }
            Value::Opaque => Ok(None),
            Value::Global(index) => {
                if self.globals[index].allowed.is_some() {
                    let name = self.global_name(index);
                    self.refuse_call(
                        at,
                        format!(
                            "BUILD sets attributes of {name} itself, changing it for every user"
                        ),
                    );
                }
                Ok(None)
            }
            _ => unreachable!("the values cloned above"),
        }
    }

    /// A copy of an attribute dict given to `BUILD`, as the object keeps it: the dict's
    /// entries in order, a key given twice keeping its first place and its last value, as a
    /// Python dict does. What no dump writes is refused: a key given twice, a key that is not a
    /// string, a key outside `keys` (unless `keys` is empty), a `_sklearn_version` that is not
    /// a string. `None` for a state only running code could make.
    fn attributes(&mut self, at: usize, state: Id, keys: &[&str]) -> Result<Option<Id>, Stop> {
        let owned;
        let pairs: &[(Id, Id)] = match self.value(state) {
            Value::Dict(pairs) => pairs,
            Value::Opaque => return Ok(None),
            // An object without __setstate__ (a wrapper) takes `(state, slotstate)` too, and
            // sets both.
            Value::Tuple(items) if items.len() == 2 && !keys.is_empty() => {
                let mut both = Vec::new();
                for &part in items {
                    match self.value(part) {
                        Value::Dict(pairs) => both.extend_from_slice(pairs),
                        Value::None => {}
                        other => {
                            let kind = other.kind();
                            return stop(
                                at,
                                format!(
                                    "an object's state holds a {kind}, not a dict (the loader stops)"
                                ),
                            );
                        }
                    }
                }
                self.refuse(
                    at,
                    "a joblib NumpyArrayWrapper's state is a (state, slotstate) pair, which joblib \
                     does not write"
                        .into(),
                );
                owned = both;
                &owned
            }
            other => {
                let kind = other.kind();
                return stop(
                    at,
                    format!("an object's state is a {kind}, not a dict (the loader stops)"),
                );
            }
        };
        if pairs.len() > MAX_ATTRIBUTES {
            return limit(
                at,
                format!("an object's state holds more than {MAX_ATTRIBUTES} attributes"),
            );
        }
        // A dict already found clean and not grown since (dicts only grow, by SETITEM) is
        // copied as it is: a dict shared by many BUILDs is checked once.
        if keys.is_empty() && self.clean_states.get(&state) == Some(&pairs.len()) {
            let copy = pairs.to_vec();
            return self.alloc(at, Value::Dict(copy)).map(Some);
        }
        let mut copy: Vec<(Id, Id)> = Vec::with_capacity(pairs.len());
        let mut places: std::collections::HashMap<&str, usize> =
            std::collections::HashMap::with_capacity(pairs.len());
        let mut problems = Vec::new();
        for &(key, value) in pairs {
            let Some(name) = self.text(key) else {
                problems.push(format!("an object's state has a {} key", self.value(key).kind()));
                copy.push((key, value));
                continue;
            };
            if let Some(&place) = places.get(name) {
                problems.push(format!(
                    "an object's state gives the attribute {name:?} twice; Python keeps the last"
                ));
                copy[place].1 = value;
                continue;
            }
            if !keys.is_empty() && !keys.contains(&name) {
                problems.push(format!(
                    "a joblib NumpyArrayWrapper's state has the attribute {name:?}, which joblib \
                     does not write"
                ));
            }
            if name == "_sklearn_version" && !matches!(self.value(value), Value::Str(_)) {
                problems.push("_sklearn_version is not a string".into());
            }
            places.insert(name, copy.len());
            copy.push((key, value));
        }
        problems.dedup();
        if problems.is_empty() {
            self.clean_states.insert(state, copy.len());
        }
        for problem in problems {
            self.refuse(at, problem);
        }
        self.alloc(at, Value::Dict(copy)).map(Some)
    }

    /// Dict `old` updated with `new`, as Python's `dict.update` does: a key of both keeps its
    /// place and takes the new value.
    fn merge(&mut self, at: usize, old: Id, new: Id) -> Result<Id, Stop> {
        let (Value::Dict(old), Value::Dict(new)) = (self.value(old), self.value(new)) else {
            unreachable!("attributes are dicts")
        };
        let mut merged = old.clone();
        for &(key, value) in new {
            let text = self.text(key);
            match merged.iter_mut().find(|(k, _)| text.is_some() && self.text(*k) == text) {
                Some(slot) => slot.1 = value,
                None => merged.push((key, value)),
            }
        }
        self.alloc(at, Value::Dict(merged))
    }

    /// The tuple numpy's `dtype.__setstate__` takes.
    fn dtype_state(&self, state: Id) -> Option<DtypeState<'_>> {
        let items = self.few_items(state)?;
        if items.len() != 8 {
            return None;
        }
        let int = |i: usize| self.int(items[i]);
        let none = |i: usize| matches!(self.value(items[i]), Value::None);
        Some(DtypeState {
            version: int(0)?,
            order: self.text(items[1])?,
            plain: none(2) && none(3) && none(4),
            elsize: int(5)?,
            alignment: int(6)?,
            flags: int(7)?,
        })
    }

    /// The array an ndarray's `BUILD` state `(1, shape, dtype, is_fortran, data)` makes.
    fn array_state(&self, state: Id) -> Result<Array, String> {
        self.array_state_items(&self.few_items(state).unwrap_or_default())
    }

    /// A masked array's state: an ndarray's, then the mask's bytes (one per element) and the
    /// fill value, which numpy checks against the dtype (a plain value, or a 0-d array). The
    /// data is what the loader's array holds; the mask and fill value only change how numpy
    /// shows it.
    fn masked_array_state(&self, state: Id) -> Result<Array, String> {
        let items = self.few_items(state).unwrap_or_default();
        if items.len() != 7 {
            return Err("a masked array's state is not (1, shape, dtype, is_fortran, data, mask, \
                        fill_value)"
                .into());
        }
        let array = self.array_state_items(&items[..5])?;
        match self.value(items[5]) {
            Value::Bytes(mask) if Some(mask.len()) == Array::count(&array.shape) => {}
            other => {
                return Err(format!(
                    "a masked array of shape {} is given a {} as its mask",
                    shape_text(&array.shape),
                    other.kind()
                ));
            }
        }
        let fill = self.value(items[6]);
        let fits = match (fill, array.dtype.kind) {
            (Value::None, _) => true,
            (Value::Array(a), kind) => a.shape.is_empty() && a.dtype.kind == kind,
            (Value::Float(_) | Value::Int(_) | Value::Bool(_), Kind::Float | Kind::Int) => true,
            (Value::Str(_), Kind::Object | Kind::Unicode) => true,
            _ => false,
        };
        if !fits {
            return Err(format!(
                "a masked array of dtype {} is given a {} as its fill value",
                array.dtype,
                fill.kind()
            ));
        }
        Ok(array)
    }

    fn array_state_items(&self, items: &[Id]) -> Result<Array, String> {
        let get = |i: usize| items.get(i).map(|&id| self.value(id));
        let shape = items.get(1).and_then(|&s| self.shape(s));
        let dtype = items.get(2).and_then(|&d| self.built_dtype(d));
        let (
            5,
            Some(Value::Int(1)),
            Some(shape),
            Some(dtype),
            Some(Value::Bool(fortran)),
            Some(data),
        ) = (items.len(), get(0), shape, dtype, get(3), get(4))
        else {
            return Err("an ndarray's state is not (1, shape, dtype, is_fortran, data)".into());
        };
        let count = Array::count(&shape);
        let elements = match (data, dtype.kind) {
            (Value::List(objects), Kind::Object) if count == Some(objects.len()) => {
                Some(Elements::Objects(objects.clone()))
            }
            (Value::Bytes(bytes), kind)
                if kind != Kind::Object
                    && count.and_then(|n| n.checked_mul(dtype.itemsize)) == Some(bytes.len()) =>
            {
                Some(Elements::Bytes(items[4]))
            }
            _ => None,
        };
        match elements {
            Some(elements) => {
                Ok(Array { dtype: dtype.clone(), shape, fortran: *fortran, elements })
            }
            None => Err(format!(
                "an ndarray of shape {} and dtype {} is given a {} that does not hold it",
                shape_text(&shape),
                dtype,
                data.kind()
            )),
        }
    }

    /// The array a joblib `NumpyArrayWrapper` describes, read from the file after its `BUILD`
    /// the way joblib's `read_array` reads it.
    fn read_wrapped_array(&mut self, at: usize, state: Id) -> Result<Id, Stop> {
        let Value::Dict(pairs) = self.value(state).clone() else {
            unreachable!("attributes are a dict")
        };
        let field =
            |key: &str| pairs.iter().find(|&&(k, _)| self.text(k) == Some(key)).map(|&(_, v)| v);
        let (subclass, shape, order, dtype) =
            (field("subclass"), field("shape"), field("order"), field("dtype"));
        let (allow_mmap, alignment) = (field("allow_mmap"), field("numpy_array_alignment_bytes"));
        let mut problems = Vec::new();
        if !subclass.is_some_and(|s| matches!(self.value(s), Value::Global(g) if self.globals[*g].allowed == Some(Allowed::NdArray)))
        {
            problems.push("its subclass is not numpy.ndarray".to_owned());
        }
        // joblib reads any order but "F" as C order, and pads whenever the alignment is not None.
        let fortran = match order.map(|o| self.value(o)) {
            Some(Value::Str(o)) if o == "F" => true,
            Some(Value::Str(o)) if o == "C" => false,
            _ => {
                problems.push("its order is not 'C' or 'F'".to_owned());
                false
            }
        };
        if allow_mmap.is_some_and(|a| !matches!(self.value(a), Value::Bool(_))) {
            problems.push("allow_mmap is not True or False".to_owned());
        }
        let padded = match alignment.map(|a| self.value(a)) {
            None | Some(Value::None) => false,
            Some(Value::Int(16)) => true,
            Some(_) => {
                problems.push("numpy_array_alignment_bytes is not 16 or None".to_owned());
                true
            }
        };
        let left = self.source.frame_remainder();
        if left > 0 {
            problems.push(format!(
                "its FRAME still holds {left} bytes: joblib reads the array from the file past the \
                 frame, then runs those bytes as opcodes"
            ));
        }
        for problem in problems {
            self.refuse(
                at,
                format!("a joblib NumpyArrayWrapper that joblib does not write: {problem}"),
            );
        }
        // joblib takes any sequence of integers (bools are integers) as the shape, and a
        // dtype numpy made without its state as it is; no dump writes either.
        let (shape, written) = match shape.map(|s| self.value(s)) {
            Some(Value::Tuple(dims) | Value::List(dims)) if dims.len() <= MAX_DIMENSIONS => {
                let tuple = matches!(self.value(shape.expect("matched")), Value::Tuple(_));
                let ints = dims.iter().all(|&d| matches!(self.value(d), Value::Int(_)));
                let dims: Option<Vec<usize>> = dims
                    .iter()
                    .map(|&d| match self.value(d) {
                        Value::Int(n) => usize::try_from(*n).ok(),
                        Value::Bool(b) => Some(usize::from(*b)),
                        _ => None,
                    })
                    .collect();
                (dims, tuple && ints)
            }
            _ => (None, true),
        };
        if shape.is_some() && !written {
            self.refuse(at, "a joblib NumpyArrayWrapper's shape is not a tuple of integers".into());
        }
        let dtype = match dtype.map(|d| self.value(d)) {
            Some(Value::Dtype { dtype, built }) => {
                let dtype = dtype.clone();
                if !built {
                    self.refuse(at, format!("dtype {} lacks the state numpy writes", dtype.descr));
                }
                Some(dtype)
            }
            _ => None,
        };
        let (Some(shape), Some(dtype)) = (shape, dtype) else {
            return stop(
                at,
                "a joblib array wrapper lacks a shape or a numpy dtype (the loader stops)",
            );
        };
        let Some(count) = Array::count(&shape) else {
            return stop(at, format!("a joblib array's shape {} overflows", shape_text(&shape)));
        };

        if dtype.kind == Kind::Object {
            // An object array is a whole stream of its own, read by a new plain unpickler.
            let outer = self.source.enter_nested();
            self.nested += 1;
            let inner = self.load();
            self.nested -= 1;
            let inner = inner?;
            let dropped = self.source.leave_nested(outer);
            if dropped > 0 {
                let at = self.source.position();
                self.refuse(
                    at,
                    format!(
                        "{dropped} bytes follow an object array's nested stream inside its last \
                         FRAME: joblib drops them, pickle.load runs them"
                    ),
                );
            }
            match self.value(inner).clone() {
                Value::Array(array)
                    if matches!(array.elements, Elements::Objects(_)) && array.shape == shape =>
                {
                    self.trace_array(&array);
                }
                Value::Opaque => {}
                other => {
                    self.refuse(
                        at,
                        format!(
                            "the nested stream of an object array of shape {} holds a {}",
                            shape_text(&shape),
                            other.kind()
                        ),
                    );
                }
            }
            return Ok(inner);
        }

        if padded {
            let expected = 16 - (self.source.file_position() + 1) % 16;
            let length = usize::from(self.source.read_file(1, "an array's padding length")?[0]);
            let padding = self.source.read_file(length, "an array's padding")?;
            if length != expected {
                self.refuse(
                    at,
                    format!(
                        "a joblib array's padding is {length} bytes where joblib writes {expected} \
                         bytes of 0xFF"
                    ),
                );
            } else if padding.iter().any(|&b| b != 0xff) {
                self.refuse(
                    at,
                    format!(
                        "a joblib array's {length} bytes of padding are not the 0xFF bytes joblib \
                         writes"
                    ),
                );
            }
        }
        let start = self.source.file_position();
        let Some(bytes) = count.checked_mul(dtype.itemsize) else {
            return stop(at, format!("a joblib array's shape {} overflows", shape_text(&shape)));
        };
        self.source.read_file(bytes, "a joblib array's bytes").map_err(|_| Stop {
            offset: start,
            message: format!(
                "the joblib array at byte {at} declares shape {} of dtype {dtype} ({count} elements \
                 of {} bytes), but only {} bytes remain in the file",
                shape_text(&shape),
                dtype.itemsize,
                self.data.len() - start
            ),
            limit: false,
        })?;
        let array =
            Array { dtype, shape, fortran, elements: Elements::Inline(start..start + bytes) };
        self.trace_array(&array);
        self.alloc(at, Value::Array(array))
    }
}
