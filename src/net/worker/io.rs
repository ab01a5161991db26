//! Reading and writing one connection until it would block.
//!
//! Edge-triggered: a readable edge is read until `WouldBlock`. Reading
//! stops while unsent output is past the high-water mark, and goes on as
//! soon as a flush makes room again, since input that waited will not
//! announce itself with a new edge. That loop is [`Worker::drive`]'s; no
//! step calls back into another.

use std::io;
use std::time::Instant;

use super::dispatch::{frame_bytes, response_bytes};
use super::{Outcome, Worker};
use crate::net::close::{CloseReason, Deadline};
use crate::net::handler::{Conn, Handler};
use crate::net::http as http_phase;
use crate::net::http::HttpContext;
use crate::net::session::{Phase, Session};

/// Why reading stopped, when the connection goes on.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadStop {
    /// Nothing more to read now (or reading is paused).
    Drained,
    /// Output passed the high-water mark with input possibly left.
    OutputFull,
}

/// What a write left.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Written {
    /// Written (or waiting for the socket), nothing else to do.
    Done,
    /// Output that had backed up drained: input that waited must be read.
    RoomAgain,
    End,
}

impl<H: Handler> Worker<H> {
    /// Reads (when `read` is `Some(exhaust)`: until `WouldBlock` even after a
    /// short read, when `exhaust`), answers and writes, until the connection
    /// would block either way.
    pub(super) fn drive(&mut self, key: usize, read: Option<bool>) -> Outcome {
        let mut read = read;
        loop {
            let stop = match read {
                Some(exhaust) => match self.read(key, exhaust) {
                    Ok(stop) => stop,
                    Err(end) => return end,
                },
                None => ReadStop::Drained,
            };
            match self.write(key) {
                Written::End => return Outcome::End,
                Written::RoomAgain => {
                    read = Some(true);
                    continue;
                }
                Written::Done => {}
            }
            // Reading goes on only if it stopped for output that has
            // since been written.
            if stop != ReadStop::OutputFull {
                return Outcome::Keep;
            }
            let Some(session) = self.sessions.get(key) else {
                return Outcome::Keep;
            };
            if session.backed_up || session.buffered() > self.config.high_water {
                return Outcome::Keep;
            }
        }
    }

    /// Reads and handles input until the socket is drained, reading pauses,
    /// or output passes the high-water mark. `Err` ends the connection.
    ///
    /// The session is looked up once per read and handed on, not looked up
    /// again by each step: nothing a handler is given can remove it.
    fn read(&mut self, key: usize, exhaust: bool) -> Result<ReadStop, Outcome> {
        let (sessions, recv_buf, mut cx) = self.parts();
        let Some(session) = sessions.get_mut(key) else {
            return Ok(ReadStop::Drained);
        };
        loop {
            if let Phase::Draining { .. } = session.phase {
                if session.drain_input(recv_buf) {
                    return Err(Outcome::End);
                }
                return Ok(ReadStop::Drained);
            }
            let paused = match &session.phase {
                Phase::LastResponse => true,
                Phase::Http(http) => http.input_paused(cx.config),
                _ => false,
            };
            if session.backed_up || paused {
                return Ok(ReadStop::Drained);
            }
            if session.connection().is_some_and(|c| c.is_finished()) {
                return Ok(ReadStop::Drained);
            }
            match session.stream.receive(recv_buf) {
                Ok(0) => return Err(peer_closed(session)),
                Ok(n) => {
                    session.active = true;
                    process(session, &mut recv_buf[..n], &mut cx);
                    if session.doomed {
                        return Err(Outcome::End);
                    }
                    if session.buffered() > cx.config.high_water {
                        return Ok(ReadStop::OutputFull);
                    }
                    // A short read drained the socket: the next edge will
                    // announce more, so no read that only says WouldBlock.
                    if n < recv_buf.len() && !exhaust {
                        return Ok(ReadStop::Drained);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadStop::Drained),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(read_failed(session, e)),
            }
        }
    }

    /// Flushes, applies backpressure, and moves a finished connection to
    /// draining.
    fn write(&mut self, key: usize) -> Written {
        let Some(session) = self.sessions.get_mut(key) else {
            return Written::Done;
        };
        match &session.phase {
            Phase::Draining { .. } => return Written::Done,
            Phase::Connecting { connected, .. } if !*connected => {
                if let Some(written) = check_connected(session) {
                    return written;
                }
            }
            _ => {}
        }
        let all_written = match session.flush() {
            Ok(done) => done,
            Err(e) => return write_failed(session, e),
        };
        let finished = match &session.phase {
            Phase::LastResponse => all_written,
            Phase::Open(conn) => conn.is_finished(),
            _ => false,
        };
        if finished {
            return self.finish(key);
        }
        let buffered = session.buffered();
        if buffered > self.config.max_buffered {
            return slow_consumer(session, buffered);
        }
        if buffered > self.config.high_water {
            session.backed_up = true;
        } else if session.backed_up && buffered <= self.config.high_water / 2 {
            session.backed_up = false;
            self.call_on_drain(key);
            return Written::RoomAgain;
        }
        Written::Done
    }

    /// Our side of the connection is done: the handler hears of its end
    /// now (not after the linger), and it drains the peer's input.
    #[inline(never)]
    fn finish(&mut self, key: usize) -> Written {
        let Some(session) = self.sessions.get_mut(key) else {
            return Written::Done;
        };
        if let Phase::Open(conn) = &session.phase {
            if session.close_info.is_none() {
                session.note_close(match conn.failure() {
                    Some(error) => CloseReason::of_error(error),
                    None if conn.timed_out() => CloseReason::Timeout(Deadline::CloseHandshake),
                    None => CloseReason::Vanished,
                });
            }
        }
        self.notify_closed(key);
        let until = Instant::now() + self.config.linger;
        let Some(session) = self.sessions.get_mut(key) else {
            return Written::Done;
        };
        session.start_draining(until);
        if session.drain_input(&mut self.recv_buf) {
            Written::End
        } else {
            Written::Done
        }
    }

    #[inline(never)]
    fn call_on_drain(&mut self, key: usize) {
        let Worker {
            sessions,
            handler,
            handle,
            topics,
            ..
        } = self;
        let Some(session) = sessions.get_mut(key) else {
            return;
        };
        let id = session.id;
        let subprotocol = session.subprotocol.as_deref();
        if let Phase::Open(conn) = &mut session.phase {
            let mut c = Conn {
                id,
                tx: conn.sender(),
                stream: &mut session.stream,
                handle,
                subprotocol,
                data: &mut session.data,
                topics,
            };
            handler.on_drain(&mut c);
        }
    }
}

/// The peer closed its side. A half-closed peer still reads: it is given
/// what it is owed (best effort) before the connection ends.
#[cold]
#[inline(never)]
fn peer_closed(session: &mut Session) -> Outcome {
    let _ = session.flush();
    session.note_close_unless_noted(CloseReason::Vanished);
    Outcome::End
}

/// A client connection's socket became writable while connecting: a
/// non-blocking connect is done then, with a peer address or a pending
/// error. `None` when it connected and goes on to write.
#[cold]
#[inline(never)]
fn check_connected(session: &mut Session) -> Option<Written> {
    let socket = session.stream.socket();
    let outcome = match (socket.take_error(), socket.peer_addr()) {
        (Ok(None), Ok(_)) => None,
        (Ok(None), Err(e)) if e.kind() == io::ErrorKind::NotConnected => Some(Written::Done),
        (Ok(Some(e)) | Err(e), _) | (_, Err(e)) => {
            session.note_close(CloseReason::Io {
                during: "connect",
                error: e.to_string(),
            });
            Some(Written::End)
        }
    };
    if outcome.is_none() {
        if let Phase::Connecting { connected, .. } = &mut session.phase {
            *connected = true;
        }
    }
    outcome
}

/// Output passed the most a connection may hold unsent: the peer does not
/// read, and is let go.
#[cold]
#[inline(never)]
fn slow_consumer(session: &mut Session, buffered: usize) -> Written {
    log::warn!(
        "{}: slow consumer with {buffered} bytes unsent: disconnecting",
        session.id
    );
    session.note_close(CloseReason::SlowConsumer);
    Written::End
}

/// Reading failed: the connection ends, with the error as its reason.
#[cold]
#[inline(never)]
fn read_failed(session: &mut Session, e: io::Error) -> Outcome {
    log::debug!("{} read: {e}", session.id);
    #[cfg(feature = "tls")]
    if crate::net::tls::is_not_tls(&e) {
        // Plain HTTP on the TLS port: say so, as nginx does.
        use std::io::Write as _;
        let _ = session
            .stream
            .socket_mut()
            .write(crate::net::tls::PLAIN_HTTP_RESPONSE);
    }
    session.note_close_unless_noted(match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted => CloseReason::Vanished,
        _ => CloseReason::Io {
            during: "read",
            error: e.to_string(),
        },
    });
    Outcome::End
}

/// Writing failed: the connection ends, with the error as its reason.
#[cold]
#[inline(never)]
fn write_failed(session: &mut Session, e: io::Error) -> Written {
    log::debug!("{} write: {e}", session.id);
    session.note_close_unless_noted(match e.kind() {
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe => CloseReason::Vanished,
        _ => CloseReason::Io {
            during: "write",
            error: e.to_string(),
        },
    });
    Written::End
}

/// Handles fresh bytes, as the connection's phase reads them.
#[inline]
fn process<H: Handler>(session: &mut Session, input: &mut [u8], cx: &mut HttpContext<'_, H>) {
    session.wake(&cx.config.protocol);
    match &mut session.phase {
        Phase::Http(_) => http_phase::http_bytes(session, input, cx),
        Phase::Connecting { .. } => {
            response_bytes(session, input, cx.handler, cx.handle, cx.topics)
        }
        Phase::Open(_) => frame_bytes(session, input, cx.handler, cx.handle, cx.topics),
        Phase::Resting(_) | Phase::LastResponse | Phase::Draining { .. } => {}
    }
}
