//! simdws under hyper and axum: the axum extractor (echo, subprotocols,
//! refusals with their statuses) and hyper's upgrade helper, each against
//! the engine's blocking client.

use std::convert::Infallible;
use std::net::SocketAddr;

use axum::response::Response;
use axum::routing::get;
use axum::Router;
use simdws::frame::CloseCode;
use simdws::net::{BlockingClient, ClientError, ClientOptions, OwnedEvent};
use simdws::protocol::Event;
use simdws::tokio::axum::{WebSocket, WebSocketUpgrade};
use simdws::tokio::hyper::{is_upgrade_request, refusal, upgrade};
use simdws::tokio::AcceptOptions;

/// Runs `serve` on a current-thread runtime in its own thread, listening on
/// a free port; returns the port's address.
fn spawn_server<F, Fut>(serve: F) -> SocketAddr
where
    F: FnOnce(tokio::net::TcpListener) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()>,
{
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async move {
            serve(tokio::net::TcpListener::from_std(listener).unwrap()).await
        });
    });
    addr
}

async fn echo(ws: WebSocketUpgrade) -> Response {
    ws.protocols(["chat", "superchat"])
        .on_upgrade(|mut socket: WebSocket| async move {
            while let Ok(Some(())) = socket
                .next_event_and_reply(|event, tx| {
                    let _ = match event {
                        Event::Text(text) => tx.send_text(text),
                        Event::Binary(data) => tx.send_binary(data),
                        _ => Ok(()),
                    };
                })
                .await
            {}
        })
}

fn axum_server() -> SocketAddr {
    spawn_server(|listener| async move {
        let app = Router::new().route("/ws", get(echo));
        axum::serve(listener, app).await.unwrap();
    })
}

fn offering(protocols: &[&str]) -> ClientOptions {
    ClientOptions {
        subprotocols: protocols.iter().map(|p| p.to_string()).collect(),
        timeout: Some(std::time::Duration::from_secs(10)),
        ..ClientOptions::default()
    }
}

#[test]
fn the_axum_extractor_upgrades_echoes_and_chooses_a_subprotocol() {
    let addr = axum_server();
    let mut client =
        BlockingClient::connect_with(&format!("ws://{addr}/ws"), offering(&["superchat"])).unwrap();
    assert_eq!(client.subprotocol(), Some("superchat"));
    for size in [0usize, 125, 126, 70_000] {
        let text = "ü".repeat(size / 2);
        client.send_text(&text).unwrap();
        assert_eq!(client.recv().unwrap(), OwnedEvent::Text(text));
        let data = vec![0xa5; size];
        client.send_binary(&data).unwrap();
        assert_eq!(client.recv().unwrap(), OwnedEvent::Binary(data));
    }
    client.close(CloseCode(4000), "bye").unwrap();
    match client.recv().unwrap() {
        OwnedEvent::Close(frame) => assert_eq!(
            (frame.code, frame.reason.as_str()),
            (CloseCode(4000), "bye")
        ),
        other => panic!("expected the close echo, got {other:?}"),
    }
}

/// The status line of the answer to `request`.
fn status_of(addr: SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let mut stream = std::net::TcpStream::connect(addr).unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut answer = Vec::new();
    let mut chunk = [0u8; 1024];
    while !answer.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "no answer to {request:?}");
        answer.extend_from_slice(&chunk[..n]);
    }
    let answer = String::from_utf8_lossy(&answer).to_lowercase();
    answer.lines().next().unwrap().to_string()
        + if answer.contains("\r\nupgrade: websocket") && !answer.starts_with("http/1.1 101") {
            " +upgrade"
        } else {
            ""
        }
}

#[test]
fn the_axum_extractor_refuses_with_the_status_of_what_is_wrong() {
    let addr = axum_server();
    let upgrade = "Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n";
    let key = "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n";
    let cases = [
        // A page request, not an upgrade: 426 and the header it calls for.
        ("GET /ws HTTP/1.1\r\nHost: x\r\n\r\n".to_string(), "http/1.1 426 upgrade required +upgrade"),
        (format!("GET /ws HTTP/1.1\r\nHost: x\r\n{upgrade}\r\n"), "http/1.1 400 bad request"),
        (
            format!("GET /ws HTTP/1.1\r\nHost: x\r\n{upgrade}{key}Sec-WebSocket-Protocol: other\r\n\r\n"),
            "http/1.1 400 bad request",
        ),
        (
            format!("GET /ws HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 8\r\n{key}\r\n"),
            "http/1.1 426 upgrade required",
        ),
        (
            format!("GET /ws HTTP/1.1\r\nHost: x\r\n{upgrade}{key}\r\n"),
            "http/1.1 101 switching protocols",
        ),
    ];
    for (request, expected) in cases {
        assert_eq!(status_of(addr, &request), expected, "{request:?}");
    }
    // And through a client: the refusal is an error, not a hang.
    match BlockingClient::connect_with(&format!("ws://{addr}/ws"), offering(&["nope"])) {
        Err(ClientError::Handshake(e)) => assert!(e.to_string().contains("400"), "{e}"),
        other => panic!("expected a refused handshake, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn a_hyper_service_upgrades_with_the_helper() {
    use hyper::server::conn::http1;
    use hyper::service::service_fn;
    use hyper_util::rt::TokioIo;

    let addr = spawn_server(|listener| async move {
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let service = service_fn(
                |mut request: http::Request<hyper::body::Incoming>| async move {
                    if !is_upgrade_request(&request) {
                        return Ok::<_, Infallible>(http::Response::new("a page\n".to_string()));
                    }
                    match upgrade::<_, String>(&mut request, &AcceptOptions::default()) {
                        Ok((response, pending)) => {
                            tokio::spawn(async move {
                                let mut ws = pending.await.unwrap();
                                while let Ok(Some(event)) = ws.recv().await {
                                    if let OwnedEvent::Text(text) = event {
                                        ws.send_text(&text.to_uppercase()).await.unwrap();
                                    }
                                }
                            });
                            Ok(response)
                        }
                        Err(rejection) => Ok(refusal(&rejection)),
                    }
                },
            );
            tokio::spawn(
                http1::Builder::new()
                    .serve_connection(TokioIo::new(tcp), service)
                    .with_upgrades(),
            );
        }
    });
    let mut client = BlockingClient::connect(&format!("ws://{addr}/")).unwrap();
    client.send_text("shout").unwrap();
    assert_eq!(client.recv().unwrap(), OwnedEvent::Text("SHOUT".into()));
    client.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(client.recv().unwrap(), OwnedEvent::Close(_)));
    let bad = "GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n";
    assert_eq!(status_of(addr, bad), "http/1.1 400 bad request");
}

/// Answers "engine: TEXT": proof that the engine's loop, not the axum
/// task, serves the connection.
struct EngineHandler;

impl simdws::net::Handler for EngineHandler {
    fn on_message(&mut self, conn: &mut simdws::net::Conn<'_>, message: simdws::net::Message<'_>) {
        if let simdws::net::Message::Text(text) = message {
            let _ = conn.send_text(&format!("engine: {text}"));
        }
    }
}

#[test]
fn an_axum_route_hands_its_connection_to_the_engine() {
    let config = simdws::net::ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
        ..simdws::net::ServerConfig::default()
    };
    let engine = simdws::net::Server::start(config, |_, _| EngineHandler).unwrap();
    let handle = engine.handle();
    let addr = spawn_server(move |listener| async move {
        let app = Router::new().route(
            "/ws",
            get(move |ws: WebSocketUpgrade| async move { ws.hand_over(&handle) }),
        );
        // hyper's http1 connection, so the upgraded socket can be taken
        // back as a TcpStream (axum::serve wraps it in a type of its own).
        loop {
            let (tcp, _) = listener.accept().await.unwrap();
            let service = hyper_util::service::TowerToHyperService::new(app.clone());
            tokio::spawn(
                hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(tcp), service)
                    .with_upgrades(),
            );
        }
    });
    let mut client = BlockingClient::connect(&format!("ws://{addr}/ws")).unwrap();
    for i in 0..10 {
        client.send_text(&format!("hello {i}")).unwrap();
        assert_eq!(
            client.recv().unwrap(),
            OwnedEvent::Text(format!("engine: hello {i}"))
        );
    }
    // The counts are published at the engine's timer sweeps.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    while engine.handle().stats().open != 1 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(engine.handle().stats().open, 1, "the engine holds it");
    client.close(CloseCode::NORMAL, "").unwrap();
    assert!(matches!(client.recv().unwrap(), OwnedEvent::Close(_)));
    drop(client); // the engine lingers for our end of TCP until then
    engine.handle().shutdown();
    engine.join();
}
