//! Starting and stopping a built service in the Go collector's order.

use std::time::Duration;

use crate::component::{Host, Kind};
use crate::graph::Built;

pub struct Service {
    built: Built,
    host: Host,
}

impl Service {
    pub fn new(built: Built) -> Self {
        let host = Host {
            extensions: built.extensions.iter().cloned().collect(),
        };
        Service { built, host }
    }

    /// Extensions, then exporters, connectors and processors (downstream first), then
    /// receivers; then extensions hear that pipelines are ready. On failure, what started is
    /// shut down again and the error names the component.
    pub async fn start(&self) -> Result<(), String> {
        for (i, (id, ext)) in self.built.extensions.iter().enumerate() {
            if let Err(e) = ext.start(&self.host).await {
                for (_, started) in self.built.extensions[..i].iter().rev() {
                    let _ = started.shutdown().await;
                }
                return Err(format!(
                    "failed to start extensions: failed to start \"{id}\" extension: {e}"
                ));
            }
        }
        for (i, node) in self.built.nodes.iter().enumerate() {
            if let Err(e) = node.component.start(&self.host).await {
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
        for node in self.built.nodes.iter().rev() {
            match tokio::time::timeout(per_component, node.component.shutdown()).await {
                Ok(Ok(())) => {}
                Ok(Err(e)) => {
                    tracing::warn!(component = %node.id, kind = node.kind.as_str(), error = %e, "shutdown error")
                }
                Err(_) => {
                    tracing::warn!(component = %node.id, kind = node.kind.as_str(), "shutdown timed out; data it held may be lost")
                }
            }
        }
        for (id, ext) in self.built.extensions.iter().rev() {
            if let Err(e) = ext.shutdown().await {
                tracing::warn!(component = %id, kind = Kind::Extension.as_str(), error = %e, "shutdown error");
            }
        }
    }
}
