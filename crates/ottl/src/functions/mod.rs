//! The function library: how a function declares its parameters (checked at parse time, as
//! Go's reflection over argument structs does), and the standard editors and converters of
//! `ottlfuncs`.

mod converters;
mod editors;
mod grok;
pub(crate) mod hash;
pub mod histograms;
pub mod logparsing;
pub mod metrics;
pub mod spans;
mod time;
mod useragent;
mod xml;

#[cfg(test)]
pub(crate) use editors::glob_match as editors_glob;

use std::collections::HashMap;

use crate::context::Context;
use crate::expr::{Expr, Target};
use crate::value::Value;
use crate::{ConverterFn, EditorFn, EvalError};

/// What an argument must be, checked when the statement is parsed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamKind {
    /// Any value: literal, path, converter, math (Go `Getter` and its typed variants; the
    /// type is checked when the value is read).
    Getter,
    /// A path (Go `GetSetter`).
    Target,
    /// A string literal (Go `string`).
    Str,
    /// An int literal (Go `int64`).
    Int,
    /// A float literal (Go `float64`).
    Float,
    /// `true`/`false` (Go `bool`).
    Bool,
    /// A list of string literals (Go `[]string`).
    StrList,
    /// A list literal of values (Go `[]Getter`).
    GetterList,
    /// An enum symbol (Go `Enum`).
    Enum,
    /// A converter name (Go `FunctionGetter`).
    Function,
}

#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub kind: ParamKind,
    pub optional: bool,
}

pub const fn req(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        optional: false,
    }
}

pub const fn opt(name: &'static str, kind: ParamKind) -> Param {
    Param {
        name,
        kind,
        optional: true,
    }
}

/// One argument after binding.
pub enum ArgVal<C: Context> {
    Absent,
    Getter(Expr<C>),
    Target(Target<C>),
    Str(String),
    Int(i64),
    Float(f64),
    Bool(bool),
    StrList(Vec<String>),
    Getters(Vec<Expr<C>>),
    Func(FuncArg),
}

/// The bound arguments of a call, in parameter order; a function's builder takes them out.
pub struct Args<C: Context> {
    vals: Vec<ArgVal<C>>,
}

impl<C: Context> Args<C> {
    pub fn new(vals: Vec<ArgVal<C>>) -> Args<C> {
        Args { vals }
    }

    fn take(&mut self, i: usize) -> ArgVal<C> {
        self.vals
            .get_mut(i)
            .map_or(ArgVal::Absent, |v| std::mem::replace(v, ArgVal::Absent))
    }

    pub fn getter(&mut self, i: usize) -> Expr<C> {
        match self.take(i) {
            ArgVal::Getter(e) => e,
            _ => Expr::Lit(Value::Nil),
        }
    }

    pub fn opt_getter(&mut self, i: usize) -> Option<Expr<C>> {
        match self.take(i) {
            ArgVal::Getter(e) => Some(e),
            _ => None,
        }
    }

    pub fn target(&mut self, i: usize) -> Result<Target<C>, String> {
        match self.take(i) {
            ArgVal::Target(t) => Ok(t),
            _ => Err(format!("argument {i} must be a path")),
        }
    }

    pub fn str(&mut self, i: usize) -> Option<String> {
        match self.take(i) {
            ArgVal::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn int(&mut self, i: usize) -> Option<i64> {
        match self.take(i) {
            ArgVal::Int(v) => Some(v),
            _ => None,
        }
    }

    pub fn float(&mut self, i: usize) -> Option<f64> {
        match self.take(i) {
            ArgVal::Float(v) => Some(v),
            _ => None,
        }
    }

    pub fn bool(&mut self, i: usize) -> Option<bool> {
        match self.take(i) {
            ArgVal::Bool(v) => Some(v),
            _ => None,
        }
    }

    pub fn str_list(&mut self, i: usize) -> Option<Vec<String>> {
        match self.take(i) {
            ArgVal::StrList(v) => Some(v),
            _ => None,
        }
    }

    pub fn getters(&mut self, i: usize) -> Vec<Expr<C>> {
        match self.take(i) {
            ArgVal::Getters(v) => v,
            _ => Vec::new(),
        }
    }

    pub fn func(&mut self, i: usize) -> Option<FuncArg> {
        match self.take(i) {
            ArgVal::Func(f) => Some(f),
            _ => None,
        }
    }
}

/// How a function is built from its arguments.
pub enum Build<C: Context> {
    Editor(fn(Args<C>) -> Result<EditorFn<C>, String>),
    Converter(fn(Args<C>) -> Result<ConverterFn<C>, String>),
}

impl<C: Context> Clone for Build<C> {
    fn clone(&self) -> Self {
        match self {
            Build::Editor(f) => Build::Editor(*f),
            Build::Converter(f) => Build::Converter(*f),
        }
    }
}

pub struct FunctionDef<C: Context> {
    pub params: &'static [Param],
    pub build: Build<C>,
}

impl<C: Context> Clone for FunctionDef<C> {
    fn clone(&self) -> Self {
        FunctionDef {
            params: self.params,
            build: self.build.clone(),
        }
    }
}

/// A set of functions a parser knows, by name.
pub struct Functions<C: Context> {
    map: HashMap<&'static str, FunctionDef<C>>,
}

impl<C: Context> Clone for Functions<C> {
    fn clone(&self) -> Self {
        Functions {
            map: self.map.clone(),
        }
    }
}

impl<C: Context> Default for Functions<C> {
    fn default() -> Self {
        Functions {
            map: HashMap::new(),
        }
    }
}

impl<C: Context> Functions<C> {
    pub fn get(&self, name: &str) -> Option<&FunctionDef<C>> {
        self.map.get(name)
    }

    pub fn editor(
        &mut self,
        name: &'static str,
        params: &'static [Param],
        build: fn(Args<C>) -> Result<EditorFn<C>, String>,
    ) -> &mut Self {
        self.map.insert(
            name,
            FunctionDef {
                params,
                build: Build::Editor(build),
            },
        );
        self
    }

    pub fn converter(
        &mut self,
        name: &'static str,
        params: &'static [Param],
        build: fn(Args<C>) -> Result<ConverterFn<C>, String>,
    ) -> &mut Self {
        self.map.insert(
            name,
            FunctionDef {
                params,
                build: Build::Converter(build),
            },
        );
        self
    }

    pub fn remove(&mut self, name: &str) -> &mut Self {
        self.map.remove(name);
        self
    }

    /// Keeps only the converters (filter, routing and conditions take no editors).
    pub fn converters_only(mut self) -> Self {
        self.map
            .retain(|_, d| matches!(d.build, Build::Converter(_)));
        self
    }

    pub fn names(&self) -> impl Iterator<Item = &&'static str> {
        self.map.keys()
    }
}

/// Every standard editor and converter (`ottlfuncs.StandardFuncs`).
pub fn standard<C: Context>() -> Functions<C> {
    let mut f = Functions::default();
    editors::register(&mut f);
    converters::register(&mut f);
    time::register(&mut f);
    xml::register(&mut f);
    f
}

/// Only the standard converters (`ottlfuncs.StandardConverters`).
pub fn standard_converters<C: Context>() -> Functions<C> {
    standard().converters_only()
}

pub use standard as standard_functions;

type StrFn = fn(&str) -> Result<Value, EvalError>;

/// A converter passed by name as an argument (`replace_pattern(..., SHA256, "k8s.%s")`): one
/// string in, one value out.
#[derive(Clone)]
pub struct FuncArg {
    pub name: &'static str,
    f: StrFn,
}

impl FuncArg {
    pub fn call(&self, s: &str) -> Result<Value, EvalError> {
        (self.f)(s)
    }

    pub(crate) fn lookup(name: &str) -> Option<FuncArg> {
        let (name, f): (&'static str, StrFn) = match name {
            "SHA1" => ("SHA1", |s| Ok(Value::Str(hash::sha1_hex(s.as_bytes())))),
            "SHA256" => ("SHA256", |s| Ok(Value::Str(hash::sha256_hex(s.as_bytes())))),
            "SHA512" => ("SHA512", |s| Ok(Value::Str(hash::sha512_hex(s.as_bytes())))),
            "MD5" => ("MD5", |s| Ok(Value::Str(hash::md5_hex(s.as_bytes())))),
            "FNV" => ("FNV", |s| {
                Ok(Value::Int(hash::fnv1a64(s.as_bytes()) as i64))
            }),
            "Murmur3Hash" => ("Murmur3Hash", |s| {
                Ok(Value::Str(converters::murmur3_hex(s)))
            }),
            "Murmur3Hash128" => ("Murmur3Hash128", |s| {
                let (h1, h2) = hash::murmur3_128(s.as_bytes(), 0);
                let mut b = h1.to_le_bytes().to_vec();
                b.extend_from_slice(&h2.to_le_bytes());
                Ok(Value::Str(hex::encode(b)))
            }),
            "XXH3" => ("XXH3", |s| {
                Ok(Value::Str(format!(
                    "{:016x}",
                    twox_hash::XxHash3_64::oneshot(s.as_bytes())
                )))
            }),
            "XXH128" => ("XXH128", |s| {
                Ok(Value::Str(format!(
                    "{:032x}",
                    twox_hash::XxHash3_128::oneshot(s.as_bytes())
                )))
            }),
            "ToSnakeCase" => ("ToSnakeCase", |s| Ok(Value::Str(converters::snake_case(s)))),
            "ToCamelCase" => ("ToCamelCase", |s| Ok(Value::Str(converters::camel_case(s)))),
            "ToLowerCase" => ("ToLowerCase", |s| Ok(Value::Str(s.to_lowercase()))),
            "ToUpperCase" => ("ToUpperCase", |s| Ok(Value::Str(s.to_uppercase()))),
            "Base64Encode" => ("Base64Encode", |s| {
                use base64::Engine;
                Ok(Value::Str(
                    base64::engine::general_purpose::STANDARD.encode(s),
                ))
            }),
            _ => return None,
        };
        Some(FuncArg { name, f })
    }
}
