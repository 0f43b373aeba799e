//! Compiling a syntax tree against a context and a function library, and evaluating the result.

use pdata::proto::common::v1::{AnyValue, KeyValue, any_value};

use crate::context::{self, Context, KeyVal, SlotMut};
use crate::functions::{ArgVal, Args, Build, FuncArg, Functions, ParamKind};
use crate::syntax::{self, CmpOp, MathOp, Pos};
use crate::value::{self, Value};
use crate::{CompileError, ConverterFn, EditorFn, EvalError};

type CR<T> = Result<T, CompileError>;

/// A key of a path or converter result.
pub enum KeyExpr<C: Context> {
    Str(String),
    Int(i64),
    Expr(Box<Expr<C>>),
}

/// A value expression compiled for `C`.
pub enum Expr<C: Context> {
    Lit(Value),
    Path(Target<C>),
    Call(ConverterFn<C>, Vec<KeyExpr<C>>),
    Math(Box<Expr<C>>, MathOp, Box<Expr<C>>),
    List(Vec<Expr<C>>),
    Map(Vec<(String, Expr<C>)>),
}

/// A path compiled for `C`: readable and writable (Go `GetSetter`).
pub struct Target<C: Context> {
    pub path: C::Path,
    keys: Vec<KeyExpr<C>>,
    /// The keys when they are all literals, resolved once.
    static_keys: Option<Vec<KeyVal>>,
    text: String,
}

pub enum BoolExpr<C: Context> {
    Const(bool),
    Cmp(Expr<C>, CmpOp, Expr<C>),
    Call(ConverterFn<C>),
    Not(Box<BoolExpr<C>>),
    And(Vec<BoolExpr<C>>),
    Or(Vec<BoolExpr<C>>),
}

impl<C: Context> BoolExpr<C> {
    pub fn eval(&self, d: &C::Data<'_>) -> Result<bool, EvalError> {
        match self {
            BoolExpr::Const(b) => Ok(*b),
            BoolExpr::Cmp(l, op, r) => {
                let l = l.eval_cow(d)?;
                let r = r.eval_cow(d)?;
                Ok(value::compare(&l, *op, &r))
            }
            BoolExpr::Call(f) => match f(d)? {
                Value::Bool(b) => Ok(b),
                other => Err(EvalError::new(format!(
                    "value returned from Converter in constExpr is not a bool, got {}",
                    other.type_name()
                ))),
            },
            BoolExpr::Not(e) => Ok(!e.eval(d)?),
            BoolExpr::And(v) => {
                for e in v {
                    if !e.eval(d)? {
                        return Ok(false);
                    }
                }
                Ok(true)
            }
            BoolExpr::Or(v) => {
                for e in v {
                    if e.eval(d)? {
                        return Ok(true);
                    }
                }
                Ok(false)
            }
        }
    }
}

fn resolve_keys<C: Context>(
    keys: &[KeyExpr<C>],
    d: &C::Data<'_>,
) -> Result<Vec<KeyVal>, EvalError> {
    keys.iter()
        .map(|k| match k {
            KeyExpr::Str(s) => Ok(KeyVal::Str(s.clone())),
            KeyExpr::Int(i) => Ok(KeyVal::Int(*i)),
            KeyExpr::Expr(e) => match e.eval(d)? {
                Value::Str(s) => Ok(KeyVal::Str(s)),
                Value::Int(i) => Ok(KeyVal::Int(i)),
                other => Err(EvalError::new(format!(
                    "invalid key type: {}",
                    other.type_name()
                ))),
            },
        })
        .collect()
}

impl<C: Context> Expr<C> {
    pub fn eval(&self, d: &C::Data<'_>) -> Result<Value, EvalError> {
        match self {
            Expr::Lit(v) => Ok(v.clone()),
            Expr::Path(t) => t.get(d),
            Expr::Call(f, keys) => {
                let v = f(d)?;
                if keys.is_empty() {
                    return Ok(v);
                }
                let keys = resolve_keys(keys, d)?;
                index_value(v, &keys)
            }
            Expr::Math(l, op, r) => {
                let l = l.eval(d)?;
                let r = r.eval(d)?;
                value::math(l, *op, r).map_err(EvalError::new)
            }
            Expr::List(items) => {
                let mut out = Vec::with_capacity(items.len());
                for i in items {
                    out.push(i.eval(d)?.into_any().unwrap_or_default());
                }
                Ok(Value::List(out))
            }
            Expr::Map(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (k, v) in items {
                    out.push(KeyValue {
                        key: k.clone(),
                        value: v.eval(d)?.into_any(),
                        ..Default::default()
                    });
                }
                Ok(Value::Map(out))
            }
        }
    }

    /// Like [`Expr::eval`], without copying a literal.
    pub fn eval_cow<'s>(
        &'s self,
        d: &C::Data<'_>,
    ) -> Result<std::borrow::Cow<'s, Value>, EvalError> {
        match self {
            Expr::Lit(v) => Ok(std::borrow::Cow::Borrowed(v)),
            other => other.eval(d).map(std::borrow::Cow::Owned),
        }
    }

    /// The literal value when the expression is one (parse-time checks of literal arguments).
    pub fn literal(&self) -> Option<&Value> {
        match self {
            Expr::Lit(v) => Some(v),
            _ => None,
        }
    }
}

/// Indexes a converter's result: `Split(s, ",")[0]`, `ParseJSON(body)["a"]`.
fn index_value(v: Value, keys: &[KeyVal]) -> Result<Value, EvalError> {
    let any = match v {
        Value::Map(m) => context::new_map_value(m),
        Value::List(l) => context::new_list_value(l),
        Value::Nil => return Ok(Value::Nil),
        other => {
            return Err(EvalError::new(format!(
                "type {} does not support indexing",
                other.type_name()
            )));
        }
    };
    context::get_keyed(context::SlotRef::Any(Some(&any)), keys)
}

impl<C: Context> Target<C> {
    fn keys<'k>(&'k self, d: &C::Data<'_>) -> Result<std::borrow::Cow<'k, [KeyVal]>, EvalError> {
        match &self.static_keys {
            Some(k) => Ok(std::borrow::Cow::Borrowed(k)),
            None => Ok(std::borrow::Cow::Owned(resolve_keys(&self.keys, d)?)),
        }
    }

    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn get(&self, d: &C::Data<'_>) -> Result<Value, EvalError> {
        if self.keys.is_empty() {
            return C::get(d, &self.path);
        }
        let keys = self.keys(d)?;
        match C::slot(d, &self.path) {
            Some(slot) => context::get_keyed(slot, &keys),
            None => Err(EvalError::new(format!(
                "path {} cannot be indexed",
                self.text
            ))),
        }
    }

    pub fn set(&self, d: &mut C::Data<'_>, v: Value) -> Result<(), EvalError> {
        if self.keys.is_empty() {
            return C::set(d, &self.path, v);
        }
        let keys = self.keys(d)?;
        match C::slot_mut(d, &self.path) {
            Some(slot) => context::set_keyed(slot, &keys, v),
            None => Err(EvalError::new(format!(
                "path {} cannot be indexed",
                self.text
            ))),
        }
    }

    /// Runs `f` on the map this path names, in place; `Ok(false)` when it is not a map (the
    /// caller decides whether that is an error).
    pub fn with_map<R>(
        &self,
        d: &mut C::Data<'_>,
        f: impl FnOnce(&mut Vec<KeyValue>) -> R,
    ) -> Result<Option<R>, EvalError> {
        let keys = self.keys(d)?;
        match C::slot_mut(d, &self.path) {
            Some(slot) => Ok(context::map_at(slot, &keys)?.map(f)),
            None => Ok(None),
        }
    }

    /// Runs `f` on the string this path holds, borrowed; `None` when the value is missing or
    /// not a string (the `replace_*` editors leave those alone).
    pub fn with_str<R>(
        &self,
        d: &C::Data<'_>,
        f: impl FnOnce(&str) -> R,
    ) -> Result<Option<R>, EvalError> {
        let keys = self.keys(d)?;
        if let Some(slot) = C::slot(d, &self.path) {
            return Ok(
                match context::ref_at(slot, &keys)?.and_then(|v| v.value.as_ref()) {
                    Some(any_value::Value::StringValue(s)) => Some(f(s)),
                    _ => None,
                },
            );
        }
        if !keys.is_empty() {
            return Err(EvalError::new(format!(
                "path {} cannot be indexed",
                self.text
            )));
        }
        Ok(match C::get(d, &self.path)? {
            Value::Str(s) => Some(f(&s)),
            _ => None,
        })
    }

    /// Runs `f` on the value this path names in place (a string to rewrite, a slice to
    /// append to); a missing keyed entry is created empty. Falls back to get-modify-set for
    /// scalar fields.
    pub fn with_value<R>(
        &self,
        d: &mut C::Data<'_>,
        f: impl FnOnce(&mut AnyValue) -> R,
    ) -> Result<R, EvalError> {
        let keys = self.keys(d)?;
        if !keys.is_empty()
            && let Some(slot) = C::slot_mut(d, &self.path)
        {
            let target = any_at(slot, &keys)?;
            return Ok(f(target));
        }
        if keys.is_empty()
            && let Some(SlotMut::Any(v)) = C::slot_mut(d, &self.path)
        {
            return Ok(f(v));
        }
        let cur = self.get(d)?;
        let mut any = cur.clone().into_any().unwrap_or_default();
        let r = f(&mut any);
        let new = Value::from_any(&any);
        if new != cur {
            self.set(d, new)?;
        }
        Ok(r)
    }
}

/// The value at `keys` under `slot`, created (empty) when missing.
fn any_at<'a>(slot: SlotMut<'a>, keys: &[KeyVal]) -> Result<&'a mut AnyValue, EvalError> {
    let mut cur: &'a mut AnyValue = match slot {
        SlotMut::Map(m) => {
            let Some((KeyVal::Str(k), rest)) = keys.split_first() else {
                return Err(EvalError::new("non-string indexing is not supported"));
            };
            return any_walk(context::map_entry(m, k), rest);
        }
        SlotMut::Any(v) => v,
    };
    cur = any_walk(cur, keys)?;
    Ok(cur)
}

fn any_walk<'a>(mut cur: &'a mut AnyValue, keys: &[KeyVal]) -> Result<&'a mut AnyValue, EvalError> {
    for k in keys {
        cur = match (&mut cur.value, k) {
            (Some(any_value::Value::KvlistValue(kv)), KeyVal::Str(s)) => {
                context::map_entry(&mut kv.values, s)
            }
            (Some(any_value::Value::ArrayValue(a)), KeyVal::Int(i)) => {
                let len = a.values.len();
                match a.values.get_mut(usize::try_from(*i).unwrap_or(usize::MAX)) {
                    Some(v) => v,
                    None => {
                        return Err(EvalError::new(format!(
                            "index {i} out of bounds (length {len})"
                        )));
                    }
                }
            }
            _ => return Err(EvalError::new("value cannot be indexed")),
        };
    }
    Ok(cur)
}

// ---------------------------------------------------------------------------------------------
// Compilation

pub(crate) fn compile_statement<C: Context>(
    st: &syntax::Statement,
    fns: &Functions<C>,
) -> CR<(EditorFn<C>, Option<BoolExpr<C>>)> {
    let call = &st.editor;
    if call.name.starts_with(|c: char| c.is_ascii_uppercase()) {
        return Err(CompileError::at(
            call.pos,
            format!(
                "editor names must start with a lowercase letter but got '{}'",
                call.name
            ),
        ));
    }
    if !call.keys.is_empty() {
        return Err(CompileError::at(
            call.pos,
            format!(
                "only paths and converters may be indexed, not editors, but got {}",
                call.name
            ),
        ));
    }
    let def = fns
        .get(&call.name)
        .ok_or_else(|| CompileError::at(call.pos, format!("undefined function {:?}", call.name)))?;
    let Build::Editor(build) = def.build else {
        return Err(CompileError::at(
            call.pos,
            format!("cannot use converter {:?} as an editor", call.name),
        ));
    };
    let args = compile_args(call, def.params, fns)?;
    let editor = build(args).map_err(|msg| {
        CompileError::at(
            call.pos,
            format!(
                "error while parsing arguments for call to {:?}: {msg}",
                call.name
            ),
        )
    })?;
    let cond = st
        .condition
        .as_ref()
        .map(|c| compile_bool(c, fns))
        .transpose()?;
    Ok((editor, cond))
}

pub(crate) fn compile_bool<C: Context>(
    e: &syntax::BoolExpr,
    fns: &Functions<C>,
) -> CR<BoolExpr<C>> {
    Ok(match e {
        syntax::BoolExpr::Const(b) => BoolExpr::Const(*b),
        syntax::BoolExpr::Cmp(l, op, r) => {
            BoolExpr::Cmp(compile_value(l, fns)?, *op, compile_value(r, fns)?)
        }
        syntax::BoolExpr::Call(c) => {
            let f = compile_converter(c, fns)?;
            if !c.keys.is_empty() {
                return Err(CompileError::at(
                    c.pos,
                    "a converter in a condition cannot be indexed",
                ));
            }
            BoolExpr::Call(f)
        }
        syntax::BoolExpr::Not(e) => BoolExpr::Not(Box::new(compile_bool(e, fns)?)),
        syntax::BoolExpr::And(v) => {
            BoolExpr::And(v.iter().map(|e| compile_bool(e, fns)).collect::<CR<_>>()?)
        }
        syntax::BoolExpr::Or(v) => {
            BoolExpr::Or(v.iter().map(|e| compile_bool(e, fns)).collect::<CR<_>>()?)
        }
    })
}

fn compile_converter<C: Context>(c: &syntax::Call, fns: &Functions<C>) -> CR<ConverterFn<C>> {
    if c.name.starts_with(|ch: char| ch.is_ascii_lowercase()) {
        return Err(CompileError::at(
            c.pos,
            format!(
                "converter names must start with an uppercase letter but got '{}'",
                c.name
            ),
        ));
    }
    let def = fns
        .get(&c.name)
        .ok_or_else(|| CompileError::at(c.pos, format!("undefined function {:?}", c.name)))?;
    let Build::Converter(build) = def.build else {
        return Err(CompileError::at(
            c.pos,
            format!("cannot use editor {:?} as a converter", c.name),
        ));
    };
    let args = compile_args(c, def.params, fns)?;
    build(args).map_err(|msg| {
        CompileError::at(
            c.pos,
            format!(
                "error while parsing arguments for call to {:?}: {msg}",
                c.name
            ),
        )
    })
}

pub(crate) fn compile_value<C: Context>(v: &syntax::Value, fns: &Functions<C>) -> CR<Expr<C>> {
    Ok(match v {
        syntax::Value::Nil => Expr::Lit(Value::Nil),
        syntax::Value::Str(s) => Expr::Lit(Value::Str(s.clone())),
        syntax::Value::Int(i) => Expr::Lit(Value::Int(*i)),
        syntax::Value::Float(f) => Expr::Lit(Value::Float(*f)),
        syntax::Value::Bool(b) => Expr::Lit(Value::Bool(*b)),
        syntax::Value::Bytes(b) => Expr::Lit(Value::Bytes(b.clone())),
        syntax::Value::Enum(pos, name) => Expr::Lit(Value::Int(enum_value::<C>(*pos, name)?)),
        syntax::Value::FuncName(pos, name) => {
            return Err(CompileError::at(
                *pos,
                format!(
                    "{name} is not a value: a function name is only valid as a function argument"
                ),
            ));
        }
        syntax::Value::Path(p) => Expr::Path(compile_path(p, fns)?),
        syntax::Value::Call(c) => {
            let f = compile_converter(c, fns)?;
            let keys = compile_keys(&c.keys, fns)?;
            Expr::Call(f, keys)
        }
        syntax::Value::List(items) => Expr::List(
            items
                .iter()
                .map(|i| compile_value(i, fns))
                .collect::<CR<_>>()?,
        ),
        syntax::Value::Map(items) => Expr::Map(
            items
                .iter()
                .map(|(k, v)| Ok((k.clone(), compile_value(v, fns)?)))
                .collect::<CR<_>>()?,
        ),
        syntax::Value::Math(l, op, r) => {
            let l = compile_value(l, fns)?;
            let r = compile_value(r, fns)?;
            // Constant-fold literal math once (and report its errors at parse time).
            if let (Some(a), Some(b)) = (l.literal(), r.literal()) {
                match value::math(a.clone(), *op, b.clone()) {
                    Ok(v) => return Ok(Expr::Lit(v)),
                    Err(e) => {
                        return Err(CompileError { pos: None, msg: e });
                    }
                }
            }
            Expr::Math(Box::new(l), *op, Box::new(r))
        }
    })
}

fn enum_value<C: Context>(pos: Pos, name: &str) -> CR<i64> {
    C::enum_symbol(name)
        .ok_or_else(|| CompileError::at(pos, format!("enum symbol, {name}, not found")))
}

fn compile_keys<C: Context>(keys: &[syntax::Key], fns: &Functions<C>) -> CR<Vec<KeyExpr<C>>> {
    keys.iter()
        .map(|k| {
            Ok(match k {
                syntax::Key::Str(s) => KeyExpr::Str(s.clone()),
                syntax::Key::Int(i) => KeyExpr::Int(*i),
                syntax::Key::Expr(e) => match compile_value(e, fns)? {
                    Expr::Lit(Value::Str(s)) => KeyExpr::Str(s),
                    Expr::Lit(Value::Int(i)) => KeyExpr::Int(i),
                    Expr::Lit(other) => {
                        return Err(CompileError {
                            pos: None,
                            msg: format!("invalid key type: {}", other.type_name()),
                        });
                    }
                    e => KeyExpr::Expr(Box::new(e)),
                },
            })
        })
        .collect()
}

pub(crate) fn compile_path<C: Context>(p: &syntax::Path, fns: &Functions<C>) -> CR<Target<C>> {
    let mut fields: &[syntax::Field] = &p.fields;
    // A leading context name (`span.name` in the span context) names this context.
    if fields.len() > 1 && fields[0].keys.is_empty() && fields[0].name == C::NAME {
        fields = &fields[1..];
    }
    // the context's own words, which name the segment and the path (as Go's)
    let (path, consumed) = C::parse_path(fields).map_err(|msg| CompileError::at(p.pos, msg))?;
    let last_keys = fields.last().map_or(&[][..], |f| &f.keys[..]);
    let keys = compile_keys(&last_keys[consumed.min(last_keys.len())..], fns)?;
    let static_keys = keys
        .iter()
        .map(|k| match k {
            KeyExpr::Str(s) => Some(KeyVal::Str(s.clone())),
            KeyExpr::Int(i) => Some(KeyVal::Int(*i)),
            KeyExpr::Expr(_) => None,
        })
        .collect::<Option<Vec<_>>>();
    Ok(Target {
        path,
        keys,
        static_keys,
        text: p.text(),
    })
}

/// Binds a call's arguments to the function's parameters (positional, then named), and
/// checks each against its parameter's kind.
fn compile_args<C: Context>(
    call: &syntax::Call,
    params: &'static [crate::functions::Param],
    fns: &Functions<C>,
) -> CR<Args<C>> {
    let at = |pos: Pos, msg: String| {
        CompileError::at(
            pos,
            format!(
                "error while parsing arguments for call to {:?}: {msg}",
                call.name
            ),
        )
    };
    let required = params.iter().filter(|p| !p.optional).count();
    let mut slots: Vec<Option<&syntax::Arg>> = vec![None; params.len()];
    let mut named_seen = false;
    for (i, arg) in call.args.iter().enumerate() {
        match &arg.name {
            None => {
                if named_seen {
                    return Err(at(
                        arg.pos,
                        "unnamed argument used after named argument".into(),
                    ));
                }
                if i >= params.len() {
                    return Err(at(
                        arg.pos,
                        format!(
                            "incorrect number of arguments. Expected: {} Received: {}",
                            params.len(),
                            call.args.len()
                        ),
                    ));
                }
                slots[i] = Some(arg);
            }
            Some(name) => {
                named_seen = true;
                let Some(idx) = params.iter().position(|p| p.name == name) else {
                    return Err(at(arg.pos, format!("no such parameter: {name}")));
                };
                if slots[idx].is_some() {
                    return Err(at(arg.pos, format!("duplicate argument {name:?}")));
                }
                slots[idx] = Some(arg);
            }
        }
    }
    // the count first, as Go does, then each argument's kind
    if let Some(p) = params
        .iter()
        .zip(&slots)
        .find(|(p, s)| !p.optional && s.is_none())
        .map(|(p, _)| p)
    {
        return Err(at(
            call.pos,
            if call.args.iter().all(|a| a.name.is_none()) {
                format!(
                    "incorrect number of arguments. Expected: {} Received: {}",
                    required,
                    call.args.len()
                )
            } else {
                format!("missing required argument {:?}", p.name)
            },
        ));
    }
    let mut out = Vec::with_capacity(params.len());
    for (i, (p, slot)) in params.iter().zip(slots).enumerate() {
        let Some(arg) = slot else {
            out.push(ArgVal::Absent);
            continue;
        };
        let v = compile_arg(&arg.value, p.kind, fns).map_err(|e| {
            at(
                e.pos.unwrap_or(arg.pos),
                format!("invalid argument at position {i}: {}", e.msg),
            )
        })?;
        out.push(v);
    }
    Ok(Args::new(out))
}

fn compile_arg<C: Context>(
    v: &syntax::Value,
    kind: ParamKind,
    fns: &Functions<C>,
) -> CR<ArgVal<C>> {
    let nopos = |msg: String| CompileError { pos: None, msg };
    Ok(match kind {
        ParamKind::Getter => ArgVal::Getter(compile_value(v, fns)?),
        ParamKind::Target => match v {
            syntax::Value::Path(p) => ArgVal::Target(compile_path(p, fns)?),
            _ => return Err(nopos("must be a path".into())),
        },
        ParamKind::Str => match v {
            syntax::Value::Str(s) => ArgVal::Str(s.clone()),
            _ => return Err(nopos("must be a string".into())),
        },
        ParamKind::Int => match v {
            syntax::Value::Int(i) => ArgVal::Int(*i),
            _ => return Err(nopos("must be an int".into())),
        },
        ParamKind::Float => match v {
            syntax::Value::Float(f) => ArgVal::Float(*f),
            syntax::Value::Int(i) => ArgVal::Float(*i as f64),
            _ => return Err(nopos("must be a float".into())),
        },
        ParamKind::Bool => match v {
            syntax::Value::Bool(b) => ArgVal::Bool(*b),
            _ => return Err(nopos("must be a bool".into())),
        },
        ParamKind::StrList => match v {
            syntax::Value::List(items) => ArgVal::StrList(
                items
                    .iter()
                    .map(|i| match i {
                        syntax::Value::Str(s) => Ok(s.clone()),
                        _ => Err(nopos("must be a string".into())),
                    })
                    .collect::<CR<_>>()?,
            ),
            _ => return Err(nopos("must be a list of strings".into())),
        },
        ParamKind::GetterList => match v {
            syntax::Value::List(items) => ArgVal::Getters(
                items
                    .iter()
                    .map(|i| compile_value(i, fns))
                    .collect::<CR<_>>()?,
            ),
            _ => return Err(nopos("must be a list".into())),
        },
        ParamKind::Enum => match v {
            syntax::Value::Enum(pos, name) => ArgVal::Int(enum_value::<C>(*pos, name)?),
            _ => return Err(nopos("must be an Enum".into())),
        },
        ParamKind::Function => match v {
            syntax::Value::Enum(pos, name) | syntax::Value::FuncName(pos, name) => {
                match FuncArg::lookup(name) {
                    Some(f) => ArgVal::Func(f),
                    None => {
                        return Err(CompileError::at(*pos, format!("undefined function {name}")));
                    }
                }
            }
            _ => return Err(nopos("must be a function name".into())),
        },
    })
}
