//! `docker`: the Docker Engine API (`/info`, and `/containers/<hostname>/json` when container
//! attributes are enabled) over the daemon's unix socket (`/var/run/docker.sock`, or
//! `DOCKER_HOST`: `unix://` or `tcp://`). `FERROTEL_METADATA_ENDPOINT` redirects it when
//! `DOCKER_HOST` is not set. An unreachable daemon contributes nothing (logged), unless
//! `fail_on_missing_metadata`.

use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::attrs::{AttrSwitches, Enabled};
use crate::http::{Client, get_ok};
use crate::{Ctx, Found, METADATA_ENDPOINT_ENV, Settings};

/// Go's docker detector follows semantic conventions 1.43.
const SCHEMA_URL: &str = "https://opentelemetry.io/schemas/1.43.0";

pub const ATTRIBUTES: &[(&str, bool)] = &[
    ("container.image.id", false),
    ("container.image.name", false),
    ("container.image.tags", false),
    ("container.name", false),
    ("host.name", true),
    ("os.type", true),
];

const DEFAULT_SOCKET: &str = "/var/run/docker.sock";
const MAX_RESPONSE: usize = 4 << 20;

#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
pub struct Config {
    pub resource_attributes: AttrSwitches,
}

enum Daemon {
    Unix(String),
    Http(String, Option<Client>),
}

pub struct Detector {
    daemon: Daemon,
    enabled: Enabled,
    fail_on_missing: bool,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Info {
    #[serde(rename = "OSType")]
    os_type: String,
    #[serde(rename = "Name")]
    name: String,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct Inspect {
    #[serde(rename = "Name")]
    name: String,
    #[serde(rename = "Image")]
    image: String,
}

impl Detector {
    pub fn new(cfg: &Config, set: &Settings) -> Detector {
        let env = &set.env;
        let daemon = match env.non_empty("DOCKER_HOST") {
            Some(h) if h.starts_with("unix://") => Daemon::Unix(h["unix://".len()..].to_string()),
            Some(h) => Daemon::Http(
                h.replacen("tcp://", "http://", 1)
                    .trim_end_matches('/')
                    .to_string(),
                Client::new(set.timeout).ok(),
            ),
            None => match env.non_empty(METADATA_ENDPOINT_ENV) {
                Some(u) => Daemon::Http(
                    u.trim_end_matches('/').to_string(),
                    Client::new(set.timeout).ok(),
                ),
                None => Daemon::Unix(DEFAULT_SOCKET.to_string()),
            },
        };
        Detector {
            daemon,
            enabled: Enabled::new(ATTRIBUTES, &cfg.resource_attributes),
            fail_on_missing: set.fail_on_missing_metadata,
        }
    }

    async fn get(&self, path: &str, ctx: &Ctx<'_>) -> Result<String, String> {
        match &self.daemon {
            Daemon::Unix(socket) => tokio::time::timeout_at(ctx.deadline, unix_get(socket, path))
                .await
                .map_err(|_| "context deadline exceeded".to_string())?,
            Daemon::Http(base, Some(client)) => {
                get_ok(client, &format!("{base}{path}"), &[], ctx.deadline).await
            }
            Daemon::Http(_, None) => Err("failed to build the HTTP client".into()),
        }
    }

    pub(crate) async fn detect(&self, ctx: &Ctx<'_>) -> Result<Found, String> {
        let info = match self
            .get("/info", ctx)
            .await
            .and_then(|b| serde_json::from_str::<Info>(&b).map_err(|e| e.to_string()))
        {
            Ok(i) => i,
            Err(e) => {
                if self.fail_on_missing {
                    return Err(format!("failed getting OS type: {e}"));
                }
                tracing::warn!(error = %e, "docker detector: failed to contact the Docker daemon");
                return Ok(Found::default());
            }
        };
        let mut b = self.enabled.builder();
        b.str("host.name", info.name);
        b.str("os.type", info.os_type.to_lowercase());
        if [
            "container.name",
            "container.image.name",
            "container.image.id",
        ]
        .iter()
        .any(|k| self.enabled.is(k))
        {
            let host = hostname();
            match self
                .get(&format!("/containers/{host}/json"), ctx)
                .await
                .and_then(|b| serde_json::from_str::<Inspect>(&b).map_err(|e| e.to_string()))
            {
                Ok(c) => {
                    // Without the EmitSemconvContainerAttributes gate (alpha, off), Go reports
                    // the name with Docker's leading slash and the image ID as the image name.
                    b.str("container.name", c.name);
                    b.str("container.image.name", c.image.clone());
                    b.str("container.image.id", c.image);
                }
                Err(e) => {
                    tracing::warn!(error = %e, "docker detector: failed to inspect the current container")
                }
            }
        }
        Ok(Found::new(b.finish(), SCHEMA_URL))
    }
}

fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|s| s.trim().to_string())
        .unwrap_or_default()
}

/// One `GET` over the daemon's unix socket (HTTP/1.1, `Connection: close`).
async fn unix_get(socket: &str, path: &str) -> Result<String, String> {
    let mut s = tokio::net::UnixStream::connect(socket)
        .await
        .map_err(|e| format!("Cannot connect to the Docker daemon at unix://{socket}: {e}"))?;
    let req = format!("GET {path} HTTP/1.1\r\nHost: docker\r\nConnection: close\r\n\r\n");
    s.write_all(req.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = s.read(&mut chunk).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        if buf.len() + n > MAX_RESPONSE {
            return Err("Docker daemon response too large".into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    parse_response(&buf)
}

/// Status line, headers and the (possibly chunked) body of an HTTP/1.1 response.
pub fn parse_response(buf: &[u8]) -> Result<String, String> {
    let split = buf
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or("malformed HTTP response from the Docker daemon")?;
    let head = String::from_utf8_lossy(&buf[..split]);
    let mut body = &buf[split + 4..];
    let mut lines = head.lines();
    let status: u16 = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .ok_or("malformed HTTP status line from the Docker daemon")?;
    let chunked = lines.any(|l| {
        l.split_once(':').is_some_and(|(k, v)| {
            k.trim().eq_ignore_ascii_case("transfer-encoding")
                && v.trim().eq_ignore_ascii_case("chunked")
        })
    });
    let mut out = Vec::new();
    if chunked {
        loop {
            let line_end = body
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or("malformed chunk")?;
            let size_text = String::from_utf8_lossy(&body[..line_end]);
            let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
                .map_err(|_| "malformed chunk size")?;
            body = &body[line_end + 2..];
            if size == 0 {
                break;
            }
            if body.len() < size {
                return Err("truncated chunk".into());
            }
            out.extend_from_slice(&body[..size]);
            body = body.get(size + 2..).unwrap_or(&[]);
        }
    } else {
        out.extend_from_slice(body);
    }
    let text = String::from_utf8_lossy(&out).into_owned();
    if status != 200 {
        return Err(format!(
            "Error response from daemon ({status}): {}",
            text.trim()
        ));
    }
    Ok(text)
}
