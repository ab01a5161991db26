//! `simdws load --fanout N`: topic fan-out. N subscribers connect to
//! `/sub`, one publisher to `/pub`; the server under test subscribes `/sub`
//! connections to one topic and publishes every message it gets there
//! (`examples/topic_fanout.rs`, and the uWebSockets peer
//! `../shared/peers/uws/uws_fanout.cpp`).
//!
//! The publisher sends `--burst` messages, waits until every subscriber has
//! received all of them, and sends the next burst: a closed loop over the
//! whole topic, so nothing queues without bound and every delivery is
//! counted. The figure is deliveries (messages received by subscribers)
//! per second.
//!
//! With `--socketio`, the topic is a Socket.IO room, in `serve`'s contract
//! (`src/bin/simdws/socketio.rs`, and the Node peer
//! `benches/compare/node_socketio_rooms.cjs`): every connection joins `/`
//! and then room `bench` (`join`, acked), and the publisher emits
//! `toRoom("bench", payload)`, which the server sends as `roomMsg` to the
//! room but the publisher.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use simdws::handshake::ClientResponse;
use simdws::net::{
    Client, ClientConfig, ClientOptions, CloseReason, Conn, ConnId, Handler, Message, OwnedMessage,
    ServerHandle, WsUrl,
};

/// Subscribers opened at once, at most.
const OPEN_BATCH: usize = 1000;

/// A fan-out run's settings.
pub struct Fanout {
    pub url: String,
    /// Where the publisher connects, when not to `url` (a server in
    /// another process, sharing the topic through Redis).
    pub publish_url: Option<String>,
    pub subscribers: usize,
    pub size: usize,
    pub burst: usize,
    pub warmup: Duration,
    pub duration: Duration,
    pub threads: usize,
    pub json: bool,
    /// Socket.IO rooms instead of raw topics.
    pub socketio: bool,
}

/// What the loops and the main thread share.
struct Shared {
    subscribers: u64,
    burst: u64,
    size: usize,
    message: Arc<OwnedMessage>,
    /// Over Socket.IO: the payload every delivery must carry.
    socketio_payload: Option<String>,
    publisher: OnceLock<ConnId>,
    /// Messages sent by the publisher.
    published: AtomicU64,
    /// Messages received by subscribers.
    delivered: AtomicU64,
    /// Received with the wrong length.
    damaged: AtomicU64,
    connected: AtomicUsize,
    failed: AtomicUsize,
    stopping: AtomicBool,
}

impl Shared {
    /// Sends the next burst through the publisher.
    fn publish_burst(&self, handle: &ServerHandle) {
        let Some(&publisher) = self.publisher.get() else {
            return;
        };
        self.published.fetch_add(self.burst, Ordering::SeqCst);
        for _ in 0..self.burst {
            handle.send_shared(publisher, self.message.clone());
        }
    }
}

struct FanoutHandler {
    shared: Arc<Shared>,
    handle: ServerHandle,
}

impl FanoutHandler {
    /// A Socket.IO message: the handshake and the room join move on;
    /// `roomMsg` is a delivery (true).
    fn on_socketio(&self, conn: &mut Conn<'_>, text: &str, payload: &str) -> bool {
        let answer = |conn: &mut Conn<'_>, text: &str| {
            let _ = conn.send_text(text);
        };
        if text.starts_with(r#"42["roomMsg""#) {
            if !text.contains(payload) {
                self.shared.damaged.fetch_add(1, Ordering::Relaxed);
            }
            return true;
        }
        match text.as_bytes().first() {
            Some(b'0') => answer(conn, "40"),
            Some(b'2') => answer(conn, "3"),
            _ if text.starts_with("40") => answer(conn, r#"420["join","bench"]"#),
            // The join's ack: in the room.
            _ if text.starts_with("430") => {
                self.shared.connected.fetch_add(1, Ordering::SeqCst);
            }
            _ => {}
        }
        false
    }
}

impl Handler for FanoutHandler {
    fn on_connect(&mut self, _: &mut Conn<'_>, _: &ClientResponse) {
        if self.shared.socketio_payload.is_none() {
            self.shared.connected.fetch_add(1, Ordering::SeqCst);
        }
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let shared = &self.shared;
        if let Some(payload) = &shared.socketio_payload {
            let text = std::str::from_utf8(message.as_bytes()).unwrap_or_default();
            if !self.on_socketio(conn, text, payload) {
                return;
            }
        } else if message.as_bytes().len() != shared.size {
            shared.damaged.fetch_add(1, Ordering::Relaxed);
        }
        let delivered = shared.delivered.fetch_add(1, Ordering::SeqCst) + 1;
        // The last delivery of the burst starts the next one.
        if delivered == shared.published.load(Ordering::SeqCst) * shared.subscribers
            && !shared.stopping.load(Ordering::SeqCst)
        {
            shared.publish_burst(&self.handle);
        }
    }

    fn on_close(&mut self, _: ConnId, reason: &CloseReason) {
        if !self.shared.stopping.load(Ordering::SeqCst) {
            eprintln!("a connection closed during the run: {reason}");
            self.shared.failed.fetch_add(1, Ordering::SeqCst);
        }
    }
}

pub fn run(f: Fanout) -> Result<(), String> {
    let base = |url: &str| -> Result<String, String> {
        let url = WsUrl::parse(url).map_err(|e| e.to_string())?;
        Ok(format!("ws://{}", url.authority()))
    };
    let (sub_base, pub_base) = (
        base(&f.url)?,
        base(f.publish_url.as_deref().unwrap_or(&f.url))?,
    );
    let (sub_path, pub_path) = if f.socketio {
        let path = "/socket.io/?EIO=4&transport=websocket";
        (path, path)
    } else {
        ("/sub", "/pub")
    };
    let socketio_payload = f.socketio.then(|| "Z".repeat(f.size));
    let message = match &socketio_payload {
        Some(payload) => OwnedMessage::Text(format!(r#"42["toRoom","bench","{payload}"]"#)),
        None => OwnedMessage::Binary(vec![0x5a; f.size]),
    };
    let shared = Arc::new(Shared {
        subscribers: f.subscribers as u64,
        burst: f.burst as u64,
        size: f.size,
        message: Arc::new(message),
        socketio_payload,
        publisher: OnceLock::new(),
        published: AtomicU64::new(0),
        delivered: AtomicU64::new(0),
        damaged: AtomicU64::new(0),
        connected: AtomicUsize::new(0),
        failed: AtomicUsize::new(0),
        stopping: AtomicBool::new(false),
    });
    let config = ClientConfig {
        workers: f.threads,
        high_water: usize::MAX / 4,
        max_buffered: usize::MAX / 2,
        ..ClientConfig::default()
    };
    let s = shared.clone();
    let client = Client::start(config, move |_, handle| FanoutHandler {
        shared: s.clone(),
        handle: handle.clone(),
    })
    .map_err(|e| format!("starting the client loops: {e}"))?;
    let connect = |url: String| {
        client
            .connect(&url, ClientOptions::default())
            .map_err(|e| e.to_string())
    };
    // In batches, each let in before the next is opened: a server slow to
    // accept (Node on one core) then never sees thousands of handshakes
    // time out in its backlog.
    let opening = Instant::now() + Duration::from_secs(180);
    for opened in 1..=f.subscribers {
        connect(format!("{sub_base}{sub_path}"))?;
        if opened % OPEN_BATCH == 0 {
            while shared.connected.load(Ordering::SeqCst) < opened
                && shared.failed.load(Ordering::SeqCst) == 0
                && Instant::now() < opening
            {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
    }
    let publisher = connect(format!("{pub_base}{pub_path}"))?;
    let wanted = f.subscribers + 1;
    // Node's socket.io takes a while to let 10,000 clients in on one core.
    let deadline = Instant::now() + Duration::from_secs(if f.socketio { 180 } else { 60 });
    while shared.connected.load(Ordering::SeqCst) < wanted {
        if Instant::now() > deadline || shared.failed.load(Ordering::SeqCst) > 0 {
            client.shutdown();
            return Err(format!(
                "{} of {wanted} connections opened ({} failed)",
                shared.connected.load(Ordering::SeqCst),
                shared.failed.load(Ordering::SeqCst)
            ));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = shared.publisher.set(publisher);
    shared.publish_burst(&client.handle());
    std::thread::sleep(f.warmup);
    let count = |n: &AtomicU64| n.load(Ordering::SeqCst);
    let (from, sent_from, started) = (
        count(&shared.delivered),
        count(&shared.published),
        Instant::now(),
    );
    std::thread::sleep(f.duration);
    let (to, sent_to, elapsed) = (
        count(&shared.delivered),
        count(&shared.published),
        started.elapsed(),
    );
    // A round: a burst published until every subscriber has it.
    let round_us =
        elapsed.as_secs_f64() * 1e6 / ((sent_to - sent_from) as f64 / f.burst as f64).max(1.0);
    shared.stopping.store(true, Ordering::SeqCst);
    // The burst in flight finishes: then every publish reached everyone.
    let all = || shared.published.load(Ordering::SeqCst) * shared.subscribers;
    let settle = Instant::now() + Duration::from_secs(10);
    while shared.delivered.load(Ordering::SeqCst) < all() && Instant::now() < settle {
        std::thread::sleep(Duration::from_millis(10));
    }
    let (published, delivered) = (
        shared.published.load(Ordering::SeqCst),
        shared.delivered.load(Ordering::SeqCst),
    );
    client.shutdown();
    let rate = (to - from) as f64 / elapsed.as_secs_f64();
    let lost = all().saturating_sub(delivered);
    let damaged = shared.damaged.load(Ordering::SeqCst);
    if f.json {
        println!(
            "{{\"url\":\"{}\",\"subscribers\":{},\"size\":{},\"burst\":{},\"seconds\":{:.3},\"publishes\":{published},\"deliveries\":{delivered},\"deliveries_per_s\":{rate:.0},\"round_us\":{round_us:.1},\"lost\":{lost},\"damaged\":{damaged}}}",
            f.url, f.subscribers, f.size, f.burst, elapsed.as_secs_f64()
        );
    } else {
        println!(
            "{} subscribers, {} B publishes in bursts of {}: {rate:.0} deliveries/s over {:.1} s, {round_us:.1} µs a round ({published} publishes, {delivered} deliveries, {lost} lost, {damaged} damaged)",
            f.subscribers, f.size, f.burst, elapsed.as_secs_f64()
        );
    }
    if lost > 0 || damaged > 0 {
        return Err(format!("{lost} deliveries lost, {damaged} damaged"));
    }
    Ok(())
}
