//! The Engine.IO session, sans-IO, through the cases of the reference
//! protocol suite that do not need a socket: the open packet, the first
//! ping's timing, polling bodies both ways, duplicate polls, the
//! heartbeat, closes, and the upgrade from polling to WebSocket.

use std::time::{Duration, Instant};

use simdws::engineio::{
    CloseReason, EngineConfig, EngineError, Packet, Session, SessionEvent, Transport,
};

/// The reference suites' settings: a 300 ms ping interval, 200 ms timeout.
fn config() -> EngineConfig {
    EngineConfig {
        ping_interval: Duration::from_millis(300),
        ping_timeout: Duration::from_millis(200),
        ..EngineConfig::default()
    }
}

fn polling(now: Instant) -> Session {
    Session::new("sid1".into(), Transport::Polling, config(), now)
}

fn events(session: &mut Session) -> Vec<SessionEvent> {
    std::iter::from_fn(|| session.poll_event()).collect()
}

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

#[test]
fn the_open_packet_has_exactly_the_five_keys() {
    let now = Instant::now();
    for (transport, upgrades) in [
        (Transport::Polling, serde_json::json!(["websocket"])),
        (Transport::WebSocket, serde_json::json!([])),
    ] {
        let session = Session::new("abc".into(), transport, config(), now);
        let Packet::Open(json) = session.open_packet() else {
            panic!("not an open packet");
        };
        let open: serde_json::Value = serde_json::from_str(&json).unwrap();
        assert_eq!(
            open,
            serde_json::json!({
                "sid": "abc",
                "upgrades": upgrades,
                "pingInterval": 300,
                "pingTimeout": 200,
                "maxPayload": 1_000_000,
            })
        );
    }
}

#[test]
fn the_first_ping_waits_one_interval_and_a_held_get_receives_it() {
    let start = Instant::now();
    let mut session = polling(start);
    assert_eq!(session.poll_timeout(), Some(start + ms(300)));
    assert_eq!(session.get(start), Ok(None), "nothing to send: held");
    session.handle_timeout(start + ms(299));
    assert_eq!(session.take_poll_answer(), None, "pinged early");
    session.handle_timeout(start + ms(300));
    assert_eq!(session.take_poll_answer().as_deref(), Some("2"));
}

#[test]
fn polling_bodies_carry_text_and_binary_both_ways() {
    let now = Instant::now();
    let mut session = polling(now);
    assert_eq!(session.post("4hello", now), Ok(()));
    assert_eq!(
        events(&mut session),
        [SessionEvent::Message("hello".into())]
    );
    session.send_text("hello");
    assert_eq!(session.get(now), Ok(Some("4hello".into())));

    let body = "4test1\x1e4test2\x1e4test3";
    session.post(body, now).unwrap();
    for event in events(&mut session) {
        let SessionEvent::Message(text) = event else {
            panic!("{event:?}");
        };
        session.send_text(&text);
    }
    assert_eq!(
        session.get(now),
        Ok(Some(body.into())),
        "one GET returns all three"
    );

    session.post("4hello\x1ebAQIDBA==", now).unwrap();
    assert_eq!(
        events(&mut session),
        [
            SessionEvent::Message("hello".into()),
            SessionEvent::Binary(vec![1, 2, 3, 4])
        ]
    );
    session.send_text("hello");
    session.send_binary(&[1, 2, 3, 4]);
    assert_eq!(session.get(now), Ok(Some("4hello\x1ebAQIDBA==".into())));
}

#[test]
fn a_held_get_is_answered_by_the_next_message() {
    let now = Instant::now();
    let mut session = polling(now);
    assert_eq!(session.get(now), Ok(None));
    assert_eq!(session.take_poll_answer(), None);
    session.send_text("later");
    assert_eq!(session.take_poll_answer().as_deref(), Some("4later"));
}

#[test]
fn an_invalid_packet_ends_the_session() {
    let now = Instant::now();
    let mut session = polling(now);
    assert_eq!(session.post("abc", now), Err(EngineError::BadRequest));
    assert_eq!(session.closed(), Some(CloseReason::ParseError));
    assert_eq!(session.get(now), Err(EngineError::BadRequest));
    // The client may not send the server's packets either.
    let mut session = polling(now);
    assert_eq!(session.post("0{}", now), Err(EngineError::BadRequest));
}

#[test]
fn a_second_get_at_once_ends_the_session_and_the_first_gets_a_close() {
    let now = Instant::now();
    let mut session = polling(now);
    assert_eq!(session.get(now), Ok(None));
    assert_eq!(session.get(now), Err(EngineError::BadRequest));
    assert_eq!(session.take_poll_answer().as_deref(), Some("1"));
    assert_eq!(session.closed(), Some(CloseReason::TransportError));
    assert_eq!(session.get(now), Err(EngineError::BadRequest));
}

#[test]
fn pongs_keep_the_session_and_the_next_ping_follows_an_interval_later() {
    let start = Instant::now();
    let mut session = polling(start);
    for _ in 0..3 {
        let pinged = session.poll_timeout().unwrap();
        session.handle_timeout(pinged);
        assert_eq!(session.get(pinged), Ok(Some("2".into())));
        let now = pinged + ms(50);
        session.post("3", now).unwrap();
        assert_eq!(session.poll_timeout(), Some(now + ms(300)));
    }
    assert_eq!(session.closed(), None);
}

#[test]
fn no_pong_within_the_timeout_ends_the_session() {
    let start = Instant::now();
    let mut session = polling(start);
    session.handle_timeout(start + ms(300));
    assert_eq!(session.poll_timeout(), Some(start + ms(500)));
    session.handle_timeout(start + ms(499));
    assert_eq!(session.closed(), None);
    session.handle_timeout(start + ms(500));
    assert_eq!(session.closed(), Some(CloseReason::PingTimeout));
    assert_eq!(
        events(&mut session),
        [SessionEvent::Closed(CloseReason::PingTimeout)]
    );
    assert_eq!(session.get(start + ms(500)), Err(EngineError::BadRequest));
}

#[test]
fn a_client_close_answers_the_held_get_with_a_noop() {
    let now = Instant::now();
    let mut session = polling(now);
    assert_eq!(session.get(now), Ok(None));
    session.post("1", now).unwrap();
    assert_eq!(session.take_poll_answer().as_deref(), Some("6"));
    assert_eq!(session.closed(), Some(CloseReason::TransportClose));
    assert_eq!(session.get(now), Err(EngineError::BadRequest));
}

#[test]
fn a_server_close_reaches_a_held_get() {
    let now = Instant::now();
    let mut session = polling(now);
    assert_eq!(session.get(now), Ok(None));
    session.close();
    assert_eq!(session.take_poll_answer().as_deref(), Some("1"));
    assert_eq!(session.closed(), Some(CloseReason::ForcedClose));
}

#[test]
fn a_body_over_max_payload_is_413() {
    let now = Instant::now();
    let mut session = Session::new(
        "s".into(),
        Transport::Polling,
        EngineConfig {
            max_payload: 10,
            ..config()
        },
        now,
    );
    assert_eq!(session.post("4123456789", now), Ok(()));
    assert_eq!(
        session.post("41234567890", now),
        Err(EngineError::PayloadTooLarge)
    );
}

#[test]
fn polling_upgrades_to_websocket_through_the_probe() {
    let now = Instant::now();
    let mut session = polling(now);
    assert_eq!(
        session.get(now),
        Ok(None),
        "a GET is held when the probe comes"
    );
    session.begin_upgrade(now).unwrap();
    session.send_text("queued before the probe");
    assert_eq!(
        session.take_poll_answer().as_deref(),
        Some("4queued before the probe"),
        "polling still works while probing"
    );
    assert_eq!(session.get(now), Ok(None));
    session.ws_text("2probe", now);
    assert_eq!(session.poll_ws(), Some(Packet::Pong("probe".into())));
    assert_eq!(
        session.take_poll_answer().as_deref(),
        Some("6"),
        "the held GET is let go"
    );
    assert_eq!(
        session.get(now),
        Ok(Some("6".into())),
        "a GET after the probe is not held"
    );
    session.ws_text("5", now);
    assert_eq!(session.transport(), Transport::WebSocket);
    assert_eq!(events(&mut session), [SessionEvent::Upgraded]);

    session.ws_text("4hello", now);
    assert_eq!(
        events(&mut session),
        [SessionEvent::Message("hello".into())]
    );
    session.send_text("hello");
    assert_eq!(session.poll_ws(), Some(Packet::Message("hello".into())));
    // After the upgrade: no more polling, no second WebSocket.
    assert_eq!(session.get(now), Err(EngineError::BadRequest));
    assert_eq!(session.post("4x", now), Err(EngineError::BadRequest));
    assert_eq!(session.begin_upgrade(now), Err(EngineError::BadRequest));
}

#[test]
fn an_upgrade_left_unfinished_is_dropped_after_the_timeout() {
    let start = Instant::now();
    let mut session = polling(start);
    session.begin_upgrade(start).unwrap();
    assert_eq!(session.begin_upgrade(start), Err(EngineError::BadRequest));
    session.ws_text("2probe", start);
    let deadline = start + EngineConfig::default().upgrade_timeout;
    // Pongs keep the session alive while the upgrade hangs.
    let mut now = start;
    while now < deadline {
        now = session.poll_timeout().unwrap();
        session.handle_timeout(now);
        if session.closed().is_none() && session.get(now).ok().flatten().as_deref() == Some("2") {
            session.post("3", now).unwrap();
        }
    }
    assert_eq!(session.closed(), None);
    assert!(events(&mut session).contains(&SessionEvent::UpgradeAborted));
    assert_eq!(session.transport(), Transport::Polling);
    // The session may try again.
    assert_eq!(session.begin_upgrade(now), Ok(()));
}

#[test]
fn a_websocket_session_takes_packets_and_ends_on_bad_ones_or_a_close() {
    let now = Instant::now();
    let mut session = Session::new("w".into(), Transport::WebSocket, config(), now);
    session.ws_text("4hello", now);
    session.ws_binary(&[0, 255], now);
    assert_eq!(
        events(&mut session),
        [
            SessionEvent::Message("hello".into()),
            SessionEvent::Binary(vec![0, 255])
        ]
    );
    session.ws_text("abc", now);
    assert_eq!(session.closed(), Some(CloseReason::ParseError));

    let mut session = Session::new("w".into(), Transport::WebSocket, config(), now);
    session.handle_timeout(now + ms(300));
    assert_eq!(session.poll_ws(), Some(Packet::Ping("".into())));
    session.ws_text("3", now + ms(310));
    session.ws_closed();
    assert_eq!(session.closed(), Some(CloseReason::TransportClose));
}

#[test]
fn a_server_close_on_websocket_sends_no_close_packet() {
    let now = Instant::now();
    let mut session = Session::new("w".into(), Transport::WebSocket, config(), now);
    session.close();
    assert_eq!(session.poll_ws(), None, "the WebSocket is just closed");
    assert_eq!(session.closed(), Some(CloseReason::ForcedClose));
}

#[test]
fn a_server_close_on_polling_leaves_its_last_packets_for_the_next_get() {
    let now = Instant::now();
    let mut session = polling(now);
    session.send_text("41");
    session.close();
    assert!(!session.is_done(), "forgotten with packets still to give");
    assert_eq!(session.get(now), Ok(Some("441".into())));
    assert!(!session.is_done(), "the close packet is still owed");
    assert_eq!(
        session.get(now),
        Ok(Some("1".into())),
        "in an answer of its own"
    );
    assert!(session.is_done());
    assert_eq!(session.get(now), Err(EngineError::BadRequest));
    // Other ends leave nothing behind.
    let mut timed_out = polling(now);
    timed_out.handle_timeout(now + ms(300));
    timed_out.handle_timeout(now + ms(500));
    assert!(timed_out.is_done());
    assert_eq!(timed_out.get(now + ms(500)), Err(EngineError::BadRequest));
}

#[test]
fn a_server_close_while_the_client_finishes_an_upgrade_reaches_it_over_the_websocket() {
    let now = Instant::now();
    let mut session = polling(now);
    session.begin_upgrade(now).unwrap();
    session.ws_text("2probe", now);
    assert_eq!(session.poll_ws(), Some(Packet::Pong("probe".into())));
    session.send_text("41");
    session.close();
    assert!(
        session.upgrading(),
        "the probe is kept for the client's `5`"
    );
    session.ws_text("5", now);
    assert_eq!(session.transport(), Transport::WebSocket);
    assert_eq!(session.poll_ws(), Some(Packet::Message("41".into())));
    assert_eq!(session.poll_ws(), None, "the WebSocket is closed, not told");
    assert!(session.is_done());
}
