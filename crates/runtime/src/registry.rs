//! The set of component types this build has, with deprecated aliases and the names of
//! types that exist in the Go collector but are not built here yet.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::component::Kind;
use crate::factory::{
    ConnectorFactory, ExporterFactory, ExtensionFactory, ProcessorFactory, ReceiverFactory,
};

/// How a type name resolved.
pub enum Lookup<'a, F: ?Sized> {
    Found(&'a Arc<F>),
    /// A deprecated spelling: (factory, message to warn with).
    Deprecated(&'a Arc<F>, String),
    /// A type the Go collector (core or contrib) has that this build lacks.
    NotBuilt,
    /// A type upstream removed: what it says to use instead.
    Removed(&'static str),
    Unknown,
}

#[derive(Default)]
pub struct Registry {
    pub receivers: BTreeMap<&'static str, Arc<dyn ReceiverFactory>>,
    pub processors: BTreeMap<&'static str, Arc<dyn ProcessorFactory>>,
    pub exporters: BTreeMap<&'static str, Arc<dyn ExporterFactory>>,
    pub connectors: BTreeMap<&'static str, Arc<dyn ConnectorFactory>>,
    pub extensions: BTreeMap<&'static str, Arc<dyn ExtensionFactory>>,
    /// (kind, deprecated name) -> current name
    aliases: BTreeMap<(Kind, &'static str), &'static str>,
    /// (kind, name) of Go collector components not built yet.
    not_built: BTreeMap<(Kind, &'static str), ()>,
    /// (kind, name) of types upstream removed -> what replaces them.
    removed: BTreeMap<(Kind, &'static str), &'static str>,
}

macro_rules! lookup_fn {
    ($fn:ident, $field:ident, $trait:ident, $kind:expr) => {
        pub fn $fn(&self, type_name: &str) -> Lookup<'_, dyn $trait> {
            if let Some(f) = self.$field.get(type_name) {
                return Lookup::Found(f);
            }
            if let Some(current) = self.aliases.get(&($kind, type_name)) {
                if let Some(f) = self.$field.get(current) {
                    return Lookup::Deprecated(
                        f,
                        format!(
                            "the {} {} type \"{}\" is deprecated, use \"{}\" instead",
                            type_name,
                            $kind.as_str(),
                            type_name,
                            current
                        ),
                    );
                }
            }
            if self.not_built.contains_key(&($kind, type_name)) {
                return Lookup::NotBuilt;
            }
            if let Some(instead) = self.removed.get(&($kind, type_name)) {
                return Lookup::Removed(instead);
            }
            Lookup::Unknown
        }
    };
}

impl Registry {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn receiver(&mut self, f: impl ReceiverFactory + 'static) -> &mut Self {
        self.receivers.insert(f.type_name(), Arc::new(f));
        self
    }
    pub fn processor(&mut self, f: impl ProcessorFactory + 'static) -> &mut Self {
        self.processors.insert(f.type_name(), Arc::new(f));
        self
    }
    pub fn exporter(&mut self, f: impl ExporterFactory + 'static) -> &mut Self {
        self.exporters.insert(f.type_name(), Arc::new(f));
        self
    }
    pub fn connector(&mut self, f: impl ConnectorFactory + 'static) -> &mut Self {
        self.connectors.insert(f.type_name(), Arc::new(f));
        self
    }
    pub fn extension(&mut self, f: impl ExtensionFactory + 'static) -> &mut Self {
        self.extensions.insert(f.type_name(), Arc::new(f));
        self
    }

    /// `deprecated` keeps working as `current`, with a warning.
    pub fn alias(
        &mut self,
        kind: Kind,
        deprecated: &'static str,
        current: &'static str,
    ) -> &mut Self {
        self.aliases.insert((kind, deprecated), current);
        self
    }

    /// Names a type upstream removed, with what its users should use instead.
    pub fn removed(&mut self, kind: Kind, name: &'static str, instead: &'static str) -> &mut Self {
        self.removed.insert((kind, name), instead);
        self
    }

    /// Whether a factory of `kind` is registered under `name` (aliases do not count).
    pub fn has(&self, kind: Kind, name: &str) -> bool {
        match kind {
            Kind::Receiver => self.receivers.contains_key(name),
            Kind::Processor => self.processors.contains_key(name),
            Kind::Exporter => self.exporters.contains_key(name),
            Kind::Connector => self.connectors.contains_key(name),
            Kind::Extension => self.extensions.contains_key(name),
        }
    }

    /// Names a Go collector component type this build does not have yet, so the error can say so.
    pub fn not_built(&mut self, kind: Kind, names: &[&'static str]) -> &mut Self {
        for n in names {
            self.not_built.insert((kind, n), ());
        }
        self
    }

    lookup_fn!(lookup_receiver, receivers, ReceiverFactory, Kind::Receiver);
    lookup_fn!(
        lookup_processor,
        processors,
        ProcessorFactory,
        Kind::Processor
    );
    lookup_fn!(lookup_exporter, exporters, ExporterFactory, Kind::Exporter);
    lookup_fn!(
        lookup_connector,
        connectors,
        ConnectorFactory,
        Kind::Connector
    );
    lookup_fn!(
        lookup_extension,
        extensions,
        ExtensionFactory,
        Kind::Extension
    );

    /// Type names built for `kind`, sorted.
    pub fn names(&self, kind: Kind) -> Vec<&'static str> {
        match kind {
            Kind::Receiver => self.receivers.keys().copied().collect(),
            Kind::Processor => self.processors.keys().copied().collect(),
            Kind::Exporter => self.exporters.keys().copied().collect(),
            Kind::Connector => self.connectors.keys().copied().collect(),
            Kind::Extension => self.extensions.keys().copied().collect(),
        }
    }

    pub fn aliases(&self) -> impl Iterator<Item = (Kind, &'static str, &'static str)> + '_ {
        self.aliases.iter().map(|((k, d), c)| (*k, *d, *c))
    }
}
