//! One Engine.IO session, sans-IO: packets and requests in, packets and
//! events out, time given by the caller.
//!
//! The driver (the engine's HTTP and WebSocket callbacks) tells the session
//! what arrived: a polling GET ([`Session::get`]), a POST body
//! ([`Session::post`]), a WebSocket message ([`Session::ws_text`],
//! [`Session::ws_binary`]) or the start of an upgrade
//! ([`Session::begin_upgrade`]). It then sends what the session has for
//! the client: the answer to a held GET ([`Session::take_poll_answer`]) or
//! the WebSocket's packets ([`Session::poll_ws`]), and hands the
//! application its events ([`Session::poll_event`]).
//!
//! The heartbeat is the server's: a ping one `ping_interval` after the open
//! packet (not at once: clients and the reference suites count on it), and
//! after each pong; no pong within `ping_timeout` ends the session.

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use compact_str::CompactString;

use super::config::EngineConfig;
use super::packet::{decode_payload, encode_payload, Packet};
use super::queue::Queue;
use super::request::{EngineError, Transport};

/// Why a session ended (the reasons Node's sockets give).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CloseReason {
    /// The client closed (a close packet, or its WebSocket went away).
    TransportClose,
    /// The client broke the transport's rules (two GETs at once...).
    TransportError,
    /// The client did not answer a ping in time.
    PingTimeout,
    /// The client sent something that is not a packet.
    ParseError,
    /// The server closed it.
    ForcedClose,
}

impl CloseReason {
    /// The reason as Node names it.
    pub fn as_str(self) -> &'static str {
        match self {
            CloseReason::TransportClose => "transport close",
            CloseReason::TransportError => "transport error",
            CloseReason::PingTimeout => "ping timeout",
            CloseReason::ParseError => "parse error",
            CloseReason::ForcedClose => "forced close",
        }
    }
}

/// What the application learns from a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SessionEvent {
    /// A text message from the client.
    Message(String),
    /// A binary message from the client.
    Binary(Vec<u8>),
    /// The session moved from polling to its WebSocket.
    Upgraded,
    /// The probing WebSocket did not finish the upgrade in time, or broke
    /// its rules: close it; the session goes on polling.
    UpgradeAborted,
    /// The session is over.
    Closed(CloseReason),
}

/// Where an upgrade from polling stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Upgrade {
    None,
    /// A WebSocket opened with the session's sid; it must upgrade by then.
    Probing {
        deadline: Instant,
        probed: bool,
    },
}

/// One Engine.IO session; see the module docs.
#[derive(Debug)]
pub struct Session {
    /// Inline: an idle server holds one per client.
    sid: CompactString,
    /// Shared by a server's sessions.
    config: Arc<EngineConfig>,
    transport: Transport,
    upgrade: Upgrade,
    closed: Option<CloseReason>,
    /// Packets for the client, sent with the next poll answer or over the
    /// WebSocket.
    outbox: Queue<Packet<'static>>,
    /// Packets for the probing WebSocket only (`3probe`).
    probe_out: Queue<Packet<'static>>,
    /// A GET waits for packets.
    get_held: bool,
    /// A server close still owes a polling client its close packet.
    close_packet_owed: bool,
    /// The held GET must be answered now, with this body.
    poll_answer: Option<String>,
    next_ping: Option<Instant>,
    pong_deadline: Option<Instant>,
    events: Queue<SessionEvent>,
}

impl Session {
    /// A session opened on `transport` at `now`. Its open packet
    /// ([`Session::open_packet`]) is the first thing the client gets.
    /// A server passes one `Arc` to all its sessions.
    pub fn new(
        sid: String,
        transport: Transport,
        config: impl Into<Arc<EngineConfig>>,
        now: Instant,
    ) -> Self {
        let config = config.into();
        Session {
            next_ping: Some(now + config.ping_interval),
            sid: sid.into(),
            config,
            transport,
            upgrade: Upgrade::None,
            closed: None,
            outbox: Queue::default(),
            probe_out: Queue::default(),
            get_held: false,
            close_packet_owed: false,
            poll_answer: None,
            pong_deadline: None,
            events: Queue::default(),
        }
    }

    /// The session id (the client's bearer credential: keep it private).
    pub fn sid(&self) -> &str {
        &self.sid
    }

    /// A WebSocket is probing an upgrade.
    pub fn upgrading(&self) -> bool {
        matches!(self.upgrade, Upgrade::Probing { .. })
    }

    /// A message queued now would go straight out on the WebSocket, after
    /// nothing else: the session runs on WebSocket, is not upgrading or
    /// closed, and has nothing queued. A server sending the same message to
    /// many sessions may then frame it once and write it itself.
    pub fn sends_directly(&self) -> bool {
        self.transport == Transport::WebSocket
            && matches!(self.upgrade, Upgrade::None)
            && self.closed.is_none()
            && self.outbox.is_empty()
            && self.probe_out.is_empty()
    }

    /// The transport in use.
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// The session ended and has nothing left to hand over: it can be
    /// forgotten. (A server close on polling waits for the next GET to
    /// take its last packets.)
    pub fn is_done(&self) -> bool {
        match self.closed {
            None => false,
            Some(CloseReason::ForcedClose) => {
                self.transport == Transport::WebSocket
                    || (self.outbox.is_empty() && !self.close_packet_owed)
            }
            Some(_) => true,
        }
    }

    /// Why the session ended, once it has.
    pub fn closed(&self) -> Option<CloseReason> {
        self.closed
    }

    /// The open packet: `0{"sid","upgrades","pingInterval","pingTimeout","maxPayload"}`,
    /// exactly these keys.
    pub fn open_packet(&self) -> Packet<'static> {
        let upgrades = if self.transport == Transport::Polling && self.config.allow_upgrades {
            r#"["websocket"]"#
        } else {
            "[]"
        };
        Packet::Open(Cow::Owned(format!(
            r#"{{"sid":"{}","upgrades":{upgrades},"pingInterval":{},"pingTimeout":{},"maxPayload":{}}}"#,
            self.sid,
            self.config.ping_interval.as_millis(),
            self.config.ping_timeout.as_millis(),
            self.config.max_payload,
        )))
    }

    // ----- to the client ---------------------------------------------------

    /// Queues a text message for the client.
    pub fn send_text(&mut self, text: &str) {
        self.push(Packet::Message(Cow::Owned(text.to_owned())));
    }

    /// Queues a binary message for the client.
    pub fn send_binary(&mut self, data: &[u8]) {
        self.push(Packet::Binary(Cow::Owned(data.to_vec())));
    }

    /// Ends the session from the server's side. On polling, the held GET
    /// gets a close packet; a WebSocket is simply closed (as Node does).
    pub fn close(&mut self) {
        if self.closed.is_none() {
            // The close packet goes in a poll answer of its own, after
            // what is queued: a client handles its messages on a later
            // tick than the close (socket.io-client does), so a kick's
            // `41` in the same answer would be lost to the close.
            self.close_packet_owed = self.transport == Transport::Polling;
            self.end(CloseReason::ForcedClose);
        }
    }

    fn push(&mut self, packet: Packet<'static>) {
        if self.closed.is_none() {
            self.outbox.push(packet);
            self.answer_held_get();
        }
    }

    /// The body for the held GET, when there is one to give: the queued
    /// packets, or a close or noop when the session says so.
    pub fn take_poll_answer(&mut self) -> Option<String> {
        self.poll_answer.take()
    }

    /// Whether anything waits to be taken: an event, a poll's answer or
    /// a packet for the WebSocket. When nothing does, a caller that moves
    /// everything out of the session is done.
    pub fn has_output(&self) -> bool {
        !self.events.is_empty()
            || self.poll_answer.is_some()
            || !self.probe_out.is_empty()
            || (self.transport == Transport::WebSocket && !self.outbox.is_empty())
    }

    /// The next packet for the session's WebSocket: the probe's answer
    /// while upgrading, the queued packets once on WebSocket.
    pub fn poll_ws(&mut self) -> Option<Packet<'static>> {
        if let Some(packet) = self.probe_out.pop() {
            return Some(packet);
        }
        if self.transport == Transport::WebSocket {
            return self.outbox.pop();
        }
        None
    }

    /// What the application has to learn, in order.
    pub fn poll_event(&mut self) -> Option<SessionEvent> {
        self.events.pop()
    }

    /// A held GET gets what is queued (polling only).
    fn answer_held_get(&mut self) {
        if self.get_held && self.transport == Transport::Polling && !self.outbox.is_empty() {
            self.get_held = false;
            self.poll_answer = Some(self.drain_outbox());
        }
    }

    fn drain_outbox(&mut self) -> String {
        let body = encode_payload(self.outbox.iter());
        self.outbox.clear();
        body
    }

    fn end(&mut self, reason: CloseReason) {
        if self.closed.is_some() {
            return;
        }
        self.closed = Some(reason);
        self.next_ping = None;
        self.pong_deadline = None;
        // A client that probed is about to send `5` and poll no more: a
        // server close lets it finish, so its last packets reach it over
        // the WebSocket.
        let probed = matches!(self.upgrade, Upgrade::Probing { probed: true, .. });
        if !(reason == CloseReason::ForcedClose && probed) {
            self.upgrade = Upgrade::None;
        }
        self.events.push(SessionEvent::Closed(reason));
        if self.get_held {
            // Node answers the held GET with the close packet, or with a
            // noop when the client itself closed.
            self.get_held = false;
            let body = if !self.outbox.is_empty() {
                self.drain_outbox()
            } else if reason == CloseReason::TransportClose {
                "6".to_owned()
            } else {
                self.close_packet_owed = false;
                "1".to_owned()
            };
            self.poll_answer = Some(body);
        }
    }

    // ----- from the client: polling ---------------------------------------

    /// A polling GET: `Ok(Some(body))` to answer now, `Ok(None)` to hold
    /// it until [`Session::take_poll_answer`] has a body.
    pub fn get(&mut self, _now: Instant) -> Result<Option<String>, EngineError> {
        if self.transport == Transport::WebSocket {
            return Err(EngineError::BadRequest);
        }
        if self.closed.is_some() {
            // A server close leaves its last packets (a kick's `41`, the
            // close) for the next GET; any other end leaves nothing.
            if !self.outbox.is_empty() && self.closed == Some(CloseReason::ForcedClose) {
                return Ok(Some(self.drain_outbox()));
            }
            if std::mem::take(&mut self.close_packet_owed) {
                return Ok(Some("1".to_owned()));
            }
            return Err(EngineError::BadRequest);
        }
        if self.get_held {
            // Two GETs at once: the session ends, the first GET is told.
            self.end(CloseReason::TransportError);
            return Err(EngineError::BadRequest);
        }
        if !self.outbox.is_empty() {
            return Ok(Some(self.drain_outbox()));
        }
        if matches!(self.upgrade, Upgrade::Probing { probed: true, .. }) {
            // The client is moving to its WebSocket: do not hold it.
            return Ok(Some("6".to_owned()));
        }
        self.get_held = true;
        Ok(None)
    }

    /// The held GET went away (its client closed the connection): the next
    /// GET is not a second one at once.
    pub fn poll_abandoned(&mut self) {
        self.get_held = false;
    }

    /// A polling POST's whole body. `Ok(())` is answered `ok`; an error
    /// with its status (and a malformed body ends the session).
    pub fn post(&mut self, body: &str, now: Instant) -> Result<(), EngineError> {
        if self.closed.is_some() || self.transport == Transport::WebSocket {
            return Err(EngineError::BadRequest);
        }
        if body.len() > self.config.max_payload {
            self.end(CloseReason::TransportError);
            return Err(EngineError::PayloadTooLarge);
        }
        for packet in decode_payload(body) {
            let Ok(packet) = packet else {
                self.end(CloseReason::ParseError);
                return Err(EngineError::BadRequest);
            };
            if !self.on_packet(packet, now) {
                self.end(CloseReason::ParseError);
                return Err(EngineError::BadRequest);
            }
            if self.closed.is_some() {
                break;
            }
        }
        Ok(())
    }

    /// A packet on the session's own transport. `false`: one the client
    /// may not send there.
    fn on_packet(&mut self, packet: Packet<'_>, now: Instant) -> bool {
        match packet {
            Packet::Message(text) => self.events.push(SessionEvent::Message(text.into_owned())),
            Packet::Binary(data) => self.events.push(SessionEvent::Binary(data.into_owned())),
            Packet::Pong(_) => {
                if self.pong_deadline.take().is_some() {
                    self.next_ping = Some(now + self.config.ping_interval);
                }
            }
            Packet::Close => self.end(CloseReason::TransportClose),
            Packet::Noop => {}
            Packet::Open(_) | Packet::Ping(_) | Packet::Upgrade => return false,
        }
        true
    }

    // ----- from the client: WebSocket --------------------------------------

    /// A WebSocket opened with this session's sid: the upgrade begins.
    /// Refused (400) when the session is on WebSocket already, upgrading,
    /// or upgrades are off.
    pub fn begin_upgrade(&mut self, now: Instant) -> Result<(), EngineError> {
        if self.closed.is_some()
            || self.transport == Transport::WebSocket
            || self.upgrade != Upgrade::None
            || !self.config.allow_upgrades
        {
            return Err(EngineError::BadRequest);
        }
        self.upgrade = Upgrade::Probing {
            deadline: now + self.config.upgrade_timeout,
            probed: false,
        };
        Ok(())
    }

    /// A text message on the session's WebSocket (the probing one while
    /// upgrading).
    pub fn ws_text(&mut self, text: &str, now: Instant) {
        let packet = Packet::from_text(text);
        if let Upgrade::Probing { probed, .. } = self.upgrade {
            return self.on_probe_packet(packet.ok(), probed);
        }
        let accepted = match packet {
            Ok(packet) => self.on_packet(packet, now),
            Err(_) => false,
        };
        if !accepted {
            self.end(CloseReason::ParseError);
        }
    }

    /// The data of `text`, a message packet on the session's WebSocket,
    /// for the caller to hand on at once rather than through
    /// [`Session::poll_event`], which would copy it: when the session is
    /// open, not upgrading, and no event waits before this one. `None`
    /// otherwise (or for any other packet); `text` then goes to
    /// [`Session::ws_text`].
    pub fn ws_message<'t>(&self, text: &'t str) -> Option<&'t str> {
        let data = text.strip_prefix(super::packet::MESSAGE)?;
        let ready =
            self.closed.is_none() && self.upgrade == Upgrade::None && self.events.is_empty();
        ready.then_some(data)
    }

    /// A binary message on the session's WebSocket.
    pub fn ws_binary(&mut self, data: &[u8], now: Instant) {
        if let Upgrade::Probing { .. } = self.upgrade {
            return self.abort_upgrade();
        }
        self.on_packet(Packet::from_binary(data), now);
    }

    /// The upgrade's packets: `2probe`, answered `3probe`; then `5`.
    fn on_probe_packet(&mut self, packet: Option<Packet<'_>>, probed: bool) {
        match packet {
            Some(Packet::Ping(data)) if data == "probe" && !probed => {
                self.probe_out.push(Packet::Pong(Cow::Borrowed("probe")));
                if let Upgrade::Probing { probed, .. } = &mut self.upgrade {
                    *probed = true;
                }
                // A held GET is let go, so the client can send `5`.
                if self.get_held {
                    self.get_held = false;
                    self.poll_answer = Some("6".to_owned());
                }
            }
            Some(Packet::Upgrade) if probed => {
                self.upgrade = Upgrade::None;
                self.transport = Transport::WebSocket;
                if self.get_held {
                    self.get_held = false;
                    self.poll_answer = Some("6".to_owned());
                }
                self.events.push(SessionEvent::Upgraded);
            }
            _ => self.abort_upgrade(),
        }
    }

    fn abort_upgrade(&mut self) {
        self.upgrade = Upgrade::None;
        self.probe_out.clear();
        self.events.push(SessionEvent::UpgradeAborted);
    }

    /// The session's WebSocket went away: the session ends if it was the
    /// transport, the upgrade if it was probing.
    pub fn ws_closed(&mut self) {
        match (self.transport, self.upgrade) {
            (Transport::WebSocket, _) => self.end(CloseReason::TransportClose),
            (Transport::Polling, Upgrade::Probing { .. }) => self.abort_upgrade(),
            _ => {}
        }
    }

    /// Gives the queues' storage back when they hold nothing: an idle
    /// session would otherwise keep the capacity its busiest moment grew.
    pub fn release_idle_buffers(&mut self) -> bool {
        // Not short-circuited: each queue is released.
        self.outbox.release_if_empty()
            | self.probe_out.release_if_empty()
            | self.events.release_if_empty()
    }

    // ----- time -------------------------------------------------------------

    /// The next moment [`Session::handle_timeout`] has work.
    pub fn poll_timeout(&self) -> Option<Instant> {
        let upgrade = match self.upgrade {
            Upgrade::Probing { deadline, .. } => Some(deadline),
            Upgrade::None => None,
        };
        [self.next_ping, self.pong_deadline, upgrade]
            .into_iter()
            .flatten()
            .min()
    }

    /// Runs what is due at `now`: a ping, a ping timeout, an upgrade that
    /// took too long.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.pong_deadline.is_some_and(|at| at <= now) {
            return self.end(CloseReason::PingTimeout);
        }
        if self.next_ping.is_some_and(|at| at <= now) {
            self.next_ping = None;
            self.pong_deadline = Some(now + self.config.ping_timeout);
            self.push(Packet::Ping(Cow::Borrowed("")));
        }
        if matches!(self.upgrade, Upgrade::Probing { deadline, .. } if deadline <= now) {
            self.abort_upgrade();
        }
    }
}
