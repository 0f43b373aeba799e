//! A label set as Prometheus keeps one: sorted by name, names unique, and no empty values
//! (setting a label to `""` removes it, as `labels.Builder.Set` does); and [`Frozen`], the
//! same set in one allocation, as the scrape cache keeps it.

use std::sync::Arc;

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

/// A label set that no longer changes, in one shared allocation: each name and value as
/// its length and its text, in the set's order. A length under 127 is one ASCII character
/// of that code; a longer one is `\x7f`, the length in decimal and a `:`. This is
/// what the scrape cache keeps per series and every sample of the series shares. A
/// [`Labels`] is a vector of two `String`s per label: reading one series' labels touched a
/// dozen separate allocations, each a likely CPU-cache miss in a scrape of 100,000 series,
/// where this is a few neighbouring cache lines. (Prometheus's `stringlabels` keeps its
/// label sets as one string with lengths for the same reason.)
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Frozen(Arc<str>);

impl Frozen {
    pub fn new(labels: &Labels) -> Frozen {
        use std::fmt::Write;
        let len = labels.iter().map(|(n, v)| n.len() + v.len() + 2).sum();
        let mut text = String::with_capacity(len);
        for (n, v) in labels.iter() {
            for part in [n, v] {
                match u8::try_from(part.len()) {
                    Ok(l) if l < LONG => text.push(char::from(l)),
                    // (Writing to a String cannot fail.)
                    _ => {
                        let _ = write!(text, "{}{}:", char::from(LONG), part.len());
                    }
                }
                text.push_str(part);
            }
        }
        Frozen(text.into())
    }

    pub fn iter(&self) -> FrozenIter<'_> {
        FrozenIter { rest: &self.0 }
    }

    /// The value of `name` (`""` when absent).
    pub fn get(&self, name: &str) -> &str {
        self.iter().find(|(n, _)| *n == name).map_or("", |(_, v)| v)
    }

    pub fn ptr_eq(a: &Frozen, b: &Frozen) -> bool {
        Arc::ptr_eq(&a.0, &b.0)
    }

    /// Where `part`, a name or value [`Frozen::iter`] handed out, is in the set: to be
    /// taken again with [`Frozen::at`] without walking the set. (A `part` from elsewhere
    /// gives a span [`Frozen::at`] answers with something other than `part`, never a panic.)
    pub fn span_of(&self, part: &str) -> Span {
        let start = (part.as_ptr() as usize).wrapping_sub(self.0.as_ptr() as usize);
        let start = u32::try_from(start).unwrap_or(u32::MAX);
        let len = u32::try_from(part.len()).unwrap_or(0);
        Span {
            start,
            end: start.saturating_add(len),
        }
    }

    /// The text at `span` ([`Frozen::span_of`]); empty for [`Span::default`].
    pub fn at(&self, span: Span) -> &str {
        self.0
            .get(span.start as usize..span.end as usize)
            .unwrap_or("")
    }
}

/// The mark of a length of 127 bytes or more in a [`Frozen`] set.
/// A name or value's place in a [`Frozen`] set.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

const LONG: u8 = 0x7f;

/// The pairs of a [`Frozen`] set, in order.
#[derive(Clone)]
pub struct FrozenIter<'a> {
    rest: &'a str,
}

impl<'a> FrozenIter<'a> {
    fn text(&mut self) -> Option<&'a str> {
        let first = *self.rest.as_bytes().first()?;
        let (start, len) = if first < LONG {
            (1, usize::from(first))
        } else {
            let digits = self.rest.bytes().position(|b| b == b':')?;
            let mut len = 0usize;
            for b in self.rest.as_bytes().get(1..digits)? {
                len = len
                    .checked_mul(10)?
                    .checked_add(usize::from(b.wrapping_sub(b'0')))?;
            }
            (digits + 1, len)
        };
        let end = start.checked_add(len)?;
        let text = self.rest.get(start..end)?;
        self.rest = self.rest.get(end..)?;
        Some(text)
    }
}

impl<'a> Iterator for FrozenIter<'a> {
    type Item = (&'a str, &'a str);

    fn next(&mut self) -> Option<(&'a str, &'a str)> {
        if self.rest.is_empty() {
            return None;
        }
        let name = self.text()?;
        let value = self.text()?;
        Some((name, value))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frozen_sets_hand_back_every_pair_whatever_the_text() {
        let long = "x".repeat(1234);
        let edge = "y".repeat(127);
        let under = "z".repeat(126);
        let sets: [&[(&str, &str)]; 5] = [
            &[(&under, &edge), (&edge, &under), ("k", "\x7f")],
            &[],
            &[("__name__", "up"), ("job", "a:b"), ("z", "1:2:3")],
            &[("a", "10:"), ("b", "é€😀"), ("c", &long), ("d", "0:")],
            &[("name:with:colons", "v"), ("n", "\n\\"), ("q", "\"")],
        ];
        for pairs in sets {
            let labels = Labels::from_pairs(pairs.iter().copied());
            let frozen = Frozen::new(&labels);
            assert_eq!(
                frozen.iter().collect::<Vec<_>>(),
                labels.iter().collect::<Vec<_>>()
            );
            for (n, v) in labels.iter() {
                assert_eq!(frozen.get(n), v);
            }
            assert_eq!(frozen.get("absent"), "");
            // Every name and value is found again at its span.
            for (n, v) in frozen.iter() {
                assert_eq!(frozen.at(frozen.span_of(n)), n);
                assert_eq!(frozen.at(frozen.span_of(v)), v);
            }
        }
    }

    #[test]
    fn a_span_from_elsewhere_gives_no_panic_and_the_default_span_nothing() {
        let frozen = Frozen::new(&Labels::from_pairs([("job", "a"), ("k", "é")]));
        let other = Frozen::new(&Labels::from_pairs([("job", "b")]));
        assert_eq!(frozen.at(Span::default()), "");
        for (n, v) in other.iter() {
            for part in [n, v] {
                let got = frozen.at(frozen.span_of(part));
                assert!(got.is_empty() || got.len() == part.len(), "{got:?}");
            }
        }
        // Within the text but not on a character boundary: nothing.
        let inside = Span { start: 9, end: 10 };
        assert_eq!(frozen.at(inside), "");
    }
}
