//! One connection inside a worker: its socket, where it is in its life
//! (handshake → open → draining), and the bytes it must write.

use std::io::{self, Write};
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;

use super::client::ClientOptions;
use super::handle::ConnId;
use super::transport::Transport;
use crate::frame::CloseCode;
use crate::handshake::ClientRequest;
use crate::protocol::{Config, Connection, RestingConnection, Role};

pub(crate) enum Phase {
    /// Reading the upgrade request; `head` holds it while it is partial.
    Handshake { head: Vec<u8> },
    /// A client connection: TCP connecting (until `connected`), the request
    /// written from `preamble`, the response read into `head`.
    Connecting {
        request: Box<ClientRequest>,
        options: Box<ClientOptions>,
        head: Vec<u8>,
        connected: bool,
    },
    /// The WebSocket connection.
    Open(Box<Connection>),
    /// The WebSocket connection, idle for a whole timer tick with nothing in
    /// flight: kept in a few dozen bytes until input or a send wakes it.
    Resting(RestingConnection),
    /// An HTTP response (a page or a rejection) is being written; the
    /// connection closes after it.
    Http,
    /// Our side is done: write side shut, input read and discarded until the
    /// peer closes or `until` passes.
    Draining { until: Instant },
}

pub(crate) struct Session {
    pub stream: Transport<TcpStream>,
    pub peer: SocketAddr,
    pub id: ConnId,
    pub phase: Phase,
    /// An HTTP response, written before anything else.
    pub preamble: Vec<u8>,
    pub preamble_written: usize,
    /// Output passed the high-water mark: not read until it drains.
    pub backed_up: bool,
    /// Deadline for the upgrade request.
    pub handshake_deadline: Instant,
    /// What `on_close` will report: the peer's close, or our error.
    pub close_info: Option<(CloseCode, String)>,
    /// Failed in a way that ends it now (a bad handshake response).
    pub doomed: bool,
    /// Read or written since the last timer sweep; a connection that was
    /// not gives its buffers back (an idle connection holds none).
    pub active: bool,
    pub subprotocol: Option<Box<str>>,
}

impl Session {
    pub fn new(
        stream: Transport<TcpStream>,
        peer: SocketAddr,
        id: ConnId,
        deadline: Instant,
    ) -> Self {
        Session {
            stream,
            peer,
            id,
            phase: Phase::Handshake { head: Vec::new() },
            preamble: Vec::new(),
            preamble_written: 0,
            backed_up: false,
            handshake_deadline: deadline,
            close_info: None,
            doomed: false,
            active: true,
            subprotocol: None,
        }
    }

    pub fn connection(&mut self) -> Option<&mut Connection> {
        match &mut self.phase {
            Phase::Open(conn) => Some(conn),
            _ => None,
        }
    }

    pub fn is_open(&self) -> bool {
        matches!(self.phase, Phase::Open(_) | Phase::Resting(_))
    }

    /// Whether the application knows of this connection (so `on_close` is
    /// owed): open, or a client connection it asked for.
    pub fn is_known_to_handler(&self) -> bool {
        matches!(
            self.phase,
            Phase::Open(_) | Phase::Resting(_) | Phase::Connecting { .. }
        )
    }

    /// A resting connection becomes a whole one again (with `config`, the
    /// server's: only server connections rest) and counts as active, so it
    /// is not put back to rest before a whole tick has passed.
    pub fn wake(&mut self, config: &Config) {
        if !matches!(self.phase, Phase::Resting(_)) {
            return;
        }
        let Phase::Resting(resting) = std::mem::replace(&mut self.phase, Phase::Http) else {
            unreachable!("checked above")
        };
        let conn = resting.wake(config.clone(), Instant::now());
        self.phase = Phase::Open(Box::new(conn));
        self.active = true;
    }

    /// Puts a server connection with nothing in flight to rest, freeing its
    /// `Connection` and buffers. Client connections stay whole: their
    /// config is their own, not the server's that `wake` uses.
    pub fn rest(&mut self, now: Instant) {
        let at_rest = match &self.phase {
            Phase::Open(conn) => conn.role() == Role::Server && conn.is_at_rest(),
            _ => false,
        };
        if !at_rest {
            return;
        }
        let Phase::Open(conn) = std::mem::replace(&mut self.phase, Phase::Http) else {
            unreachable!("checked above")
        };
        self.phase = match conn.rest(now) {
            Ok(resting) => Phase::Resting(resting),
            Err(conn) => Phase::Open(conn),
        };
    }

    /// Unsent output bytes.
    pub fn buffered(&self) -> usize {
        let preamble = self.preamble.len() - self.preamble_written;
        match &self.phase {
            Phase::Open(conn) => preamble + conn.buffered_amount(),
            _ => preamble,
        }
    }

    /// Writes pending output until done or the socket would block. One
    /// write carries every frame queued since the last flush (corking).
    /// Returns whether everything was written.
    pub fn flush(&mut self) -> io::Result<bool> {
        while self.preamble_written < self.preamble.len() {
            match self.stream.write(&self.preamble[self.preamble_written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => self.preamble_written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if self.preamble_written > 0 {
            self.preamble = Vec::new();
            self.preamble_written = 0;
        }
        if let Phase::Open(conn) = &mut self.phase {
            loop {
                let out = conn.poll_transmit();
                if out.is_empty() {
                    break;
                }
                match self.stream.write(out) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => conn.advance_transmit(n),
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // TLS records the writes above could not all send yet.
        self.stream.flush_pending()
    }

    /// Our side is finished: shut the write side (a FIN after the last
    /// frame) and drain input until the peer closes or `until`.
    pub fn start_draining(&mut self, until: Instant) {
        self.stream.send_close();
        let _ = self.stream.socket().shutdown(std::net::Shutdown::Write);
        self.phase = Phase::Draining { until };
    }

    /// Reads and discards input; true when the peer has closed.
    pub fn drain_input(&mut self, scratch: &mut [u8]) -> bool {
        loop {
            match self.stream.discard_input(scratch) {
                Ok(0) => return true,
                Ok(_) => {}
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return true,
            }
        }
    }
}
