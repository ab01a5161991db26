//! Raw client frames, and a driver that feeds a connection in pieces: for
//! the test crates that speak the protocol by hand.
#![allow(dead_code)]

use simdws::mask::apply_mask;
use simdws::protocol::{Config, Connection, OwnedEvent, Role};

/// A raw masked frame as a client would send it.
pub fn frame(fin: bool, rsv: u8, opcode: u8, payload: &[u8], key: [u8; 4]) -> Vec<u8> {
    let mut out = vec![(fin as u8) << 7 | rsv | opcode];
    let len = payload.len();
    if len < 126 {
        out.push(0x80 | len as u8);
    } else if len < 65536 {
        out.push(0x80 | 126);
        out.extend_from_slice(&(len as u16).to_be_bytes());
    } else {
        out.push(0x80 | 127);
        out.extend_from_slice(&(len as u64).to_be_bytes());
    }
    out.extend_from_slice(&key);
    let mut body = payload.to_vec();
    apply_mask(&mut body, key, 0);
    out.extend_from_slice(&body);
    out
}

/// Feeds `stream` in pieces cut at `cuts`; returns the events and the close
/// code of the error that failed the connection, if any.
pub fn drive(
    conn: &mut Connection,
    stream: &[u8],
    cuts: &[usize],
) -> (Vec<OwnedEvent>, Option<u16>) {
    let mut points: Vec<usize> = cuts.iter().map(|c| c % (stream.len() + 1)).collect();
    points.extend([0, stream.len()]);
    points.sort_unstable();
    points.dedup();
    let mut events = Vec::new();
    for w in points.windows(2) {
        let mut piece = stream[w[0]..w[1]].to_vec();
        if let Err(e) = conn.receive_all(&mut piece, |e| events.push(OwnedEvent::from(e))) {
            return (events, Some(e.close_code().0));
        }
    }
    (events, None)
}

pub fn feed_all(conn: &mut Connection, stream: &[u8]) -> (Vec<OwnedEvent>, Option<u16>) {
    drive(conn, stream, &[])
}

/// What a server wrote, as a client reads it: every event in `wire`, which
/// must end at a frame's end.
pub fn server_output_events(mut wire: Vec<u8>) -> Vec<OwnedEvent> {
    let now = std::time::Instant::now();
    let mut client = Connection::new(Role::Client, Config::default(), now);
    let mut events = Vec::new();
    let mut at = 0;
    while at < wire.len() {
        let received = client.receive(&mut wire[at..]).unwrap();
        assert!(received.consumed > 0, "a partial frame at the end");
        at += received.consumed;
        events.extend(received.event.map(OwnedEvent::from));
    }
    events
}
