//! The include/exclude name filters of the scrapers (devices, interfaces, file system types,
//! mount points, process names): Go's `filterset.Config` (`match_type: strict|regexp`) with
//! the scraper's list key beside it.

use goregex::filterset::StringSet;
use serde::Deserialize;

/// `regexp:` cache options of a filter: accepted for compatibility; a compiled `RegexSet`
/// needs no result cache.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RegexpCache {
    pub cacheenabled: bool,
    pub cachemaxnumentries: i64,
}

/// One include or exclude block: the names and how they match.
pub trait MatchFilter {
    fn match_type(&self) -> &str;
    fn names(&self) -> &[String];
}

macro_rules! match_config {
    ($(#[$doc:meta])* $name:ident, $key:ident) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, serde::Deserialize)]
        #[serde(default, deny_unknown_fields)]
        pub struct $name {
            pub match_type: String,
            pub regexp: Option<$crate::filter::RegexpCache>,
            pub $key: Vec<String>,
        }

        impl $crate::filter::MatchFilter for $name {
            fn match_type(&self) -> &str {
                &self.match_type
            }
            fn names(&self) -> &[String] {
                &self.$key
            }
        }
    };
}
pub(crate) use match_config;

/// A compiled include/exclude pair: a name passes when it matches `include` (if set) and
/// does not match `exclude` (if set). A block with no names is no filter, as in Go.
#[derive(Debug, Clone, Default)]
pub struct NameFilter {
    include: Option<StringSet>,
    exclude: Option<StringSet>,
}

impl NameFilter {
    /// `what` names the filter in errors as Go does (`error creating network interface
    /// include filters: ...`): `{what}` is formatted with `include`/`exclude`.
    pub fn new(
        include: Option<&dyn MatchFilter>,
        exclude: Option<&dyn MatchFilter>,
        error: impl Fn(&str) -> String,
    ) -> Result<NameFilter, String> {
        let compile =
            |m: Option<&dyn MatchFilter>, side: &str| -> Result<Option<StringSet>, String> {
                match m {
                    Some(m) if !m.names().is_empty() => StringSet::new(m.names(), m.match_type())
                        .map(Some)
                        .map_err(|e| format!("{}: {e}", error(side))),
                    _ => Ok(None),
                }
            };
        Ok(NameFilter {
            include: compile(include, "include")?,
            exclude: compile(exclude, "exclude")?,
        })
    }

    pub fn is_empty(&self) -> bool {
        self.include.is_none() && self.exclude.is_none()
    }

    pub fn allows(&self, name: &str) -> bool {
        self.include.as_ref().is_none_or(|s| s.matches(name))
            && self.exclude.as_ref().is_none_or(|s| !s.matches(name))
    }
}
