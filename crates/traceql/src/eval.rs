//! Evaluation of a field expression on one span, with Tempo's typing rules
//! (`ast_execute.go` `BinaryOperation.execute`, `Static.Equals`): operands of different
//! types never match (string vs number, status vs int), ints and floats and durations
//! compare as numbers, a missing attribute (nil) fails every comparison including `!=`,
//! and a type error yields `false` rather than an error.

use crate::ast::{BinOp, Expr, Field, Intrinsic, Scope, Static};
use crate::{AttrValue, SpanView, TraceInfo, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum T {
    Nil,
    Str,
    Int,
    Float,
    Bool,
    Dur,
    Status,
    Kind,
    Other,
}

fn ty(v: &Option<Value<'_>>) -> T {
    match v {
        None => T::Nil,
        Some(Value::Str(_)) => T::Str,
        Some(Value::Int(_)) => T::Int,
        Some(Value::Float(_)) => T::Float,
        Some(Value::Bool(_)) => T::Bool,
        Some(Value::Duration(_)) => T::Dur,
        Some(Value::Status(_)) => T::Status,
        Some(Value::Kind(_)) => T::Kind,
        Some(Value::Array(_)) | Some(Value::Other) => T::Other,
    }
}

fn numeric(t: T) -> bool {
    matches!(t, T::Int | T::Float | T::Dur)
}

fn matching(a: T, b: T) -> bool {
    if a == T::Other || b == T::Other {
        return false;
    }
    a == b || (numeric(a) && numeric(b)) || a == T::Nil || b == T::Nil
}

fn op_valid(op: BinOp, t: T) -> bool {
    use BinOp::*;
    match t {
        T::Bool => matches!(op, And | Or | Eq | Neq),
        T::Int | T::Float | T::Dur => !matches!(op, And | Or),
        T::Str => matches!(op, Eq | Neq | Lt | Lte | Gt | Gte),
        T::Nil | T::Status | T::Kind => matches!(op, Eq | Neq),
        T::Other => false,
    }
}

fn as_f64(v: &Option<Value<'_>>) -> f64 {
    match v {
        Some(Value::Int(i)) => *i as f64,
        Some(Value::Float(f)) => *f,
        Some(Value::Duration(d)) => *d as f64,
        _ => f64::NAN,
    }
}

fn equals(l: &Option<Value<'_>>, r: &Option<Value<'_>>) -> bool {
    let (Some(a), Some(b)) = (l, r) else {
        return false;
    };
    match (a, b) {
        (Value::Int(x) | Value::Duration(x), Value::Int(y) | Value::Duration(y)) => x == y,
        (Value::Int(x), Value::Status(s)) | (Value::Status(s), Value::Int(x)) => *x == s.code(),
        (Value::Int(_) | Value::Duration(_) | Value::Float(_), Value::Float(_))
        | (Value::Float(_), Value::Int(_) | Value::Duration(_)) => as_f64(l) == as_f64(r),
        (Value::Status(x), Value::Status(y)) => x == y,
        (Value::Kind(x), Value::Kind(y)) => x == y,
        (Value::Bool(x), Value::Bool(y)) => x == y,
        (Value::Str(x), Value::Str(y)) => x == y,
        _ => false,
    }
}

fn from_static(s: &Static) -> Value<'_> {
    match s {
        Static::Str(s) => Value::Str(s),
        Static::Int(i) => Value::Int(*i),
        Static::Float(f) => Value::Float(*f),
        Static::Bool(b) => Value::Bool(*b),
        Static::Duration(d) => Value::Duration(*d),
        Static::Status(s) => Value::Status(*s),
        Static::Kind(k) => Value::Kind(*k),
    }
}

fn from_attr(v: AttrValue<'_>) -> Value<'_> {
    match v {
        AttrValue::Str(s) => Value::Str(s),
        AttrValue::Int(i) => Value::Int(i),
        AttrValue::Float(f) => Value::Float(f),
        AttrValue::Bool(b) => Value::Bool(b),
        AttrValue::Array(a) => Value::Array(a),
        AttrValue::Other => Value::Other,
    }
}

/// The value of a field on a span, `None` when the attribute is missing.
pub(crate) fn field<'a, S: SpanView + ?Sized>(
    f: &Field,
    span: &'a S,
    trace: &TraceInfo<'a>,
) -> Option<Value<'a>> {
    match f {
        Field::Intrinsic(i) => Some(match i {
            Intrinsic::Name => Value::Str(span.name()),
            Intrinsic::Duration => Value::Duration(clamp(span.duration_ns())),
            Intrinsic::Status => Value::Status(span.status()),
            Intrinsic::StatusMessage => Value::Str(span.status_message()),
            Intrinsic::Kind => Value::Kind(span.kind()),
            Intrinsic::RootName => Value::Str(trace.root_name),
            Intrinsic::RootServiceName => Value::Str(trace.root_service),
            Intrinsic::TraceDuration => Value::Duration(clamp(trace.duration_ns)),
            Intrinsic::ScopeName => Value::Str(span.scope_name()),
            Intrinsic::ScopeVersion => Value::Str(span.scope_version()),
        }),
        Field::Attribute { scope, name } => match scope {
            Scope::Span => span.span_attr(name).map(from_attr),
            Scope::Resource => span.resource_attr(name).map(from_attr),
            Scope::Unscoped => span
                .span_attr(name)
                .or_else(|| span.resource_attr(name))
                .map(from_attr),
        },
    }
}

fn clamp(ns: u64) -> i64 {
    i64::try_from(ns).unwrap_or(i64::MAX)
}

fn boolean(b: bool) -> Option<Value<'static>> {
    Some(Value::Bool(b))
}

/// Whether the filter expression is `true` for the span.
pub(crate) fn matches<S: SpanView + ?Sized>(e: &Expr, span: &S, trace: &TraceInfo<'_>) -> bool {
    matches!(eval(e, span, trace), Some(Value::Bool(true)))
}

pub(crate) fn eval<'a, S: SpanView + ?Sized>(
    e: &'a Expr,
    span: &'a S,
    trace: &TraceInfo<'a>,
) -> Option<Value<'a>> {
    match e {
        Expr::Static(s) => Some(from_static(s)),
        Expr::Field(f) => field(f, span, trace),
        Expr::Regex {
            lhs, re, negated, ..
        } => match eval(lhs, span, trace) {
            Some(Value::Str(s)) => boolean(re.is_match(s) != *negated),
            // `=~` when some element matches, `!~` when no element does
            Some(Value::Array(arr)) => {
                let matches = |i| match arr.get(i) {
                    Some(AttrValue::Str(s)) => Some(re.is_match(s)),
                    _ => None,
                };
                boolean(if *negated {
                    (0..arr.len()).all(|i| matches(i) == Some(false))
                } else {
                    (0..arr.len()).any(|i| matches(i) == Some(true))
                })
            }
            _ => boolean(false),
        },
        Expr::Not(x) => match eval(x, span, trace) {
            Some(Value::Bool(b)) => boolean(!b),
            // Tempo fails the query here; no span matches instead.
            _ => None,
        },
        Expr::Neg(x) => match eval(x, span, trace) {
            Some(Value::Int(i)) => Some(Value::Int(i.wrapping_neg())),
            Some(Value::Float(f)) => Some(Value::Float(-f)),
            Some(Value::Duration(d)) => Some(Value::Duration(d.wrapping_neg())),
            _ => None,
        },
        Expr::AsString { fields, text, int } => {
            boolean(fields.iter().any(|f| match field(f, span, trace) {
                Some(Value::Str(s)) => s == text,
                Some(Value::Int(i)) => *int == Some(i),
                Some(Value::Bool(b)) => text == if b { "true" } else { "false" },
                Some(Value::Float(x)) => go_float_string(x) == *text,
                _ => false,
            }))
        }
        Expr::Exists(x, exists) => {
            let v = eval(x, span, trace);
            boolean(v.is_some() == *exists)
        }
        Expr::Binary(op, l, r) => {
            let lv = eval(l, span, trace);
            // short-circuit as Tempo does once its branch predictor is warm
            match (op, &lv) {
                (BinOp::And, Some(Value::Bool(false))) => return boolean(false),
                (BinOp::Or, Some(Value::Bool(true))) => return boolean(true),
                _ => {}
            }
            let rv = eval(r, span, trace);
            binary(*op, lv, rv)
        }
    }
}

fn binary<'a>(op: BinOp, l: Option<Value<'a>>, r: Option<Value<'a>>) -> Option<Value<'a>> {
    use BinOp::*;
    match (l, r) {
        (Some(Value::Array(_)), Some(Value::Array(_))) => return boolean(false),
        (Some(Value::Array(arr)), other) => return elementwise(op, arr, other, true),
        (other, Some(Value::Array(arr))) => return elementwise(op, arr, other, false),
        _ => {}
    }
    let (lt, rt) = (ty(&l), ty(&r));
    if !matching(lt, rt) || !op_valid(op, lt) || !op_valid(op, rt) {
        return boolean(false);
    }
    match (&l, &r) {
        (Some(Value::Str(a)), Some(Value::Str(b))) => match op {
            Gt => return boolean(a > b),
            Gte => return boolean(a >= b),
            Lt => return boolean(a < b),
            Lte => return boolean(a <= b),
            _ => {}
        },
        (Some(Value::Int(a)), Some(Value::Int(b))) => {
            let (a, b) = (*a, *b);
            return match op {
                Add => Some(Value::Int(a.wrapping_add(b))),
                Sub => Some(Value::Int(a.wrapping_sub(b))),
                Mul => Some(Value::Int(a.wrapping_mul(b))),
                // Tempo errors on a zero divisor; nothing matches instead
                Div => (b != 0).then(|| Value::Int(a.wrapping_div(b))),
                Mod => (b != 0).then(|| Value::Int(a.wrapping_rem(b))),
                Pow => Some(Value::Int((a as f64).powf(b as f64) as i64)),
                Gt => boolean(a > b),
                Gte => boolean(a >= b),
                Lt => boolean(a < b),
                Lte => boolean(a <= b),
                Eq => boolean(a == b),
                Neq => boolean(a != b),
                And | Or => boolean(false),
            };
        }
        (Some(Value::Bool(a)), Some(Value::Bool(b))) => match op {
            And => return boolean(*a && *b),
            Or => return boolean(*a || *b),
            _ => {}
        },
        _ => {}
    }
    // Tempo's catch-all: numbers as floats, equality by Static.Equals.
    let (a, b) = (as_f64(&l), as_f64(&r));
    match op {
        Add => Some(Value::Float(a + b)),
        Sub => Some(Value::Float(a - b)),
        Mul => Some(Value::Float(a * b)),
        Div => Some(Value::Float(a / b)),
        Mod => Some(Value::Float(a % b)),
        Pow => Some(Value::Float(a.powf(b))),
        Gt => boolean(a > b),
        Gte => boolean(a >= b),
        Lt => boolean(a < b),
        Lte => boolean(a <= b),
        Eq => boolean(equals(&l, &r)),
        Neq => boolean(l.is_some() && r.is_some() && !equals(&l, &r)),
        And | Or => boolean(false),
    }
}

/// Go's `pcommon.Value.AsString` of a double (ES6 number formatting: shortest decimal for
/// 1e-6 <= |f| < 1e21, else exponent form `1e+21`).
fn go_float_string(f: f64) -> String {
    if !f.is_finite() {
        let g = if f.is_nan() {
            "NaN"
        } else if f > 0.0 {
            "+Inf"
        } else {
            "-Inf"
        };
        return format!("json: unsupported value: {g}");
    }
    let a = f.abs();
    if a == 0.0 || (1e-6..1e21).contains(&a) {
        return format!("{f}");
    }
    let s = format!("{f:e}");
    match s.split_once('e') {
        Some((m, e)) if !e.starts_with('-') => format!("{m}e+{e}"),
        _ => s,
    }
}

/// An array against a scalar (Tempo: `!=` must hold for every element, any other comparison
/// for one); arithmetic on arrays yields nothing.
fn elementwise<'a>(
    op: BinOp,
    arr: &'a dyn crate::AttrArray,
    scalar: Option<Value<'a>>,
    array_on_left: bool,
) -> Option<Value<'a>> {
    if !op.is_boolean() || matches!(op, BinOp::And | BinOp::Or) {
        return None;
    }
    let holds = |i: usize| {
        let elem = arr.get(i).map(from_attr);
        let r = if array_on_left {
            binary(op, elem, scalar)
        } else {
            binary(op, scalar, elem)
        };
        matches!(r, Some(Value::Bool(true)))
    };
    boolean(if op == BinOp::Neq {
        (0..arr.len()).all(holds)
    } else {
        (0..arr.len()).any(holds)
    })
}

/// The aggregate of a scalar filter over a spanset (Tempo's `Aggregate.evaluate`): nil values
/// are skipped; `None` when nothing was aggregated, which drops the spanset.
pub(crate) fn aggregate<'a, S: SpanView>(
    agg: crate::ast::Agg,
    field: Option<&'a Expr>,
    spans: &'a [S],
    members: &[usize],
    trace: &TraceInfo<'a>,
) -> Option<Value<'a>> {
    use crate::ast::Agg;
    let Some(field) = field else {
        return Some(Value::Int(members.len() as i64));
    };
    let mut acc: Option<Value<'a>> = None;
    let mut count = 0usize;
    for &i in members {
        let Some(v) = eval(field, &spans[i], trace) else {
            continue;
        };
        count += 1;
        acc = Some(match (agg, acc) {
            (_, None) => v,
            (Agg::Sum | Agg::Avg, Some(a)) => sum_into(a, v),
            (Agg::Max, Some(a)) => {
                if compare(&v, &a) == std::cmp::Ordering::Greater {
                    v
                } else {
                    a
                }
            }
            (Agg::Min, Some(a)) => {
                if compare(&v, &a) == std::cmp::Ordering::Less {
                    v
                } else {
                    a
                }
            }
            (Agg::Count, Some(a)) => a,
        });
    }
    let acc = acc?;
    if agg != Agg::Avg {
        return Some(acc);
    }
    // Tempo's divideBy: ints become floats, durations stay durations
    Some(match acc {
        Value::Int(i) => Value::Float(i as f64 / count as f64),
        Value::Duration(d) => Value::Duration(d / count as i64),
        Value::Float(f) => Value::Float(f / count as f64),
        other => other,
    })
}

/// Tempo's `sumInto`: values of another type than the first are ignored.
fn sum_into<'a>(a: Value<'a>, b: Value<'a>) -> Value<'a> {
    match (a, b) {
        (Value::Int(x), Value::Int(y)) => Value::Int(x.wrapping_add(y)),
        (Value::Duration(x), Value::Duration(y)) => Value::Duration(x.wrapping_add(y)),
        (Value::Float(x), Value::Float(y)) => Value::Float(x + y),
        (a, _) => a,
    }
}

/// Tempo's `Static.compare`: numbers across types as floats, strings byte-wise, other
/// mixed types by type order.
fn compare(a: &Value<'_>, b: &Value<'_>) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let (ta, tb) = (ty(&Some(*a)), ty(&Some(*b)));
    if ta != tb {
        if numeric(ta) && numeric(tb) {
            return as_f64(&Some(*a))
                .partial_cmp(&as_f64(&Some(*b)))
                .unwrap_or(Ordering::Equal);
        }
        return (ta as u8).cmp(&(tb as u8));
    }
    match (a, b) {
        (Value::Str(x), Value::Str(y)) => x.cmp(y),
        (Value::Int(x), Value::Int(y)) | (Value::Duration(x), Value::Duration(y)) => x.cmp(y),
        (Value::Float(x), Value::Float(y)) => x.partial_cmp(y).unwrap_or(Ordering::Equal),
        (Value::Bool(x), Value::Bool(y)) => x.cmp(y),
        (Value::Status(x), Value::Status(y)) => x.code().cmp(&y.code()),
        (Value::Kind(x), Value::Kind(y)) => (*x as u8).cmp(&(*y as u8)),
        _ => Ordering::Equal,
    }
}

/// The comparison of a scalar filter (Tempo's `binOp`).
pub(crate) fn scalar_holds(op: BinOp, lhs: Value<'_>, rhs: &Static) -> bool {
    matches!(
        binary(op, Some(lhs), Some(from_static(rhs))),
        Some(Value::Bool(true))
    )
}
