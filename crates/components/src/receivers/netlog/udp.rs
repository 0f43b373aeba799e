//! The UDP side: `async.readers` tasks share the socket; each takes the datagrams waiting
//! (up to a batch) and delivers them before reading on.

use std::net::SocketAddr;
use std::sync::Arc;

use stanza::input::{MAX_UDP_SIZE, Transport, UdpInput, add_net_attributes};
use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use super::{BATCH, Shared};
use crate::receivers::filelog::reader::now_nanos;

pub(super) async fn serve(
    socket: Arc<UdpSocket>,
    input: Arc<UdpInput>,
    shared: Arc<Shared>,
    stop: CancellationToken,
) {
    let local = socket.local_addr().ok();
    let mut buf = vec![0u8; MAX_UDP_SIZE];
    loop {
        let first = tokio::select! {
            _ = stop.cancelled() => return,
            r = socket.recv_from(&mut buf) => r,
        };
        let mut entries = Vec::new();
        let mut next = Some(first);
        while let Some(r) = next.take() {
            match r {
                Ok((n, peer)) => datagram(&buf[..n], peer, local, &input, &shared, &mut entries),
                Err(e) => tracing::error!(error = %e, "Failed reading messages"),
            }
            if entries.len() < BATCH {
                next = match socket.try_recv_from(&mut buf) {
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => None,
                    r => Some(r),
                };
            }
        }
        shared.handle(entries).await;
    }
}

fn datagram(
    data: &[u8],
    peer: SocketAddr,
    local: Option<SocketAddr>,
    input: &UdpInput,
    shared: &Shared,
    entries: &mut Vec<stanza::Entry>,
) {
    let observed = now_nanos();
    input.tokens(data, |body| {
        let mut e = shared.entry(body, observed);
        if let (Some(r), Some(local)) = (&shared.resolver, local) {
            add_net_attributes(&mut e, Transport::Udp, peer, local, r);
        }
        entries.push(e);
    });
}
