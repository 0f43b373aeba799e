//! `bearertokenauth`: the contrib authenticator with a static bearer token.
//!
//! - Server: the request's `header` (default `Authorization`) must equal `<scheme> <token>`
//!   for one of the configured tokens (compared in constant time); otherwise the request is
//!   refused with Go's messages (`missing or empty authorization header: <header>`,
//!   `scheme or token does not match: <value>`).
//! - Client: every request carries `<header>: <scheme> <first token>`.
//! - `filename`: the tokens are the file's lines, trimmed; the file is read at creation and
//!   at start and re-read when its modification time or size changes (polled, where Go uses
//!   fsnotify; Kubernetes' symlink swaps are seen the same way). A file that cannot be read
//!   keeps the previous tokens and is logged, as in Go.

pub mod config;
#[cfg(test)]
mod tests;

use std::any::Any;
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, SystemTime};

use ::config::{ConfigError, Value};
use async_trait::async_trait;
use http::{HeaderMap, HeaderName, HeaderValue};
use runtime::auth::{AuthError, ClientAuthenticator, ClientInfo, ServerAuthenticator};
use runtime::factory::{AnyConfig, ExtensionFactory, Settings, Stability, parse_config, typed};
use runtime::{Component, Extension, Host};
use tokio::task::JoinHandle;

pub use self::config::Config;

/// How often the token file is checked for changes.
pub const FILE_POLL_INTERVAL: Duration = Duration::from_millis(250);

pub struct Factory;

impl ExtensionFactory for Factory {
    fn type_name(&self) -> &'static str {
        "bearertokenauth"
    }

    fn stability(&self) -> Stability {
        Stability::Beta
    }

    fn parse_config(&self, value: &Value, path: &str) -> Result<AnyConfig, ConfigError> {
        parse_config::<Config>(value, path)
    }

    fn create(&self, set: Settings, cfg: &AnyConfig) -> Result<Arc<dyn Extension>, String> {
        let cfg: &Config = typed(cfg);
        Ok(Arc::new(BearerTokenAuth::new(&set.id.to_string(), cfg)?))
    }
}

/// The authorization values (`<scheme> <token>`) shared by the server and client sides.
struct Tokens {
    header: HeaderName,
    /// As configured, for messages (Go prints it as written).
    header_text: String,
    scheme: String,
    values: RwLock<Arc<Vec<String>>>,
}

impl Tokens {
    fn set(&self, tokens: &[String]) {
        let values = tokens
            .iter()
            .map(|t| {
                if self.scheme.is_empty() {
                    t.clone()
                } else {
                    format!("{} {t}", self.scheme)
                }
            })
            .collect();
        *self.values.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(values);
    }

    fn values(&self) -> Arc<Vec<String>> {
        self.values
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Reads the token file: one token a line, trimmed (Go keeps empty lines as empty
    /// tokens; so do we, they match a header of just the scheme and a space).
    fn load_file(&self, id: &str, filename: &str) {
        match std::fs::read_to_string(filename) {
            Ok(text) => {
                let tokens: Vec<String> = text.split('\n').map(|t| t.trim().to_string()).collect();
                self.set(&tokens);
            }
            Err(e) => tracing::error!(extension = id, filename, "open {filename}: {e}"),
        }
    }
}

/// Constant-time comparison, so that the time to refuse does not tell how much matched.
fn same(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

impl ServerAuthenticator for Tokens {
    fn authenticate(&self, headers: &HeaderMap) -> Result<Vec<(String, String)>, AuthError> {
        let Some(got) = headers.get(&self.header) else {
            return Err(AuthError::new(format!(
                "missing or empty authorization header: {}",
                self.header_text
            )));
        };
        let values = self.values();
        if values.iter().any(|v| same(v.as_bytes(), got.as_bytes())) {
            return Ok(Vec::new());
        }
        Err(AuthError::new(format!(
            "scheme or token does not match: {}",
            String::from_utf8_lossy(got.as_bytes())
        )))
    }
}

impl ClientAuthenticator for Tokens {
    fn apply(
        &self,
        headers: &mut HeaderMap,
        _client: Option<&ClientInfo>,
    ) -> Result<(), AuthError> {
        let values = self.values();
        let first = values.first().map(String::as_str).unwrap_or("");
        let value = HeaderValue::from_str(first)
            .map_err(|e| AuthError::new(format!("invalid bearer token: {e}")))?;
        headers.insert(self.header.clone(), value);
        Ok(())
    }
}

pub struct BearerTokenAuth {
    id: String,
    filename: String,
    /// The header name as configured, for messages (Go prints it as written).
    header: String,
    tokens: Arc<Tokens>,
    watcher: Mutex<Option<JoinHandle<()>>>,
}

impl BearerTokenAuth {
    pub fn new(id: &str, cfg: &Config) -> Result<Self, String> {
        let header = HeaderName::try_from(cfg.header.as_str())
            .map_err(|e| format!("header: invalid header name {:?}: {e}", cfg.header))?;
        let tokens = Arc::new(Tokens {
            header,
            header_text: cfg.header.clone(),
            scheme: cfg.scheme.clone(),
            values: RwLock::new(Arc::new(Vec::new())),
        });
        if !cfg.filename.is_empty() {
            if !cfg.token.is_empty() || !cfg.tokens.is_empty() {
                tracing::warn!(
                    extension = id,
                    "a filename is specified. Configured token(s) is ignored!"
                );
            }
            tokens.load_file(id, &cfg.filename);
        } else if !cfg.tokens.is_empty() {
            tokens.set(&cfg.tokens);
        } else {
            tokens.set(std::slice::from_ref(&cfg.token));
        }
        Ok(BearerTokenAuth {
            id: id.to_string(),
            filename: cfg.filename.clone(),
            header: cfg.header.clone(),
            tokens,
            watcher: Mutex::new(None),
        })
    }

    /// The header this authenticator reads and writes, as configured.
    pub fn header(&self) -> &str {
        &self.header
    }
}

fn file_stamp(filename: &str) -> Option<(SystemTime, u64)> {
    let meta = std::fs::metadata(filename).ok()?;
    Some((meta.modified().ok()?, meta.len()))
}

#[async_trait]
impl Component for BearerTokenAuth {
    async fn start(&self, _host: &Host) -> Result<(), String> {
        if self.filename.is_empty() {
            return Ok(());
        }
        let mut watcher = self.watcher.lock().unwrap_or_else(|p| p.into_inner());
        if watcher.is_some() {
            return Err("bearerToken file monitoring is already running".into());
        }
        // Stamped before reading: a change made while reading is seen by the next poll.
        let mut last = file_stamp(&self.filename);
        self.tokens.load_file(&self.id, &self.filename);
        let (id, filename, tokens) = (self.id.clone(), self.filename.clone(), self.tokens.clone());
        *watcher = Some(tokio::spawn(async move {
            let mut tick = tokio::time::interval(FILE_POLL_INTERVAL);
            tick.tick().await;
            loop {
                tick.tick().await;
                let now = file_stamp(&filename);
                if now != last && now.is_some() {
                    tracing::info!(extension = %id, filename = %filename, "refresh token");
                    tokens.load_file(&id, &filename);
                }
                last = now;
            }
        }));
        Ok(())
    }

    async fn shutdown(&self) -> Result<(), String> {
        if let Some(w) = self
            .watcher
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .take()
        {
            w.abort();
        }
        Ok(())
    }
}

impl Extension for BearerTokenAuth {
    fn as_any(&self) -> &dyn Any {
        self
    }

    fn server_authenticator(&self) -> Option<Arc<dyn ServerAuthenticator>> {
        Some(self.tokens.clone())
    }

    fn client_authenticator(&self) -> Option<Arc<dyn ClientAuthenticator>> {
        Some(self.tokens.clone())
    }
}
