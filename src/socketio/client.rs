//! The Socket.IO side of one Engine.IO session, sans-IO: the namespaces a
//! client joined, packets with binary attachments put back together, the
//! server's ack ids, and the connect timeout.
//!
//! Engine.IO messages go in ([`Client::on_text`], [`Client::on_binary`]);
//! what the application must decide or handle comes out as
//! [`ClientEvent`]s; what goes to the client comes out as Engine.IO
//! messages ([`Client::poll_transmit`]). Whether a namespace exists, and
//! whether a client may join it, is the application's call
//! ([`Client::accept`], [`Client::refuse`]).

use std::borrow::Cow;
use std::time::{Duration, Instant};

use compact_str::CompactString;
use serde_json::Value;
use smallvec::SmallVec;
use thin_vec::ThinVec;

use super::packet::{Packet, PacketKind, Received, ReceivedData};
use crate::engineio::queue::Queue;

/// An Engine.IO message for the client.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outgoing {
    /// A text message (a Socket.IO packet).
    Text(String),
    /// A binary message (an attachment of the packet before it).
    Binary(Vec<u8>),
}

/// What the client did, for the application.
#[derive(Clone, Debug, PartialEq)]
pub enum ClientEvent {
    /// The client asks to join `nsp`, with its auth payload: answer with
    /// [`Client::accept`] or [`Client::refuse`].
    Connect {
        /// The namespace.
        nsp: Cow<'static, str>,
        /// The `auth` object the client sent, if any.
        auth: Option<Value>,
    },
    /// An event on a joined namespace.
    Event {
        /// The namespace.
        nsp: Cow<'static, str>,
        /// The event's name (an event named by a number has the number's
        /// text).
        name: CompactString,
        /// Its arguments; binary arguments are placeholders for `binary`.
        args: Vec<Value>,
        /// The attachments, in placeholder order.
        binary: Vec<Vec<u8>>,
        /// The client wants an answer with this id ([`Client::ack`]).
        ack: Option<u64>,
    },
    /// The answer to an event the server emitted asking for one.
    Ack {
        /// The namespace.
        nsp: Cow<'static, str>,
        /// The id [`Client::emit`] returned.
        id: u64,
        /// The answer's arguments.
        data: Vec<Value>,
        /// Its attachments.
        binary: Vec<Vec<u8>>,
    },
    /// The client left `nsp`.
    Disconnect {
        /// The namespace.
        nsp: Cow<'static, str>,
    },
    /// The session must end: the client broke the protocol, or joined no
    /// namespace in time.
    Close(ClientClose),
}

/// Why the Socket.IO layer ends a session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ClientClose {
    /// A packet that does not parse, or that makes no sense where it came.
    ParseError(String),
    /// No namespace joined within the connect timeout.
    ConnectTimeout,
}

/// A joined namespace.
#[derive(Debug)]
struct Joined {
    nsp: CompactString,
    /// The Socket.IO id given to the client (not the Engine.IO sid).
    sid: CompactString,
    /// The next id for an ack the server asks for.
    next_ack: u64,
}

/// A packet whose binary attachments are still arriving.
#[derive(Debug)]
struct Awaiting {
    packet: Received,
    binary: Vec<Vec<u8>>,
}

/// The Socket.IO state of one session; see the module docs.
#[derive(Debug)]
pub struct Client {
    /// Most clients join one namespace: it is kept inline.
    joined: SmallVec<[Joined; 1]>,
    /// Asked to join, not yet answered.
    pending: ThinVec<String>,
    /// Boxed: rare, and every session holds the field.
    awaiting: Option<Box<Awaiting>>,
    connect_deadline: Option<Instant>,
    out: Queue<Outgoing>,
    events: Queue<ClientEvent>,
    closed: bool,
}

impl Client {
    /// A client whose Engine.IO session opened at `now`; it must join a
    /// namespace within `connect_timeout` (Node's default: 45 s).
    pub fn new(connect_timeout: Duration, now: Instant) -> Self {
        Client {
            joined: SmallVec::new(),
            pending: ThinVec::new(),
            awaiting: None,
            connect_deadline: Some(now + connect_timeout),
            out: Queue::default(),
            events: Queue::default(),
            closed: false,
        }
    }

    /// The Socket.IO id of the client on `nsp`, once joined.
    pub fn sid(&self, nsp: &str) -> Option<&str> {
        self.joined(nsp).map(|joined| joined.sid.as_str())
    }

    fn joined(&self, nsp: &str) -> Option<&Joined> {
        self.joined
            .iter()
            .find(|joined| super::same_nsp(&joined.nsp, nsp))
    }

    /// Forgets `nsp`; whether it was joined.
    fn leave(&mut self, nsp: &str) -> bool {
        let at = self.joined.iter().position(|joined| joined.nsp == nsp);
        at.map(|at| self.joined.swap_remove(at)).is_some()
    }

    // ----- in ----------------------------------------------------------------

    /// A text message from the client: a Socket.IO packet.
    pub fn on_text(&mut self, text: &str) {
        if let Some(event) = self.read_text(text) {
            self.events.push(event);
        }
    }

    /// [`Client::on_text`], except that the event the packet makes, if
    /// any, is returned rather than queued when no event is queued before
    /// it: the caller hands it on at once, without a trip through the
    /// queue.
    pub fn on_text_event(&mut self, text: &str) -> Option<ClientEvent> {
        let event = self.read_text(text)?;
        if self.events.is_empty() {
            return Some(event);
        }
        self.events.push(event);
        None
    }

    /// The event a text message makes, if it makes one now.
    // Inlined with what it calls down to the JSON reader, so that the event
    // is built where it ends up: moved out through each `Result`, its
    // hundred-odd bytes were copied in pieces that stalled the loads after
    // them (store forwarding; ~4% of emit+acks/s).
    #[inline(always)]
    fn read_text(&mut self, text: &str) -> Option<ClientEvent> {
        if self.closed {
            return None;
        }
        if self.awaiting.is_some() {
            self.fail("a packet came before the attachments of the last one".into());
            return None;
        }
        match Received::parse(text) {
            Ok(packet) if packet.attachments > 0 => {
                self.awaiting = Some(Box::new(Awaiting {
                    binary: Vec::with_capacity(packet.attachments),
                    packet,
                }));
                None
            }
            Ok(packet) => self.read_packet(packet, Vec::new()),
            Err(e) => {
                self.fail(e.to_string());
                None
            }
        }
    }

    /// A binary message from the client: an attachment of the packet
    /// before it.
    pub fn on_binary(&mut self, data: &[u8]) {
        if self.closed {
            return;
        }
        let Some(awaiting) = self.awaiting.as_mut() else {
            return self.fail("an attachment with no packet".into());
        };
        awaiting.binary.push(data.to_vec());
        if awaiting.binary.len() == awaiting.packet.attachments {
            let Awaiting { packet, binary } = *self.awaiting.take().expect("just matched");
            if let Some(event) = self.read_packet(packet, binary) {
                self.events.push(event);
            }
        }
    }

    /// The event a whole packet makes; `None` when it breaks the protocol
    /// (the session's close is queued) or makes none.
    #[inline(always)] // see `read_text`
    fn read_packet(&mut self, packet: Received, binary: Vec<Vec<u8>>) -> Option<ClientEvent> {
        let Received {
            kind,
            nsp,
            id,
            data,
            ..
        } = packet;
        let joined = self.joined(&nsp).is_some();
        let data = match data {
            // Only events are read so (Received::parse).
            ReceivedData::Event { name, args } if joined => {
                return Some(ClientEvent::Event {
                    nsp,
                    name,
                    args,
                    binary,
                    ack: id,
                });
            }
            ReceivedData::Event { .. } => None,
            ReceivedData::Data(data) => data,
        };
        let args = |data: Option<Value>| match data {
            Some(Value::Array(args)) => args,
            _ => Vec::new(),
        };
        match kind {
            PacketKind::Connect
                if !joined && !self.pending.iter().any(|pending| *pending == nsp) =>
            {
                self.pending.reserve_exact(1);
                self.pending.push(nsp.to_string());
                Some(ClientEvent::Connect { nsp, auth: data })
            }
            PacketKind::Disconnect if joined => {
                self.leave(&nsp);
                Some(ClientEvent::Disconnect { nsp })
            }
            PacketKind::Ack | PacketKind::BinaryAck if joined => match id {
                Some(id) => Some(ClientEvent::Ack {
                    nsp,
                    id,
                    data: args(data),
                    binary,
                }),
                None => {
                    self.fail("an ack without an id".into());
                    None
                }
            },
            kind => {
                self.fail(format!("{kind:?} on namespace {nsp} in the wrong state"));
                None
            }
        }
    }

    fn fail(&mut self, why: String) {
        self.closed = true;
        self.awaiting = None;
        self.events
            .push(ClientEvent::Close(ClientClose::ParseError(why)));
    }

    // ----- the application's answers and sends ------------------------------

    /// Lets the client join `nsp` under the Socket.IO id `sid`: it gets
    /// `40<nsp>,{"sid":...}`.
    pub fn accept(&mut self, nsp: &str, sid: String) {
        self.accept_with_pid(nsp, sid, None);
    }

    /// [`Client::accept`], with the private id under which the socket can
    /// be recovered (`40{"sid":...,"pid":...}`), when recovery is on.
    pub fn accept_with_pid(&mut self, nsp: &str, sid: String, pid: Option<String>) {
        self.pending.retain(|pending| pending != nsp);
        self.connect_deadline = None;
        let mut answer = serde_json::json!({ "sid": sid });
        if let Some(pid) = pid {
            answer["pid"] = Value::String(pid);
        }
        self.send(
            Packet::new(PacketKind::Connect, nsp, Some(answer)),
            Vec::new(),
        );
        self.leave(nsp);
        self.joined.push(Joined {
            nsp: nsp.into(),
            sid: sid.into(),
            next_ack: 0,
        });
    }

    /// The namespaces joined, with the socket id on each.
    pub fn namespaces(&self) -> Vec<(String, String)> {
        let joined = self.joined.iter();
        joined
            .map(|j| (j.nsp.to_string(), j.sid.to_string()))
            .collect()
    }

    /// Refuses to let the client join `nsp`, telling it why (an object,
    /// as `{"message":"Invalid namespace"}`).
    pub fn refuse(&mut self, nsp: &str, why: Value) {
        self.pending.retain(|pending| pending != nsp);
        self.send(
            Packet::new(PacketKind::ConnectError, nsp, Some(why)),
            Vec::new(),
        );
    }

    /// Emits `event` with `args` on a joined namespace, with `binary`
    /// attachments for the placeholders in `args`. With `ack`, returns the
    /// id the answer will carry. `None` when the client is not on `nsp`.
    pub fn emit(
        &mut self,
        nsp: &str,
        event: &str,
        args: Vec<Value>,
        binary: Vec<Vec<u8>>,
        ack: bool,
    ) -> Option<Option<u64>> {
        let joined = self.joined.iter_mut().find(|joined| joined.nsp == nsp)?;
        let id = ack.then(|| {
            let id = joined.next_ack;
            joined.next_ack += 1;
            id
        });
        let packet = Packet {
            id,
            ..Packet::event(nsp, event, args, binary.len())
        };
        self.send(packet, binary);
        Some(id)
    }

    /// Answers the client's event that asked for ack `id`.
    pub fn ack(&mut self, nsp: &str, id: u64, args: Vec<Value>, binary: Vec<Vec<u8>>) {
        self.send(Packet::ack(nsp, id, args, binary.len()), binary);
    }

    /// Makes the client leave `nsp` (it gets `41<nsp>`).
    pub fn disconnect(&mut self, nsp: &str) {
        if self.leave(nsp) {
            self.send(Packet::new(PacketKind::Disconnect, nsp, None), Vec::new());
        }
    }

    fn send(&mut self, mut packet: Packet, binary: Vec<Vec<u8>>) {
        packet.attachments = binary.len();
        self.out.push(Outgoing::Text(packet.encode()));
        self.out.extend(binary.into_iter().map(Outgoing::Binary));
    }

    // ----- out ----------------------------------------------------------------

    /// The next Engine.IO message for the client. A packet's attachments
    /// follow it directly, so they go in the same flush.
    pub fn poll_transmit(&mut self) -> Option<Outgoing> {
        self.out.pop()
    }

    /// Whether an event or a message for the client waits to be taken.
    pub fn has_output(&self) -> bool {
        !self.events.is_empty() || !self.out.is_empty()
    }

    /// The next thing the application must handle.
    pub fn poll_event(&mut self) -> Option<ClientEvent> {
        self.events.pop()
    }

    /// Gives the queues' storage back when they hold nothing.
    pub fn release_idle_buffers(&mut self) -> bool {
        let pending = self.pending.is_empty() && self.pending.capacity() > 0;
        if pending {
            self.pending = ThinVec::new();
        }
        // Not short-circuited: each queue is released.
        self.out.release_if_empty() | self.events.release_if_empty() | pending
    }

    /// When the connect timeout falls due (until a namespace is joined).
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.connect_deadline
    }

    /// Ends the session when no namespace was joined in time.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.connect_deadline.is_some_and(|at| at <= now) && !self.closed {
            self.connect_deadline = None;
            self.closed = true;
            self.events
                .push(ClientEvent::Close(ClientClose::ConnectTimeout));
        }
    }
}
