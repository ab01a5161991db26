//! A connection at rest: open, with nothing in flight either way. Most
//! connections of a busy server are like this most of the time, so what it
//! keeps is the least that lets it go on exactly where it stopped — its role,
//! its keepalive clock and its extension — in a few dozen bytes instead of a
//! whole [`Connection`] with its buffers.

use std::time::Instant;

use super::config::Config;
use super::connection::Connection;
use super::core::Role;
use super::extension::{MessageDecoder, MessageEncoder};
use super::timers::Timers;

/// A negotiated extension's two halves.
type ExtensionHalves = (Box<dyn MessageDecoder>, Box<dyn MessageEncoder>);

/// What [`Connection::rest`] keeps; [`RestingConnection::wake`] turns it
/// back into a connection that behaves as if it had never slept.
pub struct RestingConnection {
    role: Role,
    /// When input last arrived, for the ping and idle timers.
    last_input: Instant,
    last_ping: Instant,
    /// A negotiated extension's halves, with whatever state they keep
    /// between messages (permessage-deflate's context takeover).
    extension: Option<Box<ExtensionHalves>>,
}

impl std::fmt::Debug for RestingConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RestingConnection")
            .field("role", &self.role)
            .field("last_input", &self.last_input)
            .field("extension", &self.extension.is_some())
            .finish_non_exhaustive()
    }
}

impl RestingConnection {
    /// Which end of the connection this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// When a keepalive ping or the idle timeout falls due under `config`
    /// (the connection's own); wake it then and call `handle_timeout`.
    pub fn poll_timeout(&self, config: &Config) -> Option<Instant> {
        Timers::resumed(config, self.last_input, self.last_input, self.last_ping).next_deadline()
    }

    /// The connection again, with `config` (the one it was created with).
    pub fn wake(self, config: Config, now: Instant) -> Connection {
        let timers = Timers::resumed(&config, now, self.last_input, self.last_ping);
        let conn = Connection::with_timers(self.role, config, timers);
        match self.extension {
            Some(halves) => {
                let (decoder, encoder) = *halves;
                conn.with_extension(decoder, encoder)
            }
            None => conn,
        }
    }
}

impl Connection {
    /// Open, with nothing half received, queued or half sent, and no close
    /// begun: [`Connection::rest`] would lose nothing.
    pub fn is_at_rest(&self) -> bool {
        self.decoder.is_at_rest() && self.assembler.is_at_rest() && self.core.is_at_rest()
    }

    /// Puts a connection at rest (see the module docs), or gives it back
    /// when it is not [at rest](Connection::is_at_rest). Boxed, because
    /// freeing the box is the point.
    pub fn rest(mut self: Box<Self>, now: Instant) -> Result<RestingConnection, Box<Self>> {
        if !self.is_at_rest() {
            return Err(self);
        }
        let role = self.role();
        let (last_input, last_ping) = self.core.timers.keepalive_state(now);
        let extension = match (self.assembler.take_extension(), self.core.encoder.take()) {
            (Some(decoder), Some(encoder)) => Some(Box::new((decoder, encoder))),
            _ => None,
        };
        Ok(RestingConnection {
            role,
            last_input,
            last_ping,
            extension,
        })
    }
}

#[cfg(all(test, target_pointer_width = "64"))]
mod tests {
    use super::*;

    /// What an idle connection costs is the point of resting: keep it small.
    #[test]
    fn a_resting_connection_fits_in_48_bytes() {
        assert!(std::mem::size_of::<RestingConnection>() <= 48);
        assert!(std::mem::size_of::<RestingConnection>() * 10 < std::mem::size_of::<Connection>());
    }
}
