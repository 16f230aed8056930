//! A Spark model's `metadata/part-*` file: one line of JSON naming the model's class, its uid,
//! the Spark version that wrote it and its parameters, those the user set (`paramMap`) over
//! their defaults (`defaultParamMap`). An object that names a key twice is refused: which of
//! the two Spark's reader would take is not something a reviewer should have to know.

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::SparkProblem;

/// Nesting of the JSON read: parameters are scalars or arrays of them.
const MAX_DEPTH: usize = 8;

/// A stage's metadata.
#[derive(Debug, Clone, PartialEq)]
pub struct Metadata {
    /// The JVM class of the saved model, e.g. `org.apache.spark.ml.feature.StringIndexerModel`.
    pub class: String,
    pub uid: String,
    pub spark_version: String,
    /// When it was saved, in milliseconds since 1970.
    pub timestamp: Option<i64>,
    /// Every parameter: the value set, else the default.
    pub params: Map<String, Value>,
}

impl Metadata {
    /// Parses the metadata file `path` (for messages) of `bytes`.
    pub fn parse(path: &str, bytes: &[u8]) -> Result<Metadata, SparkProblem> {
        let bad = |message: String| SparkProblem::unreadable(path, message);
        let text = std::str::from_utf8(bytes).map_err(|_| bad("is not UTF-8".into()))?;
        let line = text.strip_suffix('\n').unwrap_or(text);
        if line.contains('\n') {
            return Err(bad("holds more than one line; Spark writes one".into()));
        }
        let mut deserializer = serde_json::Deserializer::from_str(line);
        let Strict(value) = Strict::deserialize(&mut deserializer)
            .map_err(|e| bad(format!("is not the JSON of a model's metadata: {e}")))?;
        deserializer.end().map_err(|e| bad(format!("has text after its JSON: {e}")))?;
        let Value::Object(mut object) = value else {
            return Err(bad("is not a JSON object".into()));
        };
        let mut text_field = |key: &str| match object.remove(key) {
            Some(Value::String(s)) => Ok(s),
            Some(_) => Err(bad(format!("has a {key:?} that is not a string"))),
            None => Err(bad(format!("has no {key:?}"))),
        };
        let class = text_field("class")?;
        let uid = text_field("uid")?;
        let spark_version = text_field("sparkVersion")?;
        let timestamp = match object.remove("timestamp") {
            None => None,
            Some(Value::Number(n)) if n.as_i64().is_some() => n.as_i64(),
            Some(_) => return Err(bad("has a timestamp that is not a whole number".into())),
        };
        let mut params = match object.remove("defaultParamMap") {
            None => Map::new(),
            Some(Value::Object(map)) => map,
            Some(_) => return Err(bad("has a defaultParamMap that is not an object".into())),
        };
        match object.remove("paramMap") {
            None => {}
            Some(Value::Object(map)) => params.extend(map),
            Some(_) => return Err(bad("has a paramMap that is not an object".into())),
        }
        Ok(Metadata { class, uid, spark_version, timestamp, params })
    }

    /// The class without its package, e.g. `StringIndexerModel`.
    pub fn short_class(&self) -> &str {
        self.class.rsplit('.').next().unwrap_or(&self.class)
    }

    /// A text parameter.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.params.get(name).and_then(Value::as_str)
    }

    /// A boolean parameter.
    pub fn flag(&self, name: &str) -> Option<bool> {
        self.params.get(name).and_then(Value::as_bool)
    }

    /// A number parameter; Spark writes a NaN as the text "NaN".
    pub fn number(&self, name: &str) -> Option<f64> {
        match self.params.get(name)? {
            Value::String(s) if s == "NaN" => Some(f64::NAN),
            value => value.as_f64(),
        }
    }

    /// A parameter that is an array of texts.
    pub fn texts(&self, name: &str) -> Option<Vec<String>> {
        self.params.get(name)?.as_array()?.iter().map(|v| v.as_str().map(str::to_owned)).collect()
    }

    /// A parameter that is an array of numbers.
    pub fn numbers(&self, name: &str) -> Option<Vec<f64>> {
        self.params.get(name)?.as_array()?.iter().map(Value::as_f64).collect()
    }
}

/// A JSON value whose objects never name a key twice, nested at most [`MAX_DEPTH`] deep.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Strict, D::Error> {
        deserializer.deserialize_any(StrictVisitor { depth: 0 }).map(Strict)
    }
}

struct StrictVisitor {
    depth: usize,
}

/// A nested value, one level deeper.
struct Nested(usize);

impl<'de> de::DeserializeSeed<'de> for Nested {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(StrictVisitor { depth: self.0 })
    }
}

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_bool<E>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }
    fn visit_i64<E>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_u64<E>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_f64<E>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }
    fn visit_str<E>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format!("nested more than {MAX_DEPTH} deep")));
        }
        let mut items = Vec::new();
        while let Some(item) = seq.next_element_seed(Nested(self.depth + 1))? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        if self.depth >= MAX_DEPTH {
            return Err(de::Error::custom(format!("nested more than {MAX_DEPTH} deep")));
        }
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            let value = map.next_value_seed(Nested(self.depth + 1))?;
            if object.insert(key.clone(), value).is_some() {
                return Err(de::Error::custom(format!("the key {key:?} is given twice")));
            }
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const IMPUTER: &str = r#"{"class":"org.apache.spark.ml.feature.ImputerModel","timestamp":1765000000000,"sparkVersion":"4.3.0","uid":"Imputer_395042a5f308","paramMap":{"inputCols":["x1","x2"],"strategy":"median"},"defaultParamMap":{"strategy":"mean","missingValue":"NaN","relativeError":0.001}}
"#;

    #[test]
    fn parameters_set_override_their_defaults_and_nan_is_read_from_its_text() {
        let m = Metadata::parse("metadata/part-00000", IMPUTER.as_bytes()).unwrap();
        assert_eq!(m.short_class(), "ImputerModel");
        assert_eq!(m.uid, "Imputer_395042a5f308");
        assert_eq!(m.spark_version, "4.3.0");
        assert_eq!(m.timestamp, Some(1_765_000_000_000));
        assert_eq!(m.text("strategy"), Some("median"));
        assert!(m.number("missingValue").unwrap().is_nan());
        assert_eq!(m.number("relativeError"), Some(0.001));
        assert_eq!(m.texts("inputCols"), Some(vec!["x1".to_owned(), "x2".to_owned()]));
    }

    #[test]
    fn a_key_given_twice_two_lines_or_a_missing_class_are_refused() {
        let twice =
            IMPUTER.replace(r#""strategy":"median""#, r#""strategy":"median","strategy":"mean""#);
        let e = Metadata::parse("m", twice.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("the key \"strategy\" is given twice"), "{e}");
        let two_lines = format!("{}{}", IMPUTER, IMPUTER);
        let e = Metadata::parse("m", two_lines.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("more than one line"), "{e}");
        let classless =
            IMPUTER.replace(r#""class":"org.apache.spark.ml.feature.ImputerModel","#, "");
        let e = Metadata::parse("m", classless.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("has no \"class\""), "{e}");
        let deep = format!("{}{}", "[".repeat(100), "]".repeat(100));
        let e = Metadata::parse("m", deep.as_bytes()).unwrap_err();
        assert!(e.to_string().contains("nested more than 8 deep"), "{e}");
    }
}
