//! Applies the actions to the attributes of every span, log record or metric data point of
//! a decoded request that the include/exclude blocks do not skip.

use pdata::Request;
use pdata::proto::metrics::v1::metric::Data;

use crate::attraction::{AttrProc, ClientInfo};
use crate::filtering::{LogSkip, MetricSkip, SpanSkip};

/// The include/exclude decision for the processor's signal (`None`: process everything).
#[derive(Debug, Clone)]
pub enum Skip {
    Spans(Option<SpanSkip>),
    Logs(Option<LogSkip>),
    Metrics(Option<MetricSkip>),
}

/// Runs `actions` over the items of `req` that `skip` does not exclude.
pub fn apply(actions: &AttrProc, skip: &Skip, client: &ClientInfo, req: &mut Request) {
    match (req, skip) {
        (Request::Traces(t), Skip::Spans(skip)) => {
            for rs in &mut t.resource_spans {
                let resource = rs.resource.as_ref();
                for ss in &mut rs.scope_spans {
                    let scope = ss.scope.as_ref();
                    for span in &mut ss.spans {
                        if skip.as_ref().is_some_and(|s| s.skip(resource, scope, span)) {
                            continue;
                        }
                        actions.process(&mut span.attributes, client);
                    }
                }
            }
        }
        (Request::Logs(l), Skip::Logs(skip)) => {
            for rl in &mut l.resource_logs {
                let resource = rl.resource.as_ref();
                for sl in &mut rl.scope_logs {
                    let scope = sl.scope.as_ref();
                    for record in &mut sl.log_records {
                        if skip
                            .as_ref()
                            .is_some_and(|s| s.skip(resource, scope, record))
                        {
                            continue;
                        }
                        actions.process(&mut record.attributes, client);
                    }
                }
            }
        }
        (Request::Metrics(m), Skip::Metrics(skip)) => {
            for rm in &mut m.resource_metrics {
                for sm in &mut rm.scope_metrics {
                    for metric in &mut sm.metrics {
                        if skip.as_ref().is_some_and(|s| s.skip(metric)) {
                            continue;
                        }
                        process_data_points(actions, client, metric.data.as_mut());
                    }
                }
            }
        }
        // The factory builds the skip for the pipeline's signal, and a pipeline only
        // carries batches of its signal.
        _ => {}
    }
}

fn process_data_points(actions: &AttrProc, client: &ClientInfo, data: Option<&mut Data>) {
    match data {
        Some(Data::Gauge(g)) => g
            .data_points
            .iter_mut()
            .for_each(|dp| actions.process(&mut dp.attributes, client)),
        Some(Data::Sum(s)) => s
            .data_points
            .iter_mut()
            .for_each(|dp| actions.process(&mut dp.attributes, client)),
        Some(Data::Histogram(h)) => h
            .data_points
            .iter_mut()
            .for_each(|dp| actions.process(&mut dp.attributes, client)),
        Some(Data::ExponentialHistogram(h)) => h
            .data_points
            .iter_mut()
            .for_each(|dp| actions.process(&mut dp.attributes, client)),
        Some(Data::Summary(s)) => s
            .data_points
            .iter_mut()
            .for_each(|dp| actions.process(&mut dp.attributes, client)),
        None => {}
    }
}
