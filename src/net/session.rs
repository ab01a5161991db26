//! One connection inside a worker: its socket, where it is in its life
//! (handshake → open → draining), and the bytes it must write.

use std::io;
use std::net::SocketAddr;
use std::time::Instant;

use mio::net::TcpStream;

use super::client::ClientOptions;
use super::close::CloseReason;
use super::handle::ConnId;
use super::http::HttpSession;
use super::transport::{Socket, Transport};
use crate::handshake::ClientRequest;
use crate::protocol::{Config, Connection, RestingConnection, Role};

pub(crate) enum Phase {
    /// HTTP/1.1: requests read and answered (keep-alive, pipelined, held
    /// for later) until one upgrades or the connection ends.
    Http(Box<HttpSession>),
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
    /// The last HTTP response (a rejection, or the answer to a request
    /// that did not keep the connection alive) is being written; the
    /// connection closes after it.
    LastResponse,
    /// Our side is done: write side shut, input read and discarded until the
    /// peer closes or `until` passes.
    Draining { until: Instant },
}

/// HTTP bytes written before any WebSocket frame: responses, or a client's
/// upgrade request.
#[derive(Default)]
pub(crate) struct RawOutput {
    bytes: Vec<u8>,
    written: usize,
}

impl RawOutput {
    fn unwritten(&self) -> usize {
        self.bytes.len() - self.written
    }
}

/// The application's own data for a connection, of any type.
pub(crate) type AppData = Box<dyn std::any::Any>;

/// Kept small: an idle server holds one per connection and little else
/// (what a connection rarely needs is boxed, the peer's address is asked of
/// the socket when wanted).
pub(crate) struct Session<S = TcpStream> {
    pub stream: Transport<S>,
    pub id: ConnId,
    pub phase: Phase,
    /// HTTP output not yet written (boxed: idle connections have none).
    pub raw_out: Option<Box<RawOutput>>,
    /// Output passed the high-water mark: not read until it drains.
    pub backed_up: bool,
    /// Deadline for a client connection's connect and handshake.
    pub handshake_deadline: Instant,
    /// What `on_close` will report: the peer's close, or our error.
    pub close_info: Option<Box<CloseReason>>,
    /// Failed in a way that ends it now (a bad handshake response).
    pub doomed: bool,
    /// Read or written since the last timer sweep; a connection that was
    /// not gives its buffers back (an idle connection holds none).
    pub active: bool,
    pub subprotocol: Option<Box<str>>,
    /// What the application keeps for this connection (`Conn::set_data`);
    /// boxed twice to keep the slot one pointer wide.
    pub data: Option<Box<AppData>>,
}

impl<S: Socket> Session<S> {
    pub fn new(stream: Transport<S>, id: ConnId, phase: Phase, deadline: Instant) -> Self {
        Session {
            stream,
            id,
            phase,
            raw_out: None,
            backed_up: false,
            handshake_deadline: deadline,
            close_info: None,
            doomed: false,
            active: true,
            subprotocol: None,
            data: None,
        }
    }

    /// The peer's address, for logs.
    pub fn peer(&self) -> Option<SocketAddr> {
        self.stream.socket().peer_addr().ok()
    }

    /// Queues HTTP bytes, after any not yet written.
    pub fn queue_raw(&mut self, bytes: &[u8]) {
        self.raw_output().extend_from_slice(bytes);
    }

    /// The HTTP output buffer to append to.
    pub fn raw_output(&mut self) -> &mut Vec<u8> {
        raw_output(&mut self.raw_out)
    }

    /// Sends a final HTTP response (a rejection, a timeout); the
    /// connection closes once it is written.
    pub fn finish_with(&mut self, response: &[u8]) {
        self.queue_raw(response);
        self.phase = Phase::LastResponse;
    }

    /// What `on_close` will report (replacing what was noted before).
    pub fn note_close(&mut self, reason: CloseReason) {
        self.close_info = Some(Box::new(reason));
    }

    /// Like `note_close`, unless something was noted already.
    pub fn note_close_unless_noted(&mut self, reason: CloseReason) {
        if self.close_info.is_none() {
            self.note_close(reason);
        }
    }

    /// The WebSocket connection to act on, woken first if it rests.
    pub fn woken_connection(&mut self, config: &Config) -> Option<&mut Connection> {
        self.wake(config);
        self.connection()
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
    #[inline]
    pub fn wake(&mut self, config: &Config) {
        if matches!(self.phase, Phase::Resting(_)) {
            self.wake_resting(config);
        }
    }

    #[inline(never)]
    fn wake_resting(&mut self, config: &Config) {
        let Phase::Resting(resting) = std::mem::replace(&mut self.phase, Phase::LastResponse)
        else {
            unreachable!("checked by wake")
        };
        let conn = resting.wake(*config, Instant::now());
        self.phase = Phase::Open(Box::new(conn));
        self.active = true;
    }

    /// Puts a server connection with nothing in flight to rest, freeing its
    /// `Connection` and buffers. Client connections stay whole: their
    /// config is their own, not the server's that `wake` uses. Returns
    /// whether it went to rest.
    pub fn rest(&mut self, now: Instant) -> bool {
        let at_rest = match &self.phase {
            Phase::Open(conn) => conn.role() == Role::Server && conn.is_at_rest(),
            _ => false,
        };
        if !at_rest {
            return false;
        }
        let Phase::Open(conn) = std::mem::replace(&mut self.phase, Phase::LastResponse) else {
            unreachable!("checked above")
        };
        let (phase, rested) = match conn.rest(now) {
            Ok(resting) => (Phase::Resting(resting), true),
            Err(conn) => (Phase::Open(conn), false),
        };
        self.phase = phase;
        rested
    }

    /// Frees output storage that holds nothing (an idle connection).
    pub fn release_raw_output(&mut self) {
        if self
            .raw_out
            .as_ref()
            .is_some_and(|out| out.unwritten() == 0)
        {
            self.raw_out = None;
        }
    }

    /// HTTP bytes (a 101, a response) not yet written.
    pub fn raw_unwritten(&self) -> usize {
        self.raw_out.as_ref().map_or(0, |out| out.unwritten())
    }

    /// Unsent output bytes.
    pub fn buffered(&self) -> usize {
        let preamble = self.raw_unwritten();
        match &self.phase {
            Phase::Open(conn) => preamble + conn.buffered_amount(),
            _ => preamble,
        }
    }

    /// Writes pending output until done or the socket would block. One
    /// write carries every frame queued since the last flush (corking).
    /// Returns whether everything was written.
    #[inline]
    pub fn flush(&mut self) -> io::Result<bool> {
        if self.raw_out.is_some() && !self.flush_raw()? {
            return Ok(false);
        }
        if let Phase::Open(conn) = &mut self.phase {
            loop {
                let out = conn.poll_transmit();
                let len = out.len();
                if len == 0 {
                    break;
                }
                match self.stream.transmit(out) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => {
                        conn.advance_transmit(n);
                        if n == len {
                            // All written: nothing was queued meanwhile.
                            break;
                        }
                    }
                    Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
        }
        // TLS records the writes above could not all send yet.
        self.stream.flush_pending()
    }

    /// Writes the raw bytes queued before the frames (an HTTP response, a
    /// handshake). Returns whether all were written; keeps the storage
    /// while the connection is busy (the sweep frees it when idle).
    #[inline(never)]
    fn flush_raw(&mut self) -> io::Result<bool> {
        let Some(out) = &mut self.raw_out else {
            return Ok(true);
        };
        while out.written < out.bytes.len() {
            match self.stream.transmit(&out.bytes[out.written..]) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => out.written += n,
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(false),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        out.bytes.clear();
        out.written = 0;
        Ok(true)
    }

    /// Our side is finished: shut the write side (a FIN after the last
    /// frame) and drain input until the peer closes or `until`.
    pub fn start_draining(&mut self, until: Instant) {
        self.stream.send_close();
        let _ = self.stream.socket().shutdown_write();
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

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    /// An idle server holds one `Session` per connection and little else.
    #[test]
    fn a_session_stays_within_144_bytes() {
        assert!(
            std::mem::size_of::<super::Session>() <= 144,
            "{}",
            std::mem::size_of::<super::Session>()
        );
    }
}

/// The output buffer in `slot`, made when there is none.
pub(crate) fn raw_output(slot: &mut Option<Box<RawOutput>>) -> &mut Vec<u8> {
    &mut slot.get_or_insert_with(Box::default).bytes
}
