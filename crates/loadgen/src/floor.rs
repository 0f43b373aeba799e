//! The floor: the least work any collector must do for the same bytes. It receives an export
//! (tonic reads the frame and decompresses it; OTLP/HTTP bodies are decompressed the same way),
//! does not decode the protobuf, gzip-compresses the bytes, forwards them to the next hop over
//! gRPC and answers OK once that hop acknowledged.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use pdata::Signal;

use crate::client::{self, GrpcConn, Outcome};
use crate::compress::{Compression, Compressor};
use crate::server::{Backend, BoxFuture, Refusal};

pub struct Floor {
    target: SocketAddr,
    conns: Vec<Mutex<Option<GrpcConn>>>,
    next: AtomicUsize,
    /// The collector's compression code, whose state is per thread (see `compression`).
    compressor: Compressor,
    timeout: Duration,
    forwarded_requests: AtomicU64,
    failed_requests: AtomicU64,
}

impl Floor {
    pub fn new(
        target: SocketAddr,
        connections: usize,
        compression: Compression,
        level: Option<i32>,
        timeout: Duration,
    ) -> anyhow::Result<Floor> {
        Ok(Floor {
            target,
            conns: (0..connections.max(1)).map(|_| Mutex::new(None)).collect(),
            next: AtomicUsize::new(0),
            compressor: Compressor::new(compression, level)?,
            timeout,
            forwarded_requests: AtomicU64::new(0),
            failed_requests: AtomicU64::new(0),
        })
    }

    async fn conn(&self) -> anyhow::Result<GrpcConn> {
        let slot = &self.conns[self.next.fetch_add(1, Ordering::Relaxed) % self.conns.len()];
        if let Some(c) = slot
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_ref()
            .filter(|c| !c.is_closed())
        {
            return Ok(c.clone());
        }
        let c = GrpcConn::connect(self.target).await?;
        *slot.lock().unwrap_or_else(|p| p.into_inner()) = Some(c.clone());
        Ok(c)
    }

    async fn forward(self: Arc<Self>, signal: Signal, body: Bytes) -> Result<(), Refusal> {
        let mut frame = Vec::with_capacity(body.len() / 3 + 64);
        let compression = self.compressor.kind();
        client::begin_frame(&mut frame, compression != Compression::None);
        self.compressor
            .compress_append(&body, &mut frame)
            .map_err(|e| Refusal::unavailable(format!("floor: compressing: {e}")))?;
        drop(body);
        client::finish_frame(&mut frame);
        let conn = self
            .conn()
            .await
            .map_err(|e| Refusal::unavailable(format!("floor: connecting: {e}")))?;
        match conn
            .call(
                client::grpc_path(signal),
                Bytes::from(frame),
                compression.encoding(),
                self.timeout,
            )
            .await
        {
            Outcome::Ok => {
                self.forwarded_requests.fetch_add(1, Ordering::Relaxed);
                Ok(())
            }
            Outcome::Refused(s) | Outcome::Error(s) => {
                self.failed_requests.fetch_add(1, Ordering::Relaxed);
                Err(Refusal::unavailable(format!("floor: next hop: {s}")))
            }
        }
    }
}

impl Backend for Floor {
    fn export(self: Arc<Self>, signal: Signal, body: Bytes) -> BoxFuture<Result<(), Refusal>> {
        Box::pin(self.forward(signal, body))
    }

    fn stats(&self) -> serde_json::Value {
        serde_json::json!({
            "forwarded_requests": self.forwarded_requests.load(Ordering::Relaxed),
            "failed_requests": self.failed_requests.load(Ordering::Relaxed),
        })
    }
}
