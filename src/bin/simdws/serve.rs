//! `simdws serve`: echo on `/` and `/echo`, a chat room on `/chat`, the web
//! page on a plain `GET /`, 404 for any other upgrade path.

use std::collections::HashSet;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use std::path::PathBuf;

use simdws::deflate::DeflateConfig;
use simdws::frame::CloseCode;
use simdws::handshake::{Rejection, Request};
use simdws::net::tls;
use simdws::net::{
    Conn, ConnId, Handler, HttpResponse, Message, OwnedMessage, Server, ServerConfig, ServerHandle,
    Upgrade,
};

use crate::args::Args;

const PAGE: &str = include_str!("page.html");

/// Members of the chat room, across all workers.
type Room = Arc<Mutex<HashSet<ConnId>>>;

struct App {
    handle: ServerHandle,
    room: Room,
    /// Connections on this worker that are in the room.
    chatting: HashSet<ConnId>,
}

impl Handler for App {
    fn on_http(&mut self, request: &Request<'_>) -> HttpResponse {
        match request.path() {
            "/" | "/index.html" => {
                HttpResponse::new(200, "text/html; charset=utf-8", PAGE.as_bytes())
            }
            "/echo" | "/chat" => HttpResponse::new(
                426,
                "text/plain; charset=utf-8",
                &b"this endpoint speaks WebSocket only: send Upgrade: websocket\n"[..],
            ),
            _ => HttpResponse::new(404, "text/plain; charset=utf-8", &b"not found\n"[..]),
        }
    }

    fn on_open(&mut self, conn: &mut Conn<'_>, upgrade: &Upgrade<'_>) -> Result<(), Rejection> {
        match upgrade.path() {
            "/" | "/echo" => Ok(()),
            "/chat" => {
                self.chatting.insert(conn.id());
                self.room
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(conn.id());
                Ok(())
            }
            other => Err(Rejection::new(
                404,
                format!("no WebSocket endpoint at {other} (try / or /chat)"),
            )),
        }
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        if !self.chatting.contains(&conn.id()) {
            let _ = conn.send_message(message);
            return;
        }
        let shared = Arc::new(OwnedMessage::from(message));
        let members: Vec<ConnId> = self
            .room
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .copied()
            .collect();
        for member in members {
            self.handle.send_shared(member, shared.clone());
        }
    }

    fn on_close(&mut self, id: ConnId, code: CloseCode, reason: &str) {
        log::info!("{id} closed: {code} {reason}");
        if self.chatting.remove(&id) {
            self.room
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&id);
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
    if let Some(origins) = args.opt::<String>("allow-origin")? {
        config.policy.allowed_origins =
            Some(origins.split(',').map(|o| o.trim().to_string()).collect());
    }
    config.deflate = deflate_policy(&mut args)?;
    config.tls = tls_config(&mut args)?;
    args.finish()?;
    let scheme = if config.tls.is_some() { "s" } else { "" };

    let room: Room = Arc::default();
    let server = Server::start(config, move |_, handle| App {
        handle: handle.clone(),
        room: room.clone(),
        chatting: HashSet::new(),
    })
    .map_err(|e| format!("cannot listen: {e}"))?;
    let addr = server.local_addr();
    println!("simdws serving on http{scheme}://{addr}/ (WebSocket: ws{scheme}://{addr}/echo, ws{scheme}://{addr}/chat); Ctrl-C stops");
    let handle = server.handle();
    ctrlc::set_handler(move || {
        log::info!("shutting down: closing connections with 1001");
        handle.shutdown();
    })
    .map_err(|e| format!("installing the Ctrl-C handler: {e}"))?;
    server.join();
    Ok(())
}
