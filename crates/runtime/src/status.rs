//! Component status, as the Go collector's `componentstatus`: the service reports each
//! component instance's lifecycle (Starting, OK, PermanentError when start fails, Stopping,
//! Stopped), components may report errors of their own (RecoverableError, PermanentError,
//! FatalError), and every extension hears each event through
//! [`crate::Extension::component_status_changed`] (Go's `StatusWatcher`), which is how
//! `healthcheckv2` knows the health of each pipeline.
//!
//! An instance is one built component: a receiver, exporter or connector shared by several
//! pipelines is one instance in all of them; a processor is one instance per pipeline.
//! Transitions follow Go's state machine: an event that is not allowed after the current
//! one (anything after PermanentError, FatalError or Stopped; the same status twice, except
//! RecoverableError) is dropped.

use std::collections::HashMap;
use std::fmt;
use std::sync::{Arc, Mutex};
use std::time::SystemTime;

use config::ComponentId;

use crate::component::{Extension, Kind};

/// The statuses of Go's `componentstatus.Status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    None,
    Starting,
    Ok,
    RecoverableError,
    PermanentError,
    FatalError,
    Stopping,
    Stopped,
}

impl Status {
    /// Go's `Status.String()` (`StatusOK`, ...), which is what healthcheckv2 serializes.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::None => "StatusNone",
            Status::Starting => "StatusStarting",
            Status::Ok => "StatusOK",
            Status::RecoverableError => "StatusRecoverableError",
            Status::PermanentError => "StatusPermanentError",
            Status::FatalError => "StatusFatalError",
            Status::Stopping => "StatusStopping",
            Status::Stopped => "StatusStopped",
        }
    }

    pub fn is_error(self) -> bool {
        matches!(
            self,
            Status::RecoverableError | Status::PermanentError | Status::FatalError
        )
    }

    /// Go's status state machine: which status may follow `self`.
    fn may_become(self, next: Status) -> bool {
        use Status::*;
        match self {
            None => next == Starting,
            Starting => matches!(
                next,
                Ok | RecoverableError | PermanentError | FatalError | Stopping
            ),
            Ok => matches!(
                next,
                RecoverableError | PermanentError | FatalError | Stopping
            ),
            RecoverableError => matches!(
                next,
                Ok | RecoverableError | PermanentError | FatalError | Stopping
            ),
            Stopping => matches!(
                next,
                RecoverableError | PermanentError | FatalError | Stopped
            ),
            PermanentError | FatalError | Stopped => false,
        }
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One status change.
#[derive(Debug, Clone, PartialEq)]
pub struct Event {
    pub status: Status,
    /// The error, for the error statuses.
    pub error: Option<String>,
    pub timestamp: SystemTime,
}

impl Event {
    pub fn new(status: Status) -> Self {
        Event {
            status,
            error: None,
            timestamp: SystemTime::now(),
        }
    }

    pub fn error(status: Status, error: impl Into<String>) -> Self {
        Event {
            status,
            error: Some(error.into()),
            timestamp: SystemTime::now(),
        }
    }
}

/// Which component instance an event is about (Go's `componentstatus.InstanceID`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InstanceId {
    pub kind: Kind,
    pub id: ComponentId,
    /// The pipelines (`traces`, `metrics/2`) the instance belongs to; empty for extensions.
    pub pipelines: Vec<String>,
}

/// Hands status events to every extension and keeps each instance's current status.
/// Cloning shares the state.
#[derive(Clone, Default)]
pub struct StatusReporter {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    watchers: Vec<Arc<dyn Extension>>,
    /// Every known instance with its last accepted event.
    current: Mutex<HashMap<Arc<InstanceId>, Status>>,
}

impl StatusReporter {
    /// A reporter telling `watchers` (the service's extensions).
    pub fn new(watchers: Vec<Arc<dyn Extension>>) -> Self {
        StatusReporter {
            inner: Arc::new(Inner {
                watchers,
                current: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// Reports `event` for one instance; dropped (false) if the transition is not allowed.
    pub fn report_instance(&self, source: &InstanceId, event: Event) -> bool {
        {
            let mut current = self.inner.current.lock().unwrap_or_else(|p| p.into_inner());
            let now = current.get(source).copied().unwrap_or(Status::None);
            let allowed = now.may_become(event.status)
                && (now != event.status || event.status == Status::RecoverableError);
            if !allowed {
                return false;
            }
            current.insert(Arc::new(source.clone()), event.status);
        }
        for w in &self.inner.watchers {
            w.component_status_changed(source, &event);
        }
        true
    }

    /// Reports `event` for every instance of component `id` of `kind` that has reported
    /// before (a shared exporter is one instance per signal; a processor one per pipeline).
    /// This is how a component reports about itself: it knows its kind and id.
    pub fn report(&self, kind: Kind, id: &ComponentId, event: Event) {
        let instances: Vec<Arc<InstanceId>> = {
            let current = self.inner.current.lock().unwrap_or_else(|p| p.into_inner());
            current
                .keys()
                .filter(|i| i.kind == kind && &i.id == id)
                .cloned()
                .collect()
        };
        for i in instances {
            self.report_instance(&i, event.clone());
        }
    }

    /// The current status of an instance (`None` before it started).
    pub fn status_of(&self, source: &InstanceId) -> Status {
        self.inner
            .current
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(source)
            .copied()
            .unwrap_or(Status::None)
    }
}

#[cfg(test)]
mod tests {
    use std::any::Any;

    use super::*;
    use crate::component::Component;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(String, Status, Option<String>)>>);

    impl Component for Recorder {}
    impl Extension for Recorder {
        fn as_any(&self) -> &dyn Any {
            self
        }
        fn component_status_changed(&self, source: &InstanceId, event: &Event) {
            self.0.lock().unwrap().push((
                format!("{}:{}", source.kind, source.id),
                event.status,
                event.error.clone(),
            ));
        }
    }

    fn instance(kind: Kind, id: &str, pipelines: &[&str]) -> InstanceId {
        InstanceId {
            kind,
            id: ComponentId::parse(id).unwrap(),
            pipelines: pipelines.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn watchers_hear_allowed_transitions_and_not_the_others() {
        let rec = Arc::new(Recorder::default());
        let r = StatusReporter::new(vec![rec.clone()]);
        let exp = instance(Kind::Exporter, "otlp", &["traces"]);
        // Go's state machine, in order: (event, accepted?)
        let steps = [
            (Status::Ok, false), // must start first
            (Status::Starting, true),
            (Status::Starting, false), // same status twice
            (Status::Ok, true),
            (Status::RecoverableError, true),
            (Status::RecoverableError, true), // repeated recoverable errors are kept
            (Status::Ok, true),
            (Status::Stopping, true),
            (Status::Ok, false), // no OK while stopping
            (Status::Stopped, true),
            (Status::Starting, false), // nothing after Stopped
        ];
        for (i, (s, accepted)) in steps.iter().enumerate() {
            assert_eq!(
                r.report_instance(&exp, Event::new(*s)),
                *accepted,
                "step {i}: {s}"
            );
        }
        let heard: Vec<Status> = rec.0.lock().unwrap().iter().map(|e| e.1).collect();
        assert_eq!(
            heard,
            vec![
                Status::Starting,
                Status::Ok,
                Status::RecoverableError,
                Status::RecoverableError,
                Status::Ok,
                Status::Stopping,
                Status::Stopped
            ]
        );
        assert_eq!(r.status_of(&exp), Status::Stopped);
    }

    #[test]
    fn permanent_error_is_final() {
        let r = StatusReporter::new(vec![]);
        let p = instance(Kind::Processor, "batch", &["logs"]);
        assert!(r.report_instance(&p, Event::new(Status::Starting)));
        assert!(r.report_instance(&p, Event::error(Status::PermanentError, "boom")));
        assert!(!r.report_instance(&p, Event::new(Status::Stopping)));
        assert_eq!(r.status_of(&p), Status::PermanentError);
    }

    #[test]
    fn a_component_reports_for_all_its_instances() {
        let rec = Arc::new(Recorder::default());
        let r = StatusReporter::new(vec![rec.clone()]);
        let a = instance(Kind::Processor, "batch", &["traces"]);
        let b = instance(Kind::Processor, "batch", &["logs"]);
        let other = instance(Kind::Exporter, "batch", &["logs"]);
        for i in [&a, &b, &other] {
            r.report_instance(i, Event::new(Status::Starting));
            r.report_instance(i, Event::new(Status::Ok));
        }
        r.report(
            Kind::Processor,
            &ComponentId::parse("batch").unwrap(),
            Event::error(Status::RecoverableError, "queue full"),
        );
        assert_eq!(r.status_of(&a), Status::RecoverableError);
        assert_eq!(r.status_of(&b), Status::RecoverableError);
        assert_eq!(r.status_of(&other), Status::Ok);
        let errors = rec
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| e.2.as_deref() == Some("queue full"))
            .count();
        assert_eq!(errors, 2);
    }

    #[test]
    fn status_strings_are_gos() {
        assert_eq!(Status::Ok.as_str(), "StatusOK");
        assert_eq!(Status::RecoverableError.as_str(), "StatusRecoverableError");
        assert_eq!(Status::Stopped.to_string(), "StatusStopped");
    }
}
