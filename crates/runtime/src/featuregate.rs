//! The `--feature-gates` of this process, as given on the command line (`id`, `+id`, `-id`,
//! comma-separated or repeated). Components whose Go counterparts read a gate (filelog's
//! `filelog.allowFileDeletion`, ...) read the list here; the CLI sets it once before the
//! configuration is parsed.

use std::sync::RwLock;

static GATES: RwLock<Vec<String>> = RwLock::new(Vec::new());

/// Sets the process's gate list (each item may hold several comma-separated ids).
pub fn set<I: IntoIterator<Item = S>, S: AsRef<str>>(items: I) {
    let list: Vec<String> = items
        .into_iter()
        .flat_map(|s| {
            s.as_ref()
                .split(',')
                .map(|g| g.trim().to_string())
                .collect::<Vec<_>>()
        })
        .filter(|g| !g.is_empty())
        .collect();
    *GATES.write().unwrap_or_else(|p| p.into_inner()) = list;
}

/// The gate ids as given (`+id`/`-id`/`id`).
pub fn list() -> Vec<String> {
    GATES.read().unwrap_or_else(|p| p.into_inner()).clone()
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

/// [`enabled_in`] this process's list.
pub fn enabled(id: &str, default: bool) -> bool {
    enabled_in(&list(), id, default)
}

/// A gate some ferrotel component reads, as Go's registry describes it (zpages' featurez).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Gate {
    pub id: &'static str,
    /// `Alpha` (off by default), `Beta` (on), `Stable` (on, going away).
    pub stage: &'static str,
    pub default: bool,
    pub description: &'static str,
}

/// The gates ferrotel's components read (each component still reads its own through
/// [`enabled`]/[`list`]; this list is what is shown).
pub const KNOWN: &[Gate] = &[
    Gate {
        id: "connector.servicegraph.legacyLatencyMetricNames",
        stage: "Alpha",
        default: false,
        description: "servicegraph latency metrics named in milliseconds, as before v0.10x",
    },
    Gate {
        id: "connector.servicegraph.virtualNode",
        stage: "Beta",
        default: true,
        description: "servicegraph draws virtual nodes for calls to or from uninstrumented services",
    },
    Gate {
        id: "connector.spanmetrics.excludeResourceMetrics",
        stage: "Alpha",
        default: false,
        description: "spanmetrics does not copy resource attributes onto its metrics",
    },
    Gate {
        id: "connector.spanmetrics.includeCollectorInstanceID",
        stage: "Beta",
        default: true,
        description: "spanmetrics adds collector.instance.id to its metrics",
    },
    Gate {
        id: "connector.spanmetrics.legacyMetricNames",
        stage: "Alpha",
        default: false,
        description: "spanmetrics metric names without the traces.span.metrics namespace",
    },
    Gate {
        id: "filelog.allowFileDeletion",
        stage: "Alpha",
        default: false,
        description: "filelog may delete files after reading them (delete_after_read)",
    },
    Gate {
        id: "filelog.allowHeaderMetadataParsing",
        stage: "Beta",
        default: true,
        description: "filelog may parse file headers into attributes (header)",
    },
    Gate {
        id: "receiver.prometheusreceiver.RemoveStartTimeAdjustment",
        stage: "Stable",
        default: false,
        description: "the prometheus receiver leaves start times unadjusted",
    },
];

/// A gate and its state in this process.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GateState {
    pub id: String,
    /// Empty for a gate no component reads.
    pub stage: &'static str,
    pub description: &'static str,
    pub enabled: bool,
}

/// Each known gate with its state in this process, then gates given on the command line
/// that no component reads (state as given).
pub fn states() -> Vec<GateState> {
    let given = list();
    let mut out: Vec<GateState> = KNOWN
        .iter()
        .map(|g| GateState {
            id: g.id.to_string(),
            stage: g.stage,
            description: g.description,
            enabled: enabled_in(&given, g.id, g.default),
        })
        .collect();
    for g in &given {
        let id = g.trim_start_matches(['+', '-']);
        if !out.iter().any(|k| k.id == id) {
            out.push(GateState {
                id: id.to_string(),
                stage: "",
                description: "not read by any ferrotel component",
                enabled: enabled_in(&given, id, false),
            });
        }
    }
    out
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
    fn splits_comma_separated_and_repeated_gates_and_states_show_them() {
        super::set(["a,+b", " -c "]);
        assert_eq!(super::list(), vec!["a", "+b", "-c"]);
        // Known gates keep their defaults; given unknown ones follow at the end.
        let states = super::states();
        assert_eq!(states.len(), super::KNOWN.len() + 3);
        let vn = states
            .iter()
            .find(|g| g.id == "connector.servicegraph.virtualNode")
            .unwrap();
        assert!(vn.enabled && vn.stage == "Beta");
        let tail: Vec<(&str, bool)> = states[super::KNOWN.len()..]
            .iter()
            .map(|g| (g.id.as_str(), g.enabled))
            .collect();
        assert_eq!(tail, vec![("a", true), ("b", true), ("c", false)]);
        super::set(["-connector.servicegraph.virtualNode"]);
        let vn = super::states()
            .into_iter()
            .find(|g| g.id == "connector.servicegraph.virtualNode")
            .unwrap();
        assert!(!vn.enabled);
        super::set(Vec::<String>::new());
        assert!(super::list().is_empty());
    }
}
