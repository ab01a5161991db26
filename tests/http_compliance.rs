//! The 33 HTTP/1.1 compliance cases of the published "h1spec" suite (the
//! one uWebSockets passes 33/33 and Node.js 32/33), in a harness of our own:
//! one raw request per connection, judged by the status of the first answer,
//! or by there being no answer within 500 ms for requests that have not
//! arrived in full.
//!
//! Runs against an in-process echo server (as `examples/http_echo` answers:
//! 200 with the request's body), or against `H1_TARGET=HOST:PORT`.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use simdws::http::{HttpResponse, Request};
use simdws::net::{Conn, Handler, HttpConn, Message, Reply, Server, ServerConfig};

/// What a case accepts: no answer at all, a status in one of the ranges,
/// or (for the echo cases) a status in range whose 200 carries the body.
enum Expect {
    Wait,
    Status(&'static [(u16, u16)]),
    Echo(&'static [(u16, u16)], &'static str),
}

const OK: &[(u16, u16)] = &[(200, 299)];
const CLIENT_ERROR: &[(u16, u16)] = &[(400, 499)];
const ANY_ERROR: &[(u16, u16)] = &[(400, 499), (500, 599)];

const CASES: &[(&str, &str, Expect)] = &[
    ("G", "fragmented method", Expect::Wait),
    ("GET ", "fragmented URL 1", Expect::Wait),
    ("GET /hello", "fragmented URL 2", Expect::Wait),
    ("GET /hello ", "fragmented URL 3", Expect::Wait),
    ("GET /hello HTTP", "fragmented HTTP version", Expect::Wait),
    ("GET /hello HTTP/1.1", "fragmented request line", Expect::Wait),
    ("GET /hello HTTP/1.1\r", "fragmented request line newline 1", Expect::Wait),
    ("GET /hello HTTP/1.1\r\n", "fragmented request line newline 2", Expect::Wait),
    ("GET /hello HTTP/1.1\r\nHos", "fragmented field name", Expect::Wait),
    ("GET /hello HTTP/1.1\r\nHost:", "fragmented field value 1", Expect::Wait),
    ("GET /hello HTTP/1.1\r\nHost: ", "fragmented field value 2", Expect::Wait),
    ("GET /hello HTTP/1.1\r\nHost: localhost", "fragmented field value 3", Expect::Wait),
    ("GET /hello HTTP/1.1\r\nHost: localhost\r", "fragmented field value 4", Expect::Wait),
    ("GET /hello HTTP/1.1\r\nHost: localhost\r\n", "fragmented request", Expect::Wait),
    ("GET /hello HTTP/1.1\r\nHost: localhost\r\n\r", "fragmented request termination", Expect::Wait),
    ("GET / \r\n\r\n", "request without HTTP version", Expect::Status(ANY_ERROR)),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\nExpect: 100-continue\r\n\r\n",
        "request with Expect header",
        Expect::Status(&[(100, 100), (200, 299)]),
    ),
    ("GET / HTTP/1.1\r\nHost: example.com\r\n\r\n", "valid GET request", Expect::Status(OK)),
    (
        "GET / HTTP/1.1\r\nhoSt:\texample.com\r\nempty:\r\n\r\n",
        "valid GET request with edge cases",
        Expect::Status(OK),
    ),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Invalid[]: test\r\n\r\n",
        "invalid header characters",
        Expect::Status(CLIENT_ERROR),
    ),
    ("GET / HTTP/1.1\r\nContent-Length: 5\r\n\r\n", "missing Host header", Expect::Status(CLIENT_ERROR)),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\nHost: example.org\r\n\r\n",
        "multiple Host headers",
        Expect::Status(CLIENT_ERROR),
    ),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: -123456789123456789123456789\r\n\r\n",
        "overflowing negative Content-Length",
        Expect::Status(CLIENT_ERROR),
    ),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: -1234\r\n\r\n",
        "negative Content-Length",
        Expect::Status(CLIENT_ERROR),
    ),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\nContent-Length: abc\r\n\r\n",
        "non-numeric Content-Length",
        Expect::Status(CLIENT_ERROR),
    ),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Empty-Header: \r\n\r\n",
        "empty header value",
        Expect::Status(OK),
    ),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\nX-Bad-Control-Char: test\x07\r\n\r\n",
        "header value with a control character",
        Expect::Status(CLIENT_ERROR),
    ),
    ("GET / HTTP/9.9\r\nHost: example.com\r\n\r\n", "invalid HTTP version", Expect::Status(ANY_ERROR)),
    (
        "Extra lineGET / HTTP/1.1\r\nHost: example.com\r\n\r\n",
        "invalid prefix of request",
        Expect::Status(ANY_ERROR),
    ),
    (
        "GET / HTTP/1.1\r\nHost: example.com\r\n\rSome-Header: Test\r\n\r\n",
        "invalid line ending",
        Expect::Status(CLIENT_ERROR),
    ),
    (
        "POST / HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhello",
        "valid POST request with body",
        Expect::Echo(&[(200, 299), (404, 404)], "hello"),
    ),
    (
        "POST / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\n\r\nc\r\nHellO world1\r\n0\r\n\r\n",
        "chunked Transfer-Encoding",
        Expect::Echo(OK, "HellO world1"),
    ),
    (
        "POST / HTTP/1.1\r\nHost: example.com\r\ncontent-LengtH: 5\r\nTransFer-Encoding: chunked\r\n\r\nc\r\nHellO world1\r\n0\r\n\r\n",
        "conflicting Transfer-Encoding and Content-Length in varying case",
        Expect::Echo(&[(400, 499), (200, 299)], "HellO world1"),
    ),
];

/// A case of the suite's earlier version, kept: the smuggling shape with no
/// body at all.
const EARLIER: &[(&str, &str, Expect)] = &[(
    "GET / HTTP/1.1\r\nHost: example.com\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
    "conflicting Transfer-Encoding and Content-Length (earlier version)",
    Expect::Status(CLIENT_ERROR),
)];

/// Runs one case; `Err` says why it failed.
fn run_case(addr: &str, request: &str, expect: &Expect) -> Result<(), String> {
    let mut stream = TcpStream::connect(addr).map_err(|e| format!("connect: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_millis(500)))
        .unwrap();
    stream
        .write_all(request.as_bytes())
        .map_err(|e| e.to_string())?;
    let mut answer = [0u8; 1024];
    let read = stream.read(&mut answer);
    if let (Expect::Echo(..), Ok(n)) = (expect, &read) {
        // The body may follow the head in a second segment.
        let mut n = *n;
        std::thread::sleep(Duration::from_millis(100));
        stream.set_nonblocking(true).unwrap();
        while let Ok(more @ 1..) = stream.read(&mut answer[n..]) {
            n += more;
        }
        return judge(&answer[..n], expect);
    }
    match (expect, read) {
        (Expect::Wait, Err(e))
            if matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            ) =>
        {
            Ok(())
        }
        (Expect::Wait, Ok(0)) => Err("closed instead of waiting".into()),
        (Expect::Wait, other) => Err(format!("answered instead of waiting: {other:?}")),
        (_, Ok(n)) if n > 0 => judge(&answer[..n], expect),
        (_, other) => Err(format!("no answer: {other:?}")),
    }
}

/// Judges the first answer by its status (and, for echo cases, its body).
fn judge(answer: &[u8], expect: &Expect) -> Result<(), String> {
    let text = String::from_utf8_lossy(answer);
    let status = text
        .strip_prefix("HTTP/1.")
        .and_then(|rest| rest.get(2..5))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| format!("no status line in {text:?}"))?;
    let (ranges, body) = match expect {
        Expect::Wait => return Err(format!("answered {status} instead of waiting")),
        Expect::Status(ranges) => (ranges, None),
        Expect::Echo(ranges, body) => (ranges, Some(body)),
    };
    if !ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&status)) {
        return Err(format!("status {status}, expected {ranges:?}"));
    }
    match (status, body) {
        (200, Some(body)) if text.split_once("\r\n\r\n").map(|(_, b)| b) != Some(body) => Err(
            format!("status 200 without the echoed body {body:?}: {text:?}"),
        ),
        _ => Ok(()),
    }
}

struct Echo;

impl Handler for Echo {
    fn on_request(&mut self, _conn: &mut HttpConn<'_>, request: &Request<'_>) -> Reply {
        HttpResponse::new(200, "application/octet-stream", request.body.to_vec()).into()
    }

    fn on_message(&mut self, _conn: &mut Conn<'_>, _message: Message<'_>) {}
}

#[test]
fn the_33_h1spec_cases_pass() {
    let (addr, _server) = match std::env::var("H1_TARGET") {
        Ok(target) => (target, None),
        Err(_) => {
            let config = ServerConfig {
                addr: "127.0.0.1:0".parse().unwrap(),
                workers: 1,
                ..ServerConfig::default()
            };
            let server = Server::start(config, |_, _| Echo).expect("server starts");
            (server.local_addr().to_string(), Some(server))
        }
    };
    assert_eq!(CASES.len(), 33);
    let results: Vec<(&str, Result<(), String>)> = std::thread::scope(|scope| {
        let runs: Vec<_> = CASES
            .iter()
            .chain(EARLIER)
            .map(|(request, name, expect)| {
                let addr = addr.as_str();
                (*name, scope.spawn(move || run_case(addr, request, expect)))
            })
            .collect();
        runs.into_iter()
            .map(|(name, run)| (name, run.join().expect("case thread")))
            .collect()
    });
    let failed: Vec<String> = results
        .iter()
        .filter_map(|(name, r)| r.as_ref().err().map(|why| format!("{name}: {why}")))
        .collect();
    println!(
        "h1spec cases against {addr}: {} of {} passed (the suite's 33, and 1 of its earlier version)",
        results.len() - failed.len(),
        results.len()
    );
    assert!(failed.is_empty(), "failed cases:\n{}", failed.join("\n"));
    if let Some(server) = _server {
        server.handle().shutdown();
        server.join();
    }
}
