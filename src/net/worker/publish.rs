//! Fan-out: a run of messages framed once, to many of this worker's
//! connections. Topics' publishes are gathered during a loop turn (from
//! callbacks and the mailbox) and fanned out at its end; runs of
//! `send_many` (a Socket.IO room's burst) where the mailbox meets them.
//! Either way each recipient is written once however many messages it got.

use std::collections::HashMap;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use slab::Slab;

use super::shared_frames::SharedFrames;
use super::touched::Touched;
use super::{find_slot, Worker};
use crate::frame::CloseCode;
use crate::net::config::ServerConfig;
use crate::net::handle::ConnId;
use crate::net::handler::Handler;
use crate::net::session::Session;
use crate::net::topics::{Publish, SlowSubscriber, TopicConfig};
use crate::protocol::{Connection, PreparedMessage};

/// What a publish did for one subscriber.
enum Offered {
    /// Queued, or the subscriber closed for being slow: it has output.
    Queued,
    /// The subscriber was slow and missed it.
    Dropped,
    /// The subscriber is closing and takes no more.
    Refused,
}

impl<H: Handler> Worker<H> {
    /// Delivers every publish gathered in this loop turn, if any.
    #[inline]
    pub(super) fn deliver_publishes(&mut self) {
        if !self.topics.pending.is_empty() {
            self.fan_out();
        }
    }

    /// Delivers every publish gathered so far, then writes each subscriber
    /// that got one. Writing can read on and call handlers, which may
    /// publish again; those go out in the next round.
    #[inline(never)]
    fn fan_out(&mut self) {
        while !self.topics.pending.is_empty() {
            let batch = std::mem::take(&mut self.topics.pending);
            let mut dropped = 0;
            // Publishes in a row to one topic (from one publisher) are one
            // run: each subscriber is looked up once for all of them.
            for run in batch.chunk_by(|a, b| a.topic == b.topic && a.except == b.except) {
                let Worker {
                    sessions,
                    dialed,
                    topics,
                    config,
                    published_to,
                    shared_frames,
                    ..
                } = self;
                let to = Recipients {
                    ids: topics.subscribers(&run[0].topic),
                    except: run[0].except,
                    policy: &config.topics,
                };
                let mut fan_out = FanOut {
                    sessions,
                    dialed,
                    config,
                    shared_frames,
                    touched: published_to,
                };
                dropped += fan_out.deliver(&to, run);
            }
            if dropped > 0 {
                self.handle
                    .mailbox(self.index)
                    .dropped
                    .fetch_add(dropped, Ordering::Relaxed);
            }
            let touched = self.published_to.take();
            for &key in &touched {
                self.flush_out(key);
            }
            self.published_to.give_back(touched);
        }
        self.shared_frames.trim();
    }
}

/// The connections a run of messages goes to, and what a slow one gets.
pub(super) struct Recipients<'a> {
    pub ids: &'a [ConnId],
    /// One of `ids` that is left out (a topic's publisher).
    pub except: Option<ConnId>,
    pub policy: &'a TopicConfig,
}

/// What [`SlowSubscriber::Queue`] with no backlog limit does: everything
/// is queued, as a single send would be (up to the connection's
/// `max_buffered`), for lists of connections sent to together.
pub(super) const QUEUE_ALL: TopicConfig = TopicConfig {
    max_backlog: usize::MAX,
    slow: SlowSubscriber::Queue,
};

/// A message framed once for many connections, as a run holds it.
pub(super) trait Framed {
    fn prepared(&self) -> &PreparedMessage;
}

impl Framed for Publish {
    fn prepared(&self) -> &PreparedMessage {
        &self.message
    }
}

impl Framed for Arc<PreparedMessage> {
    fn prepared(&self) -> &PreparedMessage {
        self
    }
}

/// The parts of a worker that delivering a run takes: topics' publishes
/// and runs of `send_many` go through the same fan-out.
pub(super) struct FanOut<'w> {
    pub sessions: &'w mut Slab<Session>,
    pub dialed: &'w HashMap<u32, usize>,
    pub config: &'w ServerConfig,
    pub shared_frames: &'w mut SharedFrames,
    /// Where the recipients given output are listed, to be flushed once.
    pub touched: &'w mut Touched,
}

impl FanOut<'_> {
    /// Delivers a run of messages to each of `to`: written at once from one
    /// buffer where a connection can take them so ([`SharedFrames`]),
    /// offered one by one under `to.policy` otherwise. Returns how many
    /// were dropped for slow recipients.
    pub fn deliver<M: Framed>(&mut self, to: &Recipients<'_>, run: &[M]) -> u64 {
        self.shared_frames.start();
        let frames = |out: &mut Vec<u8>| {
            for message in run {
                out.extend_from_slice(message.prepared().frame());
            }
        };
        let mut dropped = 0;
        for group in to.ids.chunks(GROUP) {
            // Those that take the frames straight from one buffer, found
            // for the whole group before any is written.
            let mut direct = [0; GROUP];
            let mut n = 0;
            for &id in group {
                if Some(id) == to.except {
                    continue;
                }
                let Some(key) = find_slot(self.sessions, self.dialed, id) else {
                    continue;
                };
                let session = &mut self.sessions[key];
                session.wake(&self.config.protocol);
                // A subscriber that only listens is busy all the same:
                // resting it every tick would free and rebuild its buffers
                // between publishes.
                if SharedFrames::can_take(session) {
                    session.active = true;
                    direct[n] = key;
                    n += 1;
                    continue;
                }
                let preamble = session.raw_unwritten();
                let Some(conn) = session.connection() else {
                    continue;
                };
                let mut queued = false;
                for message in run {
                    let backlog = preamble + conn.buffered_amount();
                    match offer(conn, backlog, message.prepared(), to.policy) {
                        Offered::Queued => queued = true,
                        Offered::Dropped => dropped += 1,
                        Offered::Refused => break,
                    }
                }
                if queued {
                    session.active = true;
                    self.touched.add(key);
                }
            }
            for &key in &direct[..n] {
                if !self.shared_frames.write(&mut self.sessions[key], frames) {
                    self.touched.add(key);
                }
            }
        }
        dropped
    }
}

/// Recipients checked together before any of them is written
/// ([`SharedFrames::can_take`]).
const GROUP: usize = 16;

/// Offers one publish to one subscriber with `backlog` bytes unsent.
#[inline]
fn offer(
    conn: &mut Connection,
    backlog: usize,
    message: &PreparedMessage,
    policy: &TopicConfig,
) -> Offered {
    if backlog > policy.max_backlog {
        match policy.slow {
            SlowSubscriber::Queue => {}
            SlowSubscriber::Drop => return Offered::Dropped,
            SlowSubscriber::Close => {
                return match conn.sender().close(
                    CloseCode::POLICY_VIOLATION,
                    "too slow for its subscriptions",
                ) {
                    Ok(()) => Offered::Queued,
                    Err(_) => Offered::Refused,
                };
            }
        }
    }
    match conn.sender().send_prepared(message) {
        Ok(()) => Offered::Queued,
        Err(_) => Offered::Refused,
    }
}
