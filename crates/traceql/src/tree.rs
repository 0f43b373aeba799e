//! Parent links of one trace's spans, for the structural operators. Tempo answers these from
//! nested-set numbers computed at ingest; spans not connected to a root get none there and
//! never relate, which is what `connected` reproduces here.

use std::collections::HashMap;

use crate::SpanView;
use crate::ast::{Rel, Relation};

pub(crate) struct Tree {
    parent: Vec<Option<usize>>,
    connected: Vec<bool>,
}

/// Sibling groups: roots are siblings of each other (Tempo gives them one nested-set parent).
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Family {
    Roots,
    Parent(usize),
}

impl Tree {
    pub(crate) fn build<S: SpanView>(spans: &[S]) -> Tree {
        let mut by_id: HashMap<u64, usize> = HashMap::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            by_id.entry(s.span_id()).or_insert(i);
        }
        let parent: Vec<Option<usize>> = spans
            .iter()
            .enumerate()
            .map(|(i, s)| match s.parent_span_id() {
                0 => None,
                p => by_id.get(&p).copied().filter(|&j| j != i),
            })
            .collect();
        // 0 unknown, 1 on the current path, 2 connected, 3 not
        let mut state = vec![0u8; spans.len()];
        let mut path = Vec::new();
        for start in 0..spans.len() {
            let mut i = start;
            let verdict = loop {
                match state[i] {
                    2 => break true,
                    3 | 1 => break false,
                    _ => {}
                }
                state[i] = 1;
                path.push(i);
                if spans[i].parent_span_id() == 0 {
                    break true;
                }
                match parent[i] {
                    Some(p) => i = p,
                    None => break false,
                }
            };
            for j in path.drain(..) {
                state[j] = if verdict { 2 } else { 3 };
            }
        }
        Tree {
            parent,
            connected: state.iter().map(|s| *s == 2).collect(),
        }
    }

    fn family(&self, i: usize) -> Option<Family> {
        if !self.connected[i] {
            return None;
        }
        Some(match self.parent[i] {
            None => Family::Roots,
            Some(p) => Family::Parent(p),
        })
    }

    /// The members of `right` that stand in `relation` to some member of `left`
    /// (`matches[b]` for each `b` in `right`).
    fn related(&self, relation: Relation, left: &[usize], right: &[usize]) -> Vec<bool> {
        let n = self.parent.len();
        let mut in_left = vec![false; n];
        for &a in left {
            if self.connected[a] {
                in_left[a] = true;
            }
        }
        match relation {
            Relation::Child => right
                .iter()
                .map(|&b| self.connected[b] && self.parent[b].is_some_and(|p| in_left[p]))
                .collect(),
            Relation::Parent => {
                let mut parents = vec![false; n];
                for &a in left.iter().filter(|&&a| in_left[a]) {
                    if let Some(p) = self.parent[a] {
                        parents[p] = true;
                    }
                }
                right
                    .iter()
                    .map(|&b| self.connected[b] && parents[b])
                    .collect()
            }
            Relation::Descendant => right
                .iter()
                .map(|&b| {
                    if !self.connected[b] {
                        return false;
                    }
                    let mut cur = self.parent[b];
                    // connected spans reach a root: the walk ends
                    while let Some(p) = cur {
                        if in_left[p] {
                            return true;
                        }
                        cur = self.parent[p];
                    }
                    false
                })
                .collect(),
            Relation::Ancestor => {
                let mut ancestor = vec![false; n];
                for &a in left.iter().filter(|&&a| in_left[a]) {
                    let mut cur = self.parent[a];
                    while let Some(p) = cur {
                        if ancestor[p] {
                            break;
                        }
                        ancestor[p] = true;
                        cur = self.parent[p];
                    }
                }
                right
                    .iter()
                    .map(|&b| self.connected[b] && ancestor[b])
                    .collect()
            }
            Relation::Sibling => {
                let mut count: HashMap<Family, usize> = HashMap::new();
                for &a in left.iter().filter(|&&a| in_left[a]) {
                    if let Some(f) = self.family(a) {
                        *count.entry(f).or_default() += 1;
                    }
                }
                right
                    .iter()
                    .map(|&b| {
                        let Some(f) = self.family(b) else {
                            return false;
                        };
                        // a span is not its own sibling
                        let others = count.get(&f).copied().unwrap_or(0) - usize::from(in_left[b]);
                        others > 0
                    })
                    .collect()
            }
        }
    }

    /// The spans a structural operation yields, ascending.
    pub(crate) fn relate(&self, rel: Rel, left: &[usize], right: &[usize]) -> Vec<usize> {
        let hits = self.related(rel.relation, left, right);
        let mut out: Vec<usize> = right
            .iter()
            .zip(&hits)
            .filter(|(_, h)| **h != rel.negated)
            .map(|(b, _)| *b)
            .collect();
        if rel.union {
            let converse = match rel.relation {
                Relation::Child => Relation::Parent,
                Relation::Parent => Relation::Child,
                Relation::Descendant => Relation::Ancestor,
                Relation::Ancestor => Relation::Descendant,
                Relation::Sibling => Relation::Sibling,
            };
            // the left spans that have a partner on the right, among the right's matches
            let partners: Vec<usize> = out.clone();
            let back = self.related(converse, &partners, left);
            out.extend(left.iter().zip(&back).filter(|(_, h)| **h).map(|(a, _)| *a));
            out.sort_unstable();
            out.dedup();
        }
        out
    }
}
