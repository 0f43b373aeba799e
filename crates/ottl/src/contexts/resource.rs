//! The resource context (Go `ottlresource`).

use pdata::proto::common::v1::KeyValue;
use pdata::proto::resource::v1::Resource;

use super::{ResourcePath, keyed, parse_resource};
use crate::EvalError;
use crate::context::{Context, SlotMut, SlotRef, attrs_value, set_map};
use crate::syntax::Field;
use crate::value::Value;

pub struct ResourceContext;

pub struct ResourceData<'a> {
    pub resource: &'a mut Resource,
    pub cache: Vec<KeyValue>,
    /// See [`super::SchemaUrls`]; set with `with_schema_urls`.
    pub schema_urls: super::SchemaUrls<'a>,
}

impl<'a> ResourceData<'a> {
    /// Lets `resource.schema_url` and `instrumentation_scope.schema_url` reach the
    /// enclosing `Resource*`/`Scope*` messages.
    pub fn with_schema_urls(mut self, urls: super::SchemaUrls<'a>) -> Self {
        self.schema_urls = urls;
        self
    }
}

impl<'a> ResourceData<'a> {
    pub fn new(resource: &'a mut Resource) -> ResourceData<'a> {
        ResourceData {
            resource,
            cache: Vec::new(),
            schema_urls: super::SchemaUrls::default(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceCtxPath {
    Cache,
    Resource(ResourcePath),
}

impl Context for ResourceContext {
    type Path = ResourceCtxPath;
    type Data<'a> = ResourceData<'a>;
    const NAME: &'static str = "resource";

    fn parse_path(fields: &[Field]) -> Result<(ResourceCtxPath, usize), String> {
        if fields[0].name == "cache" {
            keyed(fields, 0, "Resource")?;
            return Ok((ResourceCtxPath::Cache, 0));
        }
        parse_resource(fields, 0, "Resource").map(|p| (ResourceCtxPath::Resource(p), 0))
    }

    fn enum_symbol(_name: &str) -> Option<i64> {
        None
    }

    fn get(d: &ResourceData<'_>, p: &ResourceCtxPath) -> Result<Value, EvalError> {
        Ok(match p {
            ResourceCtxPath::Cache => attrs_value(&d.cache),
            ResourceCtxPath::Resource(p) => super::resource_get(d.resource, &d.schema_urls, *p),
        })
    }

    fn set(d: &mut ResourceData<'_>, p: &ResourceCtxPath, v: Value) -> Result<(), EvalError> {
        match p {
            ResourceCtxPath::Cache => set_map(&mut d.cache, v),
            ResourceCtxPath::Resource(p) => {
                super::resource_set(d.resource, &mut d.schema_urls, *p, v)
            }
        }
        Ok(())
    }

    fn slot<'b>(d: &'b ResourceData<'_>, p: &ResourceCtxPath) -> Option<SlotRef<'b>> {
        match p {
            ResourceCtxPath::Cache => Some(SlotRef::Map(&d.cache)),
            ResourceCtxPath::Resource(p) => super::resource_slot(d.resource, *p),
        }
    }

    fn slot_mut<'b>(d: &'b mut ResourceData<'_>, p: &ResourceCtxPath) -> Option<SlotMut<'b>> {
        match p {
            ResourceCtxPath::Cache => Some(SlotMut::Map(&mut d.cache)),
            ResourceCtxPath::Resource(p) => super::resource_slot_mut(d.resource, *p),
        }
    }
}
