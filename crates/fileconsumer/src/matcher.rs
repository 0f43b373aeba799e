//! Which files a poll reads: the `include`/`exclude` doublestar globs (files only,
//! de-duplicated, sorted), then `exclude_older_than` and `ordering_criteria` (Go's
//! `matcher` and `matcher/internal/{finder,filter}`).
//!
//! A glob is expanded by walking from its longest literal directory prefix, only as deep
//! as the pattern can reach (unbounded with `**`), and matching each file's path with
//! `globset` (`*` and `?` never cross `/`).

use std::collections::BTreeMap;
#[cfg(test)]
use std::path::Path;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use globset::{GlobBuilder, GlobMatcher, GlobSet, GlobSetBuilder};
use regex::Regex;

use crate::config::{Config, FeatureGates};

/// One include glob, ready to walk.
#[derive(Debug)]
struct Include {
    base: PathBuf,
    /// the base was empty: walk `.` and match paths without the `./` prefix
    relative: bool,
    max_depth: usize,
    matcher: GlobMatcher,
    literal: bool,
    pattern: String,
}

#[derive(Debug)]
enum SortKind {
    Numeric,
    Alphabetical,
    Timestamp { layout: String },
    Mtime,
}

#[derive(Debug)]
struct Sort {
    kind: SortKind,
    key: String,
    ascending: bool,
}

/// The compiled matching criteria.
#[derive(Debug)]
pub struct Matcher {
    includes: Vec<Include>,
    exclude: GlobSet,
    exclude_older_than: Duration,
    regex: Option<Regex>,
    group_by: Option<Regex>,
    sorts: Vec<Sort>,
    top_n: usize,
}

const META: &[char] = &['*', '?', '[', '{', '\\'];

fn compile_glob(pattern: &str) -> Result<GlobMatcher, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map(|g| g.compile_matcher())
        .map_err(|_| "parse glob: syntax error in pattern".to_string())
}

impl Include {
    fn new(pattern: &str) -> Result<Include, String> {
        let matcher = compile_glob(pattern)?;
        let literal = !pattern.contains(META);
        let components: Vec<&str> = pattern.split('/').collect();
        let literal_prefix = components
            .iter()
            .position(|c| c.contains(META))
            .unwrap_or(components.len());
        let base_parts = &components[..literal_prefix.min(components.len().saturating_sub(1))];
        let mut base = base_parts.join("/");
        if pattern.starts_with('/') && base.is_empty() {
            base = "/".into();
        }
        let rest = &components[base_parts.len()..];
        let max_depth = if rest.iter().any(|c| c.contains("**")) {
            usize::MAX
        } else {
            rest.len()
        };
        let relative = base.is_empty();
        Ok(Include {
            base: if relative { ".".into() } else { base.into() },
            relative,
            max_depth,
            matcher,
            literal,
            pattern: pattern.to_string(),
        })
    }

    fn expand(&self, out: &mut Vec<String>) {
        if self.literal {
            if std::fs::metadata(&self.pattern).is_ok_and(|m| m.is_file()) {
                out.push(self.pattern.clone());
            }
            return;
        }
        let walk = walkdir::WalkDir::new(&self.base)
            .follow_links(false)
            .min_depth(1)
            .max_depth(self.max_depth);
        for entry in walk {
            let entry = match entry {
                Ok(e) => e,
                Err(e) => {
                    tracing::debug!(glob = %self.pattern, error = %e, "finding files");
                    continue;
                }
            };
            let ft = entry.file_type();
            let is_file = if ft.is_symlink() {
                // a link to a file is a file; a link to a directory is not walked
                std::fs::metadata(entry.path()).is_ok_and(|m| m.is_file())
            } else {
                ft.is_file()
            };
            if !is_file {
                continue;
            }
            let Some(path) = entry.path().to_str() else {
                continue;
            };
            let path = if self.relative {
                path.strip_prefix("./").unwrap_or(path)
            } else {
                path
            };
            if self.matcher.is_match(path) {
                out.push(path.to_string());
            }
        }
    }
}

impl Matcher {
    /// Compiles the criteria with Go's errors.
    pub fn new(cfg: &Config, gates: &FeatureGates) -> Result<Matcher, String> {
        if cfg.include.is_empty() {
            return Err("'include' must be specified".into());
        }
        let includes = cfg
            .include
            .iter()
            .map(|p| Include::new(p))
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| format!("include: {e}"))?;
        let mut exclude = GlobSetBuilder::new();
        for p in &cfg.exclude {
            let g = GlobBuilder::new(p)
                .literal_separator(true)
                .backslash_escape(true)
                .build()
                .map_err(|_| "exclude: parse glob: syntax error in pattern".to_string())?;
            exclude.add(g);
        }
        let exclude = exclude
            .build()
            .map_err(|_| "exclude: parse glob: syntax error in pattern".to_string())?;
        let oc = &cfg.ordering_criteria;
        let group_by = if oc.group_by.is_empty() {
            None
        } else {
            Some(Regex::new(&oc.group_by).map_err(|e| format!("compile group_by regex: {e}"))?)
        };
        let mut m = Matcher {
            includes,
            exclude,
            exclude_older_than: cfg.exclude_older_than.0,
            regex: None,
            group_by,
            sorts: Vec::new(),
            top_n: 0,
        };
        if oc.sort_by.is_empty() {
            return Ok(m);
        }
        if oc.top_n < 0 {
            return Err("'top_n' must be a positive integer".into());
        }
        m.top_n = if oc.top_n == 0 { 1 } else { oc.top_n as usize };
        let needs_regex = oc.sort_by.iter().any(|s| {
            matches!(
                s.sort_type.as_str(),
                "numeric" | "alphabetical" | "timestamp"
            )
        });
        if needs_regex {
            if oc.regex.is_empty() {
                return Err("'regex' must be specified when 'sort_by' is specified".into());
            }
            m.regex = Some(Regex::new(&oc.regex).map_err(|e| format!("compile regex: {e}"))?);
        }
        for s in &oc.sort_by {
            let need_key = |what: &str| {
                if s.regex_key.is_empty() {
                    Err(format!("{what} sort: regex key must be specified"))
                } else {
                    Ok(())
                }
            };
            let kind = match s.sort_type.as_str() {
                "numeric" => {
                    need_key("numeric")?;
                    SortKind::Numeric
                }
                "alphabetical" => {
                    need_key("alphabetical")?;
                    SortKind::Alphabetical
                }
                "timestamp" => {
                    need_key("timestamp")?;
                    if s.layout.is_empty() {
                        return Err("timestamp sort: layout must be specified".into());
                    }
                    SortKind::Timestamp {
                        layout: s.layout.clone(),
                    }
                }
                "mtime" => {
                    if !gates.mtime_sort_type {
                        return Err("the \"filelog.mtimeSortType\" feature gate must be enabled to use \"mtime\" sort type".into());
                    }
                    SortKind::Mtime
                }
                _ => return Err("'sort_type' must be specified".into()),
            };
            m.sorts.push(Sort {
                kind,
                key: s.regex_key.clone(),
                ascending: s.ascending,
            });
        }
        Ok(m)
    }

    /// The paths of this poll, in the order they should be read. An empty result is
    /// reported once as "no files match the configured criteria" by the caller.
    pub fn match_files(&self) -> Vec<String> {
        let mut files = Vec::new();
        for inc in &self.includes {
            inc.expand(&mut files);
        }
        files.retain(|f| !self.exclude.is_match(f));
        files.sort();
        files.dedup();
        if files.is_empty() || (self.exclude_older_than.is_zero() && self.sorts.is_empty()) {
            return files;
        }
        let mut groups: BTreeMap<String, Vec<String>> = BTreeMap::new();
        match &self.group_by {
            Some(re) => {
                for f in files {
                    let group = re
                        .captures(&f)
                        .and_then(|c| c.get(1))
                        .map(|g| g.as_str().to_string());
                    if let Some(g) = group {
                        groups.entry(g).or_default().push(f);
                    }
                }
            }
            None => {
                groups.insert(String::new(), files);
            }
        }
        let mut result = Vec::new();
        for (_, group) in groups {
            let kept = self.filter(group);
            if kept.is_empty() {
                // Go returns nothing at all when one group filters down to nothing
                return Vec::new();
            }
            result.extend(kept);
        }
        result
    }

    fn filter(&self, files: Vec<String>) -> Vec<String> {
        struct Item {
            path: String,
            captures: BTreeMap<String, String>,
        }
        let mut items: Vec<Item> = files
            .into_iter()
            .filter_map(|path| {
                let mut captures = BTreeMap::new();
                if let Some(re) = &self.regex {
                    let caps = re.captures(&path)?;
                    for name in re.capture_names().flatten() {
                        if let Some(m) = caps.name(name) {
                            captures.insert(name.to_string(), m.as_str().to_string());
                        }
                    }
                }
                Some(Item { path, captures })
            })
            .collect();
        if !self.exclude_older_than.is_zero() {
            let now = SystemTime::now();
            items.retain(|it| {
                std::fs::metadata(&it.path)
                    .and_then(|m| m.modified())
                    .is_ok_and(|t| {
                        now.duration_since(t).unwrap_or_default() <= self.exclude_older_than
                    })
            });
        }
        if self.sorts.is_empty() {
            return items.into_iter().map(|i| i.path).collect();
        }
        for sort in &self.sorts {
            match &sort.kind {
                SortKind::Mtime => {
                    let mut keyed: Vec<(SystemTime, Item)> = items
                        .into_iter()
                        .filter_map(|it| {
                            let t = std::fs::metadata(&it.path)
                                .and_then(|m| m.modified())
                                .ok()?;
                            Some((t, it))
                        })
                        .collect();
                    // most recently modified first unless ascending
                    keyed.sort_by(|a, b| {
                        if sort.ascending {
                            a.0.cmp(&b.0)
                        } else {
                            b.0.cmp(&a.0)
                        }
                    });
                    items = keyed.into_iter().map(|(_, it)| it).collect();
                }
                kind => {
                    let mut keyed: Vec<(SortKey, Item)> = items
                        .into_iter()
                        .filter_map(|it| {
                            let raw = it.captures.get(&sort.key).map(String::as_str).unwrap_or("");
                            let key = match kind {
                                SortKind::Numeric => SortKey::Int(raw.parse::<i64>().ok()?),
                                SortKind::Alphabetical => SortKey::Str(raw.to_string()),
                                SortKind::Timestamp { layout } => {
                                    SortKey::Int(parse_strptime(layout, raw)?)
                                }
                                SortKind::Mtime => unreachable!("handled above"),
                            };
                            Some((key, it))
                        })
                        .collect();
                    keyed.sort_by(|a, b| {
                        if sort.ascending {
                            a.0.cmp(&b.0)
                        } else {
                            b.0.cmp(&a.0)
                        }
                    });
                    items = keyed.into_iter().map(|(_, it)| it).collect();
                }
            }
        }
        items.truncate(self.top_n);
        items.into_iter().map(|i| i.path).collect()
    }
}

#[derive(Debug, PartialEq, Eq, PartialOrd, Ord)]
enum SortKey {
    Int(i64),
    Str(String),
}

/// Seconds since the epoch (as UTC) of `text` in a strptime `layout`, for ordering only:
/// every file of a group shares one location, so the zone does not change the order.
/// Supports `%Y %y %m %d %e %H %I %p %M %S %f %L %b %h %B %j %z %Z %%`.
pub(crate) fn parse_strptime(layout: &str, text: &str) -> Option<i64> {
    const MONTHS: [&str; 12] = [
        "january",
        "february",
        "march",
        "april",
        "may",
        "june",
        "july",
        "august",
        "september",
        "october",
        "november",
        "december",
    ];
    let (mut year, mut month, mut day, mut hour, mut min, mut sec) =
        (1970i64, 1i64, 1i64, 0i64, 0i64, 0i64);
    let mut yday: Option<i64> = None;
    let mut pm: Option<bool> = None;
    let mut offset = 0i64;
    let t = text.as_bytes();
    let mut i = 0usize;
    let num = |i: &mut usize, max: usize| -> Option<i64> {
        let start = *i;
        while *i < t.len() && *i - start < max && t[*i].is_ascii_digit() {
            *i += 1;
        }
        if *i == start {
            return None;
        }
        text[start..*i].parse().ok()
    };
    let mut chars = layout.chars();
    while let Some(c) = chars.next() {
        if c != '%' {
            let mut buf = [0u8; 4];
            let lit = c.encode_utf8(&mut buf).as_bytes();
            if !t[i..].starts_with(lit) {
                return None;
            }
            i += lit.len();
            continue;
        }
        match chars.next()? {
            'Y' => year = num(&mut i, 4)?,
            'y' => year = 2000 + num(&mut i, 2)?,
            'm' => month = num(&mut i, 2)?,
            'd' => day = num(&mut i, 2)?,
            'e' => {
                while i < t.len() && t[i] == b' ' {
                    i += 1;
                }
                day = num(&mut i, 2)?
            }
            'H' => hour = num(&mut i, 2)?,
            'I' => hour = num(&mut i, 2)?,
            'M' => min = num(&mut i, 2)?,
            'S' => sec = num(&mut i, 2)?,
            'j' => yday = Some(num(&mut i, 3)?),
            'f' | 'L' => {
                num(&mut i, 9)?;
            }
            'p' => {
                let s = text.get(i..i + 2)?.to_ascii_lowercase();
                pm = Some(match s.as_str() {
                    "am" => false,
                    "pm" => true,
                    _ => return None,
                });
                i += 2;
            }
            'b' | 'h' | 'B' => {
                let rest = text[i..].to_ascii_lowercase();
                let (idx, len) = MONTHS.iter().enumerate().find_map(|(n, name)| {
                    if rest.starts_with(name) {
                        Some((n, name.len()))
                    } else if rest.starts_with(&name[..3]) {
                        Some((n, 3))
                    } else {
                        None
                    }
                })?;
                month = idx as i64 + 1;
                i += len;
            }
            'z' => {
                let sign = match t.get(i)? {
                    b'+' => 1,
                    b'-' => -1,
                    b'Z' => {
                        i += 1;
                        continue;
                    }
                    _ => return None,
                };
                i += 1;
                let h = num(&mut i, 2)?;
                if t.get(i) == Some(&b':') {
                    i += 1;
                }
                let m = num(&mut i, 2)?;
                offset = sign * (h * 3600 + m * 60);
            }
            'Z' => {
                while i < t.len() && t[i].is_ascii_alphabetic() {
                    i += 1;
                }
            }
            '%' => {
                if t.get(i) != Some(&b'%') {
                    return None;
                }
                i += 1;
            }
            _ => return None,
        }
    }
    if i != t.len() || !(1..=12).contains(&month) || !(1..=31).contains(&day) {
        return None;
    }
    if let Some(pm) = pm {
        hour %= 12;
        if pm {
            hour += 12;
        }
    }
    let days = match yday {
        Some(yd) => days_from_civil(year, 1, 1) + yd - 1,
        None => days_from_civil(year, month, day),
    };
    Some(days * 86400 + hour * 3600 + min * 60 + sec - offset)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's algorithm).
pub(crate) fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146097 + doe - 719468
}

/// Whether `path` matches any of the include patterns' literal form (used by tests).
#[cfg(test)]
fn touch(path: &Path) {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).unwrap();
    }
    std::fs::write(path, b"x\n").unwrap();
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{OrderingCriteria, SortRule};

    fn cfg(dir: &Path, include: &[&str], exclude: &[&str]) -> Config {
        let d = dir.to_str().unwrap();
        Config {
            include: include.iter().map(|p| format!("{d}/{p}")).collect(),
            exclude: exclude.iter().map(|p| format!("{d}/{p}")).collect(),
            ..Config::default()
        }
    }

    fn names(dir: &Path, files: Vec<String>) -> Vec<String> {
        let d = format!("{}/", dir.to_str().unwrap());
        files
            .into_iter()
            .map(|f| f.strip_prefix(&d).unwrap().to_string())
            .collect()
    }

    #[test]
    fn globs_follow_doublestar_rules() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for f in [
            "a.log",
            "b.log",
            "c.txt",
            "sub/d.log",
            "sub/deep/e.log",
            "x1.log",
            "x2.log",
            ".hidden.log",
        ] {
            touch(&d.join(f));
        }
        std::fs::create_dir_all(d.join("dir.log")).unwrap();
        let gates = FeatureGates::default();
        let run = |inc: &[&str], exc: &[&str]| {
            let m = Matcher::new(&cfg(d, inc, exc), &gates).unwrap();
            names(d, m.match_files())
        };
        assert_eq!(
            run(&["*.log"], &[]),
            vec![".hidden.log", "a.log", "b.log", "x1.log", "x2.log"]
        );
        assert_eq!(
            run(&["**/*.log"], &[]),
            vec![
                ".hidden.log",
                "a.log",
                "b.log",
                "sub/d.log",
                "sub/deep/e.log",
                "x1.log",
                "x2.log"
            ]
        );
        assert_eq!(run(&["*/*.log"], &[]), vec!["sub/d.log"]);
        assert_eq!(run(&["{a,c}.*"], &[]), vec!["a.log", "c.txt"]);
        assert_eq!(
            run(&["x[0-1].log", "x?.log"], &[]),
            vec!["x1.log", "x2.log"]
        );
        assert_eq!(
            run(&["**/*.log"], &["**/deep/*", "x*.log", ".*"]),
            vec!["a.log", "b.log", "sub/d.log"]
        );
        assert_eq!(run(&["a.log"], &[]), vec!["a.log"]);
        assert_eq!(run(&["missing/*.log"], &[]), Vec::<String>::new());
    }

    #[test]
    fn ordering_criteria_keeps_top_n_per_group() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for f in [
            "app-a.1.log",
            "app-a.3.log",
            "app-a.2.log",
            "app-b.7.log",
            "app-b.10.log",
        ] {
            touch(&d.join(f));
        }
        let mut c = cfg(d, &["*.log"], &[]);
        c.ordering_criteria = OrderingCriteria {
            regex: r"app-(?P<g>\w)\.(?P<n>\d+)\.log".into(),
            group_by: r"app-(\w)\.".into(),
            top_n: 1,
            sort_by: vec![SortRule {
                sort_type: "numeric".into(),
                regex_key: "n".into(),
                ascending: false,
                ..Default::default()
            }],
        };
        let m = Matcher::new(&c, &FeatureGates::default()).unwrap();
        assert_eq!(
            names(d, m.match_files()),
            vec!["app-a.3.log", "app-b.10.log"]
        );
        c.ordering_criteria.sort_by[0].ascending = true;
        c.ordering_criteria.top_n = 2;
        let m = Matcher::new(&c, &FeatureGates::default()).unwrap();
        assert_eq!(
            names(d, m.match_files()),
            vec!["app-a.1.log", "app-a.2.log", "app-b.7.log", "app-b.10.log"]
        );
    }

    #[test]
    fn timestamp_sort_picks_latest() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for f in [
            "log-20240101-10.log",
            "log-20231231-23.log",
            "log-20240101-09.log",
        ] {
            touch(&d.join(f));
        }
        let mut c = cfg(d, &["*.log"], &[]);
        c.ordering_criteria = OrderingCriteria {
            regex: r"log-(?P<ts>\d{8}-\d{2})\.log".into(),
            sort_by: vec![SortRule {
                sort_type: "timestamp".into(),
                regex_key: "ts".into(),
                layout: "%Y%m%d-%H".into(),
                ..Default::default()
            }],
            ..Default::default()
        };
        let m = Matcher::new(&c, &FeatureGates::default()).unwrap();
        assert_eq!(names(d, m.match_files()), vec!["log-20240101-10.log"]);
    }

    #[test]
    fn exclude_older_than_drops_stale_files() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        touch(&d.join("new.log"));
        touch(&d.join("old.log"));
        let old = SystemTime::now() - Duration::from_secs(7200);
        std::fs::File::options()
            .write(true)
            .open(d.join("old.log"))
            .unwrap()
            .set_modified(old)
            .unwrap();
        let mut c = cfg(d, &["*.log"], &[]);
        c.exclude_older_than = config::Duration::from_secs(3600);
        let m = Matcher::new(&c, &FeatureGates::default()).unwrap();
        assert_eq!(names(d, m.match_files()), vec!["new.log"]);
    }

    #[test]
    fn strptime_subset() {
        assert_eq!(parse_strptime("%Y-%m-%d", "1970-01-02"), Some(86400));
        assert_eq!(
            parse_strptime("%d/%b/%Y:%H:%M:%S %z", "01/Jan/1970:01:00:00 +0100"),
            Some(0)
        );
        assert_eq!(parse_strptime("%Y", "x"), None);
    }
}
