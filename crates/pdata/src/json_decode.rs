//! Streaming OTLP/JSON decoder: serde visitors that build the prost messages directly from
//! the JSON tokens, without an intermediate `serde_json::Value` tree.
//!
//! * Every message type implements [`JsonMessage`]: one `match` on the key (camelCase and
//!   snake_case spellings) that decodes the value into the right field. Keys are borrowed from
//!   the input (owned only when they contain escapes); unknown keys are skipped with
//!   [`IgnoredAny`].
//! * Scalar values are read as a [`Tok`] (a borrowed JSON scalar) and converted with the
//!   proto3 JSON leniencies: 64-bit integers as strings or numbers, enums as names or numbers,
//!   `"NaN"`/`"Infinity"`, hex ids, base64 bytes. `null` means the default value.
//! * Errors name the field: `"name: expected a string, found a number at line 1 column 9"`.
//! * When a oneof (`AnyValue.value`, `Metric.data`, the point values) appears more than once
//!   the last non-null occurrence wins, like a protobuf merge.

use std::borrow::Cow;
use std::fmt;
use std::marker::PhantomData;

use base64::Engine;
use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};

use crate::PdataError;
use crate::proto::collector::{
    logs::v1::{ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse},
    metrics::v1::{
        ExportMetricsPartialSuccess, ExportMetricsServiceRequest, ExportMetricsServiceResponse,
    },
    trace::v1::{ExportTracePartialSuccess, ExportTraceServiceRequest, ExportTraceServiceResponse},
};
use crate::proto::common::v1::{
    AnyValue, ArrayValue, EntityRef, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use crate::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs, SeverityNumber};
use crate::proto::metrics::v1::{
    AggregationTemporality, Exemplar, ExponentialHistogram, ExponentialHistogramDataPoint, Gauge,
    Histogram, HistogramDataPoint, Metric, NumberDataPoint, ResourceMetrics, ScopeMetrics, Sum,
    Summary, SummaryDataPoint, exemplar, exponential_histogram_data_point, metric,
    number_data_point, summary_data_point,
};
use crate::proto::resource::v1::Resource;
use crate::proto::trace::v1::{ResourceSpans, ScopeSpans, Span, Status, span, status};

use super::RpcStatus;

/// Decodes one JSON document holding a `T` object (`what` names it in errors).
pub(super) fn decode_message<T: JsonMessage>(
    json: &[u8],
    what: &'static str,
) -> Result<T, PdataError> {
    let err = |e: serde_json::Error| PdataError::Json(e.to_string());
    let mut de = serde_json::Deserializer::from_slice(json);
    let message = Required::<T>::new(what).deserialize(&mut de).map_err(err)?;
    de.end().map_err(err)?;
    Ok(message)
}

/// A message decoded from a JSON object one key at a time.
pub(super) trait JsonMessage: Default {
    /// Decodes the value of `key` into its field (or skips it if the key is unknown).
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error>;
}

// ---------------------------------------------------------------------------------------------
// Seeds and visitors
// ---------------------------------------------------------------------------------------------

fn wrong<E: de::Error>(field: &str, expected: &str, found: impl fmt::Display) -> E {
    E::custom(format_args!("{field}: expected {expected}, found {found}"))
}

/// Implements the `visit_*` methods of a container visitor that reject scalars and the
/// container kind it does not accept, naming the field.
macro_rules! reject_scalars {
    ($expected:literal) => {
        fn visit_bool<E: de::Error>(self, _: bool) -> Result<Self::Value, E> {
            Err(wrong(self.field, $expected, "a boolean"))
        }
        fn visit_i64<E: de::Error>(self, _: i64) -> Result<Self::Value, E> {
            Err(wrong(self.field, $expected, "a number"))
        }
        fn visit_u64<E: de::Error>(self, _: u64) -> Result<Self::Value, E> {
            Err(wrong(self.field, $expected, "a number"))
        }
        fn visit_f64<E: de::Error>(self, _: f64) -> Result<Self::Value, E> {
            Err(wrong(self.field, $expected, "a number"))
        }
        fn visit_str<E: de::Error>(self, _: &str) -> Result<Self::Value, E> {
            Err(wrong(self.field, $expected, "a string"))
        }
    };
}

/// A message value: `None` for `null`.
struct Optional<T> {
    field: &'static str,
    message: PhantomData<T>,
}

impl<T> Optional<T> {
    fn new(field: &'static str) -> Self {
        Optional {
            field,
            message: PhantomData,
        }
    }
}

impl<'de, T: JsonMessage> DeserializeSeed<'de> for Optional<T> {
    type Value = Option<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Option<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: JsonMessage> Visitor<'de> for Optional<T> {
    type Value = Option<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: an object", self.field)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Option<T>, A::Error> {
        let mut message = T::default();
        while let Some(key) = map.next_key_seed(Key)? {
            message.field(&key, &mut map)?;
        }
        Ok(Some(message))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Option<T>, E> {
        Ok(None)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, _: A) -> Result<Option<T>, A::Error> {
        Err(wrong(self.field, "an object", "an array"))
    }

    reject_scalars!("an object");
}

/// A message value that must be present (array elements, the top-level document).
struct Required<T>(Optional<T>);

impl<T> Required<T> {
    fn new(field: &'static str) -> Self {
        Required(Optional::new(field))
    }
}

impl<'de, T: JsonMessage> DeserializeSeed<'de> for Required<T> {
    type Value = T;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<T, D::Error> {
        let field = self.0.field;
        self.0
            .deserialize(d)?
            .ok_or_else(|| wrong(field, "an object", "null"))
    }
}

/// An object key, borrowed from the input unless it contains escapes.
struct Key;

impl<'de> DeserializeSeed<'de> for Key {
    type Value = Cow<'de, str>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Cow<'de, str>, D::Error> {
        d.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key {
    type Value = Cow<'de, str>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Borrowed(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Cow<'de, str>, E> {
        Ok(Cow::Owned(v))
    }
}

/// An element type of a JSON array field.
trait Element: Sized {
    fn next<'de, A: SeqAccess<'de>>(
        seq: &mut A,
        field: &'static str,
    ) -> Result<Option<Self>, A::Error>;
}

impl<T: JsonMessage> Element for T {
    fn next<'de, A: SeqAccess<'de>>(
        seq: &mut A,
        field: &'static str,
    ) -> Result<Option<Self>, A::Error> {
        seq.next_element_seed(Required::<T>::new(field))
    }
}

/// Array elements that are scalars: `null` elements are errors, not defaults.
macro_rules! scalar_element {
    ($ty:ty, $conv:ident) => {
        impl Element for $ty {
            fn next<'de, A: SeqAccess<'de>>(
                seq: &mut A,
                field: &'static str,
            ) -> Result<Option<Self>, A::Error> {
                match seq.next_element_seed(Scalar)? {
                    None => Ok(None),
                    Some(Tok::Null) => Err(wrong(field, "a value", "null")),
                    Some(t) => t.$conv(field).map(Some),
                }
            }
        }
    };
}
scalar_element!(u64, u64);
scalar_element!(f64, f64);
scalar_element!(String, string);

/// An array field: `null` is empty.
struct List<T> {
    field: &'static str,
    element: PhantomData<T>,
}

fn list<'de, T: Element, A: MapAccess<'de>>(
    map: &mut A,
    field: &'static str,
) -> Result<Vec<T>, A::Error> {
    map.next_value_seed(List {
        field,
        element: PhantomData,
    })
}

impl<'de, T: Element> DeserializeSeed<'de> for List<T> {
    type Value = Vec<T>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Vec<T>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de, T: Element> Visitor<'de> for List<T> {
    type Value = Vec<T>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        write!(f, "{}: an array", self.field)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Vec<T>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
        while let Some(item) = T::next(&mut seq, self.field)? {
            items.push(item);
        }
        Ok(items)
    }

    fn visit_unit<E: de::Error>(self) -> Result<Vec<T>, E> {
        Ok(Vec::new())
    }

    fn visit_map<A: MapAccess<'de>>(self, _: A) -> Result<Vec<T>, A::Error> {
        Err(wrong(self.field, "an array", "an object"))
    }

    reject_scalars!("an array");
}

fn message<'de, T: JsonMessage, A: MapAccess<'de>>(
    map: &mut A,
    field: &'static str,
) -> Result<Option<T>, A::Error> {
    map.next_value_seed(Optional::new(field))
}

fn scalar<'de, A: MapAccess<'de>>(map: &mut A) -> Result<Tok<'de>, A::Error> {
    map.next_value_seed(Scalar)
}

fn skip<'de, A: MapAccess<'de>>(map: &mut A) -> Result<(), A::Error> {
    map.next_value::<IgnoredAny>().map(|_| ())
}

// ---------------------------------------------------------------------------------------------
// Scalars
// ---------------------------------------------------------------------------------------------

/// One JSON value read where a scalar is expected; arrays and objects are skipped and kept
/// only as their kind, for the error message.
#[derive(Debug)]
enum Tok<'de> {
    Null,
    Bool(bool),
    U64(u64),
    I64(i64),
    F64(f64),
    Str(Cow<'de, str>),
    Array,
    Object,
}

struct Scalar;

impl<'de> DeserializeSeed<'de> for Scalar {
    type Value = Tok<'de>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Tok<'de>, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Scalar {
    type Value = Tok<'de>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_unit<E: de::Error>(self) -> Result<Tok<'de>, E> {
        Ok(Tok::Null)
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Tok<'de>, E> {
        Ok(Tok::Bool(v))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Tok<'de>, E> {
        Ok(Tok::U64(v))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Tok<'de>, E> {
        Ok(Tok::I64(v))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Tok<'de>, E> {
        Ok(Tok::F64(v))
    }
    fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Tok<'de>, E> {
        Ok(Tok::Str(Cow::Borrowed(v)))
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Tok<'de>, E> {
        Ok(Tok::Str(Cow::Owned(v.to_owned())))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Tok<'de>, E> {
        Ok(Tok::Str(Cow::Owned(v)))
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Tok<'de>, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Tok::Array)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Tok<'de>, A::Error> {
        while map.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(Tok::Object)
    }
}

impl fmt::Display for Tok<'_> {
    /// The value as the error messages show it: numbers and strings literally, containers
    /// by kind.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Tok::Null => f.write_str("null"),
            Tok::Bool(b) => write!(f, "{b}"),
            Tok::U64(n) => write!(f, "{n}"),
            Tok::I64(n) => write!(f, "{n}"),
            Tok::F64(n) => write!(f, "{n}"),
            Tok::Str(s) => write!(f, "{s:?}"),
            Tok::Array => f.write_str("an array"),
            Tok::Object => f.write_str("an object"),
        }
    }
}

impl<'de> Tok<'de> {
    fn is_null(&self) -> bool {
        matches!(self, Tok::Null)
    }

    fn kind(&self) -> &'static str {
        match self {
            Tok::Null => "null",
            Tok::Bool(_) => "a boolean",
            Tok::U64(_) | Tok::I64(_) | Tok::F64(_) => "a number",
            Tok::Str(_) => "a string",
            Tok::Array => "an array",
            Tok::Object => "an object",
        }
    }

    fn string<E: de::Error>(self, field: &str) -> Result<String, E> {
        match self {
            Tok::Null => Ok(String::new()),
            Tok::Str(s) => Ok(s.into_owned()),
            other => Err(wrong(field, "a string", other.kind())),
        }
    }

    fn bool<E: de::Error>(self, field: &str) -> Result<bool, E> {
        match self {
            Tok::Null => Ok(false),
            Tok::Bool(b) => Ok(b),
            Tok::Str(s) if s == "true" => Ok(true),
            Tok::Str(s) if s == "false" => Ok(false),
            other => Err(wrong(field, "a boolean", other.kind())),
        }
    }

    fn u64<E: de::Error>(self, field: &str) -> Result<u64, E> {
        let n = match &self {
            Tok::Null => Some(0),
            Tok::U64(n) => Some(*n),
            Tok::I64(n) => u64::try_from(*n).ok(),
            Tok::F64(f) => Some(*f)
                .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f < 1.8446744073709552e19)
                .map(|f| f as u64),
            Tok::Str(s) => s.trim().parse::<u64>().ok(),
            _ => None,
        };
        n.ok_or_else(|| wrong(field, "an unsigned integer", &self))
    }

    fn i64<E: de::Error>(self, field: &str) -> Result<i64, E> {
        let n = match &self {
            Tok::Null => Some(0),
            Tok::U64(n) => i64::try_from(*n).ok(),
            Tok::I64(n) => Some(*n),
            Tok::F64(f) => Some(*f)
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.2e18)
                .map(|f| f as i64),
            Tok::Str(s) => s.trim().parse::<i64>().ok(),
            _ => None,
        };
        n.ok_or_else(|| wrong(field, "an integer", &self))
    }

    fn u32<E: de::Error>(self, field: &str) -> Result<u32, E> {
        let n = self.u64(field)?;
        u32::try_from(n)
            .map_err(|_| E::custom(format_args!("{field}: {n} out of range for uint32")))
    }

    fn i32<E: de::Error>(self, field: &str) -> Result<i32, E> {
        let n = self.i64(field)?;
        i32::try_from(n).map_err(|_| E::custom(format_args!("{field}: {n} out of range for int32")))
    }

    fn f64<E: de::Error>(self, field: &str) -> Result<f64, E> {
        let n = match &self {
            Tok::Null => Some(0.0),
            Tok::U64(n) => Some(*n as f64),
            Tok::I64(n) => Some(*n as f64),
            Tok::F64(f) => Some(*f),
            Tok::Str(s) => match &**s {
                "NaN" => Some(f64::NAN),
                "Infinity" => Some(f64::INFINITY),
                "-Infinity" => Some(f64::NEG_INFINITY),
                other => other.trim().parse::<f64>().ok(),
            },
            _ => None,
        };
        n.ok_or_else(|| wrong(field, "a number", &self))
    }

    /// `optional double`: `null` is absent.
    fn opt_f64<E: de::Error>(self, field: &str) -> Result<Option<f64>, E> {
        if self.is_null() {
            return Ok(None);
        }
        self.f64(field).map(Some)
    }

    /// A trace or span id: hex of any case; `""` is an empty id.
    fn id<E: de::Error>(self, field: &str) -> Result<Vec<u8>, E> {
        match self {
            Tok::Null => Ok(Vec::new()),
            Tok::Str(s) => decode_hex(&s).ok_or_else(|| match hex::decode(&*s) {
                Err(e) => E::custom(format_args!("{field}: invalid hex id {s:?}: {e}")),
                Ok(_) => E::custom(format_args!("{field}: invalid hex id {s:?}")),
            }),
            other => Err(wrong(field, "a hex string", other.kind())),
        }
    }

    /// `bytes`: base64, standard or URL-safe alphabet, padded or not.
    fn base64<E: de::Error>(self, field: &str) -> Result<Vec<u8>, E> {
        use base64::engine::general_purpose::{
            STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD,
        };
        match self {
            Tok::Null => Ok(Vec::new()),
            Tok::Str(s) => STANDARD
                .decode(&*s)
                .or_else(|_| STANDARD_NO_PAD.decode(&*s))
                .or_else(|_| URL_SAFE.decode(&*s))
                .or_else(|_| URL_SAFE_NO_PAD.decode(&*s))
                .map_err(|e| E::custom(format_args!("{field}: invalid base64: {e}"))),
            other => Err(wrong(field, "a string", other.kind())),
        }
    }

    /// An enum: its name (`"SPAN_KIND_SERVER"`) or number.
    fn enumeration<E: de::Error>(
        self,
        field: &str,
        by_name: impl Fn(&str) -> Option<i32>,
    ) -> Result<i32, E> {
        match self {
            Tok::Str(s) => match by_name(&s) {
                Some(v) => Ok(v),
                None => s
                    .parse::<i32>()
                    .map_err(|_| E::custom(format_args!("{field}: unknown enum value {s:?}"))),
            },
            other => {
                let n = other.i64(field)?;
                i32::try_from(n)
                    .map_err(|_| E::custom(format_args!("{field}: {n} out of range for enum")))
            }
        }
    }
}

/// Hex of any case to bytes; `None` if `s` is not hex (the `hex` crate then says why).
/// Ids are on every span and log record, so this avoids the generic iterator of `hex`.
fn decode_hex(s: &str) -> Option<Vec<u8>> {
    fn nibble(c: u8) -> Option<u8> {
        match c {
            b'0'..=b'9' => Some(c - b'0'),
            b'a'..=b'f' => Some(c - b'a' + 10),
            b'A'..=b'F' => Some(c - b'A' + 10),
            _ => None,
        }
    }
    let digits = s.as_bytes();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    let mut bytes = Vec::with_capacity(digits.len() / 2);
    for pair in digits.chunks_exact(2) {
        bytes.push(nibble(pair[0])? << 4 | nibble(pair[1])?);
    }
    Some(bytes)
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

impl JsonMessage for ExportTraceServiceRequest {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "resourceSpans" | "resource_spans" => self.resource_spans = list(map, "resourceSpans")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExportMetricsServiceRequest {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "resourceMetrics" | "resource_metrics" => {
                self.resource_metrics = list(map, "resourceMetrics")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExportLogsServiceRequest {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "resourceLogs" | "resource_logs" => self.resource_logs = list(map, "resourceLogs")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for AnyValue {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        use any_value::Value as V;
        let value = match key {
            "stringValue" | "string_value" => match scalar(map)? {
                Tok::Null => None,
                t => Some(V::StringValue(t.string("stringValue")?)),
            },
            "boolValue" | "bool_value" => match scalar(map)? {
                Tok::Null => None,
                t => Some(V::BoolValue(t.bool("boolValue")?)),
            },
            "intValue" | "int_value" => match scalar(map)? {
                Tok::Null => None,
                t => Some(V::IntValue(t.i64("intValue")?)),
            },
            "doubleValue" | "double_value" => match scalar(map)? {
                Tok::Null => None,
                t => Some(V::DoubleValue(t.f64("doubleValue")?)),
            },
            "arrayValue" | "array_value" => message(map, "arrayValue")?.map(V::ArrayValue),
            "kvlistValue" | "kvlist_value" => message(map, "kvlistValue")?.map(V::KvlistValue),
            "bytesValue" | "bytes_value" => match scalar(map)? {
                Tok::Null => None,
                t => Some(V::BytesValue(t.base64("bytesValue")?)),
            },
            "stringValueStrindex" | "string_value_strindex" => match scalar(map)? {
                Tok::Null => None,
                t => Some(V::StringValueStrindex(t.i32("stringValueStrindex")?)),
            },
            _ => return skip(map),
        };
        if value.is_some() {
            self.value = value;
        }
        Ok(())
    }
}

impl JsonMessage for ArrayValue {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "values" => self.values = list(map, "values")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for KeyValueList {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "values" => self.values = list(map, "values")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for KeyValue {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "key" => self.key = scalar(map)?.string("key")?,
            "value" => self.value = message(map, "value")?,
            "keyStrindex" | "key_strindex" => {
                self.key_strindex = scalar(map)?.i32("keyStrindex")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for EntityRef {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "schemaUrl" | "schema_url" => self.schema_url = scalar(map)?.string("schemaUrl")?,
            "type" => self.r#type = scalar(map)?.string("type")?,
            "idKeys" | "id_keys" => self.id_keys = list(map, "idKeys")?,
            "descriptionKeys" | "description_keys" => {
                self.description_keys = list(map, "descriptionKeys")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for Resource {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "attributes" => self.attributes = list(map, "attributes")?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                self.dropped_attributes_count = scalar(map)?.u32("droppedAttributesCount")?
            }
            "entityRefs" | "entity_refs" => self.entity_refs = list(map, "entityRefs")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for InstrumentationScope {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "name" => self.name = scalar(map)?.string("name")?,
            "version" => self.version = scalar(map)?.string("version")?,
            "attributes" => self.attributes = list(map, "attributes")?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                self.dropped_attributes_count = scalar(map)?.u32("droppedAttributesCount")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ResourceSpans {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "resource" => self.resource = message(map, "resource")?,
            "scopeSpans" | "scope_spans" => self.scope_spans = list(map, "scopeSpans")?,
            "schemaUrl" | "schema_url" => self.schema_url = scalar(map)?.string("schemaUrl")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ScopeSpans {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "scope" => self.scope = message(map, "scope")?,
            "spans" => self.spans = list(map, "spans")?,
            "schemaUrl" | "schema_url" => self.schema_url = scalar(map)?.string("schemaUrl")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for Span {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "traceId" | "trace_id" => self.trace_id = scalar(map)?.id("traceId")?,
            "spanId" | "span_id" => self.span_id = scalar(map)?.id("spanId")?,
            "traceState" | "trace_state" => self.trace_state = scalar(map)?.string("traceState")?,
            "parentSpanId" | "parent_span_id" => {
                self.parent_span_id = scalar(map)?.id("parentSpanId")?
            }
            "flags" => self.flags = scalar(map)?.u32("flags")?,
            "name" => self.name = scalar(map)?.string("name")?,
            "kind" => {
                self.kind = scalar(map)?.enumeration("kind", |s| {
                    span::SpanKind::from_str_name(s).map(|k| k as i32)
                })?
            }
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = scalar(map)?.u64("startTimeUnixNano")?
            }
            "endTimeUnixNano" | "end_time_unix_nano" => {
                self.end_time_unix_nano = scalar(map)?.u64("endTimeUnixNano")?
            }
            "attributes" => self.attributes = list(map, "attributes")?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                self.dropped_attributes_count = scalar(map)?.u32("droppedAttributesCount")?
            }
            "events" => self.events = list(map, "events")?,
            "droppedEventsCount" | "dropped_events_count" => {
                self.dropped_events_count = scalar(map)?.u32("droppedEventsCount")?
            }
            "links" => self.links = list(map, "links")?,
            "droppedLinksCount" | "dropped_links_count" => {
                self.dropped_links_count = scalar(map)?.u32("droppedLinksCount")?
            }
            "status" => self.status = message(map, "status")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for span::Event {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = scalar(map)?.u64("timeUnixNano")?
            }
            "name" => self.name = scalar(map)?.string("name")?,
            "attributes" => self.attributes = list(map, "attributes")?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                self.dropped_attributes_count = scalar(map)?.u32("droppedAttributesCount")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for span::Link {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "traceId" | "trace_id" => self.trace_id = scalar(map)?.id("traceId")?,
            "spanId" | "span_id" => self.span_id = scalar(map)?.id("spanId")?,
            "traceState" | "trace_state" => self.trace_state = scalar(map)?.string("traceState")?,
            "attributes" => self.attributes = list(map, "attributes")?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                self.dropped_attributes_count = scalar(map)?.u32("droppedAttributesCount")?
            }
            "flags" => self.flags = scalar(map)?.u32("flags")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for Status {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "message" => self.message = scalar(map)?.string("message")?,
            "code" => {
                self.code = scalar(map)?.enumeration("code", |s| {
                    status::StatusCode::from_str_name(s).map(|c| c as i32)
                })?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ResourceLogs {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "resource" => self.resource = message(map, "resource")?,
            "scopeLogs" | "scope_logs" => self.scope_logs = list(map, "scopeLogs")?,
            "schemaUrl" | "schema_url" => self.schema_url = scalar(map)?.string("schemaUrl")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ScopeLogs {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "scope" => self.scope = message(map, "scope")?,
            "logRecords" | "log_records" => self.log_records = list(map, "logRecords")?,
            "schemaUrl" | "schema_url" => self.schema_url = scalar(map)?.string("schemaUrl")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for LogRecord {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = scalar(map)?.u64("timeUnixNano")?
            }
            "observedTimeUnixNano" | "observed_time_unix_nano" => {
                self.observed_time_unix_nano = scalar(map)?.u64("observedTimeUnixNano")?
            }
            "severityNumber" | "severity_number" => {
                self.severity_number = scalar(map)?.enumeration("severityNumber", |s| {
                    SeverityNumber::from_str_name(s).map(|n| n as i32)
                })?
            }
            "severityText" | "severity_text" => {
                self.severity_text = scalar(map)?.string("severityText")?
            }
            "body" => self.body = message(map, "body")?,
            "attributes" => self.attributes = list(map, "attributes")?,
            "droppedAttributesCount" | "dropped_attributes_count" => {
                self.dropped_attributes_count = scalar(map)?.u32("droppedAttributesCount")?
            }
            "flags" => self.flags = scalar(map)?.u32("flags")?,
            "traceId" | "trace_id" => self.trace_id = scalar(map)?.id("traceId")?,
            "spanId" | "span_id" => self.span_id = scalar(map)?.id("spanId")?,
            "eventName" | "event_name" => self.event_name = scalar(map)?.string("eventName")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ResourceMetrics {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "resource" => self.resource = message(map, "resource")?,
            "scopeMetrics" | "scope_metrics" => self.scope_metrics = list(map, "scopeMetrics")?,
            "schemaUrl" | "schema_url" => self.schema_url = scalar(map)?.string("schemaUrl")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ScopeMetrics {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "scope" => self.scope = message(map, "scope")?,
            "metrics" => self.metrics = list(map, "metrics")?,
            "schemaUrl" | "schema_url" => self.schema_url = scalar(map)?.string("schemaUrl")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for Metric {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        use metric::Data;
        let data = match key {
            "name" => return scalar(map)?.string("name").map(|s| self.name = s),
            "description" => {
                return scalar(map)?
                    .string("description")
                    .map(|s| self.description = s);
            }
            "unit" => return scalar(map)?.string("unit").map(|s| self.unit = s),
            "metadata" => return list(map, "metadata").map(|m| self.metadata = m),
            "gauge" => message(map, "gauge")?.map(Data::Gauge),
            "sum" => message(map, "sum")?.map(Data::Sum),
            "histogram" => message(map, "histogram")?.map(Data::Histogram),
            "exponentialHistogram" | "exponential_histogram" => {
                message(map, "exponentialHistogram")?.map(Data::ExponentialHistogram)
            }
            "summary" => message(map, "summary")?.map(Data::Summary),
            _ => return skip(map),
        };
        if data.is_some() {
            self.data = data;
        }
        Ok(())
    }
}

fn temporality<E: de::Error>(t: Tok<'_>) -> Result<i32, E> {
    t.enumeration("aggregationTemporality", |s| {
        AggregationTemporality::from_str_name(s).map(|t| t as i32)
    })
}

impl JsonMessage for Gauge {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => self.data_points = list(map, "dataPoints")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for Sum {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => self.data_points = list(map, "dataPoints")?,
            "aggregationTemporality" | "aggregation_temporality" => {
                self.aggregation_temporality = temporality(scalar(map)?)?
            }
            "isMonotonic" | "is_monotonic" => {
                self.is_monotonic = scalar(map)?.bool("isMonotonic")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for Histogram {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => self.data_points = list(map, "dataPoints")?,
            "aggregationTemporality" | "aggregation_temporality" => {
                self.aggregation_temporality = temporality(scalar(map)?)?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExponentialHistogram {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => self.data_points = list(map, "dataPoints")?,
            "aggregationTemporality" | "aggregation_temporality" => {
                self.aggregation_temporality = temporality(scalar(map)?)?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for Summary {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "dataPoints" | "data_points" => self.data_points = list(map, "dataPoints")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for Exemplar {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "filteredAttributes" | "filtered_attributes" => {
                self.filtered_attributes = list(map, "filteredAttributes")?
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = scalar(map)?.u64("timeUnixNano")?
            }
            "spanId" | "span_id" => self.span_id = scalar(map)?.id("spanId")?,
            "traceId" | "trace_id" => self.trace_id = scalar(map)?.id("traceId")?,
            "asDouble" | "as_double" => match scalar(map)? {
                Tok::Null => {}
                t => self.value = Some(exemplar::Value::AsDouble(t.f64("asDouble")?)),
            },
            "asInt" | "as_int" => match scalar(map)? {
                Tok::Null => {}
                t => self.value = Some(exemplar::Value::AsInt(t.i64("asInt")?)),
            },
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for NumberDataPoint {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        use number_data_point::Value;
        match key {
            "attributes" => self.attributes = list(map, "attributes")?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = scalar(map)?.u64("startTimeUnixNano")?
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = scalar(map)?.u64("timeUnixNano")?
            }
            "asDouble" | "as_double" => match scalar(map)? {
                Tok::Null => {}
                t => self.value = Some(Value::AsDouble(t.f64("asDouble")?)),
            },
            "asInt" | "as_int" => match scalar(map)? {
                Tok::Null => {}
                t => self.value = Some(Value::AsInt(t.i64("asInt")?)),
            },
            "exemplars" => self.exemplars = list(map, "exemplars")?,
            "flags" => self.flags = scalar(map)?.u32("flags")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for HistogramDataPoint {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "attributes" => self.attributes = list(map, "attributes")?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = scalar(map)?.u64("startTimeUnixNano")?
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = scalar(map)?.u64("timeUnixNano")?
            }
            "count" => self.count = scalar(map)?.u64("count")?,
            "sum" => self.sum = scalar(map)?.opt_f64("sum")?,
            "bucketCounts" | "bucket_counts" => self.bucket_counts = list(map, "bucketCounts")?,
            "explicitBounds" | "explicit_bounds" => {
                self.explicit_bounds = list(map, "explicitBounds")?
            }
            "exemplars" => self.exemplars = list(map, "exemplars")?,
            "flags" => self.flags = scalar(map)?.u32("flags")?,
            "min" => self.min = scalar(map)?.opt_f64("min")?,
            "max" => self.max = scalar(map)?.opt_f64("max")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for exponential_histogram_data_point::Buckets {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "offset" => self.offset = scalar(map)?.i32("offset")?,
            "bucketCounts" | "bucket_counts" => self.bucket_counts = list(map, "bucketCounts")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExponentialHistogramDataPoint {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "attributes" => self.attributes = list(map, "attributes")?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = scalar(map)?.u64("startTimeUnixNano")?
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = scalar(map)?.u64("timeUnixNano")?
            }
            "count" => self.count = scalar(map)?.u64("count")?,
            "sum" => self.sum = scalar(map)?.opt_f64("sum")?,
            "scale" => self.scale = scalar(map)?.i32("scale")?,
            "zeroCount" | "zero_count" => self.zero_count = scalar(map)?.u64("zeroCount")?,
            "positive" => self.positive = message(map, "positive")?,
            "negative" => self.negative = message(map, "negative")?,
            "flags" => self.flags = scalar(map)?.u32("flags")?,
            "exemplars" => self.exemplars = list(map, "exemplars")?,
            "min" => self.min = scalar(map)?.opt_f64("min")?,
            "max" => self.max = scalar(map)?.opt_f64("max")?,
            "zeroThreshold" | "zero_threshold" => {
                self.zero_threshold = scalar(map)?.f64("zeroThreshold")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for SummaryDataPoint {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "attributes" => self.attributes = list(map, "attributes")?,
            "startTimeUnixNano" | "start_time_unix_nano" => {
                self.start_time_unix_nano = scalar(map)?.u64("startTimeUnixNano")?
            }
            "timeUnixNano" | "time_unix_nano" => {
                self.time_unix_nano = scalar(map)?.u64("timeUnixNano")?
            }
            "count" => self.count = scalar(map)?.u64("count")?,
            "sum" => self.sum = scalar(map)?.f64("sum")?,
            "quantileValues" | "quantile_values" => {
                self.quantile_values = list(map, "quantileValues")?
            }
            "flags" => self.flags = scalar(map)?.u32("flags")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for summary_data_point::ValueAtQuantile {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "quantile" => self.quantile = scalar(map)?.f64("quantile")?,
            "value" => self.value = scalar(map)?.f64("value")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Export responses and google.rpc.Status
// ---------------------------------------------------------------------------------------------

impl JsonMessage for ExportTraceServiceResponse {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "partialSuccess" | "partial_success" => {
                self.partial_success = message(map, "partialSuccess")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExportTracePartialSuccess {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "rejectedSpans" | "rejected_spans" => {
                self.rejected_spans = scalar(map)?.i64("rejectedSpans")?
            }
            "errorMessage" | "error_message" => {
                self.error_message = scalar(map)?.string("errorMessage")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExportMetricsServiceResponse {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "partialSuccess" | "partial_success" => {
                self.partial_success = message(map, "partialSuccess")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExportMetricsPartialSuccess {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "rejectedDataPoints" | "rejected_data_points" => {
                self.rejected_data_points = scalar(map)?.i64("rejectedDataPoints")?
            }
            "errorMessage" | "error_message" => {
                self.error_message = scalar(map)?.string("errorMessage")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExportLogsServiceResponse {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "partialSuccess" | "partial_success" => {
                self.partial_success = message(map, "partialSuccess")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for ExportLogsPartialSuccess {
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "rejectedLogRecords" | "rejected_log_records" => {
                self.rejected_log_records = scalar(map)?.i64("rejectedLogRecords")?
            }
            "errorMessage" | "error_message" => {
                self.error_message = scalar(map)?.string("errorMessage")?
            }
            _ => skip(map)?,
        }
        Ok(())
    }
}

impl JsonMessage for RpcStatus {
    /// `details` are not decoded (skipped like unknown keys).
    fn field<'de, A: MapAccess<'de>>(&mut self, key: &str, map: &mut A) -> Result<(), A::Error> {
        match key {
            "code" => self.code = scalar(map)?.i32("code")?,
            "message" => self.message = scalar(map)?.string("message")?,
            _ => skip(map)?,
        }
        Ok(())
    }
}
