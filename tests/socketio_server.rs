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

/// Mounted beside an app that takes chunks (`Delivery::Chunks`), the app
/// gets its pieces and Socket.IO still gets whole packets, however the
/// client fragments them; a packet past `max_payload` closes with 1009.
#[test]
fn beside_an_app_that_takes_chunks_socketio_gets_whole_packets() {
    use simdws::frame::{CloseCode, Opcode};
    use simdws::net::{BlockingClient, Conn, Handler, Message, OwnedEvent};
    use simdws::protocol::{Delivery, Fragment};

    /// Counts the pieces of its own connections' messages.
    struct Chunked(std::sync::mpsc::Sender<usize>);
    impl Handler for Chunked {
        fn delivery(&self) -> Delivery {
            Delivery::Chunks
        }
        fn on_fragment(&mut self, _: &mut Conn<'_>, fragment: Fragment<&[u8]>) {
            let _ = self.0.send(fragment.data.len());
        }
        fn on_message(&mut self, _: &mut Conn<'_>, _: Message<'_>) {
            panic!("a chunked app gets no whole messages");
        }
    }

    let io = SocketIo::new(SocketIoConfig {
        engine: EngineConfig {
            max_payload: 200,
            ..EngineConfig::default()
        },
        ..SocketIoConfig::default()
    });
    io.ns("/", |_, _| {});
    io.on("/", "echo", |_, args, _, ack| ack.unwrap().send(args));
    let (pieces_tx, pieces) = std::sync::mpsc::channel();
    let pieces_tx = std::sync::Mutex::new(pieces_tx);
    let factory = io.clone();
    let server = Server::start(
        ServerConfig {
            addr: "127.0.0.1:0".parse().unwrap(),
            workers: 1,
            ..ServerConfig::default()
        },
        move |_, handle| {
            factory
                .handler(handle)
                .beside(Chunked(pieces_tx.lock().unwrap().clone()))
        },
    )
    .unwrap();
    let addr = server.local_addr();
    let recv_text = |client: &mut BlockingClient| loop {
        match client.recv().unwrap() {
            OwnedEvent::Text(ping) if ping == "2" => client.send_text("3").unwrap(),
            OwnedEvent::Text(text) => return text,
            other => panic!("expected text, got {other:?}"),
        }
    };
    let sio_url = format!("ws://{addr}/socket.io/?EIO=4&transport=websocket");

    let mut sio = BlockingClient::connect(&sio_url).unwrap();
    assert!(recv_text(&mut sio).starts_with("0{"), "the open packet");
    sio.send_fragment(Opcode::Text, b"4", false).unwrap();
    sio.send_fragment(Opcode::Continuation, b"0", true).unwrap();
    assert!(
        recv_text(&mut sio).starts_with("40{"),
        "joined from two pieces"
    );
    let event = r#"421["echo","héllo"]"#.as_bytes();
    sio.send_fragment(Opcode::Text, &event[..5], false).unwrap();
    sio.send_fragment(Opcode::Continuation, &event[5..14], false)
        .unwrap(); // cuts 'é' in two
    sio.send_fragment(Opcode::Continuation, &event[14..], true)
        .unwrap();
    assert_eq!(recv_text(&mut sio), r#"431["héllo"]"#);

    let mut app = BlockingClient::connect(&format!("ws://{addr}/app")).unwrap();
    app.send_fragment(Opcode::Binary, &[1; 10], false).unwrap();
    app.send_fragment(Opcode::Continuation, &[2; 20], true)
        .unwrap();
    let wait = Duration::from_secs(5);
    assert_eq!(pieces.recv_timeout(wait).unwrap(), 10);
    assert_eq!(pieces.recv_timeout(wait).unwrap(), 20);

    let big = format!(r#"42["echo","{}"]"#, "x".repeat(300));
    sio.send_fragment(Opcode::Text, &big.as_bytes()[..100], false)
        .unwrap();
    sio.send_fragment(Opcode::Continuation, &big.as_bytes()[100..250], false)
        .unwrap();
    match sio.recv().unwrap() {
        OwnedEvent::Close(frame) => assert_eq!(frame.code, CloseCode::MESSAGE_TOO_BIG),
        other => panic!("expected a close past max_payload, got {other:?}"),
    }
    assert!(
        pieces.try_recv().is_err(),
        "Socket.IO's pieces reached the app"
    );
    drop((sio, app));
    server.handle().shutdown();
    server.join();
}
