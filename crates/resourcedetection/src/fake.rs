//! A fake metadata server on 127.0.0.1 for tests (feature `testing`): fixed answers per
//! method and path, an optional delay, and a log of the requests it was sent. No real cloud
//! exists where tests run; the answers are the documented response shapes.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

#[derive(Clone, Debug)]
pub struct Route {
    pub method: &'static str,
    /// The path with its query, as sent.
    pub path: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
    /// Headers the request must carry (else 401), e.g. `Metadata-Flavor: Google`.
    pub require: Vec<(String, String)>,
}

impl Route {
    pub fn get(path: &str, body: &str) -> Route {
        Route {
            method: "GET",
            path: path.to_string(),
            status: 200,
            headers: Vec::new(),
            body: body.to_string(),
            require: Vec::new(),
        }
    }

    pub fn put(path: &str, body: &str) -> Route {
        Route {
            method: "PUT",
            ..Route::get(path, body)
        }
    }

    pub fn header(mut self, k: &str, v: &str) -> Route {
        self.headers.push((k.to_string(), v.to_string()));
        self
    }

    pub fn require(mut self, k: &str, v: &str) -> Route {
        self.require.push((k.to_ascii_lowercase(), v.to_string()));
        self
    }

    pub fn status(mut self, s: u16) -> Route {
        self.status = s;
        self
    }
}

/// A request the server was sent: method, path, and headers (names lower-case).
#[derive(Clone, Debug)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

pub struct FakeServer {
    pub url: String,
    seen: Arc<Mutex<Vec<Seen>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl FakeServer {
    pub async fn start(routes: Vec<Route>) -> FakeServer {
        FakeServer::start_with_delay(routes, Duration::ZERO).await
    }

    /// Every answer waits `delay` first (a slow or hung metadata service).
    pub async fn start_with_delay(routes: Vec<Route>, delay: Duration) -> FakeServer {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let url = format!("http://{}", listener.local_addr().expect("local addr"));
        let seen = Arc::new(Mutex::new(Vec::new()));
        let routes = Arc::new(routes);
        let seen2 = seen.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((mut sock, _)) = listener.accept().await else {
                    return;
                };
                let routes = routes.clone();
                let seen = seen2.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                        match sock.read(&mut chunk).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => buf.extend_from_slice(&chunk[..n]),
                        }
                    }
                    let head = String::from_utf8_lossy(&buf).into_owned();
                    let mut lines = head.split("\r\n");
                    let mut first = lines.next().unwrap_or("").split_whitespace();
                    let method = first.next().unwrap_or("").to_string();
                    let path = first.next().unwrap_or("").to_string();
                    let headers: Vec<(String, String)> = lines
                        .take_while(|l| !l.is_empty())
                        .filter_map(|l| l.split_once(':'))
                        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                        .collect();
                    seen.lock().unwrap().push(Seen {
                        method: method.clone(),
                        path: path.clone(),
                        headers: headers.clone(),
                    });
                    tokio::time::sleep(delay).await;
                    let (status, extra, body) =
                        match routes.iter().find(|r| r.method == method && r.path == path) {
                            Some(r)
                                if r.require.iter().all(|(k, v)| {
                                    headers.iter().any(|(hk, hv)| hk == k && hv == v)
                                }) =>
                            {
                                (r.status, r.headers.clone(), r.body.clone())
                            }
                            Some(_) => (401, Vec::new(), "missing required header".into()),
                            None => (404, Vec::new(), "not found".into()),
                        };
                    let mut resp = format!(
                        "HTTP/1.1 {status} X\r\nContent-Length: {}\r\nConnection: close\r\n",
                        body.len()
                    );
                    for (k, v) in extra {
                        resp.push_str(&format!("{k}: {v}\r\n"));
                    }
                    resp.push_str("\r\n");
                    resp.push_str(&body);
                    let _ = sock.write_all(resp.as_bytes()).await;
                    let _ = sock.shutdown().await;
                });
            }
        });
        FakeServer { url, seen, task }
    }

    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().unwrap().clone()
    }
}

/// A closed port on 127.0.0.1 (bound, then released): connections are refused.
pub fn closed_port_url() -> String {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let port = l.local_addr().expect("local addr").port();
    drop(l);
    format!("http://127.0.0.1:{port}")
}

/// The documented shape of an EC2 instance identity document.
pub const EC2_IDENTITY: &str = r#"{
  "accountId" : "123456789012",
  "architecture" : "x86_64",
  "availabilityZone" : "us-west-2b",
  "billingProducts" : null,
  "devpayProductCodes" : null,
  "marketplaceProductCodes" : null,
  "imageId" : "ami-5fb8c835",
  "instanceId" : "i-1234567890abcdef0",
  "instanceType" : "t2.micro",
  "kernelId" : null,
  "pendingTime" : "2016-11-19T16:32:11Z",
  "privateIp" : "10.158.112.84",
  "ramdiskId" : null,
  "region" : "us-west-2",
  "version" : "2017-09-30"
}"#;

/// Routes of an IMDSv2 service answering with [`EC2_IDENTITY`].
pub fn ec2_routes() -> Vec<Route> {
    vec![
        Route::put("/latest/api/token", "AQAEAtoken==")
            .require("x-aws-ec2-metadata-token-ttl-seconds", "21600"),
        Route::get("/latest/meta-data/instance-id", "i-1234567890abcdef0")
            .require("x-aws-ec2-metadata-token", "AQAEAtoken=="),
        Route::get("/latest/dynamic/instance-identity/document", EC2_IDENTITY)
            .require("x-aws-ec2-metadata-token", "AQAEAtoken=="),
        Route::get(
            "/latest/meta-data/hostname",
            "ip-10-158-112-84.us-west-2.compute.internal",
        )
        .require("x-aws-ec2-metadata-token", "AQAEAtoken=="),
    ]
}
