//! Socket.IO across processes through a real Redis (the Node adapter's
//! wire format; tests/interop/socketio_redis_rooms.cjs runs it against
//! Node's own adapter): servers count each other, a room broadcast crosses
//! and a `local()` one does not, the sender never gets its own, and when
//! Redis restarts local delivery carries on and crossing resumes.

use std::time::{Duration, Instant};

use simdws::net::{BlockingClient, OwnedEvent, Server, ServerConfig};
use simdws::socketio::{SocketIo, SocketIoConfig};

#[path = "support/redis_server.rs"]
mod redis_server;
use redis_server::Redis;

/// A Socket.IO server on Redis: `join(room)` (acked), `say(room, text)`
/// and `sayLocal(room, text)` broadcast `said` to the room but the sender.
fn server_on(redis: &Redis) -> (Server, SocketIo) {
    let io = SocketIo::new(SocketIoConfig {
        redis: Some(redis.url()),
        ..SocketIoConfig::default()
    });
    io.ns("/", |socket, _| {
        socket.on("join", |socket, args, _, ack| {
            socket.join(args[0].as_str().unwrap());
            ack.unwrap().send(Vec::new());
        });
        socket.on("say", |socket, args, _, _| {
            let room = args[0].as_str().unwrap();
            socket.to(room).emit("said", vec![args[1].clone()]);
        });
        socket.on("sayLocal", |socket, args, _, _| {
            let room = args[0].as_str().unwrap();
            socket.to(room).local().emit("said", vec![args[1].clone()]);
        });
    });
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers: 2,
        ..ServerConfig::default()
    };
    let handler_io = io.clone();
    let server = Server::start(config, move |_, handle| handler_io.handler(handle)).unwrap();
    (server, io)
}

/// A Socket.IO client over a raw WebSocket, joined to `/`.
struct Sio(BlockingClient);

impl Sio {
    fn connect(server: &Server) -> Sio {
        let url = format!(
            "ws://{}/socket.io/?EIO=4&transport=websocket",
            server.local_addr()
        );
        let mut client = BlockingClient::connect(&url).unwrap();
        client
            .stream()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut sio = Sio(client);
        assert!(sio.next().starts_with("0{"), "the Engine.IO open packet");
        sio.send("40");
        assert!(sio.next().starts_with("40{"), "joined /");
        sio
    }

    fn send(&mut self, packet: &str) {
        self.0.send_text(packet).unwrap();
    }

    /// The next packet but pings (answered).
    fn next(&mut self) -> String {
        loop {
            match self.0.recv().unwrap() {
                OwnedEvent::Text(ping) if ping == "2" => self.send("3"),
                OwnedEvent::Text(text) => return text,
                other => panic!("expected text, got {other:?}"),
            }
        }
    }

    /// The next packet, or `None` after `wait`.
    fn next_within(&mut self, wait: Duration) -> Option<String> {
        self.0.stream().set_read_timeout(Some(wait)).unwrap();
        let got = match self.0.recv() {
            Ok(OwnedEvent::Text(text)) => Some(text),
            _ => None,
        };
        self.0
            .stream()
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        got
    }

    fn join(&mut self, room: &str) {
        self.send(&format!(r#"421["join","{room}"]"#));
        assert_eq!(self.next(), "431[]");
    }

    fn say(&mut self, event: &str, room: &str, text: &str) {
        self.send(&format!(r#"42["{event}","{room}","{text}"]"#));
    }
}

fn said(text: &str) -> String {
    format!(r#"42["said","{text}"]"#)
}

/// `from` says probes to `room` until `to` hears one: both links are up.
/// Then what followed is drained.
fn until_linked(from: &mut Sio, to: &mut Sio, room: &str) {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        from.say("say", room, "probe");
        if to.next_within(Duration::from_millis(100)).as_deref() == Some(&said("probe")) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the servers never linked through Redis"
        );
    }
    while to.next_within(Duration::from_millis(300)).is_some() {}
}

#[test]
fn servers_count_each_other_and_a_local_broadcast_stays_home() {
    let redis = Redis::start();
    let (s1, io1) = server_on(&redis);
    let (s2, io2) = server_on(&redis);
    let deadline = Instant::now() + Duration::from_secs(20);
    while io1.server_count("/") != Ok(2) || io2.server_count("/") != Ok(2) {
        assert!(Instant::now() < deadline, "the servers never counted 2");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(io1.server_count("/nowhere"), Ok(0));

    let (mut a, mut b, mut c) = (Sio::connect(&s1), Sio::connect(&s2), Sio::connect(&s1));
    for sio in [&mut a, &mut b, &mut c] {
        sio.join("r");
    }
    until_linked(&mut a, &mut b, "r");
    while c.next_within(Duration::from_millis(300)).is_some() {}

    a.say("say", "r", "plain");
    assert_eq!(b.next(), said("plain"), "across servers");
    assert_eq!(c.next(), said("plain"), "on the sender's server");
    a.say("sayLocal", "r", "home");
    a.say("say", "r", "after");
    assert_eq!(c.next(), said("home"));
    assert_eq!(c.next(), said("after"));
    assert_eq!(b.next(), said("after"), "the local broadcast stayed home");
    b.say("say", "r", "from b");
    assert_eq!(a.next(), said("from b"), "a never got its own");
    assert_eq!(c.next(), said("from b"));
    assert_eq!(b.next_within(Duration::from_millis(300)), None, "nor b");
    let stats = s1.handle().relay_stats();
    assert!(stats.relayed >= 2 && stats.received >= 1, "{stats:?}");
}

#[test]
fn a_redis_restart_keeps_local_rooms_served_and_then_links_again() {
    let mut redis = Redis::start();
    let (s1, _io1) = server_on(&redis);
    let (s2, _io2) = server_on(&redis);
    let (mut a, mut b, mut c) = (Sio::connect(&s1), Sio::connect(&s2), Sio::connect(&s1));
    for sio in [&mut a, &mut b, &mut c] {
        sio.join("r");
    }
    until_linked(&mut a, &mut b, "r");
    while c.next_within(Duration::from_millis(300)).is_some() {}

    let port = redis.port;
    redis.stop();
    for n in 0..20 {
        a.say("say", "r", &format!("while away {n}"));
        assert_eq!(c.next(), said(&format!("while away {n}")));
    }
    let _redis = Redis::on(port);
    until_linked(&mut a, &mut b, "r");
    a.say("say", "r", "back");
    assert_eq!(b.next(), said("back"));
    drop(s2);
}

/// A server-side event reaches the other server's handler, with the
/// arguments sent, and not the sender's own; asked for answers, it gets
/// the other's, or gives up at its timeout.
#[test]
fn a_server_side_event_reaches_the_other_servers_handler() {
    let redis = Redis::start();
    let (_s1, io1) = server_on(&redis);
    let (_s2, io2) = server_on(&redis);
    let (heard_tx, heard) = std::sync::mpsc::channel();
    for (name, io) in [("one", &io1), ("two", &io2)] {
        let heard_tx = std::sync::Mutex::new(heard_tx.clone());
        io.on_server_event("/", "hello", move |args, ack| {
            let _ = heard_tx.lock().unwrap().send((name, args, ack.is_some()));
        });
    }
    let deadline = Instant::now() + Duration::from_secs(20);
    while io1.server_count("/") != Ok(2) || io2.server_count("/") != Ok(2) {
        assert!(Instant::now() < deadline, "the servers never counted 2");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(io1.server_side_emit("/", "hello", vec![serde_json::json!("from one"), 2.into()]));
    let (name, args, acked) = heard.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(name, "two");
    assert_eq!(args, [serde_json::json!("from one"), 2.into()]);
    assert!(!acked, "no answer was asked for");
    assert!(
        heard.recv_timeout(Duration::from_millis(500)).is_err(),
        "the sender's own handler stays quiet"
    );
    // Asked for answers: the other server's comes back; an event nobody
    // answers gives up at its timeout with none.
    for (name, io) in [("one", &io1), ("two", &io2)] {
        io.on_server_event("/", "name?", move |_, ack| ack.unwrap().send(name.into()));
    }
    let (answers_tx, answers) = std::sync::mpsc::channel();
    let answers_tx2 = answers_tx.clone();
    let timeout = Duration::from_millis(500);
    assert!(
        io1.server_side_emit_with_ack("/", "name?", Vec::new(), timeout, move |got| {
            let _ = answers_tx.send(got);
        })
    );
    let got = answers.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(got, Ok(vec![serde_json::json!("two")]));
    let asked_at = Instant::now();
    io1.server_side_emit_with_ack("/", "nobody", Vec::new(), timeout, move |got| {
        let _ = answers_tx2.send(got);
    });
    let got = answers.recv_timeout(Duration::from_secs(10)).unwrap();
    assert_eq!(got, Err(Vec::new()), "no answer within the timeout");
    assert!(asked_at.elapsed() >= timeout);

    let alone = SocketIo::new(SocketIoConfig::default());
    assert!(
        !alone.server_side_emit("/", "hello", Vec::new()),
        "not linked"
    );
    let (none_tx, none) = std::sync::mpsc::channel();
    let linked = alone.server_side_emit_with_ack("/", "hello", Vec::new(), timeout, move |got| {
        let _ = none_tx.send(got);
    });
    assert!(!linked);
    assert_eq!(
        none.try_recv().unwrap(),
        Ok(Vec::new()),
        "no other server, at once"
    );
}

/// Counting the other servers waits on Redis, the caller does not: with
/// Redis hung, `server_side_emit_with_ack` returns at once, and its answers
/// come (none: no server could be counted) once the count gives up.
#[test]
fn a_server_side_emit_with_ack_never_waits_on_redis() {
    let redis = Redis::start();
    let (_server, io) = server_on(&redis);
    let deadline = Instant::now() + Duration::from_secs(20);
    // The workers link to Redis as they start, after `Server::start` has
    // returned; unlinked, the count is 1 as well, so it alone does not
    // show the link. (A server-side emit says whether it went to Redis.)
    while !io.server_side_emit("/", "nobody listens", Vec::new()) || io.server_count("/") != Ok(1) {
        assert!(Instant::now() < deadline, "the server never counted itself");
        std::thread::sleep(Duration::from_millis(50));
    }
    redis.pause();
    let (answers_tx, answers) = std::sync::mpsc::channel();
    let asked_at = Instant::now();
    let linked = io.server_side_emit_with_ack(
        "/",
        "anyone?",
        Vec::new(),
        Duration::from_secs(30),
        move |got| {
            let _ = answers_tx.send(got);
        },
    );
    let returned_after = asked_at.elapsed();
    let got = answers.recv_timeout(Duration::from_secs(10));
    redis.resume();
    assert!(linked);
    assert!(
        returned_after < Duration::from_millis(200),
        "the call waited {returned_after:?}"
    );
    assert_eq!(
        got.unwrap(),
        Ok(Vec::new()),
        "uncounted: no answers awaited"
    );
}
