//! One event loop per thread: edge-triggered mio, a slab of sessions, one
//! loop-wide receive buffer decoded in place, one write per connection per
//! turn, and a coarse timer sweep.

use std::io::{self, Read};
use std::sync::Arc;
use std::time::Instant;

use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token};
use slab::Slab;

use super::client::{ClientOptions, WsUrl};
use super::config::ServerConfig;
use super::handle::{Command, ConnId, OwnedMessage, ServerHandle};
use super::handler::{Conn, Handler, Message};
use super::http::{self as http_phase, HttpContext, HttpSession, Wait};
use super::session::{Phase, Session};
use super::transport::Transport;
use crate::frame::CloseCode;
use crate::handshake::Rejection;
use crate::http::http_date;
use crate::protocol::{Connection, Event, Role};

/// Why a read loop stopped.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadStop {
    /// Nothing more to read now (or reading is paused).
    Drained,
    /// Output passed the high-water mark with input possibly left.
    OutputFull,
    /// The session ended.
    Gone,
}

pub(crate) const LISTENER: Token = Token(usize::MAX - 1);
pub(crate) const WAKER: Token = Token(usize::MAX);

pub(crate) struct Worker<H: Handler> {
    index: usize,
    poll: Poll,
    listener: Option<TcpListener>,
    sessions: Slab<Session>,
    generation: u32,
    recv_buf: Vec<u8>,
    handler: H,
    handle: ServerHandle,
    config: Arc<ServerConfig>,
    shutdown_deadline: Option<Instant>,
    /// The HTTP `Date` header's value, refreshed every tick.
    date: [u8; 29],
}

impl<H: Handler> Worker<H> {
    pub fn new(
        index: usize,
        poll: Poll,
        listener: Option<TcpListener>,
        handler: H,
        handle: ServerHandle,
        config: Arc<ServerConfig>,
    ) -> Self {
        Worker {
            index,
            poll,
            listener,
            sessions: Slab::with_capacity(1024),
            generation: 0,
            recv_buf: vec![0; config.recv_buffer],
            handler,
            handle,
            config,
            shutdown_deadline: None,
            date: http_date(std::time::SystemTime::now()),
        }
    }

    pub fn run(mut self) {
        let mut events = Events::with_capacity(1024);
        let mut next_tick = Instant::now() + self.config.tick;
        loop {
            let timeout = next_tick.saturating_duration_since(Instant::now());
            if let Err(e) = self.poll.poll(&mut events, Some(timeout)) {
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                log::error!("worker {}: poll failed: {e}", self.index);
                return;
            }
            for event in events.iter() {
                match event.token() {
                    LISTENER => self.accept_all(),
                    WAKER => self.drain_mailbox(),
                    Token(key) => {
                        // With the peer's FIN in the same edge as its last
                        // data, a short read does not mean "drained": the
                        // EOF would get no edge of its own.
                        let peer_done = event.is_read_closed() || event.is_error();
                        if event.is_readable() || peer_done {
                            self.on_readable(key, peer_done);
                        }
                        if event.is_writable() {
                            self.after_io(key);
                        }
                    }
                }
            }
            let now = Instant::now();
            if now >= next_tick {
                self.sweep(now);
                next_tick = now + self.config.tick;
            }
            if let Some(deadline) = self.shutdown_deadline {
                if self.sessions.is_empty() || now >= deadline {
                    let keys: Vec<usize> = self.sessions.iter().map(|(k, _)| k).collect();
                    for key in keys {
                        self.remove(key);
                    }
                    log::debug!("worker {} stopped", self.index);
                    return;
                }
            }
        }
    }

    // ----- accepting -------------------------------------------------------

    fn accept_all(&mut self) {
        loop {
            let Some(listener) = self.listener.as_ref() else {
                return;
            };
            match listener.accept() {
                Ok((stream, peer)) => {
                    let accepted = match self.server_transport(stream) {
                        Ok(transport) => self.insert(transport, peer),
                        Err(e) => Err(e),
                    };
                    if let Err(e) = accepted {
                        log::warn!("registering {peer}: {e}");
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    // EMFILE and friends: stop for this turn, the edge comes
                    // back with the next connection.
                    log::warn!("accept: {e}");
                    return;
                }
            }
        }
    }

    /// An accepted socket, with TLS when the server has it.
    fn server_transport(&self, stream: TcpStream) -> io::Result<Transport<TcpStream>> {
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.config.tls {
            let stream = super::tls::TlsStream::server(stream, tls.clone())?;
            return Ok(Transport::Tls(Box::new(stream)));
        }
        Ok(Transport::Plain(stream))
    }

    fn insert(
        &mut self,
        mut stream: Transport<TcpStream>,
        peer: std::net::SocketAddr,
    ) -> io::Result<usize> {
        stream.socket().set_nodelay(true)?;
        let entry = self.sessions.vacant_entry();
        let key = entry.key();
        self.generation = self.generation.wrapping_add(1);
        let id = ConnId::new(self.index, self.generation, key);
        self.poll.registry().register(
            stream.socket_mut(),
            Token(key),
            Interest::READABLE | Interest::WRITABLE,
        )?;
        let now = Instant::now();
        let phase = Phase::Http(Box::new(HttpSession::new(&self.config, now)));
        entry.insert(Session::new(
            stream,
            id,
            phase,
            now + self.config.handshake_timeout,
        ));
        log::debug!("{id} accepted from {peer}");
        Ok(key)
    }

    // ----- reading ---------------------------------------------------------

    /// Reads and answers until the socket is drained, flushing as it goes.
    /// Reading stops while output is past the high-water mark; when a flush
    /// makes room again, reading goes on at once, since data already waiting
    /// in the socket will not announce itself with a new edge.
    fn on_readable(&mut self, key: usize, peer_done: bool) {
        loop {
            let stop = self.read_until_stopped(key, peer_done);
            self.after_io(key);
            let Some(session) = self.sessions.get(key) else {
                return;
            };
            let room = !session.backed_up && session.buffered() <= self.config.high_water;
            if !(stop == ReadStop::OutputFull && room) {
                return;
            }
        }
    }

    fn read_until_stopped(&mut self, key: usize, peer_done: bool) -> ReadStop {
        loop {
            let Some(session) = self.sessions.get_mut(key) else {
                return ReadStop::Gone;
            };
            if let Phase::Draining { .. } = session.phase {
                if session.drain_input(&mut self.recv_buf) {
                    self.remove(key);
                    return ReadStop::Gone;
                }
                return ReadStop::Drained;
            }
            let paused = match &session.phase {
                Phase::LastResponse => true,
                Phase::Http(http) => http.input_paused(&self.config),
                _ => false,
            };
            if session.backed_up || paused {
                return ReadStop::Drained;
            }
            if session.connection().is_some_and(|c| c.is_finished()) {
                return ReadStop::Drained;
            }
            match session.stream.read(&mut self.recv_buf) {
                Ok(0) => {
                    // A half-closed peer still reads: give it what it is
                    // owed (best effort) before closing.
                    let _ = session.flush();
                    if session.close_info.is_none() && !session.is_open() {
                        session.note_close(
                            CloseCode::ABNORMAL,
                            "connection closed by the peer".into(),
                        );
                    }
                    self.remove(key);
                    return ReadStop::Gone;
                }
                Ok(n) => {
                    session.active = true;
                    self.process(key, n);
                    let Some(session) = self.sessions.get(key) else {
                        return ReadStop::Gone;
                    };
                    if session.doomed {
                        self.remove(key);
                        return ReadStop::Gone;
                    }
                    if session.buffered() > self.config.high_water {
                        return ReadStop::OutputFull;
                    }
                    // A short read drained the socket: the next edge will
                    // announce more, so no read that only says WouldBlock.
                    if n < self.recv_buf.len() && !peer_done {
                        return ReadStop::Drained;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return ReadStop::Drained,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    log::debug!("{} read: {e}", session.id);
                    #[cfg(feature = "tls")]
                    if super::tls::is_not_tls(&e) {
                        // Plain HTTP on the TLS port: say so, as nginx does.
                        use std::io::Write as _;
                        let _ = session
                            .stream
                            .socket_mut()
                            .write(super::tls::PLAIN_HTTP_RESPONSE);
                    }
                    session.note_close_unless_noted(CloseCode::ABNORMAL, format!("read: {e}"));
                    self.remove(key);
                    return ReadStop::Gone;
                }
            }
        }
    }

    /// Handles `n` fresh bytes at the start of the receive buffer.
    fn process(&mut self, key: usize, n: usize) {
        let Worker {
            sessions,
            recv_buf,
            handler,
            handle,
            config,
            date,
            ..
        } = self;
        let Some(session) = sessions.get_mut(key) else {
            return;
        };
        session.wake(&config.protocol);
        let input = &mut recv_buf[..n];
        match &mut session.phase {
            Phase::Http(_) => {
                let mut cx = HttpContext {
                    handler,
                    handle,
                    config,
                    date,
                };
                http_phase::http_bytes(session, input, &mut cx);
            }
            Phase::Connecting { .. } => response_bytes(session, input, handler, handle),
            Phase::Open(_) => frame_bytes(session, input, handler, handle),
            Phase::Resting(_) | Phase::LastResponse | Phase::Draining { .. } => {}
        }
    }

    // ----- writing and closing ---------------------------------------------

    /// After any IO: flush, apply backpressure, close what is finished.
    fn after_io(&mut self, key: usize) {
        let Some(session) = self.sessions.get_mut(key) else {
            return;
        };
        match &mut session.phase {
            Phase::Draining { .. } => return,
            Phase::Connecting { connected, .. } if !*connected => {
                // A non-blocking connect is done when the socket is writable:
                // then it has a peer address, or a pending error.
                let socket = session.stream.socket();
                match (socket.take_error(), socket.peer_addr()) {
                    (Ok(None), Ok(_)) => *connected = true,
                    (Ok(None), Err(e)) if e.kind() == io::ErrorKind::NotConnected => return,
                    (Ok(Some(e)) | Err(e), _) | (_, Err(e)) => {
                        session.note_close(CloseCode::ABNORMAL, format!("connect: {e}"));
                        self.remove(key);
                        return;
                    }
                }
            }
            _ => {}
        }
        let all_written = match session.flush() {
            Ok(done) => done,
            Err(e) => {
                log::debug!("{} write: {e}", session.id);
                session.note_close_unless_noted(CloseCode::ABNORMAL, format!("write: {e}"));
                self.remove(key);
                return;
            }
        };
        let finished = match &session.phase {
            Phase::LastResponse => all_written,
            Phase::Open(conn) => conn.is_finished(),
            _ => false,
        };
        if finished {
            if let Phase::Open(conn) = &session.phase {
                if session.close_info.is_none() {
                    let code = conn
                        .failure()
                        .map_or(CloseCode::ABNORMAL, |e| e.close_code());
                    session.note_close(code, String::new());
                }
            }
            self.notify_closed(key);
            let until = Instant::now() + self.config.linger;
            if let Some(session) = self.sessions.get_mut(key) {
                session.start_draining(until);
                if session.drain_input(&mut self.recv_buf) {
                    self.remove(key);
                }
            }
            return;
        }
        let buffered = session.buffered();
        if buffered > self.config.max_buffered {
            log::warn!(
                "{}: slow consumer with {buffered} bytes unsent: disconnecting",
                session.id
            );
            session.note_close(CloseCode::POLICY_VIOLATION, "slow consumer".into());
            self.remove(key);
        } else if buffered > self.config.high_water {
            session.backed_up = true;
        } else if session.backed_up && buffered <= self.config.high_water / 2 {
            session.backed_up = false;
            self.call_on_drain(key);
            // Input may have arrived while paused, and its edge is spent.
            self.on_readable(key, true);
        }
    }

    fn call_on_drain(&mut self, key: usize) {
        let Worker {
            sessions,
            handler,
            handle,
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
            };
            handler.on_drain(&mut c);
        }
    }

    /// Calls `on_close` once, when an open connection ends.
    fn notify_closed(&mut self, key: usize) {
        let Some(session) = self.sessions.get_mut(key) else {
            return;
        };
        if let Phase::Http(http) = &session.phase {
            if let Some(owed) = http.owed(session.id) {
                log::debug!("{owed}: the client left before the answer");
                session.phase = Phase::LastResponse;
                self.handler.on_request_abandoned(owed);
            }
            return;
        }
        if session.is_known_to_handler() {
            let (code, reason) = session
                .close_info
                .take()
                .map_or((CloseCode::ABNORMAL, String::new()), |info| *info);
            log::debug!("{} closed: {code} {reason}", session.id);
            let id = session.id;
            // Mark it handled: the phase leaves Open right after.
            session.phase = Phase::LastResponse;
            self.handler.on_close(id, code, &reason);
        }
    }

    fn remove(&mut self, key: usize) {
        self.notify_closed(key);
        if let Some(mut session) = self.sessions.try_remove(key) {
            let _ = self.poll.registry().deregister(session.stream.socket_mut());
        }
    }

    // ----- timers ----------------------------------------------------------

    /// The coarse sweep: handshake deadlines, protocol timers (keepalive,
    /// idle, close handshake) and lingering closes.
    fn sweep(&mut self, now: Instant) {
        self.date = http_date(std::time::SystemTime::now());
        // By slot rather than over a list of keys: a list as long as the
        // slab would be allocated on top of the connections' memory, and
        // keep the heap below it from shrinking when they rest.
        for key in 0..self.sessions.capacity() {
            let Some(session) = self.sessions.get_mut(key) else {
                continue;
            };
            let active = std::mem::take(&mut session.active);
            match &mut session.phase {
                Phase::Http(http) => match http.due(now) {
                    Some(Wait::Idle) => {
                        log::debug!("{}: keep-alive connection idle: closing", session.id);
                        self.remove(key);
                    }
                    Some(wait @ (Wait::Head | Wait::Body)) => {
                        let what = if wait == Wait::Head {
                            "request head"
                        } else {
                            "request body"
                        };
                        log::debug!("{}: {what} timeout from {:?}", session.id, session.peer());
                        session.finish_with(
                            &Rejection::new(408, format!("{what} not received in time")).response(),
                        );
                        self.after_io(key);
                    }
                    None if !active => {
                        http.release_buffers();
                        session.release_raw_output();
                    }
                    None => {}
                },
                Phase::Connecting { .. } if now >= session.handshake_deadline => {
                    session.note_close(CloseCode::ABNORMAL, "connect/handshake timeout".into());
                    self.remove(key);
                }
                Phase::Open(conn) => {
                    if conn.poll_timeout().is_some_and(|t| t <= now) {
                        conn.handle_timeout(now);
                        self.after_io(key);
                    } else if !active {
                        // Idle for a whole tick: at rest when nothing is in
                        // flight, else its (empty) payload buffers go back
                        // to the allocator.
                        conn.release_buffers();
                        session.rest(now);
                    }
                }
                Phase::Resting(resting)
                    if resting
                        .poll_timeout(&self.config.protocol)
                        .is_some_and(|t| t <= now) =>
                {
                    session.wake(&self.config.protocol);
                    if let Some(conn) = session.connection() {
                        conn.handle_timeout(now);
                    }
                    self.after_io(key);
                }
                Phase::Draining { until } if now >= *until => self.remove(key),
                _ => {}
            }
        }
        self.shrink_if_mostly_vacant();
        self.publish_stats();
    }

    fn publish_stats(&self) {
        use std::sync::atomic::Ordering::Relaxed;
        let (mut open, mut resting) = (0, 0);
        for (_, session) in &self.sessions {
            open += session.is_open() as usize;
            resting += matches!(session.phase, Phase::Resting(_)) as usize;
        }
        let mailbox = self.handle.mailbox(self.index);
        mailbox.open.store(open, Relaxed);
        mailbox.resting.store(resting, Relaxed);
    }

    /// After a burst (a flood of short connections), give back the slab
    /// space it left behind, so memory returns to what the connections
    /// alive now need.
    fn shrink_if_mostly_vacant(&mut self) {
        const KEEP: usize = 1024;
        if self.sessions.capacity() > KEEP && self.sessions.len() * 4 < self.sessions.capacity() {
            self.sessions.shrink_to_fit();
        }
    }

    // ----- commands from other threads -------------------------------------

    fn drain_mailbox(&mut self) {
        let commands = {
            let mailbox = self.handle.mailbox(self.index);
            let mut queue = mailbox.queue.lock().unwrap_or_else(|e| e.into_inner());
            std::mem::take(&mut *queue)
        };
        for command in commands {
            match command {
                Command::Send(id, message) => {
                    if let Some(key) = self.find(id) {
                        self.send_owned(key, &message);
                        self.after_io(key);
                    }
                }
                Command::Broadcast(message) => {
                    let keys: Vec<usize> = self
                        .sessions
                        .iter()
                        .filter(|(_, s)| s.is_open())
                        .map(|(k, _)| k)
                        .collect();
                    for key in keys {
                        self.send_owned(key, &message);
                        self.after_io(key);
                    }
                }
                Command::Respond(id, response) => {
                    self.answer_later(id, |session, cx| {
                        http_phase::respond_later(session, id, &response, cx)
                    });
                }
                Command::Body { id, piece, end } => {
                    self.answer_later(id, |session, cx| {
                        http_phase::body_later(session, id, &piece, end, cx)
                    });
                }
                Command::Close(id, code, reason) => {
                    if let Some(key) = self.find(id) {
                        self.sessions[key].wake(&self.config.protocol);
                        if let Some(conn) = self.sessions[key].connection() {
                            let _ = conn.close(code, &reason);
                        }
                        self.after_io(key);
                    }
                }
                Command::Adopt {
                    stream,
                    read,
                    upgraded,
                } => self.adopt(stream, read, upgraded),
                Command::Connect { addr, url, options } => self.connect(addr, &url, *options),
                Command::Shutdown => self.begin_shutdown(),
            }
        }
    }

    /// Applies a held answer (or a piece of one) to its request, then goes
    /// on reading: requests kept behind it, and input paused for it.
    fn answer_later<F>(&mut self, id: super::handler::RequestId, apply: F)
    where
        F: FnOnce(&mut Session, &mut HttpContext<'_, H>) -> bool,
    {
        let Some(key) = self.find(id.conn) else {
            log::debug!("{id}: answered after its connection closed");
            return;
        };
        let Worker {
            sessions,
            handler,
            handle,
            config,
            date,
            ..
        } = self;
        let mut cx = HttpContext {
            handler,
            handle,
            config,
            date,
        };
        if !apply(&mut sessions[key], &mut cx) {
            log::debug!("{id}: not waiting for an answer (already answered, or gone)");
        }
        self.on_readable(key, true);
    }

    fn find(&self, id: ConnId) -> Option<usize> {
        let session = self.sessions.get(id.slot())?;
        (session.id == id).then_some(id.slot())
    }

    fn send_owned(&mut self, key: usize, message: &OwnedMessage) {
        self.sessions[key].wake(&self.config.protocol);
        if let Some(conn) = self.sessions[key].connection() {
            let _ = match message {
                OwnedMessage::Text(t) => conn.send_text(t),
                OwnedMessage::Binary(b) => conn.send_binary(b),
            };
        }
    }

    fn adopt(&mut self, stream: std::net::TcpStream, mut read: Vec<u8>, upgraded: bool) {
        let peer = match stream.peer_addr() {
            Ok(peer) => peer,
            Err(e) => {
                log::warn!("adopting a stream: {e}");
                return;
            }
        };
        if let Err(e) = stream.set_nonblocking(true) {
            log::warn!("adopting {peer}: {e}");
            return;
        }
        let key = match self.insert(Transport::Plain(TcpStream::from_std(stream)), peer) {
            Ok(key) => key,
            Err(e) => {
                log::warn!("adopting {peer}: {e}");
                return;
            }
        };
        let Worker {
            sessions,
            handler,
            handle,
            config,
            ..
        } = self;
        let session = &mut sessions[key];
        if upgraded {
            let conn = Connection::new(Role::Server, config.protocol.clone(), Instant::now());
            session.phase = Phase::Open(Box::new(conn));
            if !read.is_empty() {
                frame_bytes(session, &mut read, handler, handle);
            }
        } else if !read.is_empty() {
            let mut cx = HttpContext {
                handler,
                handle,
                config,
                date: &self.date,
            };
            http_phase::http_bytes(session, &mut read, &mut cx);
        }
        // Bytes may have arrived before registration; read them now.
        self.on_readable(key, true);
    }

    /// Starts a client connection: a non-blocking connect, the request
    /// queued to go out once connected.
    fn connect(&mut self, addr: std::net::SocketAddr, url: &WsUrl, options: ClientOptions) {
        let connected = match options.bind {
            None => TcpStream::connect(addr),
            Some(ip) => super::listener::connect_from(ip, addr),
        };
        let stream = match connected {
            Ok(stream) => stream,
            Err(e) => {
                log::debug!("connect {addr}: {e}");
                let id = ConnId::unassigned(self.index);
                self.handler
                    .on_close(id, CloseCode::ABNORMAL, &format!("connect: {e}"));
                return;
            }
        };
        let inserted = options
            .transport(stream, url, true)
            .and_then(|transport| self.insert(transport, addr));
        let key = match inserted {
            Ok(key) => key,
            Err(e) => {
                log::debug!("registering a connection to {addr}: {e}");
                let id = ConnId::unassigned(self.index);
                self.handler
                    .on_close(id, CloseCode::ABNORMAL, &format!("connect: {e}"));
                return;
            }
        };
        let request = options.request(url);
        let session = &mut self.sessions[key];
        session.queue_raw(request.bytes());
        session.phase = Phase::Connecting {
            request: Box::new(request),
            options: Box::new(options),
            head: Vec::new(),
            connected: false,
        };
    }

    fn begin_shutdown(&mut self) {
        if self.shutdown_deadline.is_some() {
            return;
        }
        self.shutdown_deadline = Some(Instant::now() + self.config.shutdown_timeout);
        // Workers without a listener run client connections.
        let reason = if self.listener.is_some() {
            "server shutting down"
        } else {
            "client shutting down"
        };
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let keys: Vec<usize> = self.sessions.iter().map(|(k, _)| k).collect();
        for key in keys {
            let session = &mut self.sessions[key];
            let handshaking = matches!(session.phase, Phase::Http(_) | Phase::Connecting { .. });
            session.wake(&self.config.protocol);
            if let Some(conn) = session.connection() {
                let _ = conn.close(CloseCode::GOING_AWAY, reason);
                self.after_io(key);
            } else if handshaking {
                self.remove(key);
            }
        }
    }
}

/// Bytes of a client connection's handshake response.
fn response_bytes<H: Handler>(
    session: &mut Session,
    input: &mut [u8],
    handler: &mut H,
    handle: &ServerHandle,
) {
    let Phase::Connecting {
        request,
        options,
        head,
        ..
    } = &mut session.phase
    else {
        return;
    };
    head.extend_from_slice(input);
    let (response, len) = match request.verify(head, 16 << 10) {
        Ok(Some(verified)) => verified,
        Ok(None) => return,
        Err(e) => {
            session.note_close(CloseCode::ABNORMAL, format!("handshake: {e}"));
            session.doomed = true;
            return;
        }
    };
    let conn = match options.connection(&response, Instant::now()) {
        Ok(conn) => conn,
        Err(e) => {
            session.note_close(CloseCode::ABNORMAL, format!("handshake: {e}"));
            session.doomed = true;
            return;
        }
    };
    let mut rest = std::mem::take(head);
    session.subprotocol = response.subprotocol.clone().map(String::into_boxed_str);
    session.phase = Phase::Open(Box::new(conn));
    if let Phase::Open(conn) = &mut session.phase {
        let mut c = Conn {
            id: session.id,
            tx: conn.sender(),
            stream: &mut session.stream,
            handle,
            subprotocol: session.subprotocol.as_deref(),
        };
        handler.on_connect(&mut c, &response);
    }
    if len < rest.len() {
        frame_bytes(session, &mut rest[len..], handler, handle);
    }
}

/// Decodes frames in place and hands each event to the handler, with the
/// connection's sending half to answer on.
pub(crate) fn frame_bytes<H: Handler>(
    session: &mut Session,
    input: &mut [u8],
    handler: &mut H,
    handle: &ServerHandle,
) {
    let Phase::Open(conn) = &mut session.phase else {
        return;
    };
    let (rx, tx) = conn.split();
    let mut at = 0;
    while at < input.len() {
        let received = match rx.receive(&mut input[at..], tx) {
            Ok(received) => received,
            Err(error) => {
                log::debug!("{}: {error}", session.id);
                session.note_close(error.close_code(), error.to_string());
                return;
            }
        };
        at += received.consumed;
        let Some(event) = received.event else {
            continue;
        };
        let mut c = Conn {
            id: session.id,
            tx,
            stream: &mut session.stream,
            handle,
            subprotocol: session.subprotocol.as_deref(),
        };
        match event {
            Event::Text(text) => handler.on_message(&mut c, Message::Text(text)),
            Event::Binary(data) => handler.on_message(&mut c, Message::Binary(data)),
            Event::Ping(payload) => handler.on_ping(&mut c, payload),
            Event::Pong(payload) => handler.on_pong(&mut c, payload),
            Event::Close { code, reason } => {
                session.close_info = Some(Box::new((code, reason.to_string())));
            }
        }
    }
}
