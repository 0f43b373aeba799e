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
}
