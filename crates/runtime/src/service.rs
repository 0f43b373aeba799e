//! Starting and stopping a built service in the Go collector's order, reporting each
//! instance's status (Starting, OK or PermanentError; Stopping, Stopped or PermanentError)
//! as Go's service does.

use std::sync::Arc;
use std::time::Duration;

use config::ComponentId;

use crate::component::{Host, Kind};
use crate::graph::Built;
use crate::status::{Event, InstanceId, Status, StatusReporter};

pub struct Service {
    built: Built,
    host: Host,
    /// One per extension then one per node, in `built`'s order.
    ext_instances: Vec<InstanceId>,
    node_instances: Vec<InstanceId>,
}

impl Service {
    pub fn new(built: Built) -> Self {
        let status = StatusReporter::new(built.extensions.iter().map(|(_, e)| e.clone()).collect());
        let host = Host {
            extensions: built.extensions.iter().cloned().collect(),
            service: Arc::new(built.view.clone()),
            status,
        };
        let ext_instances = built
            .extensions
            .iter()
            .map(|(id, _)| instance(Kind::Extension, id, Vec::new()))
            .collect();
        let node_instances = built
            .nodes
            .iter()
            .map(|n| instance(n.kind, &n.id, n.pipelines.clone()))
            .collect();
        Service {
            built,
            host,
            ext_instances,
            node_instances,
        }
    }

    /// What components are started with (the extensions, the pipelines, the status reporter).
    pub fn host(&self) -> &Host {
        &self.host
    }

    fn report(&self, i: &InstanceId, event: Event) {
        self.host.status.report_instance(i, event);
    }

    /// Extensions, then exporters, connectors and processors (downstream first), then
    /// receivers; then extensions hear that pipelines are ready. On failure, what started is
    /// shut down again and the error names the component.
    pub async fn start(&self) -> Result<(), String> {
        for (i, (id, ext)) in self.built.extensions.iter().enumerate() {
            let inst = &self.ext_instances[i];
            self.report(inst, Event::new(Status::Starting));
            if let Err(e) = ext.start(&self.host).await {
                self.report(inst, Event::error(Status::PermanentError, e.clone()));
                for (_, started) in self.built.extensions[..i].iter().rev() {
                    let _ = started.shutdown().await;
                }
                return Err(format!(
                    "failed to start extensions: failed to start \"{id}\" extension: {e}"
                ));
            }
            self.report(inst, Event::new(Status::Ok));
        }
        for (i, node) in self.built.nodes.iter().enumerate() {
            let inst = &self.node_instances[i];
            self.report(inst, Event::new(Status::Starting));
            if let Err(e) = node.component.start(&self.host).await {
                self.report(inst, Event::error(Status::PermanentError, e.clone()));
                for started in self.built.nodes[..i].iter().rev() {
                    let _ = started.component.shutdown().await;
                }
                for (_, ext) in self.built.extensions.iter().rev() {
                    let _ = ext.shutdown().await;
                }
                return Err(format!(
                    "cannot start pipelines: failed to start \"{}\" {}: {e}",
                    node.id, node.kind
                ));
            }
            self.report(inst, Event::new(Status::Ok));
        }
        for (_, ext) in &self.built.extensions {
            ext.pipelines_ready();
        }
        tracing::info!("Everything is ready. Begin running and processing data.");
        Ok(())
    }

    /// Receivers stop first, then each stage drains into the next, then extensions stop.
    /// Each component gets at most `per_component` to finish.
    pub async fn shutdown(&self, per_component: Duration) {
        for (_, ext) in &self.built.extensions {
            ext.pipelines_not_ready();
        }
        for (i, node) in self.built.nodes.iter().enumerate().rev() {
            let inst = &self.node_instances[i];
            self.report(inst, Event::new(Status::Stopping));
            match tokio::time::timeout(per_component, node.component.shutdown()).await {
                Ok(Ok(())) => self.report(inst, Event::new(Status::Stopped)),
                Ok(Err(e)) => {
                    tracing::warn!(component = %node.id, kind = node.kind.as_str(), error = %e, "shutdown error");
                    self.report(inst, Event::error(Status::PermanentError, e));
                }
                Err(_) => {
                    tracing::warn!(component = %node.id, kind = node.kind.as_str(), "shutdown timed out; data it held may be lost");
                    self.report(
                        inst,
                        Event::error(Status::PermanentError, "shutdown timed out"),
                    );
                }
            }
        }
        for (i, (id, ext)) in self.built.extensions.iter().enumerate().rev() {
            let inst = &self.ext_instances[i];
            self.report(inst, Event::new(Status::Stopping));
            match ext.shutdown().await {
                Ok(()) => self.report(inst, Event::new(Status::Stopped)),
                Err(e) => {
                    tracing::warn!(component = %id, kind = Kind::Extension.as_str(), error = %e, "shutdown error");
                    self.report(inst, Event::error(Status::PermanentError, e));
                }
            }
        }
    }
}

fn instance(kind: Kind, id: &ComponentId, pipelines: Vec<String>) -> InstanceId {
    InstanceId {
        kind,
        id: id.clone(),
        pipelines,
    }
}
