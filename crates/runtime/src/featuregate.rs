//! Feature gates: the ones this build knows (Go's ids, stages and defaults, for the gates of
//! the Go components ferrotel has and of the core), and the `--feature-gates` of this process
//! (`id`, `+id`, `-id`, comma-separated or repeated; a leading `strict` as Go's). The CLI
//! checks the list against [`GATES`] with Go's rules and messages ([`check`]) and sets it once
//! before the configuration is parsed; components read it with [`enabled`].

use std::sync::RwLock;

/// A gate's lifecycle stage, as Go names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    /// Off by default.
    Alpha,
    /// On by default.
    Beta,
    /// Always on: disabling it is an error.
    Stable,
    /// Always off: enabling it is an error.
    Deprecated,
}

impl Stage {
    pub fn as_str(self) -> &'static str {
        match self {
            Stage::Alpha => "Alpha",
            Stage::Beta => "Beta",
            Stage::Stable => "Stable",
            Stage::Deprecated => "Deprecated",
        }
    }
    pub fn default_enabled(self) -> bool {
        matches!(self, Stage::Beta | Stage::Stable)
    }
}

/// One known gate.
#[derive(Debug, Clone, Copy)]
pub struct Gate {
    pub id: &'static str,
    pub stage: Stage,
    pub description: &'static str,
    pub from_version: &'static str,
    pub to_version: &'static str,
}

const fn gate(id: &'static str, stage: Stage, description: &'static str) -> Gate {
    Gate {
        id,
        stage,
        description,
        from_version: "",
        to_version: "",
    }
}

/// Every gate this build knows, sorted by id (Go lists them in lexicographic order). A gate
/// is here when a Go component ferrotel has (or the core) registers it; where ferrotel has no
/// behaviour behind it the description says so.
pub static GATES: &[Gate] = &[
    gate(
        "confmap.enableMergeAppendOption",
        Stage::Alpha,
        "Combines lists when resolving configs from different sources (accepted; ferrotel replaces lists as the default Go behaviour does)",
    ),
    gate(
        "connector.servicegraph.legacyLatencyMetricNames",
        Stage::Alpha,
        "When enabled, connector servicegraph uses legacy latency metric names.",
    ),
    gate(
        "connector.servicegraph.legacyLatencyUnitMs",
        Stage::Deprecated,
        "When enabled, connector servicegraph uses milliseconds for latency metrics.",
    ),
    gate(
        "connector.servicegraph.virtualNode",
        Stage::Beta,
        "When enabled and setting `virtual_node_peer_attributes` is not empty, the connector looks for the presence of these attributes in span to create virtual server nodes.",
    ),
    gate(
        "connector.spanmetrics.excludeResourceMetrics",
        Stage::Alpha,
        "When enabled, connector spanmetrics will not include resource attributes in the metrics.",
    ),
    gate(
        "connector.spanmetrics.includeCollectorInstanceID",
        Stage::Beta,
        "When enabled, connector spanmetrics will include the collector.instance.id attribute.",
    ),
    gate(
        "connector.spanmetrics.legacyMetricNames",
        Stage::Alpha,
        "When enabled, connector spanmetrics will use legacy metric names.",
    ),
    gate(
        "connector.spanmetrics.useSecondAsDefaultMetricsUnit",
        Stage::Alpha,
        "When enabled, connector spanmetrics will use seconds as the default unit for duration metrics (accepted; ferrotel follows `histogram.unit`).",
    ),
    gate(
        "exporter.prometheusremotewritexporter.enableSendingRW2",
        Stage::Alpha,
        "Enables sending Remote Write 2.0 (accepted; ferrotel sends Remote Write 1.0).",
    ),
    gate(
        "filelog.allowFileDeletion",
        Stage::Alpha,
        "When enabled, allows usage of the `delete_after_read` setting.",
    ),
    gate(
        "filelog.allowHeaderMetadataParsing",
        Stage::Beta,
        "When enabled, allows usage of the `header` setting.",
    ),
    gate(
        "filelog.decompressFingerprint",
        Stage::Alpha,
        "Computes the fingerprint of compressed files from their decompressed data (accepted; no effect in ferrotel yet).",
    ),
    gate(
        "filelog.mtimeSortType",
        Stage::Alpha,
        "When enabled, allows usage of `ordering_criteria.mode = mtime`.",
    ),
    gate(
        "otelcol.printInitialConfig",
        Stage::Alpha,
        "If set, the `print-initial-config` command is available (accepted; ferrotel has no such command).",
    ),
    gate(
        "pkg.translator.jaeger.DontEmitV0HttpConventions",
        Stage::Alpha,
        "When enabled, the Jaeger translator no longer emits the old HTTP semantic convention names.",
    ),
    gate(
        "pkg.translator.jaeger.EmitV1HttpConventions",
        Stage::Alpha,
        "When enabled, the Jaeger translator emits the stable HTTP semantic convention names.",
    ),
    gate(
        "pkg.translator.prometheus.NormalizeName",
        Stage::Beta,
        "Controls whether metrics names are automatically normalized to follow Prometheus naming convention.",
    ),
    gate(
        "processor.tailsamplingprocessor.metricstatcountspanssampled",
        Stage::Alpha,
        "When enabled, a new metric stat_count_spans_sampled will be available in the tail sampling processor. Differently from stat_count_traces_sampled, this metric will count the number of spans sampled or not per sampling policy, where the original counts traces.",
    ),
    gate(
        "processor.tailsamplingprocessor.recordpolicy",
        Stage::Alpha,
        "When enabled, attaches the name of the policy (and if applicable, composite policy) responsible for sampling a trace in the 'tailsampling.policy'/'tailsampling.composite_policy' attributes.",
    ),
    gate(
        "receiver.prometheusreceiver.EnableNativeHistograms",
        Stage::Alpha,
        "When enabled, the Prometheus receiver converts native histograms (refused by ferrotel: native histograms need the protobuf scrape format).",
    ),
    gate(
        "receiver.prometheusreceiver.RemoveStartTimeAdjustment",
        Stage::Alpha,
        "When enabled, the Prometheus receiver will leave the start time unset. Use the new metricstarttime processor instead.",
    ),
    gate(
        "service.AllowNoPipelines",
        Stage::Alpha,
        "Allow starting the Collector without starting any pipelines.",
    ),
    gate(
        "service.profilesSupport",
        Stage::Alpha,
        "Controls whether profiles support can be enabled (ferrotel runs profiles pipelines whether or not it is set).",
    ),
    gate(
        "telemetry.newPipelineTelemetry",
        Stage::Alpha,
        "Injects component-identifying scope attributes in internal Collector metrics (accepted; ferrotel labels its metrics as the default Go behaviour does).",
    ),
    gate(
        "transform.flatten.logs",
        Stage::Alpha,
        "Flatten log data prior to transformation so every record has a unique copy of the resource and scope. Regroups logs based on resource and scope after transformations.",
    ),
];

/// The known gate `id`.
pub fn find(id: &str) -> Option<&'static Gate> {
    GATES.iter().find(|g| g.id == id)
}

static LIST: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Sets the process's gate list (each item may hold several comma-separated ids) without
/// checking it; [`check`] first to get Go's errors.
pub fn set<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) {
    *LIST.write().unwrap_or_else(|p| p.into_inner()) = split(items);
}

fn split<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Vec<String> {
    items
        .into_iter()
        .flat_map(|s| {
            s.as_ref()
                .split(',')
                .map(|g| g.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect()
}

/// Checks a `--feature-gates` list as Go's flag does: every id must be known
/// (`no such feature gate "x"`), a stable gate cannot be disabled and a deprecated one cannot
/// be enabled; with a leading `strict`, alpha and beta gates must be set explicitly (beta ones
/// on) and stable ones not at all. Returns the notices Go prints for stable/deprecated gates
/// that were set to their fixed value, or every error joined with `; `.
pub fn check<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) -> Result<Vec<String>, String> {
    let mut ids = split(items);
    let strict = ids.first().is_some_and(|g| g == "strict");
    if strict {
        ids.remove(0);
    }
    let mut errors = Vec::new();
    let mut notices = Vec::new();
    let mut set: Vec<(&str, bool)> = Vec::new();
    for raw in &ids {
        let (id, on) = match raw.strip_prefix('-') {
            Some(id) => (id, false),
            None => (raw.strip_prefix('+').unwrap_or(raw), true),
        };
        if find(id).is_none() {
            errors.push(format!("no such feature gate {id:?}"));
        }
        match set.iter_mut().find(|(k, _)| *k == id) {
            Some(entry) => entry.1 = on,
            None => set.push((id, on)),
        }
    }
    for g in GATES {
        let Some(&(_, on)) = set.iter().find(|(k, _)| *k == g.id) else {
            if strict && matches!(g.stage, Stage::Alpha | Stage::Beta) {
                errors.push(format!("gate {:?} is not explicitly configured", g.id));
            }
            continue;
        };
        if strict && !on && g.stage == Stage::Beta {
            errors.push(format!(
                "gate {:?} is in beta and must be explicitly enabled",
                g.id
            ));
        }
        if strict && g.stage == Stage::Stable {
            errors.push(format!(
                "gate {:?} is stable and must not be configured",
                g.id
            ));
        }
        match (g.stage, on) {
            (Stage::Stable, false) => errors.push(format!(
                "feature gate {:?} is stable, can not be disabled",
                g.id
            )),
            (Stage::Deprecated, true) => errors.push(format!(
                "feature gate {:?} is deprecated, can not be enabled",
                g.id
            )),
            (Stage::Stable, true) => notices.push(format!(
                "Feature gate {:?} is stable and already enabled. It will be removed in version {} and continued use of the gate after version {} will result in an error.",
                g.id, g.to_version, g.to_version
            )),
            (Stage::Deprecated, false) => notices.push(format!(
                "Feature gate {:?} is deprecated and already disabled. It will be removed in version {} and continued use of the gate after version {} will result in an error.",
                g.id, g.to_version, g.to_version
            )),
            _ => {}
        }
    }
    if errors.is_empty() {
        Ok(notices)
    } else {
        Err(errors.join("; "))
    }
}

/// The gate ids as given (`+id`/`-id`/`id`).
pub fn list() -> Vec<String> {
    LIST.read().unwrap_or_else(|p| p.into_inner()).clone()
}

/// Whether gate `id` is on in `list`, starting from its `default`: `id` or `+id` turns it on,
/// `-id` off; the last mention wins, as Go's `featuregate` flag does.
pub fn enabled_in(list: &[String], id: &str, default: bool) -> bool {
    list.iter().fold(default, |on, g| {
        if g.strip_prefix('-') == Some(id) {
            false
        } else if g.strip_prefix('+').unwrap_or(g) == id {
            true
        } else {
            on
        }
    })
}

/// [`enabled_in`] this process's list. `default` is used for a gate this build does not know;
/// a known gate starts from its stage's default.
pub fn enabled(id: &str, default: bool) -> bool {
    let default = find(id).map_or(default, |g| g.stage.default_enabled());
    enabled_in(&list(), id, default)
}

/// One gate and its state in this process (zpages' featurez page).
#[derive(Debug, Clone, PartialEq)]
pub struct GateState {
    pub id: String,
    pub stage: &'static str,
    pub description: &'static str,
    pub enabled: bool,
}

/// Every known gate with its state in this process (the `--feature-gates` list is checked
/// against [`GATES`] at start, so there is no other).
pub fn states() -> Vec<GateState> {
    let given = list();
    GATES
        .iter()
        .map(|g| GateState {
            id: g.id.to_string(),
            stage: g.stage.as_str(),
            description: g.description,
            enabled: enabled_in(&given, g.id, g.stage.default_enabled()),
        })
        .collect()
}

/// `ferrotel featuregate`: Go's table (`ID  Enabled  Stage  Description`, two-space padded
/// columns) for every gate, or the details of one (`feature "x" not found` if unknown).
pub fn describe(id: Option<&str>) -> Result<String, String> {
    describe_in(&list(), id)
}

/// [`describe`] with the gates set as in `list`.
pub fn describe_in(list: &[String], id: Option<&str>) -> Result<String, String> {
    let state = |g: &Gate| enabled_in(list, g.id, g.stage.default_enabled());
    if let Some(id) = id {
        let g = find(id).ok_or_else(|| format!("feature {id:?} not found"))?;
        let mut out = format!(
            "Feature: {}\nEnabled: {}\nStage: {}\nDescription: {}\nFrom Version: {}\n",
            g.id,
            state(g),
            g.stage.as_str(),
            g.description,
            g.from_version
        );
        if !g.to_version.is_empty() {
            out.push_str(&format!("To Version: {}\n", g.to_version));
        }
        return Ok(out);
    }
    let rows: Vec<[String; 4]> = std::iter::once([
        "ID".to_string(),
        "Enabled".to_string(),
        "Stage".to_string(),
        "Description".to_string(),
    ])
    .chain(GATES.iter().map(|g| {
        [
            g.id.to_string(),
            state(g).to_string(),
            g.stage.as_str().to_string(),
            g.description.to_string(),
        ]
    }))
    .collect();
    let width = |c: usize| rows.iter().map(|r| r[c].len()).max().unwrap_or(0) + 2;
    let (w0, w1, w2) = (width(0), width(1), width(2));
    let mut out = String::new();
    for r in &rows {
        out.push_str(&format!("{:w0$}{:w1$}{:w2$}{}\n", r[0], r[1], r[2], r[3]));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_gate_is_its_default_until_mentioned_and_the_last_mention_wins() {
        let l = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(super::enabled_in(&l(&[]), "g", true));
        assert!(!super::enabled_in(&l(&[]), "g", false));
        assert!(super::enabled_in(&l(&["g"]), "g", false));
        assert!(super::enabled_in(&l(&["+g"]), "g", false));
        assert!(!super::enabled_in(&l(&["-g"]), "g", true));
        assert!(super::enabled_in(&l(&["-g", "+g"]), "g", false));
        assert!(!super::enabled_in(&l(&["+g", "-g"]), "g", true));
        assert!(!super::enabled_in(&l(&["other", "-gx", "+xg"]), "g", false));
    }

    #[test]
    fn splits_comma_separated_and_repeated_gates() {
        super::set(["a,+b", " -c "]);
        assert_eq!(super::list(), vec!["a", "+b", "-c"]);
        super::set(Vec::<String>::new());
        assert!(super::list().is_empty());
    }

    #[test]
    fn known_gates_are_sorted_and_unique() {
        let ids: Vec<&str> = super::GATES.iter().map(|g| g.id).collect();
        let mut sorted = ids.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(ids, sorted);
    }

    #[test]
    fn check_refuses_unknown_gates_and_fixed_stages_as_go_does() {
        assert_eq!(
            super::check(["filelog.allowFileDeletion,-connector.servicegraph.virtualNode"]),
            Ok(vec![])
        );
        assert_eq!(
            super::check(["foo.bar,+filelog.allowFileDeletion", "-baz"]),
            Err(r#"no such feature gate "foo.bar"; no such feature gate "baz""#.to_string())
        );
        assert_eq!(
            super::check(["connector.servicegraph.legacyLatencyUnitMs"]),
            Err(r#"feature gate "connector.servicegraph.legacyLatencyUnitMs" is deprecated, can not be enabled"#.to_string())
        );
        let notices = super::check(["-connector.servicegraph.legacyLatencyUnitMs"]).unwrap();
        assert!(notices[0].starts_with(
            r#"Feature gate "connector.servicegraph.legacyLatencyUnitMs" is deprecated and already disabled."#
        ));
    }

    #[test]
    fn strict_mode_wants_every_alpha_and_beta_gate_set() {
        let all: Vec<String> = super::GATES
            .iter()
            .filter(|g| g.stage != super::Stage::Deprecated)
            .map(|g| format!("+{}", g.id))
            .collect();
        let mut with_strict = vec!["strict".to_string()];
        with_strict.extend(all.clone());
        assert_eq!(super::check(with_strict), Ok(vec![]));
        let err = super::check(["strict,+filelog.allowFileDeletion"]).unwrap_err();
        assert!(
            err.contains(r#"gate "service.profilesSupport" is not explicitly configured"#),
            "{err}"
        );
        assert!(
            !err.contains(r#"gate "filelog.allowFileDeletion""#),
            "{err}"
        );
        let err = super::check(["strict,-filelog.allowHeaderMetadataParsing"]).unwrap_err();
        assert!(err.contains(r#"gate "filelog.allowHeaderMetadataParsing" is in beta and must be explicitly enabled"#), "{err}");
    }

    #[test]
    fn describe_lists_every_gate_with_its_state_or_one_gate_in_detail() {
        let list = vec!["+filelog.allowFileDeletion".to_string()];
        let table = super::describe_in(&list, None).unwrap();
        let mut lines = table.lines();
        let header = lines.next().unwrap();
        assert!(
            header.starts_with("ID ") && header.ends_with("Description"),
            "{header}"
        );
        let row = table
            .lines()
            .find(|l| l.starts_with("filelog.allowFileDeletion "))
            .unwrap();
        let cols: Vec<&str> = row.split_whitespace().take(3).collect();
        assert_eq!(cols, ["filelog.allowFileDeletion", "true", "Alpha"]);
        assert_eq!(table.lines().count(), super::GATES.len() + 1);
        let one = super::describe_in(&list, Some("filelog.allowHeaderMetadataParsing")).unwrap();
        assert!(one.starts_with(
            "Feature: filelog.allowHeaderMetadataParsing\nEnabled: true\nStage: Beta\nDescription: When enabled, allows usage of the `header` setting.\nFrom Version: \n"
        ), "{one}");
        assert_eq!(
            super::describe_in(&list, Some("nope")),
            Err(r#"feature "nope" not found"#.to_string())
        );
    }
}
