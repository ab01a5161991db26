//! [`WebSocketStream`]: the sans-IO [`Connection`] driven over any tokio
//! byte stream.

use std::future::{poll_fn, Future};
use std::io::{self, IoSlice};
use std::ops::Range;
use std::pin::Pin;
use std::task::{ready, Context, Poll};
use std::time::Instant;

use ::tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use ::tokio::time::Sleep;

use super::Error;
use crate::frame::CloseCode;
use crate::protocol::{Connection, Event, OwnedEvent, Role, Sender, State};

/// Bytes read from the transport per read: a whole burst of small frames,
/// or a good piece of a large one, without a large idle footprint.
const READ_BUFFER: usize = 16 << 10;

/// Output queued past this many bytes makes [`futures_sink::Sink::poll_ready`]
/// write before it takes another message, so a peer that does not read
/// cannot make the buffer grow without bound through the `Sink`.
const HIGH_WATER: usize = 256 << 10;

/// A WebSocket connection over a tokio byte stream `S` (a `TcpStream`, a TLS
/// stream, a duplex pipe, an upgraded hyper connection...).
///
/// * **Receiving:** [`next_event_with`](Self::next_event_with) hands each
///   event to a closure while it still borrows the read buffer (no copy, no
///   allocation); [`recv`](Self::recv) and the [`Stream`](futures_core::Stream)
///   implementation give owned [`OwnedEvent`]s.
/// * **Sending:** [`send_text`](Self::send_text), [`send_binary`](Self::send_binary),
///   [`ping`](Self::ping) and [`close`](Self::close) queue a frame and write
///   it; the [`Sink`](futures_sink::Sink) implementation takes [`OwnedEvent`]s.
/// * **Time:** keepalive pings, the idle timeout and the close deadline of
///   the connection's [`Config`](crate::protocol::Config) run on tokio's
///   timer while the stream is being read.
/// * **Cancel safety:** every method may be dropped at any `.await` and
///   called again: bytes already read stay in the stream's buffer or in the
///   connection's partial frame, and nothing is lost or read twice.
///
/// Pings are answered and the peer's close is echoed while reading, as the
/// protocol core does; the pongs go out with the next write, or the next
/// read when nothing is sent.
pub struct WebSocketStream<S> {
    io: S,
    conn: Connection,
    /// Read from the transport, `input[start..end]` not yet consumed.
    input: Box<[u8]>,
    start: usize,
    end: usize,
    /// Armed at the connection's next deadline, made on first use (tokio's
    /// timer needs a runtime, which `new` may run outside of).
    timer: Option<Pin<Box<Sleep>>>,
    /// The transport reached its end (the peer closed TCP).
    eof: bool,
    /// Our write side is shut (a server, once the close handshake is over).
    shut_down: bool,
    /// Nothing was written to the transport since its last flush: with no
    /// output queued either, a write-out has nothing to do.
    flushed: bool,
}

impl<S> std::fmt::Debug for WebSocketStream<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebSocketStream")
            .field("role", &self.conn.role())
            .field("state", &self.conn.state())
            .field("buffered_input", &(self.end - self.start))
            .finish()
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> WebSocketStream<S> {
    /// Wraps a stream whose handshake is done. `early` holds bytes read past
    /// the handshake (frames that came with it).
    pub fn from_parts(io: S, conn: Connection, early: &[u8]) -> Self {
        let mut input = vec![0u8; READ_BUFFER.max(early.len())].into_boxed_slice();
        input[..early.len()].copy_from_slice(early);
        WebSocketStream {
            io,
            conn,
            input,
            start: 0,
            end: early.len(),
            timer: None,
            eof: false,
            shut_down: false,
            flushed: true,
        }
    }

    /// The protocol connection (state, buffered amount, configuration).
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The protocol connection, to queue frames the next write sends.
    pub(super) fn connection_mut(&mut self) -> &mut Connection {
        &mut self.conn
    }

    /// The transport.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The transport, mutably: reading or writing it directly corrupts the
    /// WebSocket stream.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Gives the transport back, with the connection and any input read but
    /// not yet decoded.
    pub fn into_parts(self) -> (S, Connection, Vec<u8>) {
        let rest = self.input[self.start..self.end].to_vec();
        (self.io, self.conn, rest)
    }

    // ----- receiving ------------------------------------------------------

    /// Waits for the next event and hands it to `on_event` while it borrows
    /// the read buffer: zero-copy, nothing allocated. `Ok(None)` once the
    /// close handshake is over (the peer's close was the last event).
    pub async fn next_event_with<R>(
        &mut self,
        on_event: impl FnOnce(Event<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        self.next_event_and_reply(|event, _| on_event(event)).await
    }

    /// [`next_event_with`](Self::next_event_with), with a [`Sender`] to
    /// answer on while the event is still borrowed: an echo sends the
    /// received payload straight from the read buffer. What the closure
    /// queues is written once the input already read is used up (so the
    /// answers to a burst go out in one write), as far as the transport
    /// takes it; the rest goes first thing in the next call, or with
    /// [`flush`](Self::flush). No write is awaited after the event is taken,
    /// so a cancelled call never loses one.
    pub async fn next_event_and_reply<R>(
        &mut self,
        on_event: impl FnOnce(Event<'_>, &mut Sender<'_>) -> R,
    ) -> Result<Option<R>, Error> {
        let mut on_event = Some(on_event);
        poll_fn(|cx| self.poll_event(cx, &mut on_event)).await
    }

    /// Answers every event with `on_event` until the close handshake is
    /// over (`Ok(())`), or the connection fails: the loop of
    /// [`next_event_and_reply`](Self::next_event_and_reply) calls, kept
    /// in one future. An echo:
    ///
    /// ```no_run
    /// # async fn echo(mut ws: simdws::tokio::WebSocketStream<tokio::net::TcpStream>) {
    /// use simdws::protocol::Event;
    /// let _ = ws
    ///     .for_each_event(|event, tx| {
    ///         let _ = match event {
    ///             Event::Text(text) => tx.send_text(text),
    ///             Event::Binary(data) => tx.send_binary(data),
    ///             _ => Ok(()),
    ///         };
    ///     })
    ///     .await;
    /// # }
    /// ```
    ///
    /// Replies are written as `next_event_and_reply` writes them, and it is
    /// as cancel-safe: dropped at its `.await`, it has lost nothing, and a
    /// later call (of either) goes on from the same place.
    pub async fn for_each_event(
        &mut self,
        mut on_event: impl FnMut(Event<'_>, &mut Sender<'_>),
    ) -> Result<(), Error> {
        poll_fn(|cx| loop {
            match ready!(self.poll_event(cx, &mut Some(&mut on_event))) {
                Ok(Some(())) => {}
                Ok(None) => return Poll::Ready(Ok(())),
                Err(error) => return Poll::Ready(Err(error)),
            }
        })
        .await
    }

    /// Waits for the next event, owned. `Ok(None)` once the close handshake
    /// is over.
    pub async fn recv(&mut self) -> Result<Option<OwnedEvent>, Error> {
        self.next_event_with(|event| OwnedEvent::from(event)).await
    }

    /// Reads until an event comes, and hands it to `on_event` (taken once).
    pub(super) fn poll_event<R, F: FnOnce(Event<'_>, &mut Sender<'_>) -> R>(
        &mut self,
        cx: &mut Context<'_>,
        on_event: &mut Option<F>,
    ) -> Poll<Result<Option<R>, Error>> {
        // A large echo is written from the read buffer (see `poll_write_lent`)
        // where the transport takes a header and a payload in one write.
        let lend = self.io.is_write_vectored();
        loop {
            while self.start < self.end {
                let input = &mut self.input[self.start..self.end];
                let Some((received, mut sender)) = self.conn.receive_or_fail(input, lend) else {
                    // The close frame with the error's code is queued:
                    // a best-effort write, the error either way.
                    let _ = self.poll_write_io(cx);
                    // `receive_or_fail` recorded what failed the connection.
                    let error = match self.conn.failure() {
                        Some(error) => Error::Protocol(error.clone()),
                        None => Error::Io(io::ErrorKind::InvalidData.into()),
                    };
                    return Poll::Ready(Err(error));
                };
                let input_start = self.start;
                self.start += received.consumed;
                if let Some(event) = received.event {
                    let on_event = on_event.take().expect("called until it returns Ready");
                    let answer = on_event(event, &mut sender);
                    // A payload left in the input: where in `self.input`.
                    let lent = sender.take_lent();
                    let lent = lent.map(|at| input_start + at.start..input_start + at.end);
                    // Replies (pongs, the close echo, what the closure
                    // queued) go out once the input already read is used
                    // up: a burst of messages is answered in one write, and
                    // the next call writes before it reads. A lent payload
                    // is written from the input then, or else copied after
                    // its header now, before the next event is decoded.
                    if self.start == self.end {
                        let written = match lent {
                            Some(lent) => self.poll_write_lent(cx, lent),
                            None => self.poll_write_io(cx),
                        };
                        if let Poll::Ready(Err(e)) = written {
                            return Poll::Ready(Err(Error::Io(e)));
                        }
                    } else if let Some(lent) = lent {
                        self.conn.sender().queue_unsent(&self.input[lent]);
                    }
                    return Poll::Ready(Ok(Some(answer)));
                }
            }
            // Everything read is used up. An open connection with nothing
            // to write (the usual case, asked after every message) goes
            // straight to the timers and the next read.
            if self.conn.has_output() || !self.flushed || self.conn.state() == State::Closed {
                if self.conn.is_finished() {
                    ready!(self.poll_write_io(cx))?;
                    if self.conn.timed_out() {
                        return Poll::Ready(Err(Error::Io(io::ErrorKind::TimedOut.into())));
                    }
                    return Poll::Ready(Ok(None));
                }
                ready!(self.poll_write_out_or_pending(cx))?;
                if self.conn.is_finished() {
                    continue; // the close echo is out: done, without waiting for the peer's FIN
                }
            }
            if self.poll_timers(cx) {
                continue; // a deadline fired: it may have queued a ping or failed
            }
            if self.eof {
                if self.conn.state() == State::Closed {
                    // The peer's close came before its end of the stream:
                    // what is queued (answers, the close echo) still goes.
                    ready!(self.poll_write_io(cx))?;
                    return Poll::Ready(Ok(None));
                }
                // The peer vanished without a close frame (1006).
                return Poll::Ready(Err(Error::Io(io::ErrorKind::UnexpectedEof.into())));
            }
            let mut buf = ReadBuf::new(&mut self.input);
            ready!(Pin::new(&mut self.io).poll_read(cx, &mut buf))?;
            let n = buf.filled().len();
            self.start = 0;
            self.end = n;
            if n == 0 {
                self.eof = true; // answered above, once the output is written
            }
        }
    }

    /// Handles deadlines due now; arms the timer for the next one. Returns
    /// whether a deadline was handled (the caller looks at the state again).
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> bool {
        let Some(deadline) = self.conn.poll_timeout() else {
            return false;
        };
        let now = Instant::now();
        if deadline <= now {
            self.conn.handle_timeout(now);
            return true;
        }
        let deadline = ::tokio::time::Instant::from_std(deadline);
        let timer = self
            .timer
            .get_or_insert_with(|| Box::pin(::tokio::time::sleep_until(deadline)));
        if timer.deadline() != deadline {
            timer.as_mut().reset(deadline);
        }
        if timer.as_mut().poll(cx).is_ready() {
            self.conn.handle_timeout(Instant::now());
            return true;
        }
        false
    }

    // ----- sending --------------------------------------------------------

    /// Sends a text message.
    pub async fn send_text(&mut self, text: &str) -> Result<(), Error> {
        self.conn.send_text(text)?;
        self.flush().await
    }

    /// Sends a binary message.
    pub async fn send_binary(&mut self, data: &[u8]) -> Result<(), Error> {
        self.conn.send_binary(data)?;
        self.flush().await
    }

    /// Sends a ping (at most 125 bytes); its pong arrives as an event.
    pub async fn ping(&mut self, payload: &[u8]) -> Result<(), Error> {
        self.conn.ping(payload)?;
        self.flush().await
    }

    /// Starts the close handshake: sends a close frame and writes it. Read on
    /// until `Ok(None)` to see the peer's answer (or its close deadline).
    pub async fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), Error> {
        self.conn.close(code, reason)?;
        self.flush().await
    }

    /// Writes everything queued and flushes the transport.
    pub async fn flush(&mut self) -> Result<(), Error> {
        poll_fn(|cx| self.poll_write_out(cx)).await
    }

    /// Writes the queued output until it is all written, then flushes.
    pub(super) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_write_io(cx).map_err(Error::Io)
    }

    /// `poll_write_out` with the transport's own error, which fits in
    /// registers: the read loop calls it after every message.
    fn poll_write_io(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        loop {
            let out = self.conn.poll_transmit();
            if out.is_empty() {
                break;
            }
            self.flushed = false;
            let written = ready!(Pin::new(&mut self.io).poll_write(cx, out))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_transmit(written);
            if self.conn.buffered_amount() == 0 {
                break; // all written: no need to ask again
            }
        }
        if self.flushed && !self.conn.is_finished() {
            return Poll::Ready(Ok(())); // nothing new since the last flush
        }
        ready!(Pin::new(&mut self.io).poll_flush(cx))?;
        self.flushed = true;
        if self.conn.is_finished() && self.conn.role() == Role::Server && !self.shut_down {
            // The server closes TCP first (RFC 6455 §7.1.1).
            ready!(Pin::new(&mut self.io).poll_shutdown(cx))?;
            self.shut_down = true;
        }
        Poll::Ready(Ok(()))
    }

    /// Writes the queued output, which is the header of a message whose
    /// payload is `self.input[lent]`, and the payload after it, in one
    /// vectored write: an echo's payload is not copied. What the transport
    /// does not take is queued (copied) before this returns, so the read
    /// buffer is free again whatever happens.
    #[inline]
    fn poll_write_lent(
        &mut self,
        cx: &mut Context<'_>,
        lent: Range<usize>,
    ) -> Poll<io::Result<()>> {
        let header = self.conn.poll_transmit();
        let head_len = header.len();
        let bufs = [
            IoSlice::new(header),
            IoSlice::new(&self.input[lent.clone()]),
        ];
        let written = Pin::new(&mut self.io).poll_write_vectored(cx, &bufs);
        if let Poll::Ready(Ok(written)) = written {
            if written == head_len + lent.len() {
                // All written (a data message: the connection is open).
                self.conn.advance_transmit(head_len);
                self.flushed = false;
                ready!(Pin::new(&mut self.io).poll_flush(cx))?;
                self.flushed = true;
                return Poll::Ready(Ok(()));
            }
        }
        self.flushed = false;
        self.queue_unwritten(cx, lent, head_len, written)
    }

    /// What `poll_write_lent` does when the transport took less than the
    /// whole: the rest of the payload is queued after the rest of the
    /// header, then written like any output.
    #[cold]
    #[inline(never)]
    fn queue_unwritten(
        &mut self,
        cx: &mut Context<'_>,
        lent: Range<usize>,
        head_len: usize,
        written: Poll<io::Result<usize>>,
    ) -> Poll<io::Result<()>> {
        let (written, failed) = match written {
            Poll::Ready(Ok(written)) => (written, None),
            Poll::Ready(Err(e)) => (0, Some(e)),
            Poll::Pending => (0, None),
        };
        let payload = &self.input[lent];
        let mut tx = self.conn.sender();
        if written < head_len {
            tx.queue_unsent(payload);
            self.conn.advance_transmit(written);
        } else {
            tx.queue_unsent(&payload[written - head_len..]);
            self.conn.advance_transmit(head_len);
        }
        match failed {
            Some(e) => Poll::Ready(Err(e)),
            None => self.poll_write_io(cx),
        }
    }

    /// Like `poll_write_out`, but a transport that cannot take more now does
    /// not stop reading: a peer that sends without reading is still read.
    fn poll_write_out_or_pending(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match self.poll_write_io(cx) {
            Poll::Pending => Poll::Ready(Ok(())),
            done => done,
        }
    }

    /// Ready to queue another message: the output is under the high-water
    /// mark, or written down below it.
    pub(super) fn poll_room(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        while self.conn.buffered_amount() > HIGH_WATER {
            self.flushed = false;
            let out = self.conn.poll_transmit();
            let written = ready!(Pin::new(&mut self.io).poll_write(cx, out))?;
            if written == 0 {
                return Poll::Ready(Err(Error::Io(io::ErrorKind::WriteZero.into())));
            }
            self.conn.advance_transmit(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Queues one owned event as a frame: a message, a ping or pong, a close
    /// or a fragment.
    pub(super) fn queue(&mut self, item: OwnedEvent) -> Result<(), Error> {
        use crate::frame::Opcode;
        let mut tx = self.conn.sender();
        match item {
            OwnedEvent::Text(text) => tx.send_text(&text)?,
            OwnedEvent::Binary(data) => tx.send_binary(&data)?,
            OwnedEvent::Ping(payload) => tx.ping(&payload)?,
            OwnedEvent::Pong(payload) => tx.pong(&payload)?,
            OwnedEvent::Close(frame) => tx.close(frame.code, &frame.reason)?,
            OwnedEvent::Fragment(piece) => {
                let opcode = match (piece.first, piece.text) {
                    (false, _) => Opcode::Continuation,
                    (true, true) => Opcode::Text,
                    (true, false) => Opcode::Binary,
                };
                tx.send_fragment(opcode, &piece.data, piece.last)?
            }
        }
        Ok(())
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_core::Stream for WebSocketStream<S> {
    type Item = Result<OwnedEvent, Error>;

    /// The next event, owned; `None` once the close handshake is over.
    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut owned = Some(|event: Event<'_>, _: &mut Sender<'_>| OwnedEvent::from(event));
        match ready!(self.poll_event(cx, &mut owned)) {
            Ok(Some(event)) => Poll::Ready(Some(Ok(event))),
            Ok(None) => Poll::Ready(None),
            Err(e) => Poll::Ready(Some(Err(e))),
        }
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> futures_sink::Sink<OwnedEvent> for WebSocketStream<S> {
    type Error = Error;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_room(cx)
    }

    fn start_send(mut self: Pin<&mut Self>, item: OwnedEvent) -> Result<(), Error> {
        self.queue(item)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.poll_write_out(cx)
    }

    /// Sends a normal close (1000) unless one was sent, and writes it. The
    /// peer's answer is read through the stream.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            self.conn.close(CloseCode::NORMAL, "")?;
        }
        self.poll_write_out(cx)
    }
}
