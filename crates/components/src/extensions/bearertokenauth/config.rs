//! `bearertokenauth` settings: the contrib extension's keys and defaults.

use runtime::ComponentConfig;
use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Config {
    /// Put before the token, separated by a space; empty sends/expects the bare token.
    pub scheme: String,
    pub token: String,
    /// Several accepted tokens (server); a client sends the first.
    pub tokens: Vec<String>,
    /// A file holding the token(s), one a line; re-read when it changes. Wins over
    /// `token`/`tokens` (Go warns that they are ignored).
    pub filename: String,
    /// The header carrying the token.
    pub header: String,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            scheme: "Bearer".into(),
            token: String::new(),
            tokens: Vec::new(),
            filename: String::new(),
            header: "Authorization".into(),
        }
    }
}

impl ComponentConfig for Config {
    fn validate(&self) -> Result<(), String> {
        if !self.token.is_empty() && !self.tokens.is_empty() {
            return Err("either tokens or token should be provided, not both".into());
        }
        if self.token.is_empty() && self.tokens.is_empty() && self.filename.is_empty() {
            return Err("no bearer token provided".into());
        }
        Ok(())
    }
}
