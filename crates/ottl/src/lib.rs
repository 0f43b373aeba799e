//! The OpenTelemetry Transformation Language (OTTL) as the Go collector's `pkg/ottl` defines
//! it: the grammar, parse-time checking against a context and a function library, the
//! contexts over decoded pdata (`contexts::{resource, scope, span, spanevent, metric,
//! datapoint, log}`) and the standard functions of `ottlfuncs` (`functions::standard`).
//!
//! Statements and conditions are compiled once: paths resolve to a context's own accessors and
//! functions to closures over their compiled arguments, so evaluation does no name lookups.
//!
//! - [`Parser`]`::<C>::new(functions)` for a context marker `C` (`contexts::span::SpanContext`,
//!   ...): [`Parser::parse_statement`], [`Parser::parse_condition`],
//!   [`Parser::parse_value_expression`]; errors name the text, the position and the reason
//!   as Go words them (`unable to parse OTTL statement "...": 1:22: undefined function ...`).
//! - [`Statement::execute`]`(&mut C::Data)` (false when its `where` did not match),
//!   [`Condition::eval`]`(&C::Data)`, [`ConditionSequence`] (ORed, with [`ErrorMode`]).
//! - `C::Data<'a>` borrows the item with its scope and resource (`SpanData::new(&mut span,
//!   &mut scope, &mut resource)`) and owns the item's `cache`.
//! - [`functions::standard`] (editors and converters), [`functions::standard_converters`]
//!   (conditions), [`Functions::editor`]/[`Functions::converter`] to add a component's own
//!   (the transform processor's metric functions are [`functions::metrics::register_metric`]).
//! - [`infer_context`]: which context a group of statements names by its path prefixes.
//! - [`transform::Transform`]: the transform processor's engine over decoded requests.
//! - The transform processor's own functions: [`functions::metrics::register_metric`]
//!   (metric context, with `extract_percentile_metric`),
//!   [`functions::histograms::register_datapoint`] (`merge_histogram_buckets`), [`functions::spans::register_span`] (`set_semconv_span_name`),
//!   [`functions::logparsing::register_log`] (`ParseCLF`, `ParseCEF`, `ParseLEEF`, `ParseELF`).
//!
//! Times carry their location as Go's `time.Time` does (`Value::Time(nanos, zone)`);
//! `resource`, `instrumentation_scope`, `status`, `events`, `links`, `exemplars` and
//! `quantile_values` read as Go's pdata values (`Value::Pdata`); `schema_url` paths reach the
//! enclosing messages when the caller hands them over (`with_schema_urls`).
//!
//! Not built: the lambda converters behind Go's `ottl.functions.enableLambda` gate and the
//! profile contexts.
//!
//! ```
//! use ottl::contexts::log::{LogContext, LogData};
//! use pdata::proto::logs::v1::LogRecord;
//! use pdata::proto::resource::v1::Resource;
//! use pdata::proto::common::v1::InstrumentationScope;
//!
//! let parser = ottl::Parser::<LogContext>::new(ottl::functions::standard());
//! let st = parser.parse_statement(r#"set(attributes["env"], "prod") where severity_number >= SEVERITY_NUMBER_WARN"#).unwrap();
//! let (mut rec, mut res, mut scope) = (LogRecord::default(), Resource::default(), InstrumentationScope::default());
//! rec.severity_number = 13;
//! let mut data = LogData::new(&mut rec, &mut scope, &mut res);
//! assert!(st.execute(&mut data).unwrap());
//! ```

pub mod context;
pub mod contexts;
mod expr;
pub mod filter;
pub mod functions;
pub mod fuzzing;
pub mod infer;
pub mod syntax;
pub mod transform;
pub mod value;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;

pub use context::Context;
pub use expr::{BoolExpr, Expr, KeyExpr, Target};
pub use functions::{Functions, standard_functions};
pub use infer::infer_context;
pub use syntax::{CmpOp, MathOp, Pos};
pub use value::Value;

/// An error while running a statement on one item.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalError {
    pub msg: String,
}

impl EvalError {
    pub fn new(msg: impl Into<String>) -> EvalError {
        EvalError { msg: msg.into() }
    }
}

impl fmt::Display for EvalError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for EvalError {}

/// What was being parsed, for the message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SourceKind {
    Statement,
    Condition,
    ValueExpression,
}

/// A statement or condition that does not parse or check; says which and where.
#[derive(Debug, Clone, PartialEq)]
pub struct ParseError {
    pub kind: SourceKind,
    pub source: String,
    pub pos: Option<Pos>,
    pub msg: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.kind {
            SourceKind::Statement => "statement",
            SourceKind::Condition => "condition",
            SourceKind::ValueExpression => "value expression",
        };
        write!(f, "unable to parse OTTL {what} {:?}: ", self.source)?;
        match self.pos {
            Some(p) => write!(f, "{p}: {}", self.msg),
            None => f.write_str(&self.msg),
        }
    }
}

impl std::error::Error for ParseError {}

/// An error found while compiling against a context: where and why.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompileError {
    pub pos: Option<Pos>,
    pub msg: String,
}

impl CompileError {
    pub(crate) fn at(pos: Pos, msg: impl Into<String>) -> CompileError {
        CompileError {
            pos: Some(pos),
            msg: msg.into(),
        }
    }
}

/// An editor compiled for a context.
pub type EditorFn<C> = Box<
    dyn for<'a, 'b> Fn(&'b mut <C as Context>::Data<'a>) -> Result<(), EvalError> + Send + Sync,
>;

/// A converter compiled for a context.
pub type ConverterFn<C> =
    Box<dyn for<'a, 'b> Fn(&'b <C as Context>::Data<'a>) -> Result<Value, EvalError> + Send + Sync>;

/// Go prefixes participle's errors with "<what> has invalid syntax", not the checks it runs
/// on the parsed tree (a lowercase converter name).
fn syntax_message(what: &str, msg: String) -> String {
    if msg.starts_with("converter names must start") {
        msg
    } else {
        format!("{what} has invalid syntax: {msg}")
    }
}

/// Parses statements and conditions for the context `C` with a function library.
pub struct Parser<C: Context> {
    functions: Arc<Functions<C>>,
}

impl<C: Context> Clone for Parser<C> {
    fn clone(&self) -> Self {
        Parser {
            functions: self.functions.clone(),
        }
    }
}

impl<C: Context> Parser<C> {
    pub fn new(functions: Functions<C>) -> Parser<C> {
        Parser {
            functions: Arc::new(functions),
        }
    }

    pub fn functions(&self) -> &Functions<C> {
        &self.functions
    }

    pub fn parse_statement(&self, text: &str) -> Result<Statement<C>, ParseError> {
        let err = |pos, msg| ParseError {
            kind: SourceKind::Statement,
            source: text.to_string(),
            pos,
            msg,
        };
        let ast = syntax::Parser::new(text)
            .and_then(|p| p.statement())
            .map_err(|e| err(Some(e.pos), syntax_message("statement", e.msg)))?;
        let (editor, condition) =
            expr::compile_statement::<C>(&ast, &self.functions).map_err(|e| err(e.pos, e.msg))?;
        Ok(Statement {
            text: text.to_string(),
            editor,
            condition,
        })
    }

    pub fn parse_statements<S: AsRef<str>>(
        &self,
        texts: &[S],
    ) -> Result<Vec<Statement<C>>, ParseError> {
        texts
            .iter()
            .map(|t| self.parse_statement(t.as_ref()))
            .collect()
    }

    pub fn parse_condition(&self, text: &str) -> Result<Condition<C>, ParseError> {
        let err = |pos, msg| ParseError {
            kind: SourceKind::Condition,
            source: text.to_string(),
            pos,
            msg,
        };
        let ast = syntax::Parser::new(text)
            .and_then(|p| p.condition())
            .map_err(|e| err(Some(e.pos), syntax_message("condition", e.msg)))?;
        let expr = expr::compile_bool::<C>(&ast, &self.functions).map_err(|e| err(e.pos, e.msg))?;
        Ok(Condition {
            text: text.to_string(),
            expr,
        })
    }

    pub fn parse_conditions<S: AsRef<str>>(
        &self,
        texts: &[S],
    ) -> Result<Vec<Condition<C>>, ParseError> {
        texts
            .iter()
            .map(|t| self.parse_condition(t.as_ref()))
            .collect()
    }

    /// A value on its own (`ParseValueExpression`): a path, literal or converter.
    pub fn parse_value_expression(&self, text: &str) -> Result<Expr<C>, ParseError> {
        let err = |pos, msg| ParseError {
            kind: SourceKind::ValueExpression,
            source: text.to_string(),
            pos,
            msg,
        };
        let ast = syntax::Parser::new(text)
            .and_then(|p| p.value_expr())
            .map_err(|e| err(Some(e.pos), syntax_message("expression", e.msg)))?;
        expr::compile_value::<C>(&ast, &self.functions).map_err(|e| err(e.pos, e.msg))
    }
}

/// `editor(...) where condition`, compiled.
pub struct Statement<C: Context> {
    text: String,
    editor: EditorFn<C>,
    condition: Option<BoolExpr<C>>,
}

impl<C: Context> Statement<C> {
    /// Runs the statement on one item: `Ok(false)` when its `where` condition did not match.
    pub fn execute(&self, data: &mut C::Data<'_>) -> Result<bool, EvalError> {
        if let Some(c) = &self.condition
            && !c.eval(data)?
        {
            return Ok(false);
        }
        (self.editor)(data)?;
        Ok(true)
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

impl<C: Context> fmt::Debug for Statement<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Statement({:?})", self.text)
    }
}

/// A boolean expression on its own (filter, routing, transform `conditions`).
pub struct Condition<C: Context> {
    text: String,
    expr: BoolExpr<C>,
}

impl<C: Context> Condition<C> {
    pub fn eval(&self, data: &C::Data<'_>) -> Result<bool, EvalError> {
        self.expr.eval(data)
    }

    pub fn text(&self) -> &str {
        &self.text
    }
}

impl<C: Context> fmt::Debug for Condition<C> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Condition({:?})", self.text)
    }
}

/// Conditions ORed, as Go's `ConditionSequence` with `error_mode` (filter, routing, the
/// transform processor's group `conditions`): true as soon as one condition is; a condition
/// that fails is an error in `propagate`, counts as false in `ignore` (logged) and `silent`.
pub struct ConditionSequence<C: Context> {
    conditions: Vec<Condition<C>>,
    error_mode: ErrorMode,
}

impl<C: Context> ConditionSequence<C> {
    pub fn new(conditions: Vec<Condition<C>>, error_mode: ErrorMode) -> Self {
        ConditionSequence {
            conditions,
            error_mode,
        }
    }

    pub fn is_empty(&self) -> bool {
        self.conditions.is_empty()
    }

    pub fn conditions(&self) -> &[Condition<C>] {
        &self.conditions
    }

    pub fn eval(&self, data: &C::Data<'_>) -> Result<bool, String> {
        for c in &self.conditions {
            match c.eval(data) {
                Ok(true) => return Ok(true),
                Ok(false) => {}
                Err(e) => match self.error_mode {
                    ErrorMode::Propagate => {
                        return Err(format!("failed to eval condition: {}, {e}", c.text()));
                    }
                    ErrorMode::Ignore => {
                        tracing::warn!(condition = c.text(), error = %e, "failed to eval condition");
                    }
                    ErrorMode::Silent => {}
                },
            }
        }
        Ok(false)
    }
}

/// How a component treats a statement or condition that fails on an item (`error_mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ErrorMode {
    Ignore,
    Silent,
    #[default]
    Propagate,
}

impl ErrorMode {
    pub fn parse(s: &str) -> Result<ErrorMode, String> {
        match s {
            "ignore" => Ok(ErrorMode::Ignore),
            "silent" => Ok(ErrorMode::Silent),
            "propagate" => Ok(ErrorMode::Propagate),
            other => Err(format!("unknown error mode {other}")),
        }
    }
}
