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
use crate::net::config::ServerConfig;
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
    /// Our side is done with everything written: the connection drains.
    Finished,
    End,
}

impl<H: Handler> Worker<H> {
    /// Reads (when `read` is `Some(exhaust)`: until `WouldBlock` even after a
    /// short read, when `exhaust`), answers and writes, until the connection
    /// would block either way.
    ///
    /// The session is looked up once per round and handed to each step:
    /// nothing a handler is given can remove it. Only the rare steps that
    /// call the handler with the whole worker (the connection's end, its
    /// output draining) look it up again.
    pub(super) fn drive(&mut self, key: usize, read: Option<bool>) -> Outcome {
        let mut read = read;
        loop {
            let (sessions, recv_buf, mut cx) = self.parts();
            let Some(session) = sessions.get_mut(key) else {
                return Outcome::Keep;
            };
            let stop = match read {
                Some(exhaust) => match read_input(session, recv_buf, &mut cx, exhaust) {
                    Ok(stop) => stop,
                    Err(end) => return end,
                },
                None => ReadStop::Drained,
            };
            match write_output(session, cx.config) {
                Written::Done => {}
                Written::End => return Outcome::End,
                Written::Finished => return self.finish(key),
                Written::RoomAgain => {
                    self.call_on_drain(key);
                    read = Some(true);
                    continue;
                }
            }
            // Reading goes on only if it stopped for output that has
            // since been written.
            if stop != ReadStop::OutputFull
                || session.backed_up
                || session.buffered() > self.config.high_water
            {
                return Outcome::Keep;
            }
        }
    }

    /// Our side of the connection is done: the handler hears of its end
    /// now (not after the linger), and it drains the peer's input.
    #[inline(never)]
    fn finish(&mut self, key: usize) -> Outcome {
        let Some(session) = self.sessions.get_mut(key) else {
            return Outcome::Keep;
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
            return Outcome::Keep;
        };
        session.start_draining(until);
        if session.drain_input(&mut self.recv_buf) {
            Outcome::End
        } else {
            Outcome::Keep
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

/// Reads and handles input until the socket is drained, reading pauses,
/// or output passes the high-water mark. `Err` ends the connection.
#[inline(always)]
fn read_input<H: Handler>(
    session: &mut Session,
    recv_buf: &mut [u8],
    cx: &mut HttpContext<'_, H>,
    exhaust: bool,
) -> Result<ReadStop, Outcome> {
    loop {
        let readable = match &session.phase {
            Phase::Open(conn) => !conn.is_finished(),
            Phase::Http(http) => !http.input_paused(cx.config),
            Phase::Connecting { .. } | Phase::Resting(_) => true,
            Phase::LastResponse => false,
            Phase::Draining { .. } => {
                return if session.drain_input(recv_buf) {
                    Err(Outcome::End)
                } else {
                    Ok(ReadStop::Drained)
                };
            }
        };
        if !readable || session.backed_up {
            return Ok(ReadStop::Drained);
        }
        match session.stream.receive(recv_buf) {
            Ok(0) => return Err(peer_closed(session)),
            Ok(n) => {
                session.active = true;
                process(session, &mut recv_buf[..n], cx);
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

/// Flushes, and says what the connection needs next: backpressure
/// applied or released, or its end.
#[inline(always)]
fn write_output(session: &mut Session, config: &ServerConfig) -> Written {
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
        return Written::Finished;
    }
    if all_written && !session.backed_up {
        return Written::Done;
    }
    backpressure(session, config)
}

/// Output is left unsent (or was, last time): reading stops past the
/// high-water mark and goes on below half of it; a peer that lets output
/// pile up past `max_buffered` is let go.
#[inline(never)]
fn backpressure(session: &mut Session, config: &ServerConfig) -> Written {
    let buffered = session.buffered();
    if buffered > config.max_buffered {
        return slow_consumer(session, buffered);
    }
    if buffered > config.high_water {
        session.backed_up = true;
    } else if session.backed_up && buffered <= config.high_water / 2 {
        session.backed_up = false;
        return Written::RoomAgain;
    }
    Written::Done
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
    #[cfg(feature = "tls")]
    if crate::net::tls::is_not_tls(&e) {
        // Plain HTTP on the TLS port: say so, as nginx does.
        use std::io::Write as _;
        let _ = session
            .stream
            .socket_mut()
            .write(crate::net::tls::PLAIN_HTTP_RESPONSE);
    }
    note_io_failure(session, "read", e);
    Outcome::End
}

/// Writing failed: the connection ends, with the error as its reason.
#[cold]
#[inline(never)]
fn write_failed(session: &mut Session, e: io::Error) -> Written {
    note_io_failure(session, "write", e);
    Written::End
}

/// Notes why a read or write ended the connection: a peer that reset or
/// went away vanished; anything else is an I/O error, named.
fn note_io_failure(session: &mut Session, during: &'static str, e: io::Error) {
    log::debug!("{} {during}: {e}", session.id);
    session.note_close_unless_noted(match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => CloseReason::Vanished,
        _ => CloseReason::Io {
            during,
            error: e.to_string(),
        },
    });
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
