//! A label set as Prometheus keeps one: sorted by name, names unique, and no empty values
//! (setting a label to `""` removes it, as `labels.Builder.Set` does).

/// A sorted label set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Labels(Vec<(String, String)>);

pub const METRIC_NAME: &str = "__name__";
pub const ADDRESS: &str = "__address__";
pub const SCHEME: &str = "__scheme__";
pub const METRICS_PATH: &str = "__metrics_path__";
pub const SCRAPE_INTERVAL: &str = "__scrape_interval__";
pub const SCRAPE_TIMEOUT: &str = "__scrape_timeout__";
pub const PARAM_PREFIX: &str = "__param_";
pub const RESERVED_PREFIX: &str = "__";
pub const JOB: &str = "job";
pub const INSTANCE: &str = "instance";

impl Labels {
    pub fn new() -> Labels {
        Labels(Vec::new())
    }

    pub fn with_capacity(n: usize) -> Labels {
        Labels(Vec::with_capacity(n))
    }

    /// From pairs in any order; a later pair wins over an earlier one of the same name.
    pub fn from_pairs<I, K, V>(pairs: I) -> Labels
    where
        I: IntoIterator<Item = (K, V)>,
        K: Into<String>,
        V: Into<String>,
    {
        let mut l = Labels::new();
        for (k, v) in pairs {
            l.set(k.into(), v.into());
        }
        l
    }

    pub fn get(&self, name: &str) -> &str {
        // Most sets are small: comparing lengths first skips nearly every byte comparison
        // a binary search would make.
        if self.0.len() <= 16 {
            return self
                .0
                .iter()
                .find(|(n, _)| n == name)
                .map_or("", |(_, v)| v.as_str());
        }
        match self.find(name) {
            Ok(i) => &self.0[i].1,
            Err(_) => "",
        }
    }

    pub fn has(&self, name: &str) -> bool {
        self.find(name).is_ok()
    }

    fn find(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|(n, _)| n.as_str().cmp(name))
    }

    /// Sets `name` to `value`; an empty value removes the label.
    pub fn set(&mut self, name: impl Into<String>, value: impl Into<String>) {
        let name = name.into();
        let value = value.into();
        match self.find(&name) {
            Ok(i) if value.is_empty() => {
                self.0.remove(i);
            }
            Ok(i) => self.0[i].1 = value,
            Err(_) if value.is_empty() => {}
            Err(i) => self.0.insert(i, (name, value)),
        }
    }

    pub fn del(&mut self, name: &str) {
        if let Ok(i) = self.find(name) {
            self.0.remove(i);
        }
    }

    pub fn retain(&mut self, mut keep: impl FnMut(&str, &str) -> bool) {
        self.0.retain(|(n, v)| keep(n, v));
    }

    pub fn iter(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0.iter().map(|(n, v)| (n.as_str(), v.as_str()))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The pairs, for callers that need to own them.
    pub fn into_pairs(self) -> Vec<(String, String)> {
        self.0
    }
}

impl std::fmt::Display for Labels {
    /// `{a="b", c="d"}` as Prometheus prints a label set.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("{")?;
        for (i, (n, v)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            write!(f, "{n}={v:?}")?;
        }
        f.write_str("}")
    }
}
