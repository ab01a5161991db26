//! Topics' publishes to this worker's subscribers: gathered during a loop
//! turn (from callbacks and the mailbox), fanned out at its end, each
//! subscriber written once however many publishes it got.

use std::sync::atomic::Ordering;

use super::shared_frames::SharedFrames;
use super::{find_slot, Worker};
use crate::frame::CloseCode;
use crate::net::handler::Handler;
use crate::net::topics::{SlowSubscriber, TopicConfig};
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
            let Worker {
                sessions,
                dialed,
                topics,
                config,
                published_to,
                shared_frames,
                ..
            } = self;
            // Publishes in a row to one topic (from one publisher) are one
            // run: each subscriber is looked up once for all of them.
            for run in batch.chunk_by(|a, b| a.topic == b.topic && a.except == b.except) {
                shared_frames.start();
                let frames = |out: &mut Vec<u8>| {
                    for publish in run {
                        out.extend_from_slice(publish.message.frame());
                    }
                };
                let subscribers = topics.subscribers(&run[0].topic);
                for group in subscribers.chunks(GROUP) {
                    // Those that take the frames straight from one buffer,
                    // found for the whole group before any is written.
                    let mut direct = [0; GROUP];
                    let mut n = 0;
                    for &id in group {
                        if Some(id) == run[0].except {
                            continue;
                        }
                        let Some(key) = find_slot(sessions, dialed, id) else {
                            continue;
                        };
                        let session = &mut sessions[key];
                        session.wake(&config.protocol);
                        // A subscriber that only listens is busy all the
                        // same: resting it every tick would free and
                        // rebuild its buffers between publishes.
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
                        for publish in run {
                            let backlog = preamble + conn.buffered_amount();
                            match offer(conn, backlog, &publish.message, &config.topics) {
                                Offered::Queued => queued = true,
                                Offered::Dropped => dropped += 1,
                                Offered::Refused => break,
                            }
                        }
                        if queued {
                            session.active = true;
                            published_to.add(key);
                        }
                    }
                    for &key in &direct[..n] {
                        if !shared_frames.write(&mut sessions[key], frames) {
                            published_to.add(key);
                        }
                    }
                }
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

/// Subscribers checked together before any of them is written
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
