//! The Socket.IO layer of one session, sans-IO, through the cases of the
//! reference protocol suite: joining namespaces (with auth, unknown ones
//! refused), leaving them, events, acks both ways, binary attachments, the
//! connect timeout, and malformed packets ending the session.

use std::time::{Duration, Instant};

use serde_json::{json, Value};
use simdws::socketio::{Client, ClientClose, ClientEvent, Outgoing};

fn client(now: Instant) -> Client {
    Client::new(Duration::from_millis(1000), now)
}

fn events(client: &mut Client) -> Vec<ClientEvent> {
    std::iter::from_fn(|| client.poll_event()).collect()
}

fn sent(client: &mut Client) -> Vec<Outgoing> {
    std::iter::from_fn(|| client.poll_transmit()).collect()
}

fn text(s: &str) -> Outgoing {
    Outgoing::Text(s.to_owned())
}

/// A client joined to `/`, with what it was sent cleared.
fn joined(now: Instant) -> Client {
    let mut client = client(now);
    client.on_text("0");
    events(&mut client);
    client.accept("/", "s0".into());
    sent(&mut client);
    client
}

fn closed_for_parse_error(client: &mut Client) -> bool {
    events(client)
        .iter()
        .any(|e| matches!(e, ClientEvent::Close(ClientClose::ParseError(_))))
}

#[test]
fn joining_the_main_namespace_answers_with_only_a_sid() {
    let now = Instant::now();
    let mut client = client(now);
    client.on_text("0");
    assert_eq!(
        events(&mut client),
        [ClientEvent::Connect {
            nsp: "/".into(),
            auth: None
        }]
    );
    client.accept("/", "abc".into());
    let reply = sent(&mut client);
    let [Outgoing::Text(reply)] = &reply[..] else {
        panic!("{reply:?}");
    };
    let body: Value = serde_json::from_str(reply.strip_prefix('0').unwrap()).unwrap();
    assert_eq!(body, json!({"sid": "abc"}));
    assert_eq!(client.sid("/"), Some("abc"));
    client.emit("/", "auth", vec![json!({})], vec![], false);
    assert_eq!(sent(&mut client), [text(r#"2["auth",{}]"#)]);
}

#[test]
fn auth_payloads_and_custom_namespaces_reach_the_application() {
    let now = Instant::now();
    let mut client = client(now);
    client.on_text(r#"0{"token":"123"}"#);
    client.on_text(r#"0/custom,{"token":"456"}"#);
    assert_eq!(
        events(&mut client),
        [
            ClientEvent::Connect {
                nsp: "/".into(),
                auth: Some(json!({"token": "123"}))
            },
            ClientEvent::Connect {
                nsp: "/custom".into(),
                auth: Some(json!({"token": "456"}))
            },
        ]
    );
    client.accept("/custom", "c1".into());
    assert_eq!(sent(&mut client), [text(r#"0/custom,{"sid":"c1"}"#)]);
}

#[test]
fn an_unknown_namespace_is_refused_with_the_reason() {
    let now = Instant::now();
    let mut client = client(now);
    client.on_text("0/random");
    let [ClientEvent::Connect { nsp, .. }] = &events(&mut client)[..] else {
        panic!("no connect");
    };
    assert_eq!(nsp, "/random");
    client.refuse("/random", json!({"message": "Invalid namespace"}));
    assert_eq!(
        sent(&mut client),
        [text(r#"4/random,{"message":"Invalid namespace"}"#)]
    );
    assert_eq!(client.sid("/random"), None);
}

#[test]
fn no_namespace_joined_in_time_closes_and_a_join_stops_the_clock() {
    let start = Instant::now();
    let mut idle = client(start);
    idle.handle_timeout(start + Duration::from_millis(999));
    assert!(events(&mut idle).is_empty());
    idle.handle_timeout(start + Duration::from_millis(1000));
    assert_eq!(
        events(&mut idle),
        [ClientEvent::Close(ClientClose::ConnectTimeout)]
    );

    let mut client = joined(start);
    assert_eq!(client.poll_timeout(), None);
    client.handle_timeout(start + Duration::from_secs(5));
    assert!(events(&mut client).is_empty());
}

#[test]
fn leaving_a_namespace_keeps_the_session_and_the_others() {
    let now = Instant::now();
    let mut client = joined(now);
    client.on_text("0/custom");
    events(&mut client);
    client.accept("/custom", "c".into());
    client.on_text("1/custom");
    assert_eq!(
        events(&mut client),
        [ClientEvent::Disconnect {
            nsp: "/custom".into()
        }]
    );
    client.on_text(r#"2["message",1]"#);
    assert!(matches!(&events(&mut client)[..], [ClientEvent::Event { nsp, .. }] if nsp == "/"));
    client.on_text("1");
    assert_eq!(
        events(&mut client),
        [ClientEvent::Disconnect { nsp: "/".into() }]
    );
}

#[test]
fn events_and_acks_travel_both_ways() {
    let now = Instant::now();
    let mut client = joined(now);
    client.on_text(r#"2["message",1,"2",{"3":[true]}]"#);
    assert_eq!(
        events(&mut client),
        [ClientEvent::Event {
            nsp: "/".into(),
            name: "message".into(),
            args: vec![json!(1), json!("2"), json!({"3": [true]})],
            binary: vec![],
            ack: None,
        }]
    );
    client.on_text(r#"2456["message-with-ack",1,"2",{"3":[false]}]"#);
    let [ClientEvent::Event {
        ack: Some(id),
        name,
        args,
        ..
    }] = &events(&mut client)[..]
    else {
        panic!("no event asking for an ack");
    };
    assert_eq!(name, "message-with-ack");
    client.ack("/", *id, args.clone(), vec![]);
    assert_eq!(sent(&mut client), [text(r#"3456[1,"2",{"3":[false]}]"#)]);

    // The server's own ack ids count per namespace.
    assert_eq!(client.emit("/", "q", vec![], vec![], true), Some(Some(0)));
    assert_eq!(client.emit("/", "q", vec![], vec![], true), Some(Some(1)));
    assert_eq!(client.emit("/", "q", vec![], vec![], false), Some(None));
    assert_eq!(client.emit("/other", "q", vec![], vec![], true), None);
    assert_eq!(
        sent(&mut client),
        [text(r#"20["q"]"#), text(r#"21["q"]"#), text(r#"2["q"]"#)]
    );
    client.on_text(r#"31["yes"]"#);
    assert_eq!(
        events(&mut client),
        [ClientEvent::Ack {
            nsp: "/".into(),
            id: 1,
            data: vec![json!("yes")],
            binary: vec![]
        }]
    );
}

#[test]
fn binary_attachments_are_put_back_with_their_packet() {
    let now = Instant::now();
    let mut client = joined(now);
    let placeholders = r#"{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}"#;
    client.on_text(&format!(r#"52-["message",{placeholders}]"#));
    assert!(
        events(&mut client).is_empty(),
        "delivered before its attachments"
    );
    client.on_binary(&[1, 2, 3]);
    client.on_binary(&[4, 5]);
    let [ClientEvent::Event { args, binary, .. }] = &events(&mut client)[..] else {
        panic!("no event");
    };
    assert_eq!(binary, &[vec![1, 2, 3], vec![4, 5]]);
    client.emit("/", "message-back", args.clone(), binary.clone(), false);
    assert_eq!(
        sent(&mut client),
        [
            text(&format!(r#"52-["message-back",{placeholders}]"#)),
            Outgoing::Binary(vec![1, 2, 3]),
            Outgoing::Binary(vec![4, 5]),
        ]
    );

    client.on_text(&format!(r#"52-789["message-with-ack",{placeholders}]"#));
    client.on_binary(b"a");
    client.on_binary(b"b");
    let [ClientEvent::Event {
        ack: Some(789),
        args,
        binary,
        ..
    }] = &events(&mut client)[..]
    else {
        panic!("no event asking for an ack");
    };
    client.ack("/", 789, args.clone(), binary.clone());
    assert_eq!(
        sent(&mut client),
        [
            text(&format!(r#"62-789[{placeholders}]"#)),
            Outgoing::Binary(b"a".to_vec()),
            Outgoing::Binary(b"b".to_vec()),
        ]
    );
}

#[test]
fn malformed_or_misplaced_packets_end_the_session() {
    let now = Instant::now();
    for bad in [
        "abc",
        "2{}",
        r#"2abc["message"]"#,
        "7",
        r#"2["disconnect"]"#,
    ] {
        let mut client = joined(now);
        client.on_text(bad);
        assert!(closed_for_parse_error(&mut client), "{bad:?}");
    }
    // An event on a namespace the client never joined.
    let mut client = joined(now);
    client.on_text(r#"2/custom,["x"]"#);
    assert!(closed_for_parse_error(&mut client));
    // An attachment with no packet, and a packet before the attachments.
    let mut client = joined(now);
    client.on_binary(b"x");
    assert!(closed_for_parse_error(&mut client));
    let mut client = joined(now);
    client.on_text(r#"51-["x",{"_placeholder":true,"num":0}]"#);
    client.on_text(r#"2["y"]"#);
    assert!(closed_for_parse_error(&mut client));
    // After the close nothing more is taken.
    client.on_text(r#"2["z"]"#);
    assert!(events(&mut client).is_empty());
}

#[test]
fn an_event_is_handed_on_at_once_only_when_nothing_is_queued_before_it() {
    let now = Instant::now();
    let mut client = joined(now);
    let first = client.on_text_event(r#"21["a"]"#);
    let Some(ClientEvent::Event { name, ack, .. }) = &first else {
        panic!("not handed on: {first:?}");
    };
    assert_eq!((name.as_str(), *ack), ("a", Some(1)));
    assert!(events(&mut client).is_empty(), "not queued as well");

    // With an event queued, the next one waits behind it.
    client.on_text(r#"2["b"]"#);
    assert_eq!(client.on_text_event(r#"2["c"]"#), None);
    let queued: Vec<String> = events(&mut client)
        .into_iter()
        .map(|event| match event {
            ClientEvent::Event { name, .. } => name.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(queued, ["b", "c"]);

    // A packet waiting for its attachments hands on nothing yet; a broken
    // one hands on nothing and ends the session.
    assert_eq!(
        client.on_text_event(r#"51-["f",{"_placeholder":true,"num":0}]"#),
        None
    );
    client.on_binary(&[1]);
    assert!(
        matches!(&events(&mut client)[..], [ClientEvent::Event { binary, .. }] if binary == &[vec![1]])
    );
    assert_eq!(client.on_text_event(r#"2["disconnect"]"#), None);
    assert!(closed_for_parse_error(&mut client));
}
