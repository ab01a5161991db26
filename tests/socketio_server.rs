//! Socket.IO on the engine, in process: sessions that start an upgrade and
//! vanish are all freed, and a session nobody polls ends with its
//! heartbeat.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use simdws::engineio::EngineConfig;
use simdws::net::{Server, ServerConfig};
use simdws::socketio::{SocketIo, SocketIoConfig};

#[path = "support/http_client.rs"]
mod http_client;
use http_client::RawHttp;

/// A server with short timers: pings every `ping_interval`, 200 ms to
/// answer, 500 ms to finish an upgrade.
fn start(ping_interval: Duration) -> (Server, SocketIo) {
    let io = SocketIo::new(SocketIoConfig {
        engine: EngineConfig {
            ping_interval,
            ping_timeout: Duration::from_millis(200),
            upgrade_timeout: Duration::from_millis(500),
            ..EngineConfig::default()
        },
        ..SocketIoConfig::default()
    });
    io.ns("/", |_, _| {});
    let factory = io.clone();
    let server = Server::start(
        ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            workers: 2,
            ..ServerConfig::default()
        },
        move |_, handle| factory.handler(handle),
    )
    .unwrap();
    (server, io)
}

/// Opens a polling session; returns its sid.
fn open_session(addr: std::net::SocketAddr) -> String {
    let mut http = RawHttp::connect(addr);
    http.send(b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n");
    let response = http.response();
    assert_eq!(response.status, 200);
    let body = String::from_utf8(response.body).unwrap();
    let open: serde_json::Value = serde_json::from_str(body.strip_prefix('0').unwrap()).unwrap();
    open["sid"].as_str().unwrap().to_owned()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} not within {limit:?}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_thousand_sessions_that_start_an_upgrade_and_vanish_are_all_freed() {
    // Sessions end 3.2 s after they open: opening all 1,000 (about 1.5 s
    // on a busy CI machine) is over long before the first one ends.
    let (server, io) = start(Duration::from_secs(3));
    let addr = server.local_addr();
    for _ in 0..1000 {
        let sid = open_session(addr);
        // The upgrade request, then the client is gone.
        let mut ws = TcpStream::connect(addr).unwrap();
        let request = format!(
            "GET /socket.io/?EIO=4&transport=websocket&sid={sid} HTTP/1.1\r\nHost: x\r\n\
             Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n"
        );
        ws.write_all(request.as_bytes()).unwrap();
        drop(ws);
    }
    assert!(io.sessions() > 900, "{} sessions open", io.sessions());
    // Nobody polls: each session's ping goes unanswered and it ends.
    wait_for("every session freed", Duration::from_secs(15), || {
        io.sessions() == 0
    });
    server.handle().shutdown();
    server.join();
}

#[test]
fn a_session_that_is_polled_and_answers_its_pings_stays() {
    let (server, io) = start(Duration::from_millis(300));
    let addr = server.local_addr();
    let sid = open_session(addr);
    let mut http = RawHttp::connect(addr);
    let until = Instant::now() + Duration::from_millis(1500);
    while Instant::now() < until {
        let get = format!(
            "GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        http.send(get.as_bytes());
        let response = http.response();
        assert_eq!(response.status, 200);
        assert_eq!(response.body, b"2", "a ping");
        let pong = format!(
            "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
             Content-Length: 1\r\n\r\n3"
        );
        http.send(pong.as_bytes());
        assert_eq!(http.response().body, b"ok");
    }
    assert_eq!(io.sessions(), 1);
    server.handle().shutdown();
    server.join();
}

/// Socket.IO's WebSockets decline permessage-deflate (as Node's do) unless
/// the config asks for it; a handler mounted beside keeps the engine's
/// policy on its own paths.
#[cfg(feature = "deflate")]
#[test]
fn socketio_websockets_take_permessage_deflate_only_when_asked() {
    use simdws::deflate::DeflateConfig;
    use simdws::net::{BlockingClient, ClientOptions, Conn, Handler, Message};

    struct Other;
    impl Handler for Other {
        fn on_message(&mut self, _: &mut Conn<'_>, _: Message<'_>) {}
    }

    for asked in [false, true] {
        let io = SocketIo::new(SocketIoConfig {
            per_message_deflate: asked,
            ..SocketIoConfig::default()
        });
        io.ns("/", |_, _| {});
        let factory = io.clone();
        let server = Server::start(
            ServerConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                workers: 1,
                deflate: Some(DeflateConfig::default()),
                ..ServerConfig::default()
            },
            move |_, handle| factory.handler(handle).beside(Other),
        )
        .unwrap();
        let agreed = |path: &str| {
            let url = format!("ws://{}{path}", server.local_addr());
            let options = ClientOptions {
                deflate: Some(DeflateConfig::default()),
                ..ClientOptions::default()
            };
            let client = BlockingClient::connect_with(&url, options).unwrap();
            client.extensions().is_some()
        };
        assert_eq!(agreed("/socket.io/?EIO=4&transport=websocket"), asked);
        assert!(agreed("/other"), "the other handler's path keeps deflate");
    }
}

/// A polling client of `addr`'s session `sid`.
struct Poller {
    http: RawHttp,
    sid: String,
}

impl Poller {
    fn post(&mut self, body: &str) {
        let sid = &self.sid;
        let post = format!(
            "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\
             Content-Length: {}\r\n\r\n{body}",
            body.len()
        );
        self.http.send(post.as_bytes());
        assert_eq!(self.http.response().body, b"ok");
    }

    fn get(&mut self) -> String {
        let sid = &self.sid;
        let get = format!(
            "GET /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n\r\n"
        );
        self.http.send(get.as_bytes());
        String::from_utf8(self.http.response().body).unwrap()
    }
}

/// `SocketIo::on` handles an event for every socket of the namespace, with
/// the socket's own `auth` at hand; a handler the socket added itself for
/// the same event goes first.
#[test]
fn namespace_handlers_serve_every_socket_and_a_sockets_own_goes_first() {
    let (server, io) = start(Duration::from_secs(20));
    io.ns("/", |socket, _| {
        socket.on("mine", |_, _, _, ack| {
            if let Some(ack) = ack {
                ack.send(vec![serde_json::json!("the socket's")]);
            }
        });
    });
    io.on("/", "mine", |_, _, _, ack| {
        if let Some(ack) = ack {
            ack.send(vec![serde_json::json!("the namespace's")]);
        }
    });
    io.on("/", "who", |socket, args, _, ack| {
        if let Some(ack) = ack {
            ack.send(vec![socket.auth().unwrap_or_default(), args[0].clone()]);
        }
    });
    let addr = server.local_addr();
    let sid = open_session(addr);
    let mut client = Poller {
        http: RawHttp::connect(addr),
        sid,
    };
    client.post(r#"40{"token":"t1"}"#);
    assert!(client.get().starts_with(r#"40{"sid":"#), "joined");
    client.post(r#"421["who","x"]"#);
    assert_eq!(client.get(), r#"431[{"token":"t1"},"x"]"#);
    client.post(r#"422["mine"]"#);
    assert_eq!(client.get(), r#"432["the socket's"]"#);
    client.post(r#"423["nobody"]"#);
    client.post(r#"424["who",1]"#);
    assert_eq!(client.get(), r#"434[{"token":"t1"},1]"#, "no answer to 3");
    server.handle().shutdown();
    server.join();
}

/// `Socket::on_disconnect` runs once, with the socket it was set on and
/// the reason: the client leaving the namespace (`41`), or its session
/// ending (`1`, Engine.IO's close).
#[test]
fn a_disconnect_handler_hears_why_the_socket_left() {
    let (server, io) = start(Duration::from_secs(20));
    let (tx, left) = std::sync::mpsc::channel::<(String, String)>();
    let tx = std::sync::Mutex::new(tx);
    io.ns("/", move |socket, _| {
        let tx = tx.lock().unwrap().clone();
        let own_id = socket.id().to_owned();
        socket.on_disconnect(move |socket, reason| {
            assert_eq!(socket.id(), own_id, "the handler gets its own socket");
            let _ = tx.send((socket.id().to_owned(), reason.to_owned()));
        });
    });
    let addr = server.local_addr();
    let join = |poller: &mut Poller| -> String {
        poller.post("40");
        let joined = poller.get();
        let open: serde_json::Value = serde_json::from_str(joined.strip_prefix("40").unwrap())
            .unwrap_or_else(|_| panic!("not a CONNECT answer: {joined}"));
        open["sid"].as_str().unwrap().to_owned()
    };
    let wait = Duration::from_secs(5);

    let mut leaves = Poller {
        http: RawHttp::connect(addr),
        sid: open_session(addr),
    };
    let id = join(&mut leaves);
    leaves.post("41");
    assert_eq!(
        left.recv_timeout(wait).unwrap(),
        (id, "client namespace disconnect".to_owned())
    );

    let mut closes = Poller {
        http: RawHttp::connect(addr),
        sid: open_session(addr),
    };
    let id = join(&mut closes);
    closes.post("1");
    assert_eq!(
        left.recv_timeout(wait).unwrap(),
        (id, "transport close".to_owned())
    );
    assert!(
        left.recv_timeout(Duration::from_millis(300)).is_err(),
        "a handler ran twice"
    );
    drop(io);
    server.handle().shutdown();
    server.join();
}
