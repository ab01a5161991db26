//! New connections: accepted from the listener, or adopted from an
//! embedder that accepted them itself.

use std::io;
use std::time::Instant;

use mio::net::TcpStream;
use mio::{Interest, Token};

use super::dispatch::frame_bytes;
use super::Worker;
use crate::net::handle::ConnId;
use crate::net::handler::Handler;
use crate::net::http::{self as http_phase, HttpSession};
use crate::net::session::{Phase, Session};
use crate::net::transport::Transport;
use crate::protocol::{Connection, Role};

/// Connections accepted before the loop looks at its other events.
const ACCEPT_BATCH: usize = 128;

impl<H: Handler> Worker<H> {
    /// Accepts every waiting connection. When the process is out of file
    /// descriptors (or the kernel out of memory), the rest stay in the
    /// backlog and the listener's edge will not come again for them: the
    /// worker marks accepting as stalled and retries when a connection of
    /// its own ends, or at the next tick.
    ///
    /// At most [`ACCEPT_BATCH`] at a time: then the loop polls (without
    /// waiting) before it takes more, so connections that are already over
    /// (a storm of connect-and-reset) end and give their slots and memory
    /// to the next ones, instead of a whole backlog's worth piling up first.
    pub(super) fn accept_all(&mut self) {
        for _ in 0..ACCEPT_BATCH {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    self.accept_stalled = false;
                    let accepted = match self.server_transport(stream) {
                        Ok(transport) => self.insert(transport, peer),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = accepted {
                        log::warn!("registering {peer}: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.accept_stalled = false;
                    return;
                }
                // One connection went wrong before it was taken; the next
                // may be fine.
                Err(e) if per_connection(&e) => {}
                Err(e) => {
                    if !self.accept_stalled {
                        log::warn!("accept: {e}; retrying as connections end");
                    }
                    self.accept_stalled = true;
                    return;
                }
            }
        }
        self.accept_more = true;
    }

    /// An accepted socket, with TLS when the server has it.
    fn server_transport(&self, stream: TcpStream) -> io::Result<Transport<TcpStream>> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.config.tls {
            let stream = crate::net::tls::TlsStream::server(stream, tls.clone())?;
            return Ok(Transport::Tls(Box::new(stream)));
        }
        Ok(Transport::Plain(stream))
    }

    pub(super) fn insert(
        &mut self,
        mut stream: Transport<TcpStream>,
        peer: std::net::SocketAddr,
    ) -> io::Result<usize> {
        stream.socket().set_nodelay(true)?;
        let entry = self.sessions.vacant_entry();
        let key = entry.key();
        self.generation = self.generation.wrapping_add(1);
        let id = ConnId::new(self.index, self.generation, key);
        self.poll.registry().register(
            stream.socket_mut(),
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let now = Instant::now();
        let phase = Phase::Http(Box::new(HttpSession::new(&self.config, now)));
        entry.insert(Session::new(
            stream,
            id,
            phase,
            now + self.config.handshake_timeout,
        ));
        log::debug!("{id} accepted from {peer}");
        Ok(key)
    }

    pub(super) fn adopt(&mut self, stream: std::net::TcpStream, mut read: Vec<u8>, upgraded: bool) {
        let peer = match stream.peer_addr() {
            Ok(peer) => peer,
            Err(e) => {
                log::warn!("adopting a stream: {e}");
                return;
            }
        };
        if let Err(e) = stream.set_nonblocking(true) {
            log::warn!("adopting {peer}: {e}");
            return;
        }
        let key = match self.insert(Transport::Plain(TcpStream::from_std(stream)), peer) {
            Ok(key) => key,
            Err(e) => {
                log::warn!("adopting {peer}: {e}");
                return;
            }
        };
        let (sessions, _, mut cx) = self.parts();
        let session = &mut sessions[key];
        if upgraded {
            let conn = Connection::new(Role::Server, cx.config.protocol, Instant::now());
            session.phase = Phase::Open(Box::new(conn));
            if !read.is_empty() {
                frame_bytes(session, &mut read, cx.handler, cx.handle, cx.topics);
            }
        } else if !read.is_empty() {
            http_phase::http_bytes(session, &mut read, &mut cx);
        }
        // Bytes may have arrived before registration; read them now.
        self.resume(key);
    }
}

/// Errors that concern one waiting connection, not the listener: accept
/// goes on with the next.
fn per_connection(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::Interrupted
            | io::ErrorKind::ConnectionAborted
            | io::ErrorKind::ConnectionReset
    )
}
