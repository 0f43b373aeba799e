//! `relabel_configs` / `metric_relabel_configs`: Prometheus's relabeling rules with its
//! defaults (separator `;`, regex `(.*)`, replacement `$1`, action `replace`), its
//! validation messages, and its semantics: the regex is Go RE2 syntax (through [`goregex`])
//! anchored at both ends, `$1`/`${name}` in replacements and replace targets expand as Go's
//! `Regexp.Expand` does, and a label set to `""` is removed.

use regex::Regex;
use serde::Deserialize;

use crate::labels::Labels;

/// A relabel action.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Action {
    Replace,
    Keep,
    Drop,
    KeepEqual,
    DropEqual,
    HashMod,
    LabelMap,
    LabelDrop,
    LabelKeep,
    Lowercase,
    Uppercase,
}

impl Action {
    /// Case-insensitive, as Prometheus reads it.
    pub fn parse(s: &str) -> Result<Action, String> {
        Ok(match s.to_ascii_lowercase().as_str() {
            "replace" => Action::Replace,
            "keep" => Action::Keep,
            "drop" => Action::Drop,
            "keepequal" => Action::KeepEqual,
            "dropequal" => Action::DropEqual,
            "hashmod" => Action::HashMod,
            "labelmap" => Action::LabelMap,
            "labeldrop" => Action::LabelDrop,
            "labelkeep" => Action::LabelKeep,
            "lowercase" => Action::Lowercase,
            "uppercase" => Action::Uppercase,
            _ => return Err(format!("unknown relabel action {s:?}")),
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Action::Replace => "replace",
            Action::Keep => "keep",
            Action::Drop => "drop",
            Action::KeepEqual => "keepequal",
            Action::DropEqual => "dropequal",
            Action::HashMod => "hashmod",
            Action::LabelMap => "labelmap",
            Action::LabelDrop => "labeldrop",
            Action::LabelKeep => "labelkeep",
            Action::Lowercase => "lowercase",
            Action::Uppercase => "uppercase",
        }
    }
}

/// The YAML form of one rule.
#[derive(Debug, Clone, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct RuleConfig {
    pub source_labels: Option<Vec<String>>,
    pub separator: Option<String>,
    pub regex: Option<String>,
    pub modulus: Option<u64>,
    pub target_label: Option<String>,
    pub replacement: Option<String>,
    pub action: Option<String>,
}

/// One validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub source_labels: Vec<String>,
    pub separator: String,
    /// Anchored: `^(?:regex)$`.
    pub regex: Regex,
    regex_is_default: bool,
    pub modulus: u64,
    pub target_label: String,
    pub replacement: String,
    pub action: Action,
}

const DEFAULT_REGEX: &str = "(.*)";
const DEFAULT_SEPARATOR: &str = ";";
const DEFAULT_REPLACEMENT: &str = "$1";

fn anchored(re: &str) -> Result<Regex, String> {
    goregex::compile(&format!("^(?:{re})$"))
}

/// Prometheus's `relabelTarget`: a label name that may hold `$1`/`${name}` references.
fn valid_template_target(s: &str) -> bool {
    // ^(?:(?:[a-zA-Z_]|\$(?:\{\w+\}|\w+))+\w*)+$
    static RE: std::sync::OnceLock<Regex> = std::sync::OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^(?:(?:[a-zA-Z_]|\$(?:\{[0-9A-Za-z_]+\}|[0-9A-Za-z_]+))+[0-9A-Za-z_]*)+$")
            .expect("a fixed pattern that compiles")
    })
    .is_match(s)
}

/// Label name validity under Prometheus 3's default UTF-8 validation: any non-empty text.
fn valid_label_name(s: &str) -> bool {
    !s.is_empty()
}

impl Rule {
    /// Applies Prometheus's defaults and validation to one rule.
    pub fn from_config(c: &RuleConfig) -> Result<Rule, String> {
        let action = match c.action.as_deref() {
            None => Action::Replace,
            Some("") => return Err("relabel action cannot be empty".into()),
            Some(a) => Action::parse(a)?,
        };
        let regex_src = c.regex.as_deref().unwrap_or(DEFAULT_REGEX);
        let regex = anchored(regex_src)?;
        let separator = c
            .separator
            .clone()
            .unwrap_or_else(|| DEFAULT_SEPARATOR.into());
        let replacement = c
            .replacement
            .clone()
            .unwrap_or_else(|| DEFAULT_REPLACEMENT.into());
        let target_label = c.target_label.clone().unwrap_or_default();
        let modulus = c.modulus.unwrap_or(0);
        let r = Rule {
            source_labels: c.source_labels.clone().unwrap_or_default(),
            separator,
            regex,
            regex_is_default: c.regex.is_none() || regex_src == DEFAULT_REGEX,
            modulus,
            target_label,
            replacement,
            action,
        };
        r.validate(c)?;
        Ok(r)
    }

    fn validate(&self, c: &RuleConfig) -> Result<(), String> {
        use Action::*;
        let a = self.action;
        let name = a.as_str();
        if self.modulus == 0 && a == HashMod {
            return Err("relabel configuration for hashmod requires non-zero modulus".into());
        }
        if matches!(
            a,
            Replace | HashMod | Lowercase | Uppercase | KeepEqual | DropEqual
        ) && self.target_label.is_empty()
        {
            return Err(format!(
                "relabel configuration for {name} action requires 'target_label' value"
            ));
        }
        let t = &self.target_label;
        if a == Replace && !t.contains('$') && !valid_label_name(t) {
            return Err(format!("{t:?} is invalid 'target_label' for {name} action"));
        }
        if a == Replace && t.contains('$') && !valid_template_target(t) {
            return Err(format!("{t:?} is invalid 'target_label' for {name} action"));
        }
        if matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual) && !valid_label_name(t) {
            return Err(format!("{t:?} is invalid 'target_label' for {name} action"));
        }
        if matches!(a, Lowercase | Uppercase | KeepEqual | DropEqual)
            && self.replacement != DEFAULT_REPLACEMENT
        {
            return Err(format!("'replacement' can not be set for {name} action"));
        }
        if a == LabelMap && !valid_template_target(&self.replacement) {
            return Err(format!(
                "{:?} is invalid 'replacement' for {name} action",
                self.replacement
            ));
        }
        if a == HashMod && !valid_label_name(t) {
            return Err(format!("{t:?} is invalid 'target_label' for {name} action"));
        }
        if matches!(a, KeepEqual | DropEqual)
            && (!self.regex_is_default
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{name} action requires only 'source_labels' and `target_label`, and no other fields"
            ));
        }
        if matches!(a, LabelDrop | LabelKeep)
            && (c.source_labels.is_some()
                || !t.is_empty()
                || self.modulus != 0
                || self.separator != DEFAULT_SEPARATOR
                || self.replacement != DEFAULT_REPLACEMENT)
        {
            return Err(format!(
                "{name} action requires only 'regex', and no other fields"
            ));
        }
        Ok(())
    }

    /// Applies the rule; `false` when the label set is dropped.
    pub fn apply(&self, lb: &mut Labels) -> bool {
        let val = self.source_value(lb);
        match self.action {
            Action::Drop => {
                if self.regex.is_match(&val) {
                    return false;
                }
            }
            Action::Keep => {
                if !self.regex.is_match(&val) {
                    return false;
                }
            }
            Action::DropEqual => {
                if lb.get(&self.target_label) == val {
                    return false;
                }
            }
            Action::KeepEqual => {
                if lb.get(&self.target_label) != val {
                    return false;
                }
            }
            Action::Replace => {
                // Prometheus's fast path: a fixed target and replacement with the default
                // regex set the label even when the source is empty.
                if val.is_empty()
                    && self.regex_is_default
                    && !self.target_label.contains('$')
                    && !self.replacement.contains('$')
                {
                    lb.set(self.target_label.clone(), self.replacement.clone());
                    return true;
                }
                let Some(caps) = self.regex.captures(&val) else {
                    return true;
                };
                let mut target = String::new();
                caps.expand(&self.target_label, &mut target);
                if !valid_label_name(&target) {
                    return true;
                }
                let mut res = String::new();
                caps.expand(&self.replacement, &mut res);
                if res.is_empty() {
                    lb.del(&target);
                } else {
                    lb.set(target, res);
                }
            }
            Action::Lowercase => lb.set(self.target_label.clone(), val.to_lowercase()),
            Action::Uppercase => lb.set(self.target_label.clone(), val.to_uppercase()),
            Action::HashMod => {
                let digest = md5::compute(val.as_bytes());
                let mut last8 = [0u8; 8];
                last8.copy_from_slice(&digest.0[8..]);
                let m = u64::from_be_bytes(last8) % self.modulus;
                lb.set(self.target_label.clone(), m.to_string());
            }
            Action::LabelMap => {
                // Decided on the set as it was before this rule, as Go's Builder.Range does.
                let names: Vec<(String, String)> = lb
                    .iter()
                    .filter(|(n, _)| self.regex.is_match(n))
                    .map(|(n, v)| (n.to_string(), v.to_string()))
                    .collect();
                for (n, v) in names {
                    let res = self.regex.replace_all(&n, self.replacement.as_str());
                    lb.set(res.into_owned(), v);
                }
            }
            Action::LabelDrop => lb.retain(|n, _| !self.regex.is_match(n)),
            Action::LabelKeep => lb.retain(|n, _| self.regex.is_match(n)),
        }
        true
    }

    fn source_value(&self, lb: &Labels) -> String {
        let mut val = String::new();
        for (i, n) in self.source_labels.iter().enumerate() {
            if i > 0 {
                val.push_str(&self.separator);
            }
            val.push_str(lb.get(n));
        }
        val
    }
}

/// Applies `rules` in order; `false` as soon as one drops the set.
pub fn process(lb: &mut Labels, rules: &[Rule]) -> bool {
    rules.iter().all(|r| r.apply(lb))
}

/// Validates a list of rule configs, naming the index of a bad one.
pub fn rules_from_configs(cfgs: &[RuleConfig]) -> Result<Vec<Rule>, String> {
    cfgs.iter()
        .enumerate()
        .map(|(i, c)| Rule::from_config(c).map_err(|e| format!("[{i}]: {e}")))
        .collect()
}
