//! The `simdws serve` binary as users run it: the page, echo, the chat room
//! across connections, subprotocols, 404 for unknown paths, Ctrl-C, and
//! permessage-deflate on by default, a decompression bomb included.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::Duration;

use flate2::{Compress, Compression, FlushCompress};
use simdws::deflate::DeflateConfig;
use simdws::frame::{CloseCode, CloseFrame, RSV1};
use simdws::net::{BlockingClient, ClientError, ClientOptions, OwnedEvent, WsUrl};
use simdws::protocol::{Config, Connection, Role};

#[path = "support/frames.rs"]
mod common;
#[path = "support/serve_process.rs"]
mod serve_process;
use serve_process::{output_within, proc_status_kib, Serve};

/// A raw deflate stream with a sync flush, the trailer stripped (RFC 7692).
fn raw_deflate(data: &[u8]) -> Vec<u8> {
    let mut c = Compress::new(Compression::default(), false);
    let mut out = Vec::with_capacity(data.len() / 100 + 1024);
    c.compress_vec(data, &mut out, FlushCompress::Sync).unwrap();
    out.truncate(out.len() - 4);
    out
}

#[test]
fn serves_the_page_echo_and_chat() {
    let serve = Serve::start();

    let mut raw = TcpStream::connect(&serve.addr).unwrap();
    raw.write_all(b"GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut page = String::new();
    raw.read_to_string(&mut page).unwrap();
    assert!(page.starts_with("HTTP/1.1 200 OK\r\n"), "{}", &page[..80]);
    assert!(
        page.contains("new WebSocket("),
        "the page uses the browser API"
    );

    for path in ["/", "/echo"] {
        let mut c = serve.connect(path, &["echo-protocol"]).unwrap();
        assert_eq!(c.subprotocol(), Some("echo-protocol"));
        c.send_text("你好 😀").unwrap();
        assert_eq!(c.recv().unwrap(), OwnedEvent::Text("你好 😀".into()));
    }

    // Two members of the room see each other's messages.
    let mut alice = serve.connect("/chat", &["chat"]).unwrap();
    let mut bob = serve.connect("/chat", &["chat"]).unwrap();
    assert_eq!(alice.subprotocol(), Some("chat"));
    // Both are in the room before anyone speaks (the handshake completed),
    // so each message reaches both, the sender included.
    alice.send_text("alice joined").unwrap();
    assert_eq!(
        alice.recv().unwrap(),
        OwnedEvent::Text("alice joined".into())
    );
    assert_eq!(bob.recv().unwrap(), OwnedEvent::Text("alice joined".into()));
    bob.send_text("bob joined").unwrap();
    assert_eq!(bob.recv().unwrap(), OwnedEvent::Text("bob joined".into()));
    assert_eq!(alice.recv().unwrap(), OwnedEvent::Text("bob joined".into()));
    alice.send_binary(&[1, 2, 3]).unwrap();
    assert_eq!(bob.recv().unwrap(), OwnedEvent::Binary(vec![1, 2, 3]));
    assert_eq!(alice.recv().unwrap(), OwnedEvent::Binary(vec![1, 2, 3]));
    bob.close(CloseCode::NORMAL, "bye").unwrap();
    assert!(matches!(
        bob.recv().unwrap(),
        OwnedEvent::Close(CloseFrame {
            code: CloseCode::NORMAL,
            ..
        })
    ));
    // Whoever stays hears that someone left.
    assert_eq!(
        alice.recv().unwrap(),
        OwnedEvent::Text("a member left the room (1 remain)".into())
    );
}

#[test]
fn unknown_paths_and_unknown_subprotocols_are_refused() {
    let serve = Serve::start();
    match serve.connect("/nowhere", &[]) {
        Err(ClientError::Handshake(e)) => assert!(e.to_string().contains("404"), "{e}"),
        other => panic!("expected 404, got {:?}", other.map(|_| ())),
    }
    match serve.connect("/echo", &["mqtt"]) {
        Err(ClientError::Handshake(e)) => assert!(e.to_string().contains("400"), "{e}"),
        other => panic!("expected 400, got {:?}", other.map(|_| ())),
    }
}

#[test]
fn sigint_closes_connections_with_1001_and_exits() {
    let mut serve = Serve::start();
    let mut c = serve.connect("/", &[]).unwrap();
    c.send_text("x").unwrap();
    c.recv().unwrap();
    let pid = serve.child.id().to_string();
    Command::new("kill").args(["-INT", &pid]).status().unwrap();
    assert_eq!(
        c.recv().unwrap(),
        OwnedEvent::Close(CloseFrame::new(
            CloseCode::GOING_AWAY,
            "server shutting down"
        ))
    );
    let status = serve.child.wait().unwrap();
    assert!(status.success(), "{status}");
}

#[test]
fn deflate_is_on_by_default_for_peers_that_offer_it() {
    let serve = Serve::start();
    let options = ClientOptions {
        deflate: Some(DeflateConfig::default()),
        timeout: Some(Duration::from_secs(10)),
        ..ClientOptions::default()
    };
    let mut c =
        BlockingClient::connect_with(&format!("ws://{}/echo", serve.addr), options).unwrap();
    assert_eq!(c.extensions(), Some("permessage-deflate"));
    let text = "compress me, ".repeat(10_000);
    c.send_text(&text).unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text(text));

    let off = Serve::start_with(&["--no-deflate"]);
    let options = ClientOptions {
        deflate: Some(DeflateConfig::default()),
        ..ClientOptions::default()
    };
    let c = BlockingClient::connect_with(&format!("ws://{}/echo", off.addr), options).unwrap();
    assert_eq!(c.extensions(), None);
}

#[test]
fn a_deflate_bomb_gets_1009_and_the_server_stays_small() {
    let limit = 1 << 20;
    let serve = Serve::start_with(&["--workers", "1", "--max-message-size", &limit.to_string()]);
    let pid = serve.child.id();
    let url = WsUrl::parse(&format!("ws://{}/echo", serve.addr)).unwrap();
    let options = ClientOptions {
        deflate: Some(DeflateConfig::default()),
        ..ClientOptions::default()
    };
    let mut stream = TcpStream::connect(&serve.addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(options.request(&url).bytes()).unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        stream.read_exact(&mut byte).unwrap();
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    assert!(
        head.contains("Sec-WebSocket-Extensions: permessage-deflate"),
        "{head}"
    );

    // Warm up: a compressed message that fits, so the inflater, the
    // receive buffer and the echo path have all been allocated.
    let key = [7, 7, 7, 7];
    let small = raw_deflate(&vec![b'a'; 1000]);
    stream
        .write_all(&common::frame(true, RSV1, 2, &small, key))
        .unwrap();
    let mut echo = vec![0u8; 64];
    let n = stream.read(&mut echo).unwrap();
    assert!(
        n > 2 && echo[0] == 0x80 | RSV1 | 2,
        "compressed echo, got {:?}",
        &echo[..n]
    );
    let baseline = proc_status_kib(pid, "VmHWM");

    // 10 MiB of zeros, about 10 KiB on the wire, against a 1 MiB limit.
    let bomb = raw_deflate(&vec![0u8; 10 << 20]);
    stream
        .write_all(&common::frame(true, RSV1, 2, &bomb, key))
        .unwrap();
    let mut reply = Vec::new();
    let _ = stream.read_to_end(&mut reply);
    let mut client = Connection::new(Role::Client, Config::default(), std::time::Instant::now());
    let event = client
        .receive(&mut reply)
        .unwrap()
        .event
        .map(OwnedEvent::from);
    assert!(
        matches!(
            event,
            Some(OwnedEvent::Close(CloseFrame {
                code: CloseCode::MESSAGE_TOO_BIG,
                ..
            }))
        ),
        "{event:?}"
    );
    let peak = proc_status_kib(pid, "VmHWM");
    eprintln!("server peak RSS: {baseline} KiB before the bomb, {peak} KiB after");
    assert!(
        peak <= baseline + 3 * 1024,
        "peak RSS grew from {baseline} KiB to {peak} KiB for a 1 MiB limit"
    );
    // Still serving.
    let mut c = serve.connect("/echo", &[]).unwrap();
    c.send_text("still here").unwrap();
    assert_eq!(c.recv().unwrap(), OwnedEvent::Text("still here".into()));
}

/// `simdws load` as a user runs it against `serve`.
/// Runs `simdws load` against `serve`; a run that has not ended in a minute
/// is killed and fails the test.
fn load(serve: &Serve, args: &[&str]) -> std::process::Output {
    output_within(
        Command::new(env!("CARGO_BIN_EXE_simdws"))
            .args(["load", "--url", &format!("ws://{}/", serve.addr)])
            .args(args)
            .env("RUST_LOG", "warn"),
        Duration::from_secs(60),
    )
}

#[test]
fn load_with_messages_sends_exactly_that_many() {
    let serve = Serve::start();
    for (conns, pipeline) in [("4", "1"), ("10", "16")] {
        let out = load(
            &serve,
            &[
                "--conns",
                conns,
                "--pipeline",
                pipeline,
                "--size",
                "64",
                "--messages",
                "1000",
                "--warmup",
                "0.2",
                "--json",
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{stdout} {}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("\"messages\":1000,"),
            "--messages 1000 with {conns} x {pipeline} in flight: {stdout}"
        );
        assert!(stdout.contains("\"unanswered\":0}"), "{stdout}");
    }
}

/// Echoes every connection's messages but the first connection's, which
/// it reads and never answers.
struct StarvesOne {
    starved: Option<simdws::net::ConnId>,
}

impl simdws::net::Handler for StarvesOne {
    fn on_message(&mut self, conn: &mut simdws::net::Conn<'_>, message: simdws::net::Message<'_>) {
        let starved = *self.starved.get_or_insert(conn.id());
        if conn.id() != starved {
            let _ = conn.send_message(message);
        }
    }
}

/// A connection the server never answers is in the load generator's
/// latency (its messages timed up to the run's end) and in its count of
/// messages never answered; without that, only the connections that were
/// served would be timed, and a server that starves some would look fast.
#[test]
fn load_times_the_messages_a_server_never_answers() {
    let config = simdws::net::ServerConfig {
        addr: "127.0.0.1:0".parse().unwrap(),
        workers: 1,
        ..simdws::net::ServerConfig::default()
    };
    let server = simdws::net::Server::start(config, |_, _| StarvesOne { starved: None }).unwrap();
    let out = output_within(
        Command::new(env!("CARGO_BIN_EXE_simdws"))
            .args(["load", "--url", &format!("ws://{}/", server.local_addr())])
            .args(["--conns", "4", "--pipeline", "4", "--size", "64"])
            .args(["--warmup", "0.2", "--duration", "1", "--json"])
            .env("RUST_LOG", "warn"),
        Duration::from_secs(60),
    );
    server.handle().shutdown();
    server.join();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let report: serde_json::Value = serde_json::from_str(stdout.lines().last().unwrap_or(""))
        .unwrap_or_else(|e| panic!("{e}: {stdout}"));
    assert_eq!(report["unanswered"], 4, "{stdout}");
    assert!(report["messages"].as_u64().unwrap() > 100, "{stdout}");
    // Sent when the connection opened, unanswered when the run stopped
    // 1.2 s later.
    let max = report["latency_us"]["max"].as_u64().unwrap();
    assert!(max >= 1_000_000, "max latency {max} µs: {stdout}");
}

#[test]
fn load_idle_ends_without_false_warnings() {
    let serve = Serve::start();
    let out = load(&serve, &["--idle", "200", "--duration", "1"]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(
        !stderr.contains("closed during the run"),
        "closing its own idle connections is not a failure: {stderr}"
    );
    let said = format!("{}{stderr}", String::from_utf8_lossy(&out.stdout));
    assert!(said.contains("200 of 200 connections open"), "{said}");
}

/// Reads one HTTP response head and says whether it was a 101.
fn switched(stream: &mut TcpStream) -> bool {
    let mut head = Vec::new();
    let mut chunk = [0u8; 512];
    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
        match stream.read(&mut chunk) {
            Ok(0) | Err(_) => return false,
            Ok(n) => head.extend_from_slice(&chunk[..n]),
        }
    }
    head.starts_with(b"HTTP/1.1 101 ")
}

/// 10,000 idle WebSocket connections cost the server at most 256 B each,
/// whether they come one after another or in a burst (every upgrade sent
/// before any answer is read). A burst holds the handshakes of thousands of
/// connections at once; without the heap trim after it, the freed memory
/// stayed resident (364-597 B per connection).
#[test]
fn ten_thousand_idle_connections_cost_at_most_256_bytes_each_however_they_arrive() {
    const IDLE: usize = 10_000;
    const LIMIT: f64 = 256.0;
    let request = b"GET / HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
        Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n";
    for burst in [false, true] {
        let serve = Serve::start_with(&["--workers", "1"]);
        // Warm the allocator and the worker up with a few connections.
        for _ in 0..100 {
            let mut warm = TcpStream::connect(&serve.addr).unwrap();
            warm.write_all(request).unwrap();
            assert!(switched(&mut warm));
        }
        std::thread::sleep(Duration::from_millis(300));
        let before = proc_status_kib(serve.pid(), "VmRSS");
        let mut idle = Vec::with_capacity(IDLE);
        for _ in 0..IDLE {
            let mut stream = TcpStream::connect(&serve.addr).unwrap();
            stream.write_all(request).unwrap();
            if !burst {
                assert!(switched(&mut stream), "upgraded");
            }
            idle.push(stream);
        }
        if burst {
            for stream in &mut idle {
                assert!(switched(stream), "upgraded");
            }
        }
        // Resting takes a whole idle tick (100 ms) and the trim follows in
        // the next sweep: give it a few.
        let mut per_connection = f64::MAX;
        for _ in 0..30 {
            std::thread::sleep(Duration::from_millis(100));
            let after = proc_status_kib(serve.pid(), "VmRSS");
            per_connection = after.saturating_sub(before) as f64 * 1024.0 / IDLE as f64;
            if per_connection <= LIMIT {
                break;
            }
        }
        let how = if burst { "in a burst" } else { "one by one" };
        eprintln!("{IDLE} idle connections opened {how}: {per_connection:.0} B each");
        assert!(
            per_connection <= LIMIT,
            "{IDLE} idle connections opened {how} cost {per_connection:.0} B each"
        );
    }
}

fn simdws(args: &[&str], env: &[(&str, &str)]) -> std::process::Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_simdws"));
    command.args(args).env_remove("SIMDWS_KERNEL");
    for (name, value) in env {
        command.env(name, value);
    }
    command.output().expect("simdws runs")
}

#[test]
fn kernel_names_agree_and_a_bad_simdws_kernel_is_an_error() {
    let available = String::from_utf8(simdws(&["kernels"], &[]).stdout).unwrap();
    let detected = String::from_utf8(simdws(&["kernel"], &[]).stdout).unwrap();
    assert!(
        available.lines().any(|k| k == detected.trim()),
        "`kernel` says {detected:?}, `kernels` lists {available:?}"
    );
    let forced = simdws(&["kernel"], &[("SIMDWS_KERNEL", "words")]);
    assert_eq!(String::from_utf8_lossy(&forced.stdout).trim(), "words");
    for (bad, says) in [
        ("bogus", "unknown kernel"),
        ("neon", "cannot run on this CPU"),
    ] {
        if bad == "neon" && cfg!(target_arch = "aarch64") {
            continue;
        }
        let out = simdws(&["kernel"], &[("SIMDWS_KERNEL", bad)]);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "SIMDWS_KERNEL={bad}: {stderr}");
        assert!(
            stderr.contains(says) && stderr.contains("words"),
            "{stderr}"
        );
    }
}

#[test]
fn a_second_server_on_a_port_in_use_fails_instead_of_sharing_it() {
    let first = Serve::start();
    let out = simdws(&["serve", "--addr", &first.addr], &[("RUST_LOG", "warn")]);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(2),
        "a second serve must not start: {stderr}"
    );
    assert!(stderr.contains("already in use"), "{stderr}");
    // The library says the same to an embedder.
    let config = simdws::net::ServerConfig {
        addr: first.addr.parse().unwrap(),
        ..Default::default()
    };
    struct Nothing;
    impl simdws::net::Handler for Nothing {
        fn on_message(&mut self, _: &mut simdws::net::Conn<'_>, _: simdws::net::Message<'_>) {}
    }
    let err = simdws::net::Server::start(config, |_, _| Nothing)
        .err()
        .expect("refused");
    assert_eq!(err.kind(), std::io::ErrorKind::AddrInUse);
    // Every request still reaches the first server.
    for _ in 0..8 {
        let mut c = serve_process_http(&first.addr);
        c.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            .unwrap();
        let mut answer = String::new();
        c.read_to_string(&mut answer).unwrap();
        assert!(answer.starts_with("HTTP/1.1 200"), "{answer}");
    }
}

fn serve_process_http(addr: &str) -> TcpStream {
    TcpStream::connect(addr).unwrap()
}
