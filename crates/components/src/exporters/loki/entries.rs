//! A receiver's stanza entries to Loki push requests without making OTLP records of them
//! first ([`pdata::Batch::with_lazy_logs`]): labels from the resources (which are OTLP
//! already) once per resource, lines written from the entries. It covers the records that
//! carry no hint of their own; for the rest [`entries_to_loki`] says `None` and the
//! exporter converts the batch and goes through [`super::translate::logs_to_loki`], whose
//! result this one equals where it applies (`translate_tests`).

use std::collections::HashMap;

use pdata::lazy::LazyLogs;
use pdata::proto::common::v1::any_value::Value;
use stanza::convert::Records;

use super::config::DefaultLabels;
use super::line;
use super::proto::Timestamp;
use super::translate::{
    HINT_FORMAT, HINT_TENANT, TenantRequest, base_labels, drop_record, get, is_hint,
};
use crate::util::gotext::StanzaMapPlan;

/// Whether the shortcut covers these logs: every scope's records are stanza entries, no
/// entry has a `loki.*` attribute (the hints a record may carry), none has a severity
/// while the `level` label is on (it would add a label and an attribute per record), and
/// no resource names a tenant or a line format other than `json`.
fn covered(logs: &LazyLogs, defaults: DefaultLabels) -> bool {
    logs.resource_logs.iter().all(|rl| {
        let res = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes);
        let format_ok = get(res, HINT_FORMAT)
            .is_none_or(|v| matches!(&v.value, Some(Value::StringValue(f)) if f == "json"));
        format_ok
            && get(res, HINT_TENANT).is_none()
            && rl.scope_logs.iter().all(|sl| {
                sl.records
                    .as_any()
                    .downcast_ref::<Records>()
                    .is_some_and(|r| {
                        r.0.iter().all(|e| {
                            (!defaults.level || e.severity == 0)
                                && !e.attributes.keys().any(|k| k.starts_with("loki."))
                        })
                    })
            })
    })
}

/// Whether no record of `logs` can name a tenant (as far as the shortcut can tell without
/// converting them): then they all go to the exporter's own tenant.
pub(crate) fn names_no_tenant(logs: &LazyLogs) -> bool {
    logs.resource_logs.iter().all(|rl| {
        let res = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes);
        get(res, HINT_TENANT).is_none()
            && rl.scope_logs.iter().all(|sl| {
                sl.records
                    .as_any()
                    .downcast_ref::<Records>()
                    .is_some_and(|r| r.0.iter().all(|e| e.attributes.get(HINT_TENANT).is_none()))
            })
    })
}

/// The push requests (one: no record names a tenant) for `logs`, or `None` when the
/// shortcut does not cover them (see [`covered`]).
pub(crate) fn entries_to_loki(
    logs: &LazyLogs,
    defaults: DefaultLabels,
    now: &dyn Fn() -> i64,
) -> Option<Vec<TenantRequest>> {
    if !covered(logs, defaults) {
        return None;
    }
    let mut out: Option<TenantRequest> = None;
    let all_records = logs.item_count();
    let mut index: HashMap<String, usize> = HashMap::new();
    // Each line is written here, then copied once into its stream's encoding.
    let mut line = String::new();
    for rl in &logs.resource_logs {
        let res_attrs = rl.resource.as_ref().map_or(&[][..], |r| &r.attributes);
        let base = base_labels(res_attrs, defaults);
        let skip = |k: &str| is_hint(k) || base.contains(k);
        let mut res_json: Option<Result<String, String>> = None;
        let mut plan = StanzaMapPlan::default();
        let mut stream: Option<usize> = None;
        for sl in &rl.scope_logs {
            let Some(records) = sl.records.as_any().downcast_ref::<Records>() else {
                continue; // not covered: cannot happen after `covered`
            };
            for e in &records.0 {
                let group = out.get_or_insert_with(|| {
                    let mut t = TenantRequest::default();
                    t.written.expect(all_records);
                    t
                });
                if base.pairs.is_empty() {
                    group.missing_labels += 1;
                    continue;
                }
                let res = res_json
                    .get_or_insert_with(|| line::json_resources(res_attrs, &skip).map_err(|e| e.0));
                let written = match res {
                    Ok(r) => {
                        line::json_line_entry(&mut line, e, &skip, r, sl.scope.as_ref(), &mut plan)
                            .map_err(|e| e.0)
                    }
                    Err(e) => Err(e.clone()),
                };
                if let Err(err) = written {
                    drop_record(group, err);
                    continue;
                }
                group.submitted += 1;
                let writer = &mut group.written;
                let i = *stream.get_or_insert_with(|| {
                    let key = base.render();
                    *index
                        .entry(key.clone())
                        .or_insert_with(|| writer.add_stream(key))
                });
                writer.push(
                    i,
                    Timestamp::from_unix_nanos(timestamp(e, now)),
                    line.as_bytes(),
                );
            }
        }
    }
    Some(out.into_iter().collect())
}

/// Go's `timestampFromLogRecord` of the record the entry converts to (a negative time is
/// left out of the record, as 0).
fn timestamp(e: &stanza::Entry, now: &dyn Fn() -> i64) -> i64 {
    if e.timestamp > 0 {
        e.timestamp
    } else if e.observed_timestamp > 0 {
        e.observed_timestamp
    } else {
        now()
    }
}

#[cfg(test)]
mod tests {
    use pdata::testdata::Rng;
    use stanza::{Entry as StanzaEntry, Map, Value as V};

    use super::*;
    use crate::exporters::loki::translate::logs_to_loki;

    fn value(r: &mut Rng, depth: u32) -> V {
        match r.below(if depth > 1 { 8 } else { 10 }) {
            0 => V::Nil,
            1 => V::Bool(r.below(2) == 0),
            2 => V::Int(r.next_u64() as i64 >> r.below(60)),
            3 => {
                // NaN and infinities (which Go's JSON refuses) now and then.
                let kinds = if r.below(20) == 0 { 8 } else { 6 };
                V::Float(
                    [
                        0.1,
                        -0.0,
                        1e21,
                        1e-7,
                        123456.5,
                        3.0,
                        f64::NAN,
                        f64::INFINITY,
                    ][r.below(kinds) as usize],
                )
            }
            4 => V::Bytes((0..r.below(5)).map(|i| i as u8 * 37).collect()),
            5..=7 => V::Str({
                let s = stanza::Str::from(r.pick(&[
                    "",
                    "plain",
                    "quote\" and \\ back",
                    "<html> & co",
                    "tab\tnl\nctl\u{1}",
                    "ü € 𝄞 \u{2028}",
                    "trace_id=0af7651916cd43dd8448eb211c80319c",
                ]));
                // Both forms: owned, and shared as cached and configured values are.
                if r.below(2) == 0 { s.shared() } else { s }
            }),
            8 => {
                let mut m = Map::new();
                for _ in 0..r.below(4) {
                    m.insert(r.pick(&["b", "a", "z.y", "<k>", "a"]), value(r, depth + 1));
                }
                V::Map(m)
            }
            _ => V::List((0..r.below(4)).map(|_| value(r, depth + 1)).collect()),
        }
    }

    fn entry(r: &mut Rng, resources: &[Map]) -> StanzaEntry {
        let mut e = StanzaEntry::with_body(
            value(r, 0),
            [0, 5, 1_700_000_000_000_000_123][r.below(3) as usize],
        );
        e.timestamp = [0, -4, 1_600_000_000_000_000_001][r.below(3) as usize];
        for _ in 0..r.below(6) {
            let k = r.pick(&[
                "time",
                "stream",
                "log",
                "uid",
                "level",
                "pod",
                "a<b",
                "service.name",
                "z",
            ]);
            if r.below(2) == 0 {
                e.attributes.insert_key(&stanza::Key::named(k), value(r, 1));
            } else {
                e.attributes.insert(k, value(r, 1));
            }
        }
        if r.below(40) == 0 {
            let hint = r.pick(&["loki.attribute.labels", "loki.tenant", "loki.format"]);
            e.attributes.insert(hint, V::Str("pod".into()));
        }
        if r.below(4) == 0 {
            e.severity = r.below(25) as u8;
        }
        if r.below(5) == 0 {
            e.severity_text = r.pick(&["info", "WARN", ""]).to_string();
        }
        let ids: [Vec<u8>; 4] = [vec![], vec![0; 16], (1..=16).collect(), vec![7, 8, 9]];
        e.trace_id = ids[r.below(4) as usize].clone();
        e.span_id = ids[r.below(4) as usize].clone();
        e.trace_flags = [vec![], vec![1], vec![0, 3]][r.below(3) as usize].clone();
        e.scope_name = r.pick(&["", "", "scope-1"]).to_string();
        e.resource = resources[r.below(resources.len() as u64) as usize].clone();
        e
    }

    fn resources(r: &mut Rng) -> Vec<Map> {
        (0..1 + r.below(3))
            .map(|_| {
                let mut m = Map::new();
                for (k, vals) in [
                    ("service.name", &["api", "web"][..]),
                    ("service.namespace", &["shop"][..]),
                    ("service.instance.id", &["i-1"][..]),
                    ("pod", &["p1", "p2"][..]),
                    ("namespace", &["default"][..]),
                    (
                        "loki.resource.labels",
                        &["pod, namespace", "pod", "nosuch"][..],
                    ),
                    ("loki.format", &["json", "json", "raw", "logfmt"][..]),
                    ("loki.tenant", &["pod"][..]),
                ] {
                    let odds = if k == "loki.tenant" { 15 } else { 2 };
                    if r.below(odds) == 0 {
                        m.insert(k, V::Str(r.pick(vals).into()));
                    }
                }
                if r.below(3) == 0 {
                    m.insert("count", V::Int(3));
                }
                m
            })
            .collect()
    }

    /// What a tenant's request says, whichever way its streams were written (the bytes of
    /// written streams decoded: equal to prost's, `lokiproto` tests).
    fn summary(t: Vec<TenantRequest>) -> Vec<String> {
        t.into_iter()
            .map(|t| {
                assert!(t.written.streams() == 0 || t.request.streams.is_empty());
                let request = if t.written.streams() > 0 {
                    t.written.to_request()
                } else {
                    t.request
                };
                format!(
                    "{:?} {:?} submitted={} dropped={} missing={} {:?}",
                    t.tenant, request, t.submitted, t.dropped, t.missing_labels, t.first_error
                )
            })
            .collect()
    }

    /// Wherever the shortcut applies, it makes exactly what the translation of the
    /// converted request makes: labels, streams, lines, timestamps and the counts of
    /// dropped records, over random entries, resources and default label settings.
    #[test]
    fn the_shortcut_equals_the_translation_of_the_converted_request() {
        let mut r = Rng::new(0x2545_F491_4F6C_DD1D);
        let (mut covered, mut not) = (0, 0);
        for case in 0..3000 {
            let defaults = DefaultLabels {
                exporter: r.below(4) != 0,
                job: r.below(3) != 0,
                instance: r.below(2) == 0,
                level: r.below(3) != 0,
            };
            let res = resources(&mut r);
            let entries: Vec<StanzaEntry> = (0..r.below(8)).map(|_| entry(&mut r, &res)).collect();
            let batch = stanza::convert::to_batch(entries.clone());
            let now = || 77;
            let fast = batch
                .with_lazy_logs(|l| entries_to_loki(l, defaults, &now))
                .expect("a lazy batch");
            let Some(fast) = fast else {
                not += 1;
                continue;
            };
            covered += 1;
            let slow = logs_to_loki(&stanza::convert::to_request(entries), defaults, &now);
            assert_eq!(summary(fast), summary(slow), "case {case}");
        }
        // Both sides of the shortcut were exercised.
        assert!(covered > 600 && not > 600, "covered {covered}, not {not}");
    }

    #[test]
    fn a_tenant_hint_anywhere_is_seen() {
        let plain = |hint: Option<(bool, &str)>| {
            let mut e = StanzaEntry::with_body("x", 1);
            e.resource.insert("pod", V::Str("p".into()));
            match hint {
                Some((true, k)) => e.resource.insert(k, V::Str("pod".into())),
                Some((false, k)) => e.attributes.insert(k, V::Str("pod".into())),
                None => None,
            };
            stanza::convert::to_batch(vec![e])
        };
        let sees = |b: Batch| b.with_lazy_logs(names_no_tenant);
        use pdata::Batch;
        assert_eq!(sees(plain(None)), Some(true));
        assert_eq!(sees(plain(Some((true, HINT_TENANT)))), Some(false));
        assert_eq!(sees(plain(Some((false, HINT_TENANT)))), Some(false));
    }
}
