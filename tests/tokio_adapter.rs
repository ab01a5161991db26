//! `simdws::tokio`: the handshakes, echo both ways against the engine,
//! reads cancelled in the middle of a frame, refusals, and the protocol's
//! timers on tokio's clock.

use std::time::{Duration, Instant};

use futures_util::{SinkExt, StreamExt};
use simdws::frame::CloseCode;
use simdws::net::{BlockingClient, ClientOptions, Conn, Handler, Message, OwnedEvent, Server};
use simdws::net::{ClientError, ServerConfig};
use simdws::protocol::{Config, Connection, Event, Role};
use simdws::tokio::{accept, accept_with, connect, AcceptOptions, Error, WebSocketStream};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Echoes every text and binary message until the close handshake ends;
/// returns how many it echoed.
async fn echo<S>(mut ws: WebSocketStream<S>) -> Result<usize, Error>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut echoed = 0;
    let mut copy = Vec::new();
    while let Some(text) = ws
        .next_event_with(|event| match event {
            Event::Text(text) => {
                copy.clear();
                copy.extend_from_slice(text.as_bytes());
                Some(true)
            }
            Event::Binary(data) => {
                copy.clear();
                copy.extend_from_slice(data);
                Some(false)
            }
            _ => None,
        })
        .await?
    {
        match text {
            Some(true) => ws.send_text(std::str::from_utf8(&copy).unwrap()).await?,
            Some(false) => ws.send_binary(&copy).await?,
            None => continue,
        }
        echoed += 1;
    }
    Ok(echoed)
}

#[test]
fn an_engine_client_is_echoed_by_a_tokio_server_and_the_close_handshake_ends_it() {
    let rt = runtime();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let client = std::thread::spawn(move || {
        let mut client = BlockingClient::connect(&format!("ws://{addr}/")).unwrap();
        for size in [0usize, 1, 125, 126, 65_535, 65_536, 1 << 20] {
            let text: String = "é".repeat(size / 2);
            client.send_text(&text).unwrap();
            assert_eq!(client.recv().unwrap(), OwnedEvent::Text(text));
            let data: Vec<u8> = (0..size).map(|i| (i * 7) as u8).collect();
            client.send_binary(&data).unwrap();
            assert_eq!(client.recv().unwrap(), OwnedEvent::Binary(data));
        }
        client.close(CloseCode::NORMAL, "done").unwrap();
        loop {
            match client.recv() {
                Ok(OwnedEvent::Close(frame)) => break assert_eq!(frame.code, CloseCode::NORMAL),
                Ok(_) => continue,
                Err(e) => panic!("no close echo: {e}"),
            }
        }
    });
    let echoed = rt.block_on(async {
        let (tcp, _) = listener.accept().await.unwrap();
        echo(accept(tcp).await.unwrap()).await
    });
    client.join().unwrap();
    assert_eq!(echoed.unwrap(), 14);
}

struct EngineEcho;

impl Handler for EngineEcho {
    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let _ = conn.send_message(message);
    }
}

#[test]
fn a_tokio_client_talks_to_the_engine_through_stream_and_sink() {
    let config = ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
        ..ServerConfig::default()
    };
    let server = Server::start(config, |_, _| EngineEcho).unwrap();
    let url = format!("ws://{}/", server.local_addr());
    runtime().block_on(async {
        let mut ws = connect(&url, &ClientOptions::default()).await.unwrap();
        for i in 0..100 {
            ws.send(OwnedEvent::Text(format!("message {i}")))
                .await
                .unwrap();
        }
        ws.send(OwnedEvent::Binary(vec![7; 200_000])).await.unwrap();
        for i in 0..100 {
            let echo = ws.next().await.unwrap().unwrap();
            assert_eq!(echo, OwnedEvent::Text(format!("message {i}")));
        }
        assert_eq!(
            ws.recv().await.unwrap(),
            Some(OwnedEvent::Binary(vec![7; 200_000]))
        );
        // The Sink's close: a normal close (1000), written.
        SinkExt::close(&mut ws).await.unwrap();
        // The engine answers the close, and the stream ends.
        match ws.next().await {
            Some(Ok(OwnedEvent::Close(frame))) => assert_eq!(frame.code, CloseCode::NORMAL),
            other => panic!("expected the close echo, got {other:?}"),
        }
        assert!(ws.next().await.is_none(), "the stream ends after the close");
    });
    server.handle().shutdown();
    server.join();
}

/// A client's frames for `messages`, masked, as one byte string.
fn client_frames(messages: &[&str]) -> Vec<u8> {
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    for m in messages {
        client.send_text(m).unwrap();
    }
    client.poll_transmit().to_vec()
}

#[test]
fn reads_cancelled_in_the_middle_of_a_frame_lose_nothing() {
    runtime().block_on(async {
        let (mut peer, ours) = tokio::io::duplex(64);
        let mut ws = WebSocketStream::from_parts(
            ours,
            Connection::new(Role::Server, Config::default(), Instant::now()),
            &[],
        );
        let long = "x".repeat(300);
        let messages = ["first", long.as_str(), "third", "ä€😀 at the end"];
        let wire = client_frames(&messages);
        let mut received = Vec::new();
        let mut cancelled = 0;
        // Three bytes at a time; after each, a read that is given 2 ms and
        // then dropped, wherever in a frame that leaves it.
        for piece in wire.chunks(3) {
            peer.write_all(piece).await.unwrap();
            loop {
                match tokio::time::timeout(Duration::from_millis(2), ws.recv()).await {
                    Ok(event) => received.push(event.unwrap().unwrap()),
                    Err(_elapsed) => {
                        cancelled += 1;
                        break;
                    }
                }
            }
        }
        let expected: Vec<OwnedEvent> = messages
            .iter()
            .map(|m| OwnedEvent::Text(m.to_string()))
            .collect();
        assert_eq!(received, expected);
        assert!(
            cancelled > wire.len() / 3 - messages.len(),
            "{cancelled} reads cancelled"
        );
    });
}

#[test]
fn refused_upgrades_are_answered_with_their_status() {
    let rt = runtime();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let requests: [(&[u8], &str); 3] = [
        (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 426 "),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n\r\n",
            "HTTP/1.1 400 ",
        ),
        (
            b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: https://evil.example\r\n\r\n",
            "HTTP/1.1 403 ",
        ),
    ];
    let options = AcceptOptions {
        policy: simdws::handshake::ServerPolicy {
            allowed_origins: Some(vec!["https://good.example".into()]),
            ..Default::default()
        },
        ..AcceptOptions::default()
    };
    rt.block_on(async {
        for (request, status) in requests {
            let mut client = tokio::net::TcpStream::connect(addr).await.unwrap();
            client.write_all(request).await.unwrap();
            let (tcp, _) = listener.accept().await.unwrap();
            match accept_with(tcp, &options).await {
                Err(Error::Refused(rejection)) => {
                    assert_eq!(format!("HTTP/1.1 {} ", rejection.status()), status)
                }
                other => panic!("{status}: expected a refusal, got {other:?}"),
            }
            let mut answer = String::new();
            client.read_to_string(&mut answer).await.unwrap();
            assert!(answer.starts_with(status), "{answer:?}");
        }
    });
}

#[test]
fn keepalive_pings_and_the_idle_timeout_run_on_tokio_time() {
    let rt = runtime();
    let listener = rt.block_on(TcpListener::bind("127.0.0.1:0")).unwrap();
    let addr = listener.local_addr().unwrap();
    let options = AcceptOptions {
        config: Config {
            ping_interval: Some(Duration::from_millis(50)),
            idle_timeout: Some(Duration::from_millis(400)),
            ..Config::default()
        },
        ..AcceptOptions::default()
    };
    // A client that never answers pings (auto_pong off) and sends nothing.
    let client = std::thread::spawn(move || {
        let options = ClientOptions {
            config: Config {
                auto_pong: false,
                ..Config::default()
            },
            timeout: Some(Duration::from_secs(5)),
            ..ClientOptions::default()
        };
        let mut client = BlockingClient::connect_with(&format!("ws://{addr}/"), options).unwrap();
        let started = Instant::now();
        let mut pings = 0;
        loop {
            match client.recv() {
                Ok(OwnedEvent::Ping(_)) => pings += 1,
                Ok(OwnedEvent::Close(frame)) => {
                    break (pings, frame.code, started.elapsed());
                }
                Ok(other) => panic!("unexpected {other:?}"),
                Err(ClientError::Closed) => panic!("closed without a close frame"),
                Err(e) => panic!("{e}"),
            }
        }
    });
    let (result, server_read) = rt.block_on(async {
        let (tcp, _) = listener.accept().await.unwrap();
        let mut ws = accept_with(tcp, &options).await.unwrap();
        // Reading drives the timers; the idle close ends the connection.
        let t0 = Instant::now();
        let r = loop {
            match ws.recv().await {
                Ok(Some(_)) => continue,
                other => break other,
            }
        };
        (r, t0.elapsed())
    });
    let (pings, code, after) = client.join().unwrap();
    assert!(
        pings >= 3,
        "{pings} keepalive pings before the idle timeout"
    );
    assert_eq!(code, CloseCode::GOING_AWAY);
    assert!(
        after >= Duration::from_millis(350),
        "closed after {after:?}"
    );
    // The client's close echo ends the server's read at once, well before
    // the 5 s close deadline.
    assert!(
        matches!(result, Ok(None)),
        "the server's read ends: {result:?}"
    );
    assert!(
        server_read < Duration::from_secs(2),
        "read for {server_read:?}"
    );
}

#[test]
fn a_server_ends_after_the_close_echo_without_waiting_for_the_peers_fin() {
    runtime().block_on(async {
        let (mut peer, ours) = tokio::io::duplex(4096);
        let mut ws = WebSocketStream::from_parts(
            ours,
            Connection::new(Role::Server, Config::default(), Instant::now()),
            &[],
        );
        let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
        client.close(CloseCode::NORMAL, "done").unwrap();
        peer.write_all(client.poll_transmit()).await.unwrap();
        // `peer` stays open: the server must not wait for its end.
        let ended = tokio::time::timeout(Duration::from_secs(2), async {
            let first = ws.recv().await.unwrap();
            (first, ws.recv().await.unwrap())
        })
        .await
        .expect("the server's reads end");
        assert!(matches!(ended.0, Some(OwnedEvent::Close(_))), "{ended:?}");
        assert_eq!(ended.1, None);
        // The echo reached the peer, and our side is shut.
        let mut echo = Vec::new();
        peer.read_to_end(&mut echo).await.unwrap();
        assert_eq!(echo[0], 0x88, "a close frame came back");
    });
}
