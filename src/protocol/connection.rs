//! A whole connection: the receiving and sending halves side by side. Most
//! users call everything here; an event loop that hands the application a
//! borrowed event *and* a way to send uses [`Connection::split`].

use std::time::Instant;

use super::config::Config;
use super::error::{ProtocolError, SendError};
use super::extension::{MessageDecoder, MessageEncoder};
use super::receiver::{Received, Receiver};
use super::sender::{Role, Sender, State};
use super::timers::Timers;
use crate::frame::{CloseCode, Opcode};

/// A sans-IO WebSocket connection for either role, after the handshake.
///
/// # The contract
///
/// The connection does no IO and reads no clock; the caller drives it:
///
/// 1. **Bytes in.** Give everything read from the transport to
///    [`receive`](Connection::receive), again and again with the rest
///    (`&mut input[consumed..]`) until all is consumed: each call returns at
///    most one event. Masked payloads are unmasked in place, so events
///    borrow the caller's buffer; handle each before the next call.
///    Partial frames are kept inside; the caller never keeps a tail.
/// 2. **Messages in.** `send_text`, `send_binary`, `ping`, `close` (or a
///    [`Sender`] from [`split`](Connection::split), to answer while an event
///    is borrowed) queue frames; nothing is written yet.
/// 3. **Bytes out.** After receiving and sending, write
///    [`poll_transmit`](Connection::poll_transmit) to the transport, then
///    report what it took with
///    [`advance_transmit`](Connection::advance_transmit). Pongs and the
///    close echo queued by `receive` go out the same way.
/// 4. **Time in.** Wake at [`poll_timeout`](Connection::poll_timeout) and
///    call [`handle_timeout`](Connection::handle_timeout) with the current
///    instant: keepalive pings, the idle timeout and the close deadline.
/// 5. **The end.** When [`is_finished`](Connection::is_finished), the close
///    handshake is over (or failed: [`failure`](Connection::failure)) and
///    everything is written: close the transport.
///
/// ```
/// use std::time::Instant;
/// use simdws::protocol::{Config, Connection, Event, Role};
///
/// let now = Instant::now();
/// let (mut client, mut server) = (
///     Connection::new(Role::Client, Config::default(), now),
///     Connection::new(Role::Server, Config::default(), now),
/// );
/// client.send_text("ping?").unwrap();
/// // Bytes out of one, into the other.
/// let mut wire = client.poll_transmit().to_vec();
/// client.advance_transmit(wire.len());
/// let mut at = 0;
/// while at < wire.len() {
///     let received = server.receive(&mut wire[at..]).unwrap();
///     at += received.consumed;
///     if let Some(Event::Text(text)) = received.event {
///         assert_eq!(text, "ping?");
///     }
/// }
/// server.send_text("pong!").unwrap();
/// assert!(!server.poll_transmit().is_empty());
/// ```
#[derive(Debug)]
pub struct Connection {
    rx: Receiver,
    tx: Sender,
}

impl Connection {
    /// A connection whose handshake is complete. `now` starts its timers.
    pub fn new(role: Role, config: Config, now: Instant) -> Self {
        let timers = Timers::new(&config, now);
        Connection::with_timers(role, config, timers)
    }

    pub(crate) fn with_timers(role: Role, config: Config, timers: Timers) -> Self {
        Connection {
            rx: Receiver::new(role == Role::Server, config.clone()),
            tx: Sender::new(role, config, timers),
        }
    }

    /// Installs a negotiated extension (e.g. permessage-deflate).
    pub fn with_extension(
        mut self,
        decoder: Box<dyn MessageDecoder>,
        encoder: Box<dyn MessageEncoder>,
    ) -> Self {
        self.rx.set_decoder(decoder);
        self.tx.set_encoder(encoder);
        self
    }

    /// The two halves: events from the receiver borrow it, while the sender
    /// stays free for answering.
    pub fn split(&mut self) -> (&mut Receiver, &mut Sender) {
        (&mut self.rx, &mut self.tx)
    }

    pub(crate) fn halves(&self) -> (&Receiver, &Sender) {
        (&self.rx, &self.tx)
    }

    /// The sending half alone (see [`Connection::split`] for both).
    pub fn sender(&mut self) -> &mut Sender {
        &mut self.tx
    }

    /// Feeds bytes from the peer. Masked payloads are unmasked in place in
    /// `input`. Returns how much was consumed and at most one event; call
    /// again with `&mut input[consumed..]` until everything is consumed.
    ///
    /// Everything short of an event (a partial header, a partial frame, the
    /// fragments of a message) is consumed and kept by the connection, so
    /// the caller never holds on to a tail.
    pub fn receive<'a>(&'a mut self, input: &'a mut [u8]) -> Result<Received<'a>, ProtocolError> {
        self.rx.receive(input, &mut self.tx)
    }

    /// Which end of the connection this is.
    pub fn role(&self) -> Role {
        self.tx.role()
    }

    /// Where the close handshake stands.
    pub fn state(&self) -> State {
        self.tx.state()
    }

    /// The protocol error that failed the connection, if one did.
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.tx.failure()
    }

    /// Whether the close handshake timed out.
    pub fn timed_out(&self) -> bool {
        self.tx.timed_out()
    }

    /// Queues a text message.
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.tx.send_text(text)
    }

    /// Queues a binary message.
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.tx.send_binary(data)
    }

    /// See [`Sender::send_fragment`].
    pub fn send_fragment(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.tx.send_fragment(opcode, payload, fin)
    }

    /// Queues a ping (payload up to 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.tx.ping(payload)
    }

    /// Queues an unsolicited pong (payload up to 125 bytes).
    pub fn pong(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.tx.pong(payload)
    }

    /// See [`Sender::close`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.tx.close(code, reason)
    }

    /// Bytes to write to the transport: everything queued, in one slice. Report what was written with [`Connection::advance_transmit`].
    pub fn poll_transmit(&mut self) -> &[u8] {
        self.tx.poll_transmit()
    }

    /// Marks `written` bytes of [`Connection::poll_transmit`]'s output as sent.
    pub fn advance_transmit(&mut self, written: usize) {
        self.tx.advance_transmit(written)
    }

    /// Bytes queued and not yet written (the browser's `bufferedAmount`).
    pub fn buffered_amount(&self) -> usize {
        self.tx.buffered_amount()
    }

    /// The close handshake is over (or failed) and everything is written: close the transport.
    pub fn is_finished(&self) -> bool {
        self.tx.is_finished()
    }

    /// Frees receive and send storage that holds no data (for idle
    /// connections: an idle connection should own no payload buffer).
    pub fn release_buffers(&mut self) {
        self.rx.release_buffers();
        self.tx.release_buffers();
    }

    /// Heap bytes held by this connection's buffers.
    pub fn buffer_capacity(&self) -> usize {
        self.rx.buffer_capacity() + self.tx.buffer_capacity()
    }

    /// When [`Connection::handle_timeout`] must run next, if anything is scheduled.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.tx.poll_timeout()
    }

    /// Runs the timers due at `now`: keepalive pings, the idle timeout, the close deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        self.tx.handle_timeout(now)
    }
}
