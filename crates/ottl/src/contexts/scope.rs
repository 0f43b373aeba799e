//! The instrumentation scope context (Go `ottlscope`).

use pdata::proto::common::v1::{InstrumentationScope, KeyValue};
use pdata::proto::resource::v1::Resource;

use super::{ScopePath, Upper, parse_scope, parse_upper};
use crate::EvalError;
use crate::context::{Context, SlotMut, SlotRef};
use crate::syntax::Field;
use crate::value::Value;

pub struct ScopeContext;

pub struct ScopeData<'a> {
    pub scope: &'a mut InstrumentationScope,
    pub resource: &'a mut Resource,
    pub cache: Vec<KeyValue>,
    /// See [`super::SchemaUrls`]; set with `with_schema_urls`.
    pub schema_urls: super::SchemaUrls<'a>,
}

impl<'a> ScopeData<'a> {
    /// Lets `resource.schema_url` and `instrumentation_scope.schema_url` reach the
    /// enclosing `Resource*`/`Scope*` messages.
    pub fn with_schema_urls(mut self, urls: super::SchemaUrls<'a>) -> Self {
        self.schema_urls = urls;
        self
    }
}

impl<'a> ScopeData<'a> {
    pub fn new(scope: &'a mut InstrumentationScope, resource: &'a mut Resource) -> ScopeData<'a> {
        ScopeData {
            scope,
            resource,
            cache: Vec::new(),
            schema_urls: super::SchemaUrls::default(),
        }
    }
}

impl Context for ScopeContext {
    type Path = Upper;
    type Data<'a> = ScopeData<'a>;
    const NAME: &'static str = "scope";

    fn parse_path(fields: &[Field]) -> Result<(Upper, usize), String> {
        if let Some(u) = parse_upper(fields, "Instrumentation Scope") {
            return u.map(|u| (u, 0));
        }
        parse_scope(fields, 0, "Instrumentation Scope").map(|p: ScopePath| (Upper::Scope(p), 0))
    }

    fn enum_symbol(_name: &str) -> Option<i64> {
        None
    }

    fn get(d: &ScopeData<'_>, p: &Upper) -> Result<Value, EvalError> {
        Ok(super::upper_get(
            super::UpperData {
                cache: &d.cache,
                resource: d.resource,
                scope: d.scope,
                urls: &d.schema_urls,
            },
            *p,
        ))
    }

    fn set(d: &mut ScopeData<'_>, p: &Upper, v: Value) -> Result<(), EvalError> {
        super::upper_set(&mut d.cache, d.resource, d.scope, &mut d.schema_urls, *p, v)
    }

    fn slot<'b>(d: &'b ScopeData<'_>, p: &Upper) -> Option<SlotRef<'b>> {
        super::upper_slot(&d.cache, d.resource, d.scope, *p)
    }

    fn slot_mut<'b>(d: &'b mut ScopeData<'_>, p: &Upper) -> Option<SlotMut<'b>> {
        super::upper_slot_mut(&mut d.cache, d.resource, d.scope, *p)
    }
}
