//! The status tree healthcheckv2 reports, as Go's `pkg/status` aggregator builds it: the
//! collector at the root, under it one node per pipeline (`pipeline:<name>`) and one for the
//! extensions (`extensions`), under those one leaf per component (`<kind>:<id>`).
//!
//! Each inner node carries the aggregate of its children: lifecycle statuses (Starting,
//! Stopping, Stopped, FatalError) win over errors; between PermanentError and
//! RecoverableError the configured priority decides. An error aggregate keeps the earliest
//! matching event (when the trouble began, which recovery_duration counts from); any other
//! the latest.

use std::collections::{BTreeMap, BTreeSet};
use std::time::SystemTime;

use runtime::status::{Event, InstanceId, Status};

/// One node's status. `timestamp` is `None` for Go's zero time (nothing reported yet).
#[derive(Debug, Clone, PartialEq)]
pub struct NodeEvent {
    pub status: Status,
    pub error: Option<String>,
    pub timestamp: Option<SystemTime>,
}

impl NodeEvent {
    fn none() -> Self {
        NodeEvent {
            status: Status::None,
            error: None,
            timestamp: None,
        }
    }
}

impl From<&Event> for NodeEvent {
    fn from(e: &Event) -> Self {
        NodeEvent {
            status: e.status,
            error: e.error.clone(),
            timestamp: Some(e.timestamp),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct AggregateStatus {
    pub event: NodeEvent,
    pub children: BTreeMap<String, AggregateStatus>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorPriority {
    Permanent,
    Recoverable,
}

pub struct Aggregator {
    root: AggregateStatus,
    priority: ErrorPriority,
}

pub const EXTENSIONS_KEY: &str = "extensions";

impl Aggregator {
    pub fn new(priority: ErrorPriority) -> Self {
        Aggregator {
            root: AggregateStatus {
                event: NodeEvent::none(),
                children: BTreeMap::new(),
            },
            priority,
        }
    }

    /// Records an instance's event under each pipeline it belongs to (extensions under
    /// `extensions`) and re-aggregates those pipelines and the root.
    pub fn record(&mut self, source: &InstanceId, event: &Event) {
        let scopes: Vec<String> = if source.kind == runtime::Kind::Extension {
            vec![EXTENSIONS_KEY.to_string()]
        } else {
            source
                .pipelines
                .iter()
                .map(|p| format!("pipeline:{p}"))
                .collect()
        };
        let key = format!("{}:{}", source.kind.as_str(), source.id);
        for scope in scopes {
            let pipeline = self
                .root
                .children
                .entry(scope)
                .or_insert_with(|| AggregateStatus {
                    event: NodeEvent::none(),
                    children: BTreeMap::new(),
                });
            pipeline.children.insert(
                key.clone(),
                AggregateStatus {
                    event: NodeEvent::from(event),
                    children: BTreeMap::new(),
                },
            );
            pipeline.event = aggregate(&pipeline.children, self.priority);
        }
        self.root.event = aggregate(&self.root.children, self.priority);
    }

    /// The tree for `scope` (`""` = all, `extensions`, or a pipeline name), with its
    /// subtrees only when `verbose`; `None` if that pipeline has not reported.
    pub fn status(&self, scope: &str, verbose: bool) -> Option<AggregateStatus> {
        let node = match scope {
            "" => &self.root,
            EXTENSIONS_KEY => self.root.children.get(EXTENSIONS_KEY)?,
            p => self.root.children.get(&format!("pipeline:{p}"))?,
        };
        Some(clone(node, verbose))
    }
}

fn clone(node: &AggregateStatus, verbose: bool) -> AggregateStatus {
    AggregateStatus {
        event: node.event.clone(),
        children: if verbose {
            node.children
                .iter()
                .map(|(k, v)| (k.clone(), clone(v, verbose)))
                .collect()
        } else {
            BTreeMap::new()
        },
    }
}

/// Go's aggregation: the status that matters most among the children, with the event that
/// best stands for it.
fn aggregate(children: &BTreeMap<String, AggregateStatus>, priority: ErrorPriority) -> NodeEvent {
    let seen: BTreeSet<u8> = children.values().map(|c| rank(c.event.status)).collect();
    let has = |s: Status| seen.contains(&rank(s));
    let status = if seen.len() == 1 {
        children
            .values()
            .next()
            .map(|c| c.event.status)
            .unwrap_or(Status::None)
    } else if has(Status::FatalError) {
        Status::FatalError
    } else if has(Status::Starting) {
        Status::Starting
    } else if has(Status::Stopping) || has(Status::Stopped) {
        Status::Stopping
    } else {
        let (first, second) = match priority {
            ErrorPriority::Permanent => (Status::PermanentError, Status::RecoverableError),
            ErrorPriority::Recoverable => (Status::RecoverableError, Status::PermanentError),
        };
        if has(first) {
            first
        } else if has(second) {
            second
        } else {
            Status::None
        }
    };
    let is_error = status.is_error();
    let mut last: Option<&NodeEvent> = None;
    let mut matching: Option<&NodeEvent> = None;
    for c in children.values() {
        let ev = &c.event;
        if last.is_none_or(|l| l.timestamp < ev.timestamp) {
            last = Some(ev);
        }
        if ev.status == status {
            matching = match matching {
                None => Some(ev),
                Some(m) if is_error && ev.timestamp < m.timestamp => Some(ev),
                Some(m) if !is_error && ev.timestamp > m.timestamp => Some(ev),
                m => m,
            };
        }
    }
    if is_error && let Some(m) = matching {
        return m.clone();
    }
    match last {
        Some(l) if l.status == status => l.clone(),
        Some(l) => NodeEvent {
            status,
            error: None,
            timestamp: l.timestamp,
        },
        None => NodeEvent::none(),
    }
}

fn rank(s: Status) -> u8 {
    match s {
        Status::None => 0,
        Status::Starting => 1,
        Status::Ok => 2,
        Status::RecoverableError => 3,
        Status::PermanentError => 4,
        Status::FatalError => 5,
        Status::Stopping => 6,
        Status::Stopped => 7,
    }
}
