//! A large message sent back from the read buffer (`Sender` lending, the
//! tokio stream's vectored write): whatever a transport takes per write,
//! and whatever else the answer queues, the peer gets every frame whole and
//! in order, and the payload is not copied when the transport takes all.

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Instant;

use simdws::frame::CloseCode;
use simdws::protocol::{Config, Connection, Event, OwnedEvent, Role, Sender};
use simdws::tokio::WebSocketStream;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

#[path = "support/frames.rs"]
mod frames;
use frames::server_output_events;

/// A transport whose input is handed out in set pieces and whose writes
/// take what their script says, in turn: `None` is "not now" (the task is
/// woken at once), `Some(n)` at most `n` bytes. Writes that carry a lent
/// payload (a vectored write with a second buffer) follow `lent`, all
/// others `plain`.
struct Scripted {
    input: VecDeque<Vec<u8>>,
    plain: Script,
    lent: Script,
    vectored: bool,
    written: Vec<u8>,
    /// Vectored writes given a second, non-empty buffer: a lent payload.
    lent_writes: usize,
}

struct Script {
    allowances: Vec<Option<usize>>,
    turn: usize,
}

impl Script {
    fn new(allowances: &[Option<usize>]) -> Self {
        Script {
            allowances: allowances.to_vec(),
            turn: 0,
        }
    }

    /// How many bytes this write may take, or `None` for "not now".
    fn allowance(&mut self, cx: &mut Context<'_>) -> Option<usize> {
        let allowed = self.allowances[self.turn % self.allowances.len()];
        self.turn += 1;
        if allowed.is_none() {
            cx.waker().wake_by_ref();
        }
        allowed
    }
}

/// A write script: what each write in turn may take.
type Allowances = &'static [Option<usize>];

/// Every write takes all it is given.
const ALL: Allowances = &[Some(usize::MAX)];

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        // The script ends with the peer's close; past it, the end of the
        // stream (which fails a read that still expects frames).
        let Some(mut piece) = self.input.pop_front() else {
            return Poll::Ready(Ok(()));
        };
        if piece.len() > buf.remaining() {
            let rest = piece.split_off(buf.remaining());
            self.input.push_front(rest);
        }
        buf.put_slice(&piece);
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        data: &[u8],
    ) -> Poll<io::Result<usize>> {
        let Some(allowed) = self.plain.allowance(cx) else {
            return Poll::Pending;
        };
        let n = allowed.min(data.len());
        self.written.extend_from_slice(&data[..n]);
        Poll::Ready(Ok(n))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let lent = bufs.len() > 1 && !bufs[1].is_empty();
        let script = if lent {
            &mut self.lent
        } else {
            &mut self.plain
        };
        let Some(mut allowed) = script.allowance(cx) else {
            return Poll::Pending;
        };
        self.lent_writes += lent as usize;
        let mut n = 0;
        for buf in bufs {
            let take = allowed.min(buf.len());
            self.written.extend_from_slice(&buf[..take]);
            allowed -= take;
            n += take;
        }
        Poll::Ready(Ok(n))
    }

    fn is_write_vectored(&self) -> bool {
        self.vectored
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

/// Texts and binaries around the sizes that matter: below and at the
/// lending threshold (512), a 16-bit length, a 64-bit length.
fn messages() -> Vec<OwnedEvent> {
    // `n` bytes of multi-byte text (ASCII at the end, to make up the count).
    let text = |n: usize| {
        let mut text = String::new();
        for c in "é€😀a".chars().cycle() {
            if text.len() + c.len_utf8() > n {
                break;
            }
            text.push(c);
        }
        while text.len() < n {
            text.push('a');
        }
        OwnedEvent::Text(text)
    };
    let binary = |n: usize| OwnedEvent::Binary((0..n).map(|i| (i * 7 + n) as u8).collect());
    vec![
        text(20),
        text(511),
        binary(512),
        text(513),
        binary(1024),
        text(4000),
        binary(70_000),
        binary(600),
    ]
}

/// Each message as a client frame, then the client's close.
fn client_frames(messages: &[OwnedEvent]) -> Vec<Vec<u8>> {
    let mut client = Connection::new(Role::Client, Config::default(), Instant::now());
    let mut frames = Vec::new();
    for message in messages {
        match message {
            OwnedEvent::Text(text) => client.send_text(text).unwrap(),
            OwnedEvent::Binary(data) => client.send_binary(data).unwrap(),
            other => unreachable!("{other:?}"),
        }
        frames.push(take_output(&mut client));
    }
    client.close(CloseCode::NORMAL, "done").unwrap();
    frames.push(take_output(&mut client));
    frames
}

fn take_output(conn: &mut Connection) -> Vec<u8> {
    let out = conn.poll_transmit().to_vec();
    conn.advance_transmit(out.len());
    out
}

/// Runs an echo server whose answer to each message is `answer`, over a
/// transport reading `input` and writing as `plain` and `lent` say;
/// returns the transport once the close handshake is over.
fn serve(
    input: Vec<Vec<u8>>,
    (plain, lent): (Allowances, Allowances),
    vectored: bool,
    answer: fn(Event<'_>, &mut Sender<'_>),
) -> Scripted {
    runtime().block_on(async {
        let transport = Scripted {
            input: input.into(),
            plain: Script::new(plain),
            lent: Script::new(lent),
            vectored,
            written: Vec::new(),
            lent_writes: 0,
        };
        let conn = Connection::new(Role::Server, Config::default(), Instant::now());
        let mut ws = WebSocketStream::from_parts(transport, conn, &[]);
        ws.for_each_event(answer).await.unwrap();
        let (transport, _, rest) = ws.into_parts();
        assert!(rest.is_empty());
        transport
    })
}

fn echo(event: Event<'_>, tx: &mut Sender<'_>) {
    match event {
        Event::Text(text) => tx.send_text(text).unwrap(),
        Event::Binary(data) => tx.send_binary(data).unwrap(),
        _ => {}
    }
}

/// Write scripts, (plain, lent): the lent ones cut a lent write before,
/// inside and at the end of its header (4 bytes for these lengths), and
/// inside the payload, in turn; the plain ones take everything, or a byte
/// at a time with "not now" in between.
const SCRIPTS: [(Allowances, Allowances); 4] = [
    (ALL, ALL),
    (ALL, &[None, Some(1), Some(4), Some(5), Some(700)]),
    (ALL, &[Some(3), Some(usize::MAX), Some(1000)]),
    (&[None, Some(1)], &[Some(2), Some(600)]),
];

fn with_close(mut messages: Vec<OwnedEvent>) -> Vec<OwnedEvent> {
    messages.push(OwnedEvent::Close(simdws::frame::CloseFrame {
        code: CloseCode::NORMAL,
        reason: "done".into(),
    }));
    messages
}

/// One frame per read, as a closed-loop client sends them.
fn one_per_read(messages: &[OwnedEvent]) -> Vec<Vec<u8>> {
    client_frames(messages)
}

/// Also: output still queued when the peer's close and the end of its
/// stream are read is written before the stream ends (the plain script
/// that writes a byte at a time leaves most of it queued then).
#[test]
fn echoes_come_back_whole_whatever_each_write_takes() {
    let messages = messages();
    for script in SCRIPTS {
        let transport = serve(one_per_read(&messages), script, true, echo);
        assert_eq!(
            server_output_events(transport.written),
            with_close(messages.clone()),
            "{script:?}"
        );
    }
}

#[test]
fn a_payload_of_512_bytes_and_more_is_written_from_the_read_buffer() {
    let messages = messages();
    let transport = serve(one_per_read(&messages), (ALL, ALL), true, echo);
    // The 70,000-byte message does not fit in one read (16 KiB): it is
    // assembled, and sent from the assembly by a copy.
    let lendable = messages
        .iter()
        .filter(|m| match m {
            OwnedEvent::Text(text) => (512..16_000).contains(&text.len()),
            OwnedEvent::Binary(data) => (512..16_000).contains(&data.len()),
            _ => false,
        })
        .count();
    assert_eq!(lendable, 5);
    assert_eq!(transport.lent_writes, lendable);
    // A transport without vectored writes gets each frame copied whole.
    let plain = serve(one_per_read(&messages), (ALL, ALL), false, echo);
    assert_eq!(plain.lent_writes, 0);
    assert_eq!(server_output_events(plain.written), with_close(messages));
}

/// A payload lent by a message that is not the last of its read is copied
/// after its header before the next message is decoded.
#[test]
fn a_burst_is_answered_in_order_wherever_in_a_read_a_payload_is_lent() {
    let messages = messages();
    let frames = client_frames(&messages);
    // Two frames a read (a large one first, in some), and the whole burst
    // in reads of 16 KiB that end inside frames.
    let pairs: Vec<Vec<u8>> = frames.chunks(2).map(<[Vec<u8>]>::concat).collect();
    let burst: Vec<Vec<u8>> = frames
        .concat()
        .chunks(16 << 10)
        .map(<[u8]>::to_vec)
        .collect();
    for input in [pairs, burst] {
        for script in SCRIPTS {
            let transport = serve(input.clone(), script, true, echo);
            assert_eq!(
                server_output_events(transport.written),
                with_close(messages.clone()),
                "{script:?}"
            );
        }
    }
}

/// The payload of a text or binary message, whichever it is.
fn payload<'a>(event: &Event<'a>) -> Option<&'a [u8]> {
    match *event {
        Event::Text(text) => Some(text.as_bytes()),
        Event::Binary(data) => Some(data),
        _ => None,
    }
}

#[test]
fn what_is_queued_after_a_lent_payload_goes_out_after_it() {
    use simdws::frame::Opcode;
    // The echo (lent when large), then one other kind of frame each.
    fn then_text(event: Event<'_>, tx: &mut Sender<'_>) {
        let Some(data) = payload(&event) else { return };
        echo(event, tx);
        assert!(
            tx.buffered_amount() >= data.len(),
            "a lent payload counts as buffered"
        );
        tx.send_text("after").unwrap();
    }
    fn then_ping(event: Event<'_>, tx: &mut Sender<'_>) {
        if payload(&event).is_none() {
            return;
        }
        echo(event, tx);
        tx.ping(b"p").unwrap();
    }
    fn then_fragments(event: Event<'_>, tx: &mut Sender<'_>) {
        if payload(&event).is_none() {
            return;
        }
        echo(event, tx);
        tx.send_fragment(Opcode::Binary, b"fr", false).unwrap();
        tx.send_fragment(Opcode::Continuation, b"ag", true).unwrap();
    }
    fn then_its_second_half(event: Event<'_>, tx: &mut Sender<'_>) {
        let Some(data) = payload(&event) else { return };
        echo(event, tx);
        tx.send_binary(&data[data.len() / 2..]).unwrap();
    }
    type Answer = fn(Event<'_>, &mut Sender<'_>);
    type Follows = fn(&[u8]) -> Vec<OwnedEvent>;
    let cases: [(Answer, Follows); 4] = [
        (then_text, |_| vec![OwnedEvent::Text("after".into())]),
        (then_ping, |_| vec![OwnedEvent::Ping(b"p".to_vec())]),
        (then_fragments, |_| {
            vec![OwnedEvent::Binary(b"frag".to_vec())]
        }),
        (then_its_second_half, |data| {
            vec![OwnedEvent::Binary(data[data.len() / 2..].to_vec())]
        }),
    ];
    let messages = messages();
    for (answer, follows) in cases {
        let mut expected = Vec::new();
        for message in &messages {
            let data = match message {
                OwnedEvent::Text(text) => text.as_bytes(),
                OwnedEvent::Binary(data) => data,
                _ => unreachable!(),
            };
            expected.push(message.clone());
            expected.extend(follows(data));
        }
        for script in SCRIPTS {
            let transport = serve(one_per_read(&messages), script, true, answer);
            assert_eq!(
                server_output_events(transport.written),
                with_close(expected.clone()),
                "{script:?}"
            );
        }
    }
}
