//! The load generator's handler (one per event-loop thread) and the pacer
//! of the open-loop mode.

use std::any::Any;
use std::collections::{HashSet, VecDeque};
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;
use simdws::handshake::ClientResponse;
use simdws::net::CloseReason;
use simdws::net::{Conn, ConnId, Handler, Message, OwnedMessage, ServerHandle};

use super::payload::Payload;
use super::socketio::{self, Incoming, Phase};
use super::stats::{histogram, Counters, Latencies};

/// What every connection does.
pub struct Plan {
    pub size: usize,
    pub text: bool,
    /// Messages kept in flight per connection (0: the pacer sends).
    pub pipeline: usize,
    /// Speak Socket.IO: emit with an ack instead of a bare message.
    pub socketio: bool,
    pub started: Instant,
    /// Open connections, for the pacer.
    pub open: Mutex<Vec<ConnId>>,
}

impl Plan {
    fn micros(&self) -> u64 {
        self.started.elapsed().as_micros() as u64
    }
}

/// What a connection keeps: where its Socket.IO handshake stands, and the
/// send stamps of its messages not yet echoed (closed loop), oldest first.
///
/// The stamps are what makes a server that starves some connections show
/// in the latency: an echo that never comes has no round trip to record,
/// so without them only the connections that were served would be timed.
struct Flight {
    phase: Phase,
    unanswered: VecDeque<u64>,
}

impl Flight {
    fn new(phase: Phase, pipeline: usize) -> Self {
        Flight {
            phase,
            unanswered: VecDeque::with_capacity(pipeline),
        }
    }

    /// Forgets one message stamped `sent_at`: the oldest, unless a server
    /// answered out of order.
    fn answered(&mut self, sent_at: u64) {
        if self.unanswered.front() == Some(&sent_at) {
            self.unanswered.pop_front();
        } else if let Some(i) = self.unanswered.iter().position(|&s| s == sent_at) {
            self.unanswered.remove(i);
        }
    }
}

pub struct LoadHandler {
    plan: Arc<Plan>,
    counters: Arc<Counters>,
    latencies: Arc<Latencies>,
    histogram: Histogram<u64>,
    connected: HashSet<ConnId>,
    next_seq: u32,
    outgoing: Payload,
    expected: Payload,
    /// The emit being sent, in Socket.IO mode.
    emit: String,
}

impl LoadHandler {
    pub fn new(plan: Arc<Plan>, counters: Arc<Counters>, latencies: Arc<Latencies>) -> Self {
        let (text, size) = (plan.text, plan.size);
        LoadHandler {
            plan,
            counters,
            latencies,
            histogram: histogram(),
            connected: HashSet::new(),
            next_seq: 0,
            outgoing: Payload::new(text, size),
            expected: Payload::new(text, size),
            emit: String::new(),
        }
    }

    /// Sends the next message, stamped `now` (µs since the start), unless
    /// the run's message budget is spent.
    fn send_next(&mut self, conn: &mut Conn<'_>, now: u64) {
        let Some(stamp) = self.counters.claim_send(now) else {
            return;
        };
        if let Some(flight) = conn.data_mut::<Flight>() {
            flight.unanswered.push_back(stamp);
        }
        self.next_seq = self.next_seq.wrapping_add(1);
        self.outgoing.build(self.next_seq, stamp);
        if self.plan.socketio {
            // `--socketio` sends text (checked when the load starts), kept
            // as a `str`: nothing to check per message.
            let Message::Text(text) = self.outgoing.message() else {
                unreachable!("--socketio sends text only")
            };
            socketio::emit(&mut self.emit, self.next_seq, text);
            let _ = conn.send_text(&self.emit);
        } else {
            let _ = conn.send_message(self.outgoing.message());
        }
    }

    /// Sends what a connection in flight sends: its pipeline.
    fn start_sending(&mut self, conn: &mut Conn<'_>) {
        let now = self.plan.micros();
        for _ in 0..self.plan.pipeline {
            self.send_next(conn, now);
        }
    }

    /// A Socket.IO server's message: the handshake moves on, pings are
    /// answered, and an ack is returned as the echo it stands for.
    fn socketio_message<'m>(&mut self, conn: &mut Conn<'_>, text: &'m str) -> Option<Message<'m>> {
        let phase = conn.data::<Flight>().map_or(Phase::Ready, |f| f.phase);
        match (phase, socketio::classify(text)) {
            (_, Incoming::Ping) => {
                let _ = conn.send_text("3");
            }
            (Phase::Opening, Incoming::Open) => {
                Self::set_phase(conn, Phase::Joining);
                let _ = conn.send_text("40");
            }
            (Phase::Joining, Incoming::Joined) => {
                Self::set_phase(conn, Phase::Ready);
                self.start_sending(conn);
            }
            (Phase::Ready, Incoming::Ack(payload)) => return Some(Message::Text(payload)),
            _ => {}
        }
        None
    }

    fn set_phase(conn: &mut Conn<'_>, phase: Phase) {
        if let Some(flight) = conn.data_mut::<Flight>() {
            flight.phase = phase;
        }
    }

    /// Records, for a message still unanswered when the run stopped, its
    /// age then: a lower bound of its round trip.
    fn record_unanswered(&mut self, sent_at: u64) {
        let stopped_at = self.counters.stopped_at_us.load(Ordering::Relaxed);
        if stopped_at > 0 && sent_at < stopped_at {
            let _ = self.histogram.record(stopped_at - sent_at);
        }
    }
}

impl Handler for LoadHandler {
    fn on_connect(&mut self, conn: &mut Conn<'_>, _: &ClientResponse) {
        self.connected.insert(conn.id());
        self.counters.add(&self.counters.connected, 1);
        self.plan
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(conn.id());
        let phase = if self.plan.socketio {
            Phase::Opening
        } else {
            Phase::Ready
        };
        conn.set_data(Flight::new(phase, self.plan.pipeline));
        if !self.plan.socketio {
            self.start_sending(conn);
        }
    }

    fn on_message(&mut self, conn: &mut Conn<'_>, message: Message<'_>) {
        let message = match message {
            Message::Text(text) if self.plan.socketio => match self.socketio_message(conn, text) {
                Some(echo) => echo,
                None => return,
            },
            message => message,
        };
        let now = self.plan.micros();
        let (echo, is_text) = match message {
            Message::Text(text) => (text.as_bytes(), true),
            Message::Binary(data) => (data, false),
        };
        let sent_at = if is_text == self.plan.text {
            self.expected.verify(echo)
        } else {
            None
        };
        let measuring = self.counters.measuring.load(Ordering::Relaxed);
        let measured_from = self.counters.measured_from_us.load(Ordering::Relaxed);
        match sent_at {
            Some(sent_at) => {
                if let Some(flight) = conn.data_mut::<Flight>() {
                    flight.answered(sent_at);
                }
                if measuring {
                    // Every round trip that ends in the window is timed, a
                    // warm-up message's too: a connection served late
                    // shows its wait. Only echoes of messages sent in the
                    // window are counted.
                    let _ = self.histogram.record(now.saturating_sub(sent_at).max(1));
                    if sent_at >= measured_from && self.counters.may_count() {
                        self.counters.add(&self.counters.messages, 1);
                        self.counters.add(&self.counters.bytes, echo.len() as u64);
                    }
                } else if self.counters.stopping.load(Ordering::Relaxed) {
                    self.record_unanswered(sent_at);
                }
            }
            None => self.counters.add(&self.counters.mismatches, 1),
        }
        if self.plan.pipeline > 0 && !self.counters.stopping.load(Ordering::Relaxed) {
            // Stamped with the instant its echo's arrival was read: the
            // clock is read once per message, not twice.
            self.send_next(conn, now);
        }
    }

    fn on_close(&mut self, id: ConnId, reason: &CloseReason) {
        if !self.connected.remove(&id) {
            self.counters.add(&self.counters.connection_errors, 1);
            log::warn!("connection failed: {reason}");
        } else if !self.counters.stopping.load(Ordering::Relaxed) {
            self.counters.add(&self.counters.connection_errors, 1);
            log::warn!("connection closed during the run: {reason}");
        }
        self.plan
            .open
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|c| *c != id);
    }

    /// Messages never echoed: counted, and timed up to the run's end.
    fn on_close_data(&mut self, _: ConnId, data: Box<dyn Any>) {
        let Ok(flight) = data.downcast::<Flight>() else {
            return;
        };
        self.counters
            .add(&self.counters.unanswered, flight.unanswered.len() as u64);
        for &sent_at in &flight.unanswered {
            self.record_unanswered(sent_at);
        }
    }
}

impl Drop for LoadHandler {
    /// Hands the thread's latencies over when its loop ends.
    fn drop(&mut self) {
        let histogram = std::mem::replace(&mut self.histogram, histogram());
        self.latencies
            .0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(histogram);
    }
}

/// Open loop: sends `rate` messages per second across the open
/// connections, each stamped with the time the schedule says it should go
/// out; a late send is still stamped with its scheduled time, so queueing
/// shows in the latency instead of slowing the schedule down.
pub fn pace(
    rate: f64,
    handle: ServerHandle,
    plan: Arc<Plan>,
    counters: Arc<Counters>,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let interval = Duration::from_secs_f64(1.0 / rate);
        let mut due = Instant::now();
        let mut payload = Payload::new(plan.text, plan.size);
        let mut seq = 0u32;
        let mut turn = 0usize;
        while !counters.stopping.load(Ordering::Relaxed) {
            let now = Instant::now();
            if due > now {
                std::thread::sleep(due - now);
            }
            let target = {
                let open = plan.open.lock().unwrap_or_else(|e| e.into_inner());
                if open.is_empty() {
                    None
                } else {
                    turn = turn.wrapping_add(1);
                    Some(open[turn % open.len()])
                }
            };
            let scheduled = due.saturating_duration_since(plan.started).as_micros() as u64;
            if let Some((id, stamp)) =
                target.and_then(|id| Some((id, counters.claim_send(scheduled)?)))
            {
                seq = seq.wrapping_add(1);
                payload.build(seq, stamp);
                handle.send(id, OwnedMessage::from(payload.message()));
            }
            due += interval;
        }
    })
}
