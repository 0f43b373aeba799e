//! Anchored patterns that never need to go back, matched in one pass over the bytes.
//!
//! The regexes log pipelines run on every line are mostly of one shape: anchored at the
//! start, a sequence of literals, character-class runs and small alternations of words,
//! with capture groups around some of them. The container runtimes' formats are the common
//! case: `^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?` (the catch-all
//! tail split off by the caller), and the router's `^[^ Z]+Z`. For these the regex crate's
//! capturing engine (a one-pass DFA) costs about 8 ns per byte, most of a parser's time.
//!
//! A [`Direct`] is built only when the pattern's leftmost-first match can be found without
//! ever going back: every run of a class that may stop at more than one place is followed
//! by something whose first byte the class cannot hold (so a shorter run could only be
//! followed by a byte the rest cannot start with), and every alternation is of literals
//! none of which is a prefix of another (so at most one can match at a place). Then the
//! greedy, leftmost-first choice at each step is the only one that can succeed, and
//! taking it without remembering the others gives exactly the regex crate's match and
//! groups. Any other pattern gets `None` and stays on the regex crate.
//!
//! Classes are taken as byte sets, which is exact for classes whose non-ASCII part is all
//! or nothing (`[^ ]`, `.`, `[a-f0-9]`): a run then stops only at an ASCII byte, on a
//! character boundary. Classes with part of the non-ASCII range are not accepted.

use regex::Regex;
use regex_syntax::hir::{Class, Hir, HirKind, Look};

/// A pattern matched without an engine; see the module documentation.
#[derive(Clone, Debug)]
pub struct Direct {
    steps: Box<[Step]>,
    /// Each group with the number of steps taken where it opens and where it closes (the
    /// group's range is the positions after that many steps): groups cost no step.
    marks: Box<[(usize, usize, usize)]>,
    /// Capture slots (the whole match is group 0).
    groups: usize,
}

/// Steps a direct pattern may have (positions after each are kept on the stack).
const MAX_STEPS: usize = 31;

#[derive(Clone, Debug)]
enum Step {
    Lit(Box<[u8]>),
    /// At least `min`, at most `max` characters of `set`, as many as there are.
    Run {
        set: Box<[bool; 256]>,
        /// The set holds every non-ASCII character: counts are of characters, not bytes.
        wide: bool,
        min: u32,
        max: u32,
        /// The bytes outside the set, when it holds all but one to three (`[^ ]`, `.`,
        /// `[^ ^Z]`) and the run is unbounded: its end is found by memchr.
        stop: Option<Stop>,
    },
    /// One of these literals (none a prefix of another).
    Alt(Box<[Box<[u8]>]>),
    End,
}

#[derive(Clone, Copy, Debug)]
enum Stop {
    One(u8),
    Two(u8, u8),
    Three(u8, u8, u8),
}

impl Stop {
    fn of(set: &[bool; 256]) -> Option<Stop> {
        let out: Vec<u8> = (0..=255u8).filter(|&b| !set[b as usize]).collect();
        match out[..] {
            [a] => Some(Stop::One(a)),
            [a, b] => Some(Stop::Two(a, b)),
            [a, b, c] => Some(Stop::Three(a, b, c)),
            _ => None,
        }
    }

    #[inline]
    fn find(self, s: &[u8]) -> usize {
        match self {
            Stop::One(a) => memchr::memchr(a, s),
            Stop::Two(a, b) => memchr::memchr2(a, b, s),
            Stop::Three(a, b, c) => memchr::memchr3(a, b, c, s),
        }
        .unwrap_or(s.len())
    }
}

/// A marker while compiling: where a group opens or closes among the steps.
enum Mark {
    Open(usize),
    Close(usize),
}

/// Scalar values outside ASCII: a class with this many of them holds all of them.
const NON_ASCII: u32 = 0x11_0000 - 0x80 - 0x800;

impl Direct {
    /// The direct form of `re`, when it has one.
    pub fn new(re: &Regex) -> Option<Direct> {
        let hir = regex_syntax::parse(re.as_str()).ok()?;
        let mut steps = Vec::new();
        let items: &[Hir] = match hir.kind() {
            HirKind::Concat(items) => items,
            _ => std::slice::from_ref(&hir),
        };
        let (first, rest) = items.split_first()?;
        if !matches!(first.kind(), HirKind::Look(Look::Start)) {
            return None;
        }
        let mut marks = Vec::new();
        for h in rest {
            compile(h, &mut steps, &mut marks)?;
        }
        if steps.len() > MAX_STEPS {
            return None;
        }
        let mut groups: Vec<(usize, usize, usize)> = Vec::new();
        for (at, m) in marks {
            match m {
                Mark::Open(g) => groups.push((g, at, at)),
                Mark::Close(g) => {
                    let open = groups.iter_mut().rev().find(|(x, _, _)| *x == g)?;
                    open.2 = at;
                }
            }
        }
        for (i, s) in steps.iter().enumerate() {
            if let Step::Run { set, min, max, .. } = s
                && min < max
            {
                let follow = first_bytes(&steps[i + 1..]);
                if (0..256).any(|b| set[b] && follow[b]) {
                    return None;
                }
            }
        }
        Some(Direct {
            steps: steps.into_boxed_slice(),
            marks: groups.into_boxed_slice(),
            groups: re.captures_len(),
        })
    }

    /// The number of capture slots [`Direct::captures`] fills (as `Regex::captures_len`).
    pub fn captures_len(&self) -> usize {
        self.groups
    }

    /// Whether the pattern matches `s`.
    pub fn is_match(&self, s: &str) -> bool {
        self.find(s).is_some()
    }

    /// The end of the match in `s` (a match starts at 0).
    pub fn find(&self, s: &str) -> Option<usize> {
        self.run(s.as_bytes(), |_, _| {})
    }

    /// Matches `s`, filling `slots[i]` with group `i`'s byte range (every group takes part in
    /// a match of a direct pattern); returns the end of the match. `slots` must hold
    /// [`Direct::captures_len`] ranges.
    pub fn captures(&self, s: &str, slots: &mut [(usize, usize)]) -> Option<usize> {
        let mut at = [0; MAX_STEPS + 1];
        let end = self.run(s.as_bytes(), |i, pos| at[i] = pos)?;
        for &(g, open, close) in self.marks.iter() {
            if let Some(slot) = slots.get_mut(g) {
                *slot = (at[open], at[close]);
            }
        }
        if let Some(whole) = slots.first_mut() {
            *whole = (0, end);
        }
        Some(end)
    }

    /// The match's end; `record(i, pos)`: `pos` is the position after `i` steps.
    #[inline]
    fn run(&self, s: &[u8], mut record: impl FnMut(usize, usize)) -> Option<usize> {
        let mut pos = 0;
        for (i, step) in self.steps.iter().enumerate() {
            match step {
                Step::Lit(l) => {
                    if !starts_with(&s[pos..], l) {
                        return None;
                    }
                    pos += l.len();
                }
                Step::Run {
                    set,
                    wide,
                    min,
                    max,
                    stop,
                } => {
                    let start = pos;
                    if let Some(stop) = stop {
                        pos += stop.find(&s[pos..]);
                        if pos - start < *min as usize {
                            return None;
                        }
                    } else if !*wide || (*min <= 1 && *max == u32::MAX) {
                        // Bytes are characters here, or only "none or some" is counted.
                        let limit = if *wide {
                            s.len()
                        } else {
                            s.len().min(pos.saturating_add(*max as usize))
                        };
                        pos += s[pos..limit]
                            .iter()
                            .position(|&b| !set[b as usize])
                            .unwrap_or(limit - pos);
                        if pos - start < *min as usize {
                            return None;
                        }
                    } else {
                        let mut n = 0;
                        while n < *max && pos < s.len() && set[s[pos] as usize] {
                            pos += utf8_len(s[pos]);
                            n += 1;
                        }
                        if n < *min {
                            return None;
                        }
                        pos = pos.min(s.len());
                    }
                }
                Step::Alt(lits) => {
                    let l = lits.iter().find(|l| starts_with(&s[pos..], l))?;
                    pos += l.len();
                }
                Step::End => {
                    if pos != s.len() {
                        return None;
                    }
                }
            }
            record(i + 1, pos);
        }
        Some(pos)
    }
}

/// A pattern matched by [`Direct`] when it has that form, else by the regex crate, with the
/// group ranges of its last match: what a parser keeps per pattern.
#[derive(Clone, Debug)]
pub struct Matcher {
    re: Regex,
    direct: Option<Direct>,
    locs: regex::CaptureLocations,
    /// Each group's byte range in the last match ((0, 0) when it took no part).
    slots: Vec<(usize, usize)>,
}

impl Matcher {
    pub fn new(re: Regex) -> Matcher {
        Matcher {
            direct: Direct::new(&re),
            locs: re.capture_locations(),
            slots: vec![(0, 0); re.captures_len()],
            re,
        }
    }

    /// `re` matched by the regex crate only (to compare the two).
    pub fn without_direct(re: Regex) -> Matcher {
        Matcher {
            direct: None,
            ..Matcher::new(re)
        }
    }

    pub fn regex(&self) -> &Regex {
        &self.re
    }

    /// Whether the pattern is matched without the regex crate's engine.
    pub fn is_direct(&self) -> bool {
        self.direct.is_some()
    }

    pub fn is_match(&self, s: &str) -> bool {
        match &self.direct {
            Some(d) => d.is_match(s),
            None => self.re.is_match(s),
        }
    }

    /// The end of the leftmost-first match in `s`.
    pub fn find_end(&self, s: &str) -> Option<usize> {
        match &self.direct {
            Some(d) => d.find(s),
            None => self.re.find(s).map(|m| m.end()),
        }
    }

    /// Matches `s`, keeping each group's range for [`Matcher::group`]; returns the match's end.
    pub fn captures(&mut self, s: &str) -> Option<usize> {
        if let Some(d) = &self.direct {
            return d.captures(s, &mut self.slots);
        }
        let end = self.re.captures_read(&mut self.locs, s)?.end();
        for (i, slot) in self.slots.iter_mut().enumerate() {
            *slot = self.locs.get(i).unwrap_or((0, 0));
        }
        Some(end)
    }

    /// Group `i`'s byte range in the last match of [`Matcher::captures`] (`0..0` when it
    /// took no part).
    pub fn group(&self, i: usize) -> std::ops::Range<usize> {
        let (a, b) = self.slots.get(i).copied().unwrap_or((0, 0));
        a..b
    }
}

/// `s.starts_with(l)` for the short literals of patterns, without a call to memcmp.
#[inline]
fn starts_with(s: &[u8], l: &[u8]) -> bool {
    s.len() >= l.len() && s.iter().zip(l).all(|(a, b)| a == b)
}

fn utf8_len(lead: u8) -> usize {
    match lead {
        0..0x80 => 1,
        0xE0..0xF0 => 3,
        0xF0.. => 4,
        _ => 2,
    }
}

/// The bytes a match of `steps` can start with (it may also be empty).
fn first_bytes(steps: &[Step]) -> [bool; 256] {
    let mut out = [false; 256];
    for s in steps {
        match s {
            Step::Lit(l) => {
                if let Some(&b) = l.first() {
                    out[b as usize] = true;
                    return out;
                }
            }
            Step::Run { set, min, .. } => {
                for b in 0..256 {
                    out[b] |= set[b];
                }
                if *min > 0 {
                    return out;
                }
            }
            Step::Alt(lits) => {
                for l in lits.iter() {
                    out[l[0] as usize] = true;
                }
                return out;
            }
            // Only the end of the text can follow: no byte.
            Step::End => return out,
        }
    }
    out
}

fn compile(h: &Hir, steps: &mut Vec<Step>, marks: &mut Vec<(usize, Mark)>) -> Option<()> {
    match h.kind() {
        HirKind::Empty => {}
        HirKind::Literal(l) => steps.push(Step::Lit(l.0.clone())),
        HirKind::Class(_) => {
            let (set, wide) = byte_set(h)?;
            steps.push(Step::Run {
                set,
                wide,
                min: 1,
                max: 1,
                stop: None,
            });
        }
        HirKind::Look(Look::End) => steps.push(Step::End),
        HirKind::Look(_) => return None,
        HirKind::Repetition(r) => {
            if !r.greedy {
                return None;
            }
            let (set, wide) = byte_set(&r.sub)?;
            let max = r.max.unwrap_or(u32::MAX);
            // Unbounded, and counting only "none or some": bytes will do.
            let stop = (wide && r.min <= 1 && max == u32::MAX)
                .then(|| Stop::of(&set))
                .flatten();
            steps.push(Step::Run {
                set,
                wide,
                min: r.min,
                max,
                stop,
            });
        }
        HirKind::Capture(c) => {
            let i = c.index as usize;
            marks.push((steps.len(), Mark::Open(i)));
            compile(&c.sub, steps, marks)?;
            marks.push((steps.len(), Mark::Close(i)));
        }
        HirKind::Concat(items) => {
            for h in items {
                compile(h, steps, marks)?;
            }
        }
        HirKind::Alternation(alts) => {
            let mut lits = Vec::with_capacity(alts.len());
            for a in alts {
                let HirKind::Literal(l) = a.kind() else {
                    return None;
                };
                lits.push(l.0.clone());
            }
            let prefix_free = lits.iter().enumerate().all(|(i, a)| {
                !a.is_empty()
                    && lits
                        .iter()
                        .enumerate()
                        .all(|(j, b)| i == j || !b.starts_with(a))
            });
            if !prefix_free {
                return None;
            }
            steps.push(Step::Alt(lits.into_boxed_slice()));
        }
    }
    Some(())
}

/// One character's class as the set of bytes it may start with, and whether it holds every
/// non-ASCII character; `None` when it holds only some of them (or is not one character).
fn byte_set(h: &Hir) -> Option<(Box<[bool; 256]>, bool)> {
    let mut set = Box::new([false; 256]);
    let wide = match h.kind() {
        HirKind::Literal(l) if l.0.len() == 1 && l.0[0] < 0x80 => {
            set[l.0[0] as usize] = true;
            false
        }
        HirKind::Class(Class::Bytes(c)) => {
            for r in c.ranges() {
                if r.end() >= 0x80 {
                    return None;
                }
                for b in r.start()..=r.end() {
                    set[b as usize] = true;
                }
            }
            false
        }
        HirKind::Class(Class::Unicode(c)) => {
            let mut non_ascii = 0;
            for r in c.ranges() {
                let (a, b) = (r.start() as u32, r.end() as u32);
                for b in a.min(0x80)..b.min(0x7F) + 1 {
                    set[b as usize] = true;
                }
                if b >= 0x80 {
                    let from = a.max(0x80);
                    non_ascii += b - from + 1;
                    if from <= 0xD7FF && b >= 0xE000 {
                        non_ascii -= 0x800;
                    }
                }
            }
            match non_ascii {
                0 => false,
                NON_ASCII => {
                    for b in 0x80..256 {
                        set[b] = true;
                    }
                    true
                }
                _ => return None,
            }
        }
        _ => return None,
    };
    Some((set, wide))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{Rng, SeedableRng};

    fn regex(p: &str) -> Regex {
        Regex::new(p).unwrap()
    }

    #[test]
    fn the_container_formats_and_the_router_pattern_are_direct() {
        for p in [
            r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?",
            r"^(?P<time>[^ Z]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?",
            r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) (?P<log>.*)$",
            r"^[^ Z]+Z",
            r"^\{",
            r"^(?P<a>[0-9]{4})-(?P<b>[a-f0-9\-]{2,8})x",
            r"^(?P<level>[A-Z]+): ",
            r"^(?P<x>.{3})é",
        ] {
            assert!(Direct::new(&regex(p)).is_some(), "{p}");
        }
    }

    #[test]
    fn patterns_that_may_need_to_go_back_are_left_to_the_regex_crate() {
        for p in [
            r"(?P<time>[^ ]+) ",      // not anchored: searched at every place
            r"^(?P<a>[a-z]*)[a-z]",   // the run could give back
            r"^(?P<a>.*) (?P<b>.*)$", // `.` holds the space after it
            r"^(?P<a>[^ ]*) ?[^x]",   // the optional space may be the class's
            r"^(?P<a>a|ab)c",         // one alternative is a prefix of the other
            r"^(?P<a>[a-z]+?)z",      // lazy
            r"^(?P<a>\w+)\b",         // word boundary
            r"^(?P<a>(?:ab)+)",       // a repeated sequence
            r"^(?P<a>[a-zé]+)",       // part of the non-ASCII range
            r"(?m)^(?P<a>[a-z]+)$",   // line anchors
            // The optional space could be the tail's first character (which is why callers
            // split such a catch-all tail off first).
            r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?(?P<log>.*)$",
        ] {
            assert!(Direct::new(&regex(p)).is_none(), "{p}");
        }
        // More steps than positions kept on the stack.
        let long = format!("^{}", "[0-9]x".repeat(MAX_STEPS));
        assert!(Direct::new(&regex(&long)).is_none());
        let fits = format!("^{}", "[0-9]x".repeat(MAX_STEPS / 2));
        assert!(Direct::new(&regex(&fits)).is_some());
    }

    /// A matcher gives the same end, groups and answers whichever way it matches, and a group
    /// that took no part (only possible on the regex crate's side) is `0..0`.
    #[test]
    fn a_matcher_answers_alike_with_and_without_its_direct_form() {
        let p = r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?";
        let mut direct = Matcher::new(regex(p));
        let mut engine = Matcher::without_direct(regex(p));
        assert!(direct.is_direct() && !engine.is_direct());
        for s in [
            "2024-05-01T12:00:00Z stdout F hello",
            "2024-05-01T12:00:00Z stderr P",
            "x 2024-05-01T12:00:00Z stdout F",
            "",
        ] {
            assert_eq!(direct.captures(s), engine.captures(s), "{s:?}");
            assert_eq!(direct.find_end(s), engine.find_end(s), "{s:?}");
            assert_eq!(direct.is_match(s), engine.is_match(s), "{s:?}");
            for i in 0..4 {
                assert_eq!(direct.group(i), engine.group(i), "{s:?} group {i}");
            }
        }
        direct.captures("2024-05-01T12:00:00Z stdout F hello");
        assert_eq!((direct.group(2), direct.group(3)), (21..27, 28..29));
        let mut optional = Matcher::new(regex(r"(?P<a>x)?(?P<b>y)"));
        assert!(!optional.is_direct());
        assert_eq!(optional.captures("zy"), Some(2));
        assert_eq!((optional.group(1), optional.group(2)), (0..0, 1..2));
    }

    /// Every accepted pattern finds what the regex crate finds, group by group, over random
    /// texts drawn from the characters the patterns are about.
    #[test]
    fn direct_matches_equal_the_regex_crates_on_random_texts() {
        // Each pattern with a text it matches: the texts compared are edits of it (characters
        // and words inserted, removed, the text cut short) and texts of random words.
        let patterns = [
            (
                r"^(?P<time>[^ ^Z]+Z) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) ?",
                "2024-05-01T12:00:00.1Z stdout F hello",
            ),
            (
                r"^(?P<time>[^ Z]+) (?P<stream>stdout|stderr) (?P<logtag>[^ ]*) (?P<log>.*)$",
                "2024-05-01T12:00:00.1+01:00 stderr P x",
            ),
            (r"^[^ Z]+Z", "2024Z"),
            (
                r"^(?P<a>[0-9]{2,3})(?P<b>[a-z]{0,2})Z?(?P<c>X|YZ|WY)",
                "012abZWY",
            ),
            (r"^(?P<a>.{2})(?P<b>[^ ]{1,3}) (?P<c>.{0,2})\n", "éa12 é€\n"),
            (r"^(?P<a>[^a]*)a(?P<b>.*)$", "xéya tail"),
            (r"^ab(?:c|d)(?P<e>[ ]?)$", "abd "),
        ];
        let mut tokens: Vec<String> = "aZbxyzXYW s tdoureé0129\n^é€"
            .chars()
            .map(String::from)
            .collect();
        for w in [
            "stdout",
            "stderr",
            "2024-05-01T12:00:00.1Z",
            "F",
            " ",
            "ab",
            "YZ",
        ] {
            tokens.push(w.into());
        }
        let mut rng = rand::rngs::StdRng::seed_from_u64(7);
        for (p, sample) in patterns {
            let re = regex(p);
            let d = Direct::new(&re).unwrap_or_else(|| panic!("{p} should be direct"));
            let mut locs = re.capture_locations();
            let mut slots = vec![(0, 0); d.captures_len()];
            let mut matched = 0;
            for _ in 0..20_000 {
                let mut s = String::new();
                if rng.random_bool(0.2) {
                    for _ in 0..rng.random_range(0..9) {
                        s.push_str(&tokens[rng.random_range(0..tokens.len())]);
                    }
                } else {
                    s.push_str(sample);
                    for _ in 0..rng.random_range(0..3) {
                        let at = rng.random_range(0..=s.len());
                        if !s.is_char_boundary(at) {
                            continue;
                        }
                        match rng.random_range(0..3) {
                            0 => s.insert_str(at, &tokens[rng.random_range(0..tokens.len())]),
                            1 => s.truncate(at),
                            _ => {
                                if let Some(c) = s[at..].chars().next() {
                                    s.replace_range(at..at + c.len_utf8(), "");
                                }
                            }
                        }
                    }
                }
                let want = re.captures_read(&mut locs, &s).map(|m| m.end());
                let got = d.captures(&s, &mut slots);
                assert_eq!(got, want, "{p} on {s:?}");
                assert_eq!(d.is_match(&s), want.is_some(), "{p} on {s:?}");
                if got.is_some() {
                    matched += 1;
                    for (i, slot) in slots.iter().enumerate() {
                        assert_eq!(Some(*slot), locs.get(i), "{p} group {i} on {s:?}");
                    }
                }
            }
            assert!(
                matched > 50,
                "{p}: too few texts matched ({matched}) to compare"
            );
        }
    }
}
