//! Commands from other threads, through the worker's mailbox: sends,
//! broadcasts, publishes, closes, held HTTP answers, adoptions, dials and
//! shutdown.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Instant;

use super::publish::{FanOut, Recipients, QUEUE_ALL};
use super::{Outcome, Worker};
use crate::frame::CloseCode;
use crate::net::handle::{Command, ConnId, OwnedMessage};
use crate::net::handler::{Handler, RequestId};
use crate::net::http::{self as http_phase, HttpContext};
use crate::net::session::{Phase, Session};
use crate::protocol::PreparedMessage;

impl<H: Handler> Worker<H> {
    pub(super) fn drain_mailbox(&mut self) {
        let commands = {
            let mailbox = self.handle.mailbox(self.index);
            let mut queue = mailbox.queue.lock().unwrap_or_else(|e| e.into_inner());
            mailbox.pending.store(false, Ordering::Release);
            std::mem::take(&mut *queue).commands
        };
        // A connection sent several messages in one batch (a Socket.IO
        // broadcast burst, say) is written once, after the batch.
        let mut commands = commands.into_iter().peekable();
        while let Some(command) = commands.next() {
            match command {
                Command::Send(id, message) => {
                    if let Some(key) = self.find(id) {
                        self.send_owned(key, &message);
                        self.sent_to.add(key);
                    }
                }
                Command::SendMany(ids, message) => {
                    // Sends in a row to one list (a room's burst) are one
                    // run, written to each connection at once.
                    let mut run = vec![message];
                    while let Some(Command::SendMany(next, _)) = commands.peek() {
                        if *next != ids {
                            break;
                        }
                        if let Some(Command::SendMany(_, message)) = commands.next() {
                            run.push(message);
                        }
                    }
                    self.send_run(&ids, &run);
                }
                Command::Broadcast(message) => {
                    let keys: Vec<usize> = self
                        .sessions
                        .iter()
                        .filter(|(_, s)| s.is_open())
                        .map(|(k, _)| k)
                        .collect();
                    for key in keys {
                        self.send_owned(key, &message);
                        self.flush_out(key);
                    }
                }
                Command::Respond(id, response) => {
                    self.answer_later(id, |session, cx| {
                        http_phase::respond_later(session, id, &response, cx)
                    });
                }
                Command::Body { id, piece, end } => {
                    self.answer_later(id, |session, cx| {
                        http_phase::body_later(session, id, &piece, end, cx)
                    });
                }
                Command::Close(id, code, reason) => {
                    if let Some(key) = self.find(id) {
                        if let Some(conn) =
                            self.sessions[key].woken_connection(&self.config.protocol)
                        {
                            let _ = conn.close(code, &reason);
                        }
                        self.flush_out(key);
                    }
                }
                Command::Adopt {
                    stream,
                    read,
                    upgraded,
                } => self.adopt(stream, read, upgraded),
                Command::Connect {
                    id,
                    addr,
                    url,
                    options,
                } => self.connect(id, addr, &url, *options),
                Command::Publish(publish) => self.topics.pending.push(publish),
                Command::Shutdown => self.begin_shutdown(),
            }
        }
        let sent_to = self.sent_to.take();
        for &key in &sent_to {
            // A later command of the batch may have ended it (or a new
            // connection taken its slot, which a write does no harm).
            if self.sessions.contains(key) {
                self.flush_out(key);
            }
        }
        self.sent_to.give_back(sent_to);
        self.shared_frames.trim();
    }

    /// Sends a run of messages to each of `ids`, through the fan-out that
    /// topics use, with nothing dropped.
    fn send_run(&mut self, ids: &[ConnId], run: &[Arc<PreparedMessage>]) {
        let Worker {
            sessions,
            dialed,
            config,
            shared_frames,
            sent_to,
            ..
        } = self;
        let to = Recipients {
            ids,
            except: None,
            policy: &QUEUE_ALL,
        };
        let mut fan_out = FanOut {
            sessions,
            dialed,
            config,
            shared_frames,
            touched: sent_to,
        };
        fan_out.deliver(&to, run);
    }

    /// Applies a held answer (or a piece of one) to its request, then goes
    /// on reading: requests kept behind it, and input paused for it.
    fn answer_later<F>(&mut self, id: RequestId, apply: F)
    where
        F: FnOnce(&mut Session, &mut HttpContext<'_, H>) -> bool,
    {
        let Some(key) = self.find(id.conn) else {
            log::debug!("{id}: answered after its connection closed");
            return;
        };
        let (sessions, _, mut cx) = self.parts();
        if !apply(&mut sessions[key], &mut cx) {
            log::debug!("{id}: not waiting for an answer (already answered, or gone)");
        }
        self.resume(key);
    }

    fn send_owned(&mut self, key: usize, message: &OwnedMessage) {
        if let Some(conn) = self.sessions[key].woken_connection(&self.config.protocol) {
            let _ = match message {
                OwnedMessage::Text(t) => conn.send_text(t),
                OwnedMessage::Binary(b) => conn.send_binary(b),
            };
        }
    }

    fn begin_shutdown(&mut self) {
        if self.shutdown_deadline.is_some() {
            return;
        }
        self.shutdown_deadline = Some(Instant::now() + self.config.shutdown_timeout);
        // Workers without a listener run client connections.
        let reason = if self.listener.is_some() {
            "server shutting down"
        } else {
            "client shutting down"
        };
        if let Some(mut listener) = self.listener.take() {
            let _ = self.poll.registry().deregister(&mut listener);
        }
        let keys: Vec<usize> = self.sessions.iter().map(|(k, _)| k).collect();
        for key in keys {
            let session = &mut self.sessions[key];
            let handshaking = matches!(session.phase, Phase::Http(_) | Phase::Connecting { .. });
            if let Some(conn) = session.woken_connection(&self.config.protocol) {
                let _ = conn.close(CloseCode::GOING_AWAY, reason);
                self.flush_out(key);
            } else if handshaking {
                self.settle(key, Outcome::End);
            }
        }
    }
}
