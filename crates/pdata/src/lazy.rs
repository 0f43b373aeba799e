//! Logs a receiver hands over in its own record form, under OTLP resources and scopes, to
//! be converted to OTLP log records only if a component asks for the OTLP request
//! ([`crate::Batch::from_lazy_logs`]). A component that knows the receiver's form (the
//! `loki` exporter knows stanza's entries) can read the records as they are
//! ([`crate::Batch::with_lazy_logs`]), and one that changes only resources can do so in
//! place ([`crate::Batch::lazy_logs_mut`]); every other one sees the OTLP request as ever.

use std::any::Any;
use std::fmt;

use crate::proto::collector::logs::v1::ExportLogsServiceRequest;
use crate::proto::common::v1::InstrumentationScope;
use crate::proto::logs::v1::{LogRecord, ResourceLogs, ScopeLogs};
use crate::proto::resource::v1::Resource;

/// The records of one scope, in a receiver's form.
pub trait LazyRecords: Send + Sync + fmt::Debug {
    fn len(&self) -> usize;
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
    /// The records as OTLP, in order.
    fn into_log_records(self: Box<Self>) -> Vec<LogRecord>;
    /// For components that know the concrete form.
    fn as_any(&self) -> &dyn Any;
}

#[derive(Debug)]
pub struct LazyScopeLogs {
    pub scope: Option<InstrumentationScope>,
    pub records: Box<dyn LazyRecords>,
}

#[derive(Debug)]
pub struct LazyResourceLogs {
    pub resource: Option<Resource>,
    pub scope_logs: Vec<LazyScopeLogs>,
}

/// An `ExportLogsServiceRequest` whose log records are not converted yet.
#[derive(Debug, Default)]
pub struct LazyLogs {
    pub resource_logs: Vec<LazyResourceLogs>,
}

impl LazyLogs {
    pub fn item_count(&self) -> usize {
        self.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .map(|s| s.records.len())
            .sum()
    }

    /// The OTLP request (records converted, in order).
    pub fn into_request(self) -> ExportLogsServiceRequest {
        ExportLogsServiceRequest {
            resource_logs: self
                .resource_logs
                .into_iter()
                .map(|r| ResourceLogs {
                    resource: r.resource,
                    scope_logs: r
                        .scope_logs
                        .into_iter()
                        .map(|s| ScopeLogs {
                            scope: s.scope,
                            log_records: s.records.into_log_records(),
                            ..Default::default()
                        })
                        .collect(),
                    ..Default::default()
                })
                .collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::proto::common::v1::{AnyValue, KeyValue, any_value};
    use crate::{Batch, Request};

    /// OTLP records kept as they are, counting conversions.
    #[derive(Debug)]
    struct Kept(Vec<LogRecord>, Arc<AtomicUsize>);

    impl LazyRecords for Kept {
        fn len(&self) -> usize {
            self.0.len()
        }
        fn into_log_records(self: Box<Self>) -> Vec<LogRecord> {
            self.1.fetch_add(1, Ordering::SeqCst);
            self.0
        }
        fn as_any(&self) -> &dyn Any {
            self
        }
    }

    fn kv(k: &str, v: &str) -> KeyValue {
        crate::testdata::kv(k, crate::testdata::s(v))
    }

    fn record(body: &str) -> LogRecord {
        LogRecord {
            body: Some(AnyValue {
                value: Some(crate::testdata::s(body)),
            }),
            ..Default::default()
        }
    }

    fn lazy(conversions: &Arc<AtomicUsize>) -> LazyLogs {
        let res = |pod: &str, bodies: &[&str]| LazyResourceLogs {
            resource: Some(Resource {
                attributes: vec![kv("pod", pod)],
                ..Default::default()
            }),
            scope_logs: vec![LazyScopeLogs {
                scope: None,
                records: Box::new(Kept(
                    bodies.iter().map(|b| record(b)).collect(),
                    conversions.clone(),
                )),
            }],
        };
        LazyLogs {
            resource_logs: vec![res("a", &["1", "2"]), res("b", &["3"])],
        }
    }

    fn bodies(r: &Request) -> Vec<String> {
        let Request::Logs(l) = r else { panic!("logs") };
        l.resource_logs
            .iter()
            .flat_map(|r| &r.scope_logs)
            .flat_map(|s| &s.log_records)
            .map(|lr| match lr.body.as_ref().and_then(|b| b.value.as_ref()) {
                Some(any_value::Value::StringValue(s)) => s.clone(),
                _ => String::new(),
            })
            .collect()
    }

    #[test]
    fn lazy_logs_become_the_request_once_for_every_clone() {
        let n = Arc::new(AtomicUsize::new(0));
        let batch = Batch::from_lazy_logs(lazy(&n));
        assert_eq!(batch.item_count(), 3);
        let clone = batch.clone();
        assert_eq!(clone.with_lazy_logs(|l| l.resource_logs.len()), Some(2));
        assert_eq!(n.load(Ordering::SeqCst), 0, "reading them converts nothing");
        let req = clone.request().unwrap();
        assert_eq!(bodies(&req), ["1", "2", "3"]);
        assert_eq!(n.load(Ordering::SeqCst), 2, "each scope's records once");
        // The other clone sees the same request, converted no second time.
        assert_eq!(batch.with_lazy_logs(|_| ()), None);
        assert!(Arc::ptr_eq(&batch.request().unwrap(), &req));
        let decoded = Request::decode(crate::Signal::Logs, &batch.encoded()).unwrap();
        assert_eq!(bodies(&decoded), ["1", "2", "3"]);
        assert_eq!(n.load(Ordering::SeqCst), 2);
    }

    #[test]
    fn lazy_logs_change_in_place_only_while_unshared() {
        let n = Arc::new(AtomicUsize::new(0));
        let mut batch = Batch::from_lazy_logs(lazy(&n));
        let res = &mut batch.lazy_logs_mut().expect("unshared").resource_logs[0];
        res.resource
            .as_mut()
            .unwrap()
            .attributes
            .push(kv("cluster", "c"));
        let clone = batch.clone();
        assert!(batch.lazy_logs_mut().is_none(), "a clone shares them");
        let Request::Logs(l) = batch.request_mut().unwrap() else {
            panic!("logs")
        };
        l.resource_logs[1].resource = None;
        let Request::Logs(seen) = &*clone.request().unwrap() else {
            panic!("logs")
        };
        let attrs = &seen.resource_logs[0].resource.as_ref().unwrap().attributes;
        assert_eq!(attrs[1], kv("cluster", "c"));
        assert!(
            seen.resource_logs[1].resource.is_some(),
            "the clone keeps its data"
        );
        assert_eq!(n.load(Ordering::SeqCst), 2);
        // Joined and split like any batch.
        let joined = Batch::concat(vec![
            Batch::from_lazy_logs(lazy(&n)),
            Batch::from_lazy_logs(lazy(&n)),
        ]);
        assert_eq!(joined.item_count(), 6);
        let parts = joined.split(4);
        assert_eq!(
            parts.iter().map(Batch::item_count).collect::<Vec<_>>(),
            [4, 2]
        );
        assert_eq!(bodies(&parts[1].request().unwrap()), ["2", "3"]);
    }
}
