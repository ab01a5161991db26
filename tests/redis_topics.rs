//! Topics across processes through a real Redis (Debian's redis-server,
//! started here on a free port): a publish reaches every other subscriber
//! on every server exactly once and never the publisher; `serve --redis`
//! runs one chat room across processes; and when Redis restarts, local
//! delivery carries on and delivery across servers resumes.

use std::time::{Duration, Instant};

use simdws::frame::CloseCode;
use simdws::net::{BlockingClient, OwnedEvent, OwnedMessage, Server, ServerHandle, TopicConfig};

#[path = "support/redis_server.rs"]
mod redis_server;
#[path = "support/serve_process.rs"]
mod serve_process;
#[path = "support/topic_server.rs"]
mod topic_server;
use redis_server::Redis;
use topic_server::{client, text};

fn server_on(redis: &Redis) -> Server {
    let mut config = topic_server::config(2, TopicConfig::default());
    config.redis = Some(redis.url());
    topic_server::start(config)
}

/// Publishes on `from` until `to` (subscribed to "probe") hears one: both
/// bridges are then connected and subscribed. Then drains what followed.
fn until_linked(from: &ServerHandle, to: &mut BlockingClient) {
    let deadline = Instant::now() + Duration::from_secs(20);
    to.stream()
        .set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    loop {
        from.publish("probe", OwnedMessage::Text("probe".into()));
        if matches!(to.recv(), Ok(OwnedEvent::Text(_))) {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the servers never linked through Redis"
        );
    }
    while matches!(to.recv(), Ok(OwnedEvent::Text(_))) {}
    to.stream()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
}

#[test]
fn a_publish_reaches_every_other_subscriber_on_every_server_exactly_once() {
    let redis = Redis::start();
    let servers: Vec<Server> = (0..3).map(|_| server_on(&redis)).collect();
    for (i, server) in servers.iter().enumerate() {
        let mut probe = client(server, "/probe");
        until_linked(&servers[(i + 1) % 3].handle(), &mut probe);
    }
    // Two members on each of three servers.
    let mut members: Vec<BlockingClient> = servers
        .iter()
        .flat_map(|s| [client(s, "/room"), client(s, "/room")])
        .collect();
    let mut outsider = client(&servers[1], "/other");
    for (i, member) in members.iter_mut().enumerate() {
        member.send_text(&format!("pub room from {i}")).unwrap();
    }
    for (i, member) in members.iter_mut().enumerate() {
        let mut heard: Vec<String> = (0..5).map(|_| text(member)).collect();
        heard.sort();
        let mut expected: Vec<String> = (0..6)
            .filter(|&j| j != i)
            .map(|j| format!("from {j}"))
            .collect();
        expected.sort();
        assert_eq!(heard, expected, "member {i}");
    }
    // Nothing more is on its way: the next thing anyone hears is this.
    servers[2]
        .handle()
        .publish("room", OwnedMessage::Text("last".into()));
    for member in &mut members {
        assert_eq!(text(member), "last");
    }
    servers[0]
        .handle()
        .publish("other", OwnedMessage::Binary(vec![1, 2]));
    assert_eq!(outsider.recv().unwrap(), OwnedEvent::Binary(vec![1, 2]));
    let stats = servers[0].handle().relay_stats();
    assert!(stats.relayed >= 2 && stats.received >= 1, "{stats:?}");
}

#[test]
fn serve_runs_one_chat_room_across_processes() {
    let redis = Redis::start();
    let url = redis.url();
    let one = serve_process::Serve::start_with(&["--redis", &url]);
    let two = serve_process::Serve::start_with(&["--redis", &url]);
    let mut alice = one.connect("/chat", &["chat"]).unwrap();
    let mut bob = two.connect("/chat", &["chat"]).unwrap();
    bob.stream()
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    // Until both bridges are up, alice's words stay on her server.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut n = 0;
    loop {
        n += 1;
        alice.send_text(&format!("alice {n}")).unwrap();
        assert_eq!(text(&mut alice), format!("alice {n}"));
        if let Ok(OwnedEvent::Text(heard)) = bob.recv() {
            assert!(heard.starts_with("alice "), "{heard}");
            break;
        }
        assert!(Instant::now() < deadline, "bob never heard alice");
    }
    while matches!(bob.recv(), Ok(OwnedEvent::Text(_))) {}
    bob.stream()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    bob.send_text("bob here").unwrap();
    assert_eq!(text(&mut bob), "bob here");
    assert_eq!(text(&mut alice), "bob here");
    alice.send_text("hi bob").unwrap();
    assert_eq!(text(&mut bob), "hi bob");
    assert_eq!(text(&mut alice), "hi bob");
    bob.close(CloseCode::NORMAL, "").unwrap();
}

#[test]
fn a_redis_restart_keeps_local_delivery_and_then_links_the_servers_again() {
    let mut redis = Redis::start();
    let port = redis.port;
    let (a, b) = (server_on(&redis), server_on(&redis));
    let mut probe_b = client(&b, "/probe");
    until_linked(&a.handle(), &mut probe_b);
    let mut speaker = client(&a, "/room");
    let mut near = client(&a, "/room");
    let mut far = client(&b, "/room");
    speaker.send_text("pub room before").unwrap();
    assert_eq!(text(&mut near), "before");
    assert_eq!(text(&mut far), "before");

    redis.stop();
    for n in 0..20 {
        speaker.send_text(&format!("pub room during {n}")).unwrap();
        assert_eq!(text(&mut near), format!("during {n}"));
    }

    let _redis = Redis::on(port);
    until_linked(&a.handle(), &mut probe_b);
    // Whatever of the outage reached `far` (nothing, Redis kept none of
    // it) is behind us: the next publish crosses, once.
    far.stream()
        .set_read_timeout(Some(Duration::from_millis(300)))
        .unwrap();
    while matches!(far.recv(), Ok(OwnedEvent::Text(_))) {}
    far.stream()
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    speaker.send_text("pub room after").unwrap();
    assert_eq!(text(&mut near), "after");
    assert_eq!(text(&mut far), "after");
    a.handle().publish("room", OwnedMessage::Text("end".into()));
    assert_eq!(text(&mut far), "end");
    assert!(a.handle().relay_stats().not_relayed > 0);
}
