//! The TCP side: one task accepts, one task per connection reads, frames and delivers.

use std::sync::Arc;
use std::time::Duration;

use stanza::input::{TcpInput, Transport, add_net_attributes};
use std::net::SocketAddr;

use crate::util::tls::ServerTls as TlsAcceptor;
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::{BATCH, Shared};
use crate::receivers::filelog::reader::now_nanos;
use crate::util::tls::TlsServerConfig;

/// Bytes asked of the socket per read (besides what a partial entry already holds).
const READ_CHUNK: usize = 64 * 1024;

/// The `tls` block of a TCP input, decoded and checked as Go's `configtls.ServerConfig`.
pub(crate) fn tls_config(input: &TcpInput) -> Result<Option<TlsServerConfig>, String> {
    let Some(value) = &input.tls else {
        return Ok(None);
    };
    let cfg: TlsServerConfig =
        serde_json::from_value(value.clone()).map_err(|e| format!("tls: {e}"))?;
    cfg.validate().map_err(|e| format!("tls: {e}"))?;
    Ok(Some(cfg))
}

pub(super) async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    input: Arc<TcpInput>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let mut conns = JoinSet::new();
    // Go backs off up to 3 s between failed accepts (out of file descriptors, ...).
    let mut backoff = Duration::from_millis(5);
    loop {
        let accepted = tokio::select! {
            _ = stop.cancelled() => break,
            a = listener.accept() => a,
            // reap finished connections so the set does not grow
            Some(_) = conns.join_next(), if !conns.is_empty() => continue,
        };
        match accepted {
            Ok((sock, peer)) => {
                backoff = Duration::from_millis(5);
                tracing::debug!(address = %peer, "Received connection");
                let (input, shared, stop) = (input.clone(), shared.clone(), stop.clone());
                let tls = tls.clone();
                conns.spawn(async move {
                    let _ = sock.set_nodelay(true);
                    let (peer, local) = match (sock.peer_addr(), sock.local_addr()) {
                        (Ok(p), Ok(l)) => (p, l),
                        _ => return,
                    };
                    match tls {
                        None => tokio::select! {
                            _ = stop.cancelled() => {}
                            _ = connection(sock, peer, local, &input, &shared) => {}
                        },
                        Some(acceptor) => {
                            let stream = tokio::select! {
                                _ = stop.cancelled() => return,
                                s = acceptor.accept(sock, "TCP log", peer) => s,
                            };
                            if let Some(stream) = stream {
                                tokio::select! {
                                    _ = stop.cancelled() => {}
                                    _ = connection(stream, peer, local, &input, &shared) => {}
                                }
                            }
                        }
                    }
                    tracing::debug!(address = %peer, "Closing connection");
                });
            }
            Err(e) => {
                tracing::debug!(error = %e, "Listener accept error");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(3));
            }
        }
    }
    conns.shutdown().await;
}

async fn connection<S: AsyncRead + Unpin>(
    mut sock: S,
    peer: SocketAddr,
    local: SocketAddr,
    input: &TcpInput,
    shared: &Shared,
) {
    let entry = |body: String| {
        let mut e = shared.entry(body, now_nanos());
        if let Some(r) = &shared.resolver {
            add_net_attributes(&mut e, Transport::Tcp, peer, local, r);
        }
        e
    };
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    if input.one_log_per_packet {
        // Go reads to the end of the stream and makes one entry of it, cut at
        // max_log_size; here what is past max_log_size is read and dropped, not kept.
        let mut chunk = vec![0u8; READ_CHUNK];
        loop {
            match sock.read(&mut chunk).await {
                Ok(0) => break,
                Ok(n) => {
                    let room = input.max_log_size.saturating_sub(buf.len());
                    buf.extend_from_slice(&chunk[..n.min(room)]);
                }
                Err(e) => {
                    tracing::error!(error = %e, "IO copy net connection buffer error");
                    break;
                }
            }
        }
        // A connection that sent nothing (a port probe) makes no entry; Go makes an empty one.
        if !buf.is_empty() {
            let body = input.decode(input.whole_stream(&buf));
            shared.handle(vec![entry(body)]).await;
        }
        return;
    }
    let mut framer = input.framer();
    loop {
        buf.reserve(READ_CHUNK);
        let eof = match sock.read_buf(&mut buf).await {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) => {
                tracing::error!(error = %e, "Scanner error");
                true
            }
        };
        let mut at = 0;
        let mut entries = Vec::new();
        while at < buf.len() {
            let Some(found) = framer.next(&buf[at..], eof) else {
                break;
            };
            if !found.dropped {
                let body = input.decode(&buf[at..][found.range.clone()]);
                entries.push(entry(body));
                if entries.len() >= BATCH {
                    shared.handle(std::mem::take(&mut entries)).await;
                }
            }
            if found.advance == 0 {
                break;
            }
            at += found.advance;
        }
        buf.drain(..at);
        shared.handle(entries).await;
        if eof {
            return;
        }
    }
}
