//! Table tests with expected values from the Go behaviour (ottlfuncs README examples and Go
//! unit tests, LANGUAGE.md rules, the contexts' READMEs).

mod contexts;
mod filter;
mod functions;
mod parser;
mod transform;
mod xml;

use pdata::proto::common::v1::{
    AnyValue, ArrayValue, InstrumentationScope, KeyValue, KeyValueList, any_value,
};
use pdata::proto::logs::v1::LogRecord;
use pdata::proto::resource::v1::Resource;

use crate::contexts::log::{LogContext, LogData};
use crate::{EvalError, Parser, Value};

pub(crate) fn s(v: &str) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::StringValue(v.into())),
    }
}

pub(crate) fn i(v: i64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::IntValue(v)),
    }
}

pub(crate) fn f(v: f64) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::DoubleValue(v)),
    }
}

pub(crate) fn b(v: bool) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::BoolValue(v)),
    }
}

pub(crate) fn list(v: Vec<AnyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::ArrayValue(ArrayValue { values: v })),
    }
}

pub(crate) fn map(v: Vec<KeyValue>) -> AnyValue {
    AnyValue {
        value: Some(any_value::Value::KvlistValue(KeyValueList { values: v })),
    }
}

pub(crate) fn kv(k: &str, v: AnyValue) -> KeyValue {
    KeyValue {
        key: k.into(),
        value: Some(v),
        ..Default::default()
    }
}

pub(crate) fn get<'a>(attrs: &'a [KeyValue], k: &str) -> Option<&'a AnyValue> {
    crate::context::map_get(attrs, k)
}

/// The log record most tests run on.
pub(crate) fn record() -> LogRecord {
    LogRecord {
        time_unix_nano: 1_700_000_000_000_000_000,
        severity_number: 9,
        severity_text: "INFO".into(),
        body: Some(s("operation=login user=alice")),
        attributes: vec![
            kv("http.method", s("GET")),
            kv("http.path", s("/user/123/list/456")),
            kv("count", i(3)),
            kv("ratio", f(1.5)),
            kv("flag", b(true)),
            kv("tags", list(vec![s("a"), s("b")])),
            kv(
                "nested",
                map(vec![kv("a", list(vec![i(1), map(vec![kv("b", s("x"))])]))]),
            ),
        ],
        ..Default::default()
    }
}

pub(crate) fn log_parser() -> Parser<LogContext> {
    Parser::new(crate::functions::standard())
}

/// Runs statements in order on `rec`.
pub(crate) fn run(rec: &mut LogRecord, statements: &[&str]) -> Result<Vec<bool>, EvalError> {
    let p = log_parser();
    let (mut scope, mut res) = (InstrumentationScope::default(), Resource::default());
    let mut data = LogData::new(rec, &mut scope, &mut res);
    statements
        .iter()
        .map(|st| {
            p.parse_statement(st)
                .unwrap_or_else(|e| panic!("{e}"))
                .execute(&mut data)
        })
        .collect()
}

/// Evaluates a value expression on the standard record.
pub(crate) fn eval(expr: &str) -> Result<Value, EvalError> {
    let p = log_parser();
    let e = p
        .parse_value_expression(expr)
        .unwrap_or_else(|e| panic!("{e}"));
    let mut rec = record();
    let (mut scope, mut res) = (InstrumentationScope::default(), Resource::default());
    let data = LogData::new(&mut rec, &mut scope, &mut res);
    e.eval(&data)
}

pub(crate) fn str_list(items: &[&str]) -> Value {
    Value::List(items.iter().map(|x| s(x)).collect())
}
