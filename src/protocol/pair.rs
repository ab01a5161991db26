//! Two connections back to back with a simulated clock: the sans-IO core
//! driven without sockets, for tests, benchmarks and examples (after the
//! test `Pair` of quinn-proto).
//!
//! ```
//! use std::time::Duration;
//! use simdws::protocol::{Config, OwnedEvent, Pair};
//!
//! let mut pair = Pair::new(Config::default());
//! pair.client.send_text("hello").unwrap();
//! let driven = pair.drive().unwrap();
//! assert_eq!(driven.server, vec![OwnedEvent::Text("hello".into())]);
//! // Time is an input: move it, and the timers run.
//! pair.advance(Duration::from_secs(1));
//! ```

use std::time::{Duration, Instant};

use super::config::Config;
use super::connection::Connection;
use super::core::Role;
use super::error::ProtocolError;
use super::event::{Event, OwnedEvent};

/// Which end of a [`Pair`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// The client end (it masks what it sends).
    Client,
    /// The server end.
    Server,
}

/// What one [`Pair::drive`] delivered to each end.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Driven {
    /// Events the client received.
    pub client: Vec<OwnedEvent>,
    /// Events the server received.
    pub server: Vec<OwnedEvent>,
}

/// A client and a server connection joined by an in-memory wire.
pub struct Pair {
    /// The client end.
    pub client: Connection,
    /// The server end.
    pub server: Connection,
    /// The simulated clock: the instant both ends were last given.
    pub now: Instant,
    /// The bytes in flight, reused from one transfer to the next so that
    /// driving a pair allocates nothing once it has grown.
    wire: Vec<u8>,
}

impl std::fmt::Debug for Pair {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pair")
            .field("client", &self.client)
            .field("server", &self.server)
            .finish_non_exhaustive()
    }
}

impl Pair {
    /// Both ends with `config`, the clock at the present instant.
    pub fn new(config: Config) -> Pair {
        let now = Instant::now();
        Pair::from_connections(
            Connection::new(Role::Client, config, now),
            Connection::new(Role::Server, config, now),
            now,
        )
    }

    /// The given ends (with extensions installed, say), the clock at `now`.
    pub fn from_connections(client: Connection, server: Connection, now: Instant) -> Pair {
        Pair {
            client,
            server,
            now,
            wire: Vec::new(),
        }
    }

    /// Moves what each end has queued to the other, and what that makes
    /// them answer (pongs, close echoes), until neither has anything to
    /// send. Every event, borrowed, goes to `on_event` with the end that
    /// received it; returns how many there were, or the first protocol
    /// error with the end that detected it.
    pub fn drive_with(
        &mut self,
        mut on_event: impl FnMut(Side, Event<'_>),
    ) -> Result<usize, (Side, ProtocolError)> {
        let mut events = 0;
        loop {
            let to_server = transfer(&mut self.client, &mut self.server, &mut self.wire, |e| {
                on_event(Side::Server, e)
            })
            .map_err(|e| (Side::Server, e))?;
            let to_client = transfer(&mut self.server, &mut self.client, &mut self.wire, |e| {
                on_event(Side::Client, e)
            })
            .map_err(|e| (Side::Client, e))?;
            match (to_server, to_client) {
                (None, None) => return Ok(events),
                (a, b) => events += a.unwrap_or(0) + b.unwrap_or(0),
            }
        }
    }

    /// Moves what the other end has queued to `to`, once (nothing that
    /// `to` answers goes back): the one-way path that benchmarks measure.
    /// Returns the number of events `to` received.
    pub fn deliver(
        &mut self,
        to: Side,
        on_event: impl FnMut(Event<'_>),
    ) -> Result<usize, ProtocolError> {
        let (from, into) = match to {
            Side::Server => (&mut self.client, &mut self.server),
            Side::Client => (&mut self.server, &mut self.client),
        };
        Ok(transfer(from, into, &mut self.wire, on_event)?.unwrap_or(0))
    }

    /// [`Pair::drive_with`], keeping owned copies of the events.
    pub fn drive(&mut self) -> Result<Driven, (Side, ProtocolError)> {
        let mut driven = Driven::default();
        self.drive_with(|side, event| match side {
            Side::Client => driven.client.push(event.into()),
            Side::Server => driven.server.push(event.into()),
        })?;
        Ok(driven)
    }

    /// Moves the clock on by `by` and runs both ends' timers (keepalive,
    /// idle, close deadlines). Call [`Pair::drive`] to deliver what they
    /// sent.
    pub fn advance(&mut self, by: Duration) {
        self.now += by;
        self.client.handle_timeout(self.now);
        self.server.handle_timeout(self.now);
    }
}

/// Moves everything `from` has queued into `to`. `None` when there was
/// nothing to move, else the number of events it produced.
fn transfer(
    from: &mut Connection,
    to: &mut Connection,
    wire: &mut Vec<u8>,
    on_event: impl FnMut(Event<'_>),
) -> Result<Option<usize>, ProtocolError> {
    let out = from.poll_transmit();
    if out.is_empty() {
        return Ok(None);
    }
    wire.clear();
    wire.extend_from_slice(out);
    let n = wire.len();
    from.advance_transmit(n);
    to.receive_all(wire, on_event).map(Some)
}
