//! Client connections on the same loops: a non-blocking connect, the
//! upgrade request queued to go out once it is connected.

use mio::net::TcpStream;

use super::Worker;
use crate::net::client::{ClientOptions, WsUrl};
use crate::net::close::CloseReason;
use crate::net::handle::ConnId;
use crate::net::handler::Handler;
use crate::net::session::Phase;

impl<H: Handler> Worker<H> {
    /// Starts a client connection: a non-blocking connect, the request
    /// queued to go out once connected.
    pub(super) fn connect(
        &mut self,
        id: ConnId,
        addr: std::net::SocketAddr,
        url: &WsUrl,
        options: ClientOptions,
    ) {
        let connected = match options.bind {
            None => TcpStream::connect(addr),
            Some(ip) => crate::net::listener::connect_from(ip, addr),
        };
        // Connecting, wrapping it for TLS and registering it fail alike:
        // the handler hears of it under the id `connect` returned.
        let inserted = connected
            .and_then(|stream| options.transport(stream, url, true))
            .and_then(|transport| self.insert(transport, addr));
        let key = match inserted {
            Ok(key) => key,
            Err(e) => {
                log::debug!("connect {addr}: {e}");
                let reason = CloseReason::Io {
                    during: "connect",
                    error: e.to_string(),
                };
                self.handler.on_close(id, &reason);
                return;
            }
        };
        let request = options.request(url);
        if let Some(ticket) = id.ticket() {
            self.dialed.insert(ticket, key);
        }
        let session = &mut self.sessions[key];
        session.id = id;
        session.queue_raw(request.bytes());
        session.phase = Phase::Connecting {
            request: Box::new(request),
            options: Box::new(options),
            head: Vec::new(),
            connected: false,
        };
    }
}
