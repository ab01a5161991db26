//! `simdws serve`: echo on `/` and `/echo`, a chat room on `/chat`, the web
//! page on a plain `GET /`, Socket.IO at `/socket.io/` (see `socketio.rs`),
//! 404 for any other upgrade path.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::path::PathBuf;

use simdws::deflate::DeflateConfig;
use simdws::handshake::{Rejection, Request};
use simdws::http::HttpResponse;
use simdws::net::tls;
use simdws::net::CloseReason;
use simdws::net::{
    Conn, ConnId, Handler, HttpConn, Message, OwnedMessage, Reply, RequestId, Server, ServerConfig,
    ServerHandle, Upgrade,
};

use crate::args::Args;

const PAGE: &str = include_str!("page.html");
const FAVICON: &str = include_str!("favicon.svg");

/// The chat room's topic: its WebSocket members subscribe to it.
const ROOM: &str = "chat";

/// The chat room, across all workers: how many WebSocket members it has
/// (subscribed to [`ROOM`]), and the HTTP long-polls held until the next
/// message.
#[derive(Default)]
struct RoomState {
    members: usize,
    polls: HashSet<RequestId>,
}

type Room = Arc<Mutex<RoomState>>;

struct App {
    handle: ServerHandle,
    room: Room,
}

/// Kept with a WebSocket connection that joined the chat
/// (`Conn::set_data`): its messages go to the room.
struct Chatting;

impl App {
    fn room(&self) -> std::sync::MutexGuard<'_, RoomState> {
        self.room.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// A message for everyone in the room: members get it over their
    /// WebSocket (a publish on the room's topic), waiting polls as their
    /// (held) response. Returns how many.
    fn say(&self, message: OwnedMessage) -> usize {
        let polls = self.answer_polls(match &message {
            OwnedMessage::Text(text) => Message::Text(text),
            OwnedMessage::Binary(bytes) => Message::Binary(bytes),
        });
        let members = self.room().members;
        self.handle.publish(ROOM, message);
        members + polls
    }

    /// A chat member's message to the room: its members, and the polls
    /// waiting.
    #[inline(never)]
    fn share(&self, conn: &mut Conn<'_>, message: Message<'_>) {
        conn.publish(ROOM, message);
        self.answer_polls(message);
    }

    /// Answers the waiting polls with `message`; returns how many there were.
    fn answer_polls(&self, message: Message<'_>) -> usize {
        let polls = std::mem::take(&mut self.room().polls);
        if !polls.is_empty() {
            let response = match message {
                Message::Text(text) => HttpResponse::text(200, text.to_string()),
                Message::Binary(bytes) => {
                    HttpResponse::new(200, "application/octet-stream", bytes.to_vec())
                }
            };
            for poll in &polls {
                self.handle.respond(*poll, response.clone());
            }
        }
        polls.len()
    }

    fn health(&self) -> HttpResponse {
        let stats = self.handle.stats();
        let polls = self.room().polls.len();
        let body = format!(
            "{{\"status\":\"ok\",\"websockets\":{},\"resting\":{},\"waiting_polls\":{polls}}}\n",
            stats.open, stats.resting
        );
        HttpResponse::new(200, "application/json", body.into_bytes())
            .with_header("Cache-Control", "no-store")
    }
}

impl Handler for App {
    fn on_request(&mut self, conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
        match (request.method, request.path()) {
            ("GET" | "HEAD", "/" | "/index.html") => {
                HttpResponse::new(200, "text/html; charset=utf-8", PAGE.as_bytes()).into()
            }
            ("GET" | "HEAD", "/favicon.ico") => {
                HttpResponse::new(200, "image/svg+xml", FAVICON.as_bytes()).into()
            }
            ("GET" | "HEAD", "/healthz") => self.health().into(),
            ("GET", "/chat/poll") => {
                self.room().polls.insert(conn.request_id());
                Reply::Later
            }
            ("POST", "/chat/say") => {
                let message = match std::str::from_utf8(request.body) {
                    Ok(text) => OwnedMessage::Text(text.to_string()),
                    Err(_) => OwnedMessage::Binary(request.body.to_vec()),
                };
                let reached = self.say(message);
                HttpResponse::text(200, format!("sent to {reached}\n")).into()
            }
            (_, "/echo" | "/chat") => HttpResponse::text(
                426,
                "this endpoint speaks WebSocket only: send Upgrade: websocket\n",
            )
            .with_header("Upgrade", "websocket")
            .into(),
            (_, "/" | "/index.html" | "/favicon.ico" | "/healthz" | "/chat/poll" | "/chat/say") => {
                HttpResponse::text(405, "method not allowed\n").into()
            }
            _ => HttpResponse::text(404, "not found\n").into(),
        }
    }

    fn on_request_abandoned(&mut self, id: RequestId) {
        self.room().polls.remove(&id);
    }

    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        match upgrade.path() {
            "/" | "/echo" => Ok(()),
            "/chat" => {
                conn.set_data(Chatting);
                conn.subscribe(ROOM);
                self.room().members += 1;
                Ok(())
            }
            other => Err(Rejection::NotFound(
                format!("no WebSocket endpoint at {other} (try / or /chat)").into(),
            )),
        }
    }

    /// Inlined into the engine's read loop: the echo is a few dozen
    /// instructions, the chat room's share is called.
    #[inline(always)]
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        // Echo, or the chat room's copy for the sender: it sees its own
        // message like everyone else's.
        let _ = conn.send_message(message);
        if conn.data::<Chatting>().is_some() {
            self.share(conn, message);
        }
    }

    fn on_close(&mut self, id: ConnId, reason: &CloseReason) {
        // Debug: a busy server closes thousands of connections a minute.
        log::debug!("{id} closed: {reason}");
    }

    fn on_close_data(&mut self, _id: ConnId, data: Box<dyn std::any::Any>) {
        if data.is::<Chatting>() {
            // The connection's subscription ended with it.
            let remain = {
                let mut room = self.room();
                room.members -= 1;
                room.members
            };
            self.say(OwnedMessage::Text(format!(
                "a member left the room ({remain} remain)"
            )));
        }
    }
}

/// permessage-deflate is on for peers that offer it (every browser does).
fn deflate_policy(args: &mut Args) -> Result<Option<DeflateConfig>, String> {
    let off = args.switch("no-deflate");
    let mut deflate = DeflateConfig::default();
    let bits: u8 = args.get("deflate-window-bits", 15)?;
    if !(9..=15).contains(&bits) {
        return Err(format!("--deflate-window-bits {bits}: must be 9 to 15"));
    }
    deflate.compress_window_bits = bits;
    deflate.decompress_window_bits = bits;
    if args.switch("deflate-no-context-takeover") {
        deflate.compress_context_takeover = false;
        deflate.decompress_context_takeover = false;
    }
    Ok((!off).then_some(deflate))
}

/// TLS from PEM files, or a certificate generated now for localhost.
fn tls_config(args: &mut Args) -> Result<Option<Arc<rustls::ServerConfig>>, String> {
    let cert = args.opt::<PathBuf>("tls-cert")?;
    let key = args.opt::<PathBuf>("tls-key")?;
    let self_signed = args.switch("tls-self-signed");
    let save = args.opt::<PathBuf>("tls-save")?;
    match (cert, key, self_signed) {
        (None, None, false) => Ok(None),
        (Some(cert), Some(key), false) => tls::server_config_from_pem(&cert, &key)
            .map(Some)
            .map_err(|e| format!("TLS: {e}")),
        (None, None, true) => {
            let generated = tls::self_signed(&["localhost", "127.0.0.1", "::1"])
                .map_err(|e| format!("TLS: {e}"))?;
            println!(
                "TLS: self-signed certificate for localhost, 127.0.0.1 and ::1, SHA-256 {}",
                generated.fingerprint
            );
            if let Some(dir) = save {
                std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
                for (name, pem) in [
                    ("cert.pem", &generated.cert_pem),
                    ("key.pem", &generated.key_pem),
                ] {
                    let path = dir.join(name);
                    std::fs::write(&path, pem).map_err(|e| format!("{}: {e}", path.display()))?;
                }
                println!("TLS: certificate and key saved in {}", dir.display());
            }
            Ok(Some(generated.config))
        }
        _ => Err("TLS: give --tls-cert and --tls-key together, or --tls-self-signed alone".into()),
    }
}

pub fn run(raw: &[String]) -> Result<(), String> {
    let mut args = Args::parse(
        raw,
        &[
            "no-deflate",
            "deflate-no-context-takeover",
            "tls-self-signed",
        ],
    )?;
    let mut config = ServerConfig::default();
    config.addr = args.get("addr", config.addr)?;
    config.workers = args.get("workers", config.workers)?;
    config.protocol.max_message_size =
        args.get("max-message-size", config.protocol.max_message_size)?;
    config.protocol.max_frame_size = args.get("max-frame-size", config.protocol.max_frame_size)?;
    config.protocol.idle_timeout = args.opt::<u64>("idle-timeout")?.map(Duration::from_secs);
    config.protocol.ping_interval = args.opt::<u64>("ping-interval")?.map(Duration::from_secs);
    config.handshake_timeout = Duration::from_secs(args.get("handshake-timeout", 10)?);
    config.request_limits.max_bytes =
        args.get("max-request-head", config.request_limits.max_bytes)?;
    config.policy.subprotocols = vec!["echo-protocol".into(), "chat".into()];
    // Topics (the chat room) and Socket.IO rooms shared with every serve
    // (and Node socket.io server) on this Redis.
    config.redis = args.opt::<String>("redis")?;
    if let Some(origins) = args.opt::<String>("allow-origin")? {
        config.policy.allowed_origins =
            Some(origins.split(',').map(|o| o.trim().to_string()).collect());
    }
    config.http.max_body = args.get("max-body", config.http.max_body)?;
    config.deflate = deflate_policy(&mut args)?;
    config.tls = tls_config(&mut args)?;
    args.finish()?;
    let scheme = if config.tls.is_some() { "s" } else { "" };

    let room: Room = Arc::default();
    let io = crate::socketio::server(config.redis.clone());
    let server = Server::start(config, move |_, handle| {
        let app = App {
            handle: handle.clone(),
            room: room.clone(),
        };
        io.handler(handle).beside(app)
    })
    .map_err(|e| format!("cannot listen: {e}"))?;
    let addr = server.local_addr();
    println!("simdws serving on http{scheme}://{addr}/ (WebSocket: ws{scheme}://{addr}/echo, ws{scheme}://{addr}/chat; Socket.IO: http{scheme}://{addr}/socket.io/; HTTP: /healthz, GET /chat/poll, POST /chat/say); Ctrl-C stops");
    let handle = server.handle();
    ctrlc::set_handler(move || {
        log::info!("shutting down: closing connections with 1001");
        handle.shutdown();
    })
    .map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    server.join();
    Ok(())
}
