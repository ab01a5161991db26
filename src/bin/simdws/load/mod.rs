//! `simdws load`: the load generator. Connections run on the engine's own
//! event-loop client (`--threads` loops); every echo is checked byte for
//! byte and timed from its intended send time; results as text or JSON.
//!
//! Modes:
//! * closed loop, `--pipeline K` messages in flight per connection (K = 1
//!   is the classic request/echo loop); a message still unanswered when the
//!   run stops is timed up to then, so a connection the server starves
//!   shows in the latency instead of dropping out of it;
//! * open loop, `--rate R` messages per second in all, sent on schedule
//!   whatever the server does, so latency has no coordinated omission;
//! * `--idle N`: open N connections and hold them (memory measurements);
//! * `--socketio`: Socket.IO over WebSocket at `/socket.io/`, each message
//!   an `echo` emit whose ack is the echo (text only);
//! * `--fanout N`: N subscribers to a topic and one publisher sending
//!   `--burst` messages at a time (see `fanout.rs`).

mod fanout;
mod handler;
mod payload;
mod report;
mod socketio;
mod stats;

use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use simdws::net::{Client, ClientConfig, ClientOptions, WsUrl};
use simdws::protocol::Config;

use crate::args::Args;
use handler::{LoadHandler, Plan};
use stats::{Counters, Latencies};

/// Connections per source address before the next one in 127.0.0.0/8 is
/// used (the ephemeral port range is about 28,000 ports).
const CONNS_PER_SOURCE: usize = 20_000;

/// With `--messages N`, how long the run waits for the next echo before it
/// gives up and says how many came back.
const STALL_LIMIT: Duration = Duration::from_secs(10);

struct Settings {
    url: String,
    conns: usize,
    size: usize,
    text: bool,
    pipeline: usize,
    rate: Option<f64>,
    duration: Duration,
    messages: Option<u64>,
    warmup: Duration,
    threads: usize,
    json: bool,
    idle: Option<usize>,
    socketio: bool,
    fanout: Option<usize>,
    burst: usize,
    publish_url: Option<String>,
}

fn settings(raw: &[String]) -> Result<Settings, String> {
    let mut args = Args::parse(raw, &["text", "binary", "json", "socketio"])?;
    let url: String = args
        .opt("url")?
        .ok_or("--url ws://HOST:PORT/PATH is required")?;
    WsUrl::parse(&url).map_err(|e| e.to_string())?;
    let binary = args.switch("binary");
    let text = args.switch("text") || !binary;
    let socketio = args.switch("socketio");
    let s = Settings {
        url: if socketio {
            socketio::endpoint(&url)
        } else {
            url
        },
        conns: args.get("conns", 100)?,
        size: args.get("size", 20)?,
        text,
        pipeline: args.get("pipeline", 1)?,
        rate: args.opt("rate")?,
        duration: Duration::from_secs_f64(args.get("duration", 10.0)?),
        messages: args.opt("messages")?,
        warmup: Duration::from_secs_f64(args.get("warmup", 1.0)?),
        threads: args.get("threads", 1)?,
        json: args.switch("json"),
        idle: args.opt("idle")?,
        socketio,
        fanout: args.opt("fanout")?,
        burst: args.get("burst", 16)?,
        publish_url: args.opt("publish-url")?,
    };
    args.finish()?;
    if s.idle.is_none() && s.size < payload::HEADER {
        return Err(format!(
            "--size must be at least {} (each message carries its sequence number and send time)",
            payload::HEADER
        ));
    }
    if s.socketio && !s.text {
        return Err("--socketio sends text only".into());
    }
    if s.conns == 0 || s.pipeline == 0 || s.threads == 0 || s.burst == 0 {
        return Err("--conns, --pipeline, --threads and --burst must be at least 1".into());
    }
    Ok(s)
}

pub fn run(raw: &[String]) -> Result<(), String> {
    let s = settings(raw)?;
    if let Some(subscribers) = s.fanout {
        return fanout::run(fanout::Fanout {
            url: s.url,
            publish_url: s.publish_url,
            subscribers,
            size: s.size,
            burst: s.burst,
            warmup: s.warmup,
            duration: s.duration,
            threads: s.threads,
            json: s.json,
            socketio: s.socketio,
        });
    }
    let counters = Arc::new(Counters::default());
    let latencies = Arc::new(Latencies::default());
    let started = Instant::now();
    let plan = Arc::new(Plan {
        size: s.size,
        text: s.text,
        pipeline: if s.rate.is_some() || s.idle.is_some() {
            0
        } else {
            s.pipeline
        },
        socketio: s.socketio,
        started,
        open: Default::default(),
    });
    let config = ClientConfig {
        workers: s.threads,
        // Always read: a generator that stops reading while its own output
        // is backed up deadlocks against a server that does the same (what
        // is queued is bounded by --pipeline × --size anyway).
        high_water: usize::MAX / 4,
        max_buffered: usize::MAX / 2,
        ..ClientConfig::default()
    };
    let (c, l, p) = (counters.clone(), latencies.clone(), plan.clone());
    let client = Client::start(config, move |_, _| {
        LoadHandler::new(p.clone(), c.clone(), l.clone())
    })
    .map_err(|e| format!("starting the client loops: {e}"))?;
    let conns = s.idle.unwrap_or(s.conns);
    let loopback = WsUrl::parse(&s.url)
        .map_err(|e| e.to_string())?
        .host
        .starts_with("127.");
    for i in 0..conns {
        let bind = (loopback && conns > CONNS_PER_SOURCE).then(|| source_address(i));
        let options = ClientOptions {
            bind,
            config: Config {
                max_message_size: s.size.max(1 << 20),
                max_frame_size: s.size.max(1 << 20),
                ..Config::default()
            },
            ..ClientOptions::default()
        };
        client.connect(&s.url, options).map_err(|e| e.to_string())?;
    }
    let progress = report::Progress::new(s.json);
    // Wait for the connections (or their failures).
    let connect_deadline = Instant::now() + Duration::from_secs(30);
    while counters.get(&counters.connected) + counters.get(&counters.connection_errors)
        < conns as u64
        && Instant::now() < connect_deadline
    {
        std::thread::sleep(Duration::from_millis(20));
    }
    let opened = counters.get(&counters.connected);
    if s.idle.is_some() {
        progress.line(&format!(
            "{opened} of {conns} connections open ({} failed); holding them for {:?}",
            counters.get(&counters.connection_errors),
            s.duration
        ));
        std::thread::sleep(s.duration);
        // The closes that follow are ours, not the server's doing.
        counters
            .stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        client.shutdown();
        return Ok(());
    }
    if opened == 0 {
        client.shutdown();
        return Err(format!(
            "no connection opened ({} failed)",
            counters.get(&counters.connection_errors)
        ));
    }
    let pacer = s
        .rate
        .map(|rate| handler::pace(rate, client.handle(), plan.clone(), counters.clone()));
    std::thread::sleep(s.warmup);
    let measured_from = Instant::now();
    counters.start_measuring(
        measured_from.duration_since(started).as_micros() as u64,
        s.messages,
    );
    let mut last = (0u64, Instant::now());
    let mut progressed = (0u64, Instant::now());
    let mut stalled = None;
    loop {
        // Short sleeps: with --messages the run ends soon after the last echo.
        std::thread::sleep(Duration::from_millis(10));
        let elapsed = measured_from.elapsed();
        let done = counters.get(&counters.messages);
        if last.1.elapsed() >= Duration::from_secs(1) {
            let rate = (done - last.0) as f64 / last.1.elapsed().as_secs_f64();
            progress.tick(elapsed, done, rate, counters.get(&counters.mismatches));
            last = (done, Instant::now());
        }
        if done != progressed.0 {
            progressed = (done, Instant::now());
        }
        let enough = match s.messages {
            Some(n) => done >= n,
            None => elapsed >= s.duration,
        };
        if enough {
            break;
        }
        // A count that cannot be reached (connections closed with messages
        // in flight, a server that stopped answering) ends the run with an
        // error instead of waiting forever.
        if s.messages.is_some() && progressed.1.elapsed() >= STALL_LIMIT {
            stalled = Some(done);
            break;
        }
    }
    counters.stopped_at_us.store(
        started.elapsed().as_micros() as u64,
        std::sync::atomic::Ordering::SeqCst,
    );
    counters
        .stopping
        .store(true, std::sync::atomic::Ordering::SeqCst);
    counters
        .measuring
        .store(false, std::sync::atomic::Ordering::SeqCst);
    let elapsed = measured_from.elapsed();
    if let Some(pacer) = pacer {
        let _ = pacer.join();
    }
    client.shutdown();
    progress.finish();
    let summary = report::Summary {
        url: &s.url,
        conns,
        opened,
        size: s.size,
        text: s.text,
        pipeline: s.pipeline,
        rate: s.rate,
        elapsed,
        messages: counters.get(&counters.messages),
        mismatches: counters.get(&counters.mismatches),
        connection_errors: counters.get(&counters.connection_errors),
        unanswered: counters.get(&counters.unanswered),
        latency: latencies.merged(),
    };
    println!(
        "{}",
        if s.json {
            summary.json()
        } else {
            summary.text()
        }
    );
    if let (Some(done), Some(wanted)) = (stalled, s.messages) {
        return Err(format!(
            "no echo for {STALL_LIMIT:?}: {done} of the {wanted} messages asked for were echoed"
        ));
    }
    if summary.mismatches > 0 {
        return Err(format!(
            "{} echoes did not match what was sent",
            summary.mismatches
        ));
    }
    Ok(())
}

/// The i-th connection's source: 127.0.0.1 for the first 20,000, then
/// 127.0.0.2, and so on.
fn source_address(i: usize) -> IpAddr {
    let n = (i / CONNS_PER_SOURCE + 1) as u32;
    IpAddr::V4(Ipv4Addr::from(0x7f00_0000 | n))
}
