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

#[path = "support/frames.rs"]
mod frames;
use frames::server_output_events;

/// A WebSocket stream over `io` whose handshake is taken as done, with the
/// default configuration.
fn stream_over<S>(io: S, role: Role) -> WebSocketStream<S>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    WebSocketStream::from_parts(
        io,
        Connection::new(role, Config::default(), Instant::now()),
        &[],
    )
}

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
        let mut ws = stream_over(ours, Role::Server);
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
fn for_each_event_answers_every_message_and_a_cancelled_call_resumes_where_it_stopped() {
    runtime().block_on(async {
        let (mut peer, ours) = tokio::io::duplex(1 << 16);
        let mut ws = stream_over(ours, Role::Server);
        let long = "y".repeat(300);
        let messages = ["one", long.as_str(), "three", "ä€😀"];
        let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
        for m in messages {
            client.send_text(m).unwrap();
        }
        client.close(CloseCode::NORMAL, "bye").unwrap();
        let wire = client.poll_transmit().to_vec();
        client.advance_transmit(wire.len());
        let (mut seen, mut cancelled, mut ended) = (Vec::new(), 0, None);
        // Three bytes at a time; after each, the loop is given 2 ms and
        // dropped, wherever in a frame that leaves it.
        for piece in wire.chunks(3) {
            peer.write_all(piece).await.unwrap();
            let answering = ws.for_each_event(|event, tx| {
                if let Event::Text(text) = event {
                    seen.push(text.to_string());
                    tx.send_text(text).unwrap();
                }
            });
            match tokio::time::timeout(Duration::from_millis(2), answering).await {
                Ok(result) => {
                    ended = Some(result);
                    break;
                }
                Err(_elapsed) => cancelled += 1,
            }
        }
        assert!(matches!(ended, Some(Ok(()))), "{ended:?}");
        assert_eq!(seen, messages);
        assert!(
            cancelled > wire.len() / 3 - messages.len() - 1,
            "{cancelled} cancelled"
        );
        // The peer got each message back once, in order, then the close echo.
        let mut back = Vec::new();
        peer.read_to_end(&mut back).await.unwrap();
        let mut echoed = Vec::new();
        client
            .receive_all(&mut back, |event| echoed.push(OwnedEvent::from(event)))
            .unwrap();
        let expected: Vec<OwnedEvent> = messages
            .iter()
            .map(|m| OwnedEvent::Text(m.to_string()))
            .collect();
        assert!(
            matches!(echoed.pop(), Some(OwnedEvent::Close(_))),
            "{echoed:?}"
        );
        assert_eq!(echoed, expected);
    });
}

#[test]
fn invalid_text_fails_the_read_with_its_error_and_the_peer_gets_1007() {
    runtime().block_on(async {
        let (mut peer, ours) = tokio::io::duplex(4096);
        let mut ws = stream_over(ours, Role::Server);
        // A masked text frame (key 0) whose payload is not UTF-8.
        peer.write_all(&[0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28])
            .await
            .unwrap();
        let failed = ws.for_each_event(|_, _| {}).await;
        assert!(
            matches!(
                failed,
                Err(Error::Protocol(
                    simdws::protocol::ProtocolError::InvalidUtf8
                ))
            ),
            "{failed:?}"
        );
        // The close frame with 1007 went out before the error came back.
        let mut back = [0u8; 4];
        peer.read_exact(&mut back).await.unwrap();
        assert_eq!(back[0], 0x88, "a close frame");
        assert_eq!(u16::from_be_bytes([back[2], back[3]]), 1007);
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
        let mut ws = stream_over(ours, Role::Server);
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

/// A server over `io` that echoes every binary message and, before every
/// tenth echo, pings; returns (messages echoed, pongs received).
async fn echo_and_ping<S>(io: S) -> (usize, usize)
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin,
{
    let mut ws = stream_over(io, Role::Server);
    let (mut echoed, mut pongs) = (0usize, 0usize);
    while let Some(event) = ws.recv().await.unwrap() {
        match event {
            OwnedEvent::Binary(data) => {
                echoed += 1;
                if echoed % 10 == 0 {
                    ws.ping(&echoed.to_be_bytes()).await.unwrap();
                }
                ws.send_binary(&data).await.unwrap();
            }
            OwnedEvent::Pong(_) => pongs += 1,
            _ => {}
        }
    }
    (echoed, pongs)
}

#[test]
fn split_halves_read_and_write_from_two_tasks_and_reunite() {
    const MESSAGES: usize = 300;
    runtime().block_on(async {
        // A pipe far smaller than what is in flight: each half keeps waiting
        // on its direction while the other works, and the read half writes
        // pongs under the write half's feet.
        let (server_io, client_io) = tokio::io::duplex(256);
        let server = tokio::spawn(echo_and_ping(server_io));
        let ws = stream_over(client_io, Role::Client);
        let (mut read, mut write) = ws.split();
        let writer = tokio::spawn(async move {
            for i in 0..MESSAGES {
                write.send_binary(&[i as u8; 1024]).await.unwrap();
            }
            write
        });
        let reader = tokio::spawn(async move {
            let mut received = Vec::new();
            while received.len() < MESSAGES {
                match read.next().await.unwrap().unwrap() {
                    OwnedEvent::Binary(data) => received.push(data),
                    OwnedEvent::Ping(_) => {} // answered by the half itself
                    other => panic!("unexpected {other:?}"),
                }
            }
            (read, received)
        });
        let within = Duration::from_secs(20);
        let write = tokio::time::timeout(within, writer)
            .await
            .expect("the writer hung")
            .unwrap();
        let (read, received) = tokio::time::timeout(within, reader)
            .await
            .expect("the reader hung")
            .unwrap();
        for (i, data) in received.iter().enumerate() {
            assert_eq!(data, &vec![i as u8; 1024], "message {i}");
        }
        let mut ws = read.reunite(write).unwrap();
        ws.close(CloseCode::NORMAL, "done").await.unwrap();
        assert!(matches!(
            ws.recv().await.unwrap(),
            Some(OwnedEvent::Close(_))
        ));
        assert_eq!(ws.recv().await.unwrap(), None);
        let (echoed, pongs) = server.await.unwrap();
        assert_eq!((echoed, pongs), (MESSAGES, MESSAGES / 10));
    });
}

#[test]
fn halves_of_two_streams_do_not_reunite() {
    runtime().block_on(async {
        let stream = || {
            let (_, io) = tokio::io::duplex(64);
            stream_over(io, Role::Client)
        };
        let (read_a, write_a) = stream().split();
        let (read_b, write_b) = stream().split();
        let simdws::tokio::ReuniteError(read_a, write_b) = read_a.reunite(write_b).unwrap_err();
        assert!(read_a.reunite(write_a).is_ok());
        assert!(read_b.reunite(write_b).is_ok());
    });
}

#[test]
fn a_send_cancelled_while_the_transport_is_full_is_written_once_by_the_next_flush() {
    runtime().block_on(async {
        let (mut peer, ours) = tokio::io::duplex(64);
        let mut ws = stream_over(ours, Role::Server);
        let long = "y".repeat(10_000);
        // The pipe takes 64 bytes: the send cannot finish, and is dropped.
        let sent = tokio::time::timeout(Duration::from_millis(20), ws.send_text(&long)).await;
        assert!(sent.is_err(), "a 10 kB send went through a 64-byte pipe");
        let reader = tokio::spawn(async move {
            let mut wire = Vec::new();
            peer.read_to_end(&mut wire).await.unwrap();
            wire
        });
        ws.send_text("after").await.unwrap();
        drop(ws); // the pipe ends: the reader has all there was
        let wire = reader.await.unwrap();
        assert_eq!(
            server_output_events(wire),
            [OwnedEvent::Text(long), OwnedEvent::Text("after".into())]
        );
    });
}

/// `wss://` through tokio-rustls: a client trusting the server's
/// self-signed certificate is echoed; one trusting only Mozilla's roots is
/// refused with the certificate error, before any upgrade.
#[cfg(feature = "tokio-tls")]
#[test]
fn wss_connects_through_tokio_rustls_and_an_untrusted_certificate_is_refused() {
    use simdws::net::tls::{client_config_trusting_pem, self_signed};
    runtime().block_on(async {
        let certificate = self_signed(&["localhost"]).unwrap();
        let acceptor = tokio_rustls::TlsAcceptor::from(certificate.config.clone());
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = tokio::spawn(async move {
            let mut results = Vec::new();
            for _ in 0..2 {
                let (tcp, _) = listener.accept().await.unwrap();
                results.push(match acceptor.accept(tcp).await {
                    Ok(tls) => echo(accept(tls).await.unwrap())
                        .await
                        .map_err(|e| e.to_string()),
                    Err(e) => Err(e.to_string()),
                });
            }
            results
        });
        let url = format!("wss://localhost:{port}/");

        let untrusted = connect(&url, &ClientOptions::default()).await.unwrap_err();
        assert!(
            matches!(&untrusted, Error::Io(e) if e.to_string().contains("certificate")),
            "{untrusted}"
        );

        let options = ClientOptions {
            tls: Some(client_config_trusting_pem(certificate.cert_pem.as_bytes()).unwrap()),
            ..ClientOptions::default()
        };
        let mut ws = connect(&url, &options).await.unwrap();
        assert!(matches!(
            ws.get_ref(),
            simdws::tokio::MaybeTlsStream::Tls(_)
        ));
        ws.send_text("over tls").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap(),
            Some(OwnedEvent::Text("over tls".into()))
        );
        ws.close(CloseCode::NORMAL, "").await.unwrap();
        while ws.recv().await.unwrap().is_some() {}

        let results = server.await.unwrap();
        assert!(
            results[0].is_err(),
            "the untrusting client's handshake: {:?}",
            results[0]
        );
        assert_eq!(results[1], Ok(1));
    });
}
