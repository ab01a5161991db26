//! A whole connection, and the one owner of its state: the [`Core`] (role,
//! configuration, close handshake, failure, timers, output) beside the
//! frame decoder and the message assembler, which only parse and hold
//! bytes. Receiving runs the two, then acts on what they found (a pong to
//! queue, a close to echo, an error to fail with) in one place here.

use std::time::Instant;

use super::assembler::{Deliver, MessageAssembler};
use super::config::Config;
use super::core::{Core, Role, State};
use super::decoder::FrameDecoder;
use super::error::{ProtocolError, SendError};
use super::event::{Event, Received};
use super::extension::{MessageDecoder, MessageEncoder};
use super::sender::Sender;
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
///    How data arrives is [`Config::delivery`]: whole messages (the
///    default), frames, or chunks as they come.
/// 2. **Messages in.** `send_text`, `send_binary`, `ping`, `close` queue
///    frames; nothing is written yet. To answer while an event is still
///    borrowed, receive with
///    [`receive_and_reply`](Connection::receive_and_reply), which hands out
///    a [`Sender`] beside the event.
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
    pub(crate) core: Core,
    pub(crate) decoder: FrameDecoder,
    pub(crate) assembler: MessageAssembler,
}

impl Connection {
    /// A connection whose handshake is complete. `now` starts its timers.
    pub fn new(role: Role, config: Config, now: Instant) -> Self {
        let timers = Timers::new(&config, now);
        Connection::with_timers(role, config, timers)
    }

    pub(crate) fn with_timers(role: Role, config: Config, timers: Timers) -> Self {
        Connection {
            core: Core::new(role, config, timers),
            decoder: FrameDecoder::new(role == Role::Server),
            assembler: MessageAssembler::new(),
        }
    }

    /// Installs a negotiated extension (e.g. permessage-deflate).
    pub fn with_extension(
        mut self,
        decoder: Box<dyn MessageDecoder>,
        encoder: Box<dyn MessageEncoder>,
    ) -> Self {
        self.decoder.allow_rsv(decoder.rsv_bits());
        self.assembler.set_extension(decoder);
        self.core.encoder = Some(encoder);
        self
    }

    /// The configuration it was created with.
    pub fn config(&self) -> &Config {
        &self.core.config
    }

    /// Changes how data arrives from now on (see [`Config::delivery`]);
    /// between messages, so no message is delivered half one way and half
    /// the other. Returns whether it was changed.
    pub fn set_delivery(&mut self, delivery: super::Delivery) -> bool {
        if !self.assembler.is_at_rest() {
            return false;
        }
        self.core.config.delivery = delivery;
        true
    }

    // ----- bytes in --------------------------------------------------------

    /// Feeds bytes from the peer. Masked payloads are unmasked in place in
    /// `input`. Returns how much was consumed and at most one event; call
    /// again with `&mut input[consumed..]` until everything is consumed.
    ///
    /// Everything short of an event (a partial header, a partial frame, the
    /// fragments of a message) is consumed and kept by the connection, so
    /// the caller never holds on to a tail.
    pub fn receive<'a>(&'a mut self, input: &'a mut [u8]) -> Result<Received<'a>, ProtocolError> {
        let (consumed, deliver) = self.step::<true>(input)?;
        let event = deliver.map(|deliver| self.assembler.event(input, deliver));
        Ok(Received { consumed, event })
    }

    /// Feeds all of `input`, handing each event to `on_event`: the
    /// [`receive`](Connection::receive) loop, for callers that need not
    /// answer between events. Returns how many events there were.
    pub fn receive_all(
        &mut self,
        input: &mut [u8],
        mut on_event: impl FnMut(Event<'_>),
    ) -> Result<usize, ProtocolError> {
        let (mut at, mut events) = (0, 0);
        while at < input.len() {
            let received = self.receive(&mut input[at..])?;
            debug_assert!(received.consumed > 0, "no progress on input");
            at += received.consumed;
            if let Some(event) = received.event {
                on_event(event);
                events += 1;
            }
        }
        Ok(events)
    }

    /// [`receive`](Connection::receive), and a [`Sender`] to answer with
    /// while the event is still borrowed.
    #[inline]
    pub fn receive_and_reply<'a>(
        &'a mut self,
        input: &'a mut [u8],
    ) -> Result<(Received<'a>, Sender<'a>), ProtocolError> {
        let (consumed, deliver) = self.step::<true>(input)?;
        let event = deliver.map(|deliver| self.assembler.event(input, deliver));
        Ok((Received { consumed, event }, Sender::new(&mut self.core)))
    }

    /// [`receive_and_reply`](Connection::receive_and_reply) for a loop
    /// that reads the error from [`failure`](Connection::failure): `None`
    /// when the input failed the connection. Without a `Result` around it,
    /// the event's slice stays whole in registers instead of being taken
    /// apart byte by byte to share room with the error's fields.
    ///
    /// With `lend`, the sender may leave a large payload sent back from
    /// `input` where it lies ([`Sender::lending`]): the caller takes it
    /// with [`Sender::take_lent`] and writes or queues it after the queued
    /// output.
    #[cfg(feature = "tokio")]
    #[inline]
    pub(crate) fn receive_or_fail<'a>(
        &'a mut self,
        input: &'a mut [u8],
        lend: bool,
    ) -> Option<(Received<'a>, Sender<'a>)> {
        let (consumed, deliver) = self.step::<false>(input).ok()?;
        let input: &'a [u8] = input;
        let event = deliver.map(|deliver| self.assembler.event(input, deliver));
        let sender = Sender::lending(&mut self.core, input, lend);
        Some((Received { consumed, event }, sender))
    }

    /// Decodes up to one event, and acts on it here, the one place the
    /// connection's state changes on input: a ping is answered, a close
    /// echoed and the handshake ended, an error fails the connection.
    ///
    /// `GENERAL_INLINE`: whether the general decoding path (fragments,
    /// control frames, split frames) is inlined here too. The engine's
    /// dispatch loop runs fewer instructions with it inlined; a tokio poll
    /// loop, already large, fewer with it called (measured with
    /// `benches/compare/instructions.py`).
    #[inline(always)]
    fn step<const GENERAL_INLINE: bool>(
        &mut self,
        input: &mut [u8],
    ) -> Result<(usize, Option<Deliver>), ProtocolError> {
        step::<GENERAL_INLINE>(
            &mut self.core,
            &mut self.decoder,
            &mut self.assembler,
            input,
        )
    }

    // ----- messages in -----------------------------------------------------

    /// The sending view, to queue messages.
    pub fn sender(&mut self) -> Sender<'_> {
        Sender::new(&mut self.core)
    }

    /// Queues a text message (shorthand for `sender().send_text`).
    pub fn send_text(&mut self, text: &str) -> Result<(), SendError> {
        self.sender().send_text(text)
    }

    /// Queues a binary message (shorthand for `sender().send_binary`).
    pub fn send_binary(&mut self, data: &[u8]) -> Result<(), SendError> {
        self.sender().send_binary(data)
    }

    /// See [`Sender::send_fragment`].
    pub fn send_fragment(
        &mut self,
        opcode: Opcode,
        payload: &[u8],
        fin: bool,
    ) -> Result<(), SendError> {
        self.sender().send_fragment(opcode, payload, fin)
    }

    /// Queues a ping (payload up to 125 bytes).
    pub fn ping(&mut self, payload: &[u8]) -> Result<(), SendError> {
        self.sender().ping(payload)
    }

    /// See [`Sender::close`].
    pub fn close(&mut self, code: CloseCode, reason: &str) -> Result<(), SendError> {
        self.sender().close(code, reason)
    }

    // ----- state -----------------------------------------------------------

    /// Which end of the connection this is.
    pub fn role(&self) -> Role {
        self.core.role
    }

    /// Where the close handshake stands.
    pub fn state(&self) -> State {
        self.core.state
    }

    /// The protocol error that failed the connection, if one did.
    pub fn failure(&self) -> Option<&ProtocolError> {
        self.core.failure.as_ref()
    }

    /// Whether the close handshake timed out.
    pub fn timed_out(&self) -> bool {
        self.core.timers.close_timed_out
    }

    // ----- bytes out -------------------------------------------------------

    /// Bytes to write to the transport: everything queued, in one slice.
    /// Report what was written with [`Connection::advance_transmit`].
    #[inline]
    pub fn poll_transmit(&mut self) -> &[u8] {
        let core = &mut self.core;
        // Looked at before it is taken: taking moves 126 bytes, on every
        // call, pong or not.
        if core.coalesced_pong.is_some() {
            core.write_coalesced_pong();
        }
        core.out.pending()
    }

    /// Marks `written` bytes of [`Connection::poll_transmit`]'s output as sent.
    #[inline]
    pub fn advance_transmit(&mut self, written: usize) {
        self.core.out.advance(written);
    }

    /// Bytes queued and not yet written (the browser's `bufferedAmount`).
    #[inline]
    pub fn buffered_amount(&self) -> usize {
        self.core.out.len()
    }

    /// Something waits to be written: queued frames, or a pong not yet
    /// queued ([`poll_transmit`](Connection::poll_transmit) queues it).
    #[inline]
    pub fn has_output(&self) -> bool {
        self.core.out.len() != 0 || self.core.coalesced_pong.is_some()
    }

    /// The close handshake is over (or failed) and everything is written:
    /// close the transport.
    pub fn is_finished(&self) -> bool {
        let core = &self.core;
        core.state == State::Closed && core.out.len() == 0 && core.coalesced_pong.is_none()
    }

    /// Frees receive and send storage that holds no data (for idle
    /// connections: an idle connection should own no payload buffer).
    pub fn release_buffers(&mut self) {
        self.assembler.release_buffers();
        self.core.release_buffers();
    }

    /// Heap bytes held by this connection's buffers.
    pub fn buffer_capacity(&self) -> usize {
        self.assembler.buffer_capacity() + self.core.buffer_capacity()
    }

    // ----- time in ---------------------------------------------------------

    /// When [`Connection::handle_timeout`] must run next, if anything is
    /// scheduled.
    #[inline]
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.core.state == State::Closed {
            return None;
        }
        self.core.timers.next_deadline()
    }

    /// Runs the timers due at `now`: keepalive pings, the idle timeout, the
    /// close deadline.
    pub fn handle_timeout(&mut self, now: Instant) {
        let core = &mut self.core;
        if core.state == State::Closed {
            return;
        }
        let due = core.timers.advance(now);
        if due.close_timed_out {
            core.state = State::Closed;
        } else if due.idle && core.state == State::Open {
            core.write_close(Some(CloseCode::GOING_AWAY), "idle timeout");
        } else if due.ping && core.state == State::Open {
            core.write_frame(true, 0, Opcode::Ping, b"keepalive");
        }
    }
}

/// [`Connection::step`] over the connection's parts, so the engine can
/// keep the [`Core`] lent to its [`Sender`] while it receives
/// ([`receive_split`]).
#[inline(always)]
fn step<const GENERAL_INLINE: bool>(
    core: &mut Core,
    decoder: &mut FrameDecoder,
    assembler: &mut MessageAssembler,
    input: &mut [u8],
) -> Result<(usize, Option<Deliver>), ProtocolError> {
    assembler.begin();
    if core.state == State::Closed {
        return Ok((input.len(), None));
    }
    if !input.is_empty() {
        core.timers.saw_input();
    }
    match decode::<GENERAL_INLINE>(decoder, assembler, input, &core.config) {
        Ok((consumed, Some(Deliver::Control(opcode)))) => {
            match opcode {
                Opcode::Ping => core.auto_pong(assembler.control_payload()),
                Opcode::Close => {
                    let frame = assembler.close_frame();
                    core.peer_closed(frame.code, frame.reason);
                }
                _ => {}
            }
            Ok((consumed, Some(Deliver::Control(opcode))))
        }
        Ok(decoded) => Ok(decoded),
        Err(error) => {
            fail(core, decoder, assembler, &error);
            Err(error)
        }
    }
}

/// The input broke the protocol: whatever was half read is dropped, and
/// the core queues the close that says why.
#[cold]
fn fail(
    core: &mut Core,
    decoder: &mut FrameDecoder,
    assembler: &mut MessageAssembler,
    error: &ProtocolError,
) {
    decoder.reset();
    assembler.reset();
    core.fail(error);
}

/// Receives up to one event with the connection taken apart: the engine's
/// dispatch loop lends the [`Core`] to one [`Sender`] for a whole read and
/// passes it back in here for each frame, instead of building a sender
/// (and the handler's view around it) per message. `None` when the input
/// failed the connection; [`Core::failure`] says why.
///
/// The common case, a whole message in one frame, is read first and handed
/// out as it is found, without the general step's layers of `Result` and
/// `Deliver` (each put on the stack and read back in the engine's loop).
#[cfg(feature = "net")]
#[inline(always)]
pub(crate) fn receive_split<'a>(
    core: &mut Core,
    decoder: &mut FrameDecoder,
    assembler: &'a mut MessageAssembler,
    input: &'a mut [u8],
) -> Option<Received<'a>> {
    assembler.begin();
    if core.state != State::Closed {
        if let Some(frame) = decoder.whole_frame(input) {
            let end = frame.payload.end;
            match assembler.whole_frame_message(frame, input, &core.config) {
                Ok(Some(Deliver::Input(kind, range))) => {
                    core.timers.saw_input();
                    let event = Some(super::assembler::data_event(kind, &input[range]));
                    return Some(Received {
                        consumed: end,
                        event,
                    });
                }
                Ok(_) => {}
                Err(error) => {
                    fail(core, decoder, assembler, &error);
                    return None;
                }
            }
        }
    }
    receive_general(core, decoder, assembler, input)
}

/// [`receive_split`] for everything but a whole one-frame message: called,
/// so the engine's loop around the common case stays small.
#[cfg(feature = "net")]
#[inline(never)]
fn receive_general<'a>(
    core: &mut Core,
    decoder: &mut FrameDecoder,
    assembler: &'a mut MessageAssembler,
    input: &'a mut [u8],
) -> Option<Received<'a>> {
    let (consumed, deliver) = step::<true>(core, decoder, assembler, input).ok()?;
    let event = deliver.map(|deliver| assembler.event(input, deliver));
    Some(Received { consumed, event })
}

/// Runs the frame decoder and the message assembler over `input` until an
/// event is ready or the input is used up.
#[inline]
fn decode<const GENERAL_INLINE: bool>(
    decoder: &mut FrameDecoder,
    assembler: &mut MessageAssembler,
    input: &mut [u8],
    config: &Config,
) -> Result<(usize, Option<Deliver>), ProtocolError> {
    // The common case: a whole message in one frame, all in the input.
    if let Some(frame) = decoder.whole_frame(input) {
        let end = frame.payload.end;
        if let Some(deliver) = assembler.whole_frame_message(frame, input, config)? {
            return Ok((end, Some(deliver)));
        }
    }
    if GENERAL_INLINE {
        decode_frames(decoder, assembler, input, config)
    } else {
        decode_frames_called(decoder, assembler, input, config)
    }
}

/// [`decode_frames`], out of line.
#[inline(never)]
fn decode_frames_called(
    decoder: &mut FrameDecoder,
    assembler: &mut MessageAssembler,
    input: &mut [u8],
    config: &Config,
) -> Result<(usize, Option<Deliver>), ProtocolError> {
    decode_frames(decoder, assembler, input, config)
}

/// The general path: frame by frame, any of them split anywhere.
#[inline(always)]
fn decode_frames(
    decoder: &mut FrameDecoder,
    assembler: &mut MessageAssembler,
    input: &mut [u8],
    config: &Config,
) -> Result<(usize, Option<Deliver>), ProtocolError> {
    let mut pos = 0;
    loop {
        if !decoder.in_frame() {
            let Some((header, used)) = decoder.read_header(&input[pos..], config.max_frame_size)?
            else {
                return Ok((input.len(), None));
            };
            pos += used;
            assembler.start_frame(header, config)?;
            if (input.len() - pos) as u64 >= header.payload_len {
                // The whole payload is here: one run, nothing kept.
                let start = pos;
                pos += header.payload_len as usize;
                let payload = FrameDecoder::whole_payload(&header);
                let run = &mut input[start..pos];
                if let Some(deliver) = assembler.accept(run, start..pos, payload, config)? {
                    return Ok((pos, Some(deliver)));
                }
                continue;
            }
            decoder.begin_frame(header);
        }
        let start = pos;
        let (len, payload) = decoder.take(input.len() - pos);
        pos += len;
        if let Some(deliver) =
            assembler.accept(&mut input[start..pos], start..pos, payload, config)?
        {
            return Ok((pos, Some(deliver)));
        }
        if !payload.done {
            // The frame goes on past this input.
            return Ok((input.len(), None));
        }
    }
}

#[cfg(all(test, feature = "net"))]
mod tests {
    use proptest::prelude::*;

    use super::*;
    use crate::frame::{FrameHeader, MAX_HEADER_LEN};
    use crate::protocol::OwnedEvent;

    /// A client's frame, masked with `key`.
    fn frame(fin: bool, opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
        let header = FrameHeader {
            fin,
            rsv: 0,
            opcode: Opcode::from_u8(opcode).expect("a known opcode"),
            mask: Some(key),
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let n = header.encode(&mut head);
        let mut out = head[..n].to_vec();
        let at = out.len();
        out.extend_from_slice(payload);
        crate::mask::apply_mask(&mut out[at..], key, 0);
        out
    }

    /// Streams of client frames, mostly whole one-frame messages (the
    /// engine's fast path) among everything that must leave it.
    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let bytes = |max| prop::collection::vec(any::<u8>(), 0..max);
        let piece = prop_oneof![
            4 => ("\\PC{0,40}", any::<[u8; 4]>()).prop_map(|(t, k)| frame(true, 1, t.as_bytes(), k)),
            2 => ("\\PC{30,200}", any::<[u8; 4]>()).prop_map(|(t, k)| frame(true, 1, t.as_bytes(), k)),
            2 => (bytes(300), any::<[u8; 4]>()).prop_map(|(b, k)| frame(true, 2, &b, k)),
            // Invalid UTF-8 in short and long texts.
            1 => (bytes(40), any::<[u8; 4]>()).prop_map(|(b, k)| frame(true, 1, &b, k)),
            1 => (bytes(200), any::<[u8; 4]>()).prop_map(|(b, k)| frame(true, 1, &[&[0xC3][..], &b].concat(), k)),
            1 => ("\\PC{1,30}", any::<[u8; 4]>()).prop_map(|(t, k)| {
                let mut out = frame(false, 1, &t.as_bytes()[..1], k);
                out.extend(frame(true, 9, b"mid", k));
                out.extend(frame(true, 0, &t.as_bytes()[1..], k));
                out
            }),
            1 => (bytes(125), any::<[u8; 4]>()).prop_map(|(b, k)| frame(true, 9, &b, k)),
            1 => (any::<u16>(), any::<[u8; 4]>()).prop_map(|(code, k)| frame(true, 8, &code.to_be_bytes(), k)),
            1 => bytes(20),
        ];
        prop::collection::vec(piece, 1..8).prop_map(|pieces| pieces.concat())
    }

    /// What a server made of `stream` cut at `cuts`: its events, whether it
    /// failed, and what it queued to send.
    type Outcome = (Vec<OwnedEvent>, Option<String>, Vec<u8>);

    fn through_receive(stream: &[u8], cuts: &[usize]) -> Outcome {
        let mut conn = Connection::new(Role::Server, Config::default(), Instant::now());
        let mut events = Vec::new();
        for chunk in chunks(stream, cuts) {
            let mut chunk = chunk.to_vec();
            let mut at = 0;
            while at < chunk.len() {
                match conn.receive(&mut chunk[at..]) {
                    Ok(received) => {
                        at += received.consumed;
                        events.extend(received.event.map(OwnedEvent::from));
                    }
                    Err(_) => break,
                }
            }
        }
        let failure = conn.failure().map(ToString::to_string);
        (events, failure, conn.poll_transmit().to_vec())
    }

    fn through_receive_split(stream: &[u8], cuts: &[usize]) -> Outcome {
        let mut conn = Connection::new(Role::Server, Config::default(), Instant::now());
        let mut events = Vec::new();
        for chunk in chunks(stream, cuts) {
            let mut chunk = chunk.to_vec();
            let Connection {
                core,
                decoder,
                assembler,
            } = &mut conn;
            let mut at = 0;
            while at < chunk.len() {
                let Some(received) = receive_split(core, decoder, assembler, &mut chunk[at..])
                else {
                    break;
                };
                at += received.consumed;
                events.extend(received.event.map(OwnedEvent::from));
            }
        }
        let failure = conn.failure().map(ToString::to_string);
        (events, failure, conn.poll_transmit().to_vec())
    }

    fn chunks<'a>(stream: &'a [u8], cuts: &[usize]) -> Vec<&'a [u8]> {
        let mut at: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
        at.extend([0, stream.len()]);
        at.sort_unstable();
        at.windows(2).map(|w| &stream[w[0]..w[1]]).collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(if cfg!(miri) { 3 } else { 1000 }))]

        /// The engine's receiving (`receive_split`, with its own path for a
        /// whole one-frame message) does what `receive` does, event for
        /// event, failure for failure and byte for byte of what it queues.
        #[test]
        fn receive_split_agrees_with_receive(
            stream in stream(),
            cuts in prop::collection::vec(any::<usize>(), 0..6),
        ) {
            prop_assert_eq!(through_receive_split(&stream, &cuts), through_receive(&stream, &cuts));
        }
    }
}
