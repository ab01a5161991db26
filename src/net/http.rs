//! A server connection while it speaks plain HTTP/1.1: requests read with
//! the sans-IO [`RequestReader`], handed to the handler, answered in order
//! (now, or later from any thread), kept alive between requests, and
//! upgraded to WebSocket when one asks.

use std::time::Instant;

use super::config::ServerConfig;

use super::handle::{ConnId, ServerHandle};
use super::handler::{Conn, Handler, HttpConn, Reply, RequestId, Upgrade};
use super::session::{raw_output, AppData, Phase, Session};
use super::topics::Topics;
use super::transport::{Socket, Transport};
use crate::handshake::{self, Rejection, Request};
use crate::http::{
    keeps_alive, write_body_piece, BodyFraming, HttpResponse, ReaderLimits, RequestReader,
    ResponseFraming, Step, CONTINUE, LAST_CHUNK,
};
use crate::protocol::Connection;

/// What a connection is waiting for, each with its own timeout.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Wait {
    /// The (rest of the) next request head: `handshake_timeout`.
    Head,
    /// The rest of a request body: `http.body_timeout`.
    Body,
    /// A next request on an idle keep-alive connection.
    Idle,
}

/// Where the answer to the request being handled stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answer {
    /// Not given yet (held for later).
    Pending,
    /// The head is out; the body goes on in pieces.
    Streaming(BodyFraming),
    Done,
}

/// The request being handled: responses go out in request order, so the
/// next request waits until this one is answered in full.
#[derive(Clone, Copy, Debug)]
struct Current {
    seq: u32,
    framing: ResponseFraming,
    /// All of its body was read.
    body_read: bool,
    answer: Answer,
}

/// A connection's HTTP state, boxed in its [`Phase::Http`].
#[derive(Debug)]
pub(crate) struct HttpSession {
    reader: RequestReader,
    /// Requests read so far; the latest one's sequence number.
    seq: u32,
    current: Option<Current>,
    /// What the connection waits for, and until when.
    timer: Option<(Wait, Instant)>,
}

impl HttpSession {
    pub fn new(config: &ServerConfig, now: Instant) -> Self {
        HttpSession {
            reader: RequestReader::new(ReaderLimits {
                head: config.request_limits.clone(),
                max_body: config.http.max_body,
            }),
            seq: 0,
            current: None,
            timer: Some((Wait::Head, now + config.handshake_timeout)),
        }
    }

    /// A response is held, and the input kept behind it is past the limit:
    /// stop reading until it is answered.
    pub fn input_paused(&self, config: &ServerConfig) -> bool {
        self.current.is_some()
            && self.reader.between_requests()
            && self.reader.kept() > config.http.max_pipelined
    }

    /// The timer that has fallen due at `now`, if any.
    pub fn due(&self, now: Instant) -> Option<Wait> {
        self.timer
            .filter(|&(_, at)| now >= at)
            .map(|(wait, _)| wait)
    }

    /// Nothing in flight: storage can go back to the allocator.
    pub fn release_buffers(&mut self) {
        if self.current.is_none() {
            self.reader.release_buffers();
        }
    }

    /// The request whose answer the handler still owes, if any (reported
    /// abandoned when the connection ends first).
    pub fn owed(&self, conn: super::handle::ConnId) -> Option<RequestId> {
        self.current
            .filter(|c| c.answer != Answer::Done)
            .map(|c| RequestId { conn, seq: c.seq })
    }

    /// Sets the timer for what the connection now waits for; a wait that
    /// goes on keeps its deadline (a slow client cannot extend it).
    fn update_timer(&mut self, config: &ServerConfig, now: Instant) {
        let wait = if !self.reader.between_requests() {
            Some(Wait::Body)
        } else if self.current.is_some() {
            // Held: the handler decides how long; no timer of ours.
            None
        } else if self.reader.is_idle() {
            Some(Wait::Idle)
        } else {
            Some(Wait::Head)
        };
        if self.timer.map(|(w, _)| w) == wait {
            return;
        }
        self.timer = wait.map(|wait| {
            let after = match wait {
                Wait::Head => config.handshake_timeout,
                Wait::Body => config.http.body_timeout,
                Wait::Idle => config.http.keep_alive_timeout,
            };
            (wait, now + after)
        });
    }
}

/// What the HTTP side needs of its worker.
pub(crate) struct HttpContext<'w, H> {
    pub handler: &'w mut H,
    pub handle: &'w ServerHandle,
    /// The worker's subscriptions, for the connections' callbacks.
    pub topics: &'w mut Topics,
    pub config: &'w ServerConfig,
    /// The `Date` header's value, refreshed every tick.
    pub date: &'w [u8; 29],
}

/// Reads requests out of `input` (and what was kept before) and answers
/// them, until the input is used up, a response is held, or the connection
/// upgrades or ends.
pub(crate) fn http_bytes<H: Handler, S: Socket>(
    session: &mut Session<S>,
    input: &mut [u8],
    cx: &mut HttpContext<'_, H>,
) {
    let mut at = 0;
    loop {
        let Session {
            phase,
            raw_out,
            id,
            stream,
            ..
        } = &mut *session;
        let Phase::Http(http) = phase else {
            return;
        };
        let rest = &input[at..];
        if http.current.is_some() && http.reader.between_requests() {
            // A request behind one not answered yet: keep it for later.
            if !rest.is_empty() {
                http.reader.keep(rest);
            }
            return;
        }
        let streams = &mut |request: &Request<'_>| cx.handler.streams_body(request);
        let (used, step) = match http.reader.read(rest, streams) {
            Ok(read) => read,
            Err(rejection) => {
                reject(session, &rejection);
                return;
            }
        };
        at += used;
        let conn_id = *id;
        let whole = matches!(step, Step::Request(_));
        match step {
            Step::NeedMore => {
                http.update_timer(cx.config, Instant::now());
                return;
            }
            Step::Continue => raw_output(raw_out).extend_from_slice(CONTINUE),
            Step::Request(request) if request.is_upgrade() => {
                // The request borrows the kept input or `input`; the upgrade
                // needs it, then the bytes after it (early frames).
                let opened = open_websocket(stream, conn_id, &request, cx);
                drop(request);
                let kept = match opened {
                    Ok(opened) => Some(become_websocket(session, opened)),
                    Err(Some(rejection)) => {
                        reject(session, &rejection);
                        None
                    }
                    Err(None) => {
                        session.doomed = true;
                        None
                    }
                };
                // Frames that came with the request: kept by the reader, or
                // still in `input` (then decoded in place).
                match kept {
                    Some(mut kept) if !kept.is_empty() => {
                        kept.extend_from_slice(&input[at..]);
                        super::worker::frame_bytes(
                            session, &mut kept, cx.handler, cx.handle, cx.topics,
                        );
                    }
                    Some(_) if at < input.len() => {
                        super::worker::frame_bytes(
                            session,
                            &mut input[at..],
                            cx.handler,
                            cx.handle,
                            cx.topics,
                        );
                    }
                    _ => {}
                }
                return;
            }
            // A whole request, or the head of one whose body is streamed.
            Step::Request(request) | Step::Head(request) => {
                // The request is in: the next one's wait starts afresh.
                http.timer = None;
                http.seq += 1;
                let framing = response_framing(&request, cx.handle);
                http.current = Some(Current {
                    seq: http.seq,
                    framing,
                    body_read: whole,
                    answer: Answer::Pending,
                });
                let mut conn = HttpConn {
                    id: RequestId {
                        conn: conn_id,
                        seq: http.seq,
                    },
                    handle: cx.handle,
                };
                let reply = cx.handler.on_request(&mut conn, &request);
                drop(request);
                if let Reply::Now(response) = reply {
                    answer(session, &response, cx.date);
                }
            }
            Step::BodyChunk(piece) => {
                let seq = http.current.map_or(0, |c| c.seq);
                let mut conn = HttpConn {
                    id: RequestId { conn: conn_id, seq },
                    handle: cx.handle,
                };
                cx.handler.on_body(&mut conn, piece, false);
            }
            Step::BodyEnd => {
                let Some(current) = http.current.as_mut() else {
                    continue;
                };
                current.body_read = true;
                let mut conn = HttpConn {
                    id: RequestId {
                        conn: conn_id,
                        seq: current.seq,
                    },
                    handle: cx.handle,
                };
                cx.handler.on_body(&mut conn, &[], true);
                finish_if_done(session);
            }
        }
    }
}

/// How this request's response must be framed.
fn response_framing(request: &Request<'_>, handle: &ServerHandle) -> ResponseFraming {
    ResponseFraming {
        keep_alive: keeps_alive(request) && !handle.is_shutting_down(),
        head_only: request.method == "HEAD",
        chunked_allowed: request.version >= 1,
    }
}

/// Writes the answer to the current request.
fn answer<S: Socket>(session: &mut Session<S>, response: &HttpResponse, date: &[u8; 29]) {
    let Phase::Http(http) = &mut session.phase else {
        return;
    };
    let Some(current) = http.current.as_mut() else {
        return;
    };
    if current.answer != Answer::Pending {
        log::warn!("{}: a second response to one request ignored", session.id);
        return;
    }
    let body_framing = response.write(raw_output(&mut session.raw_out), current.framing, date);
    current.answer = if response.streamed {
        Answer::Streaming(body_framing)
    } else {
        Answer::Done
    };
    finish_if_done(session);
}

/// When the current request is read and answered in full: on to the next
/// one, or close when the connection is not kept alive.
fn finish_if_done<S: Socket>(session: &mut Session<S>) {
    let Phase::Http(http) = &mut session.phase else {
        return;
    };
    let Some(current) = http.current else {
        return;
    };
    if !(current.body_read && current.answer == Answer::Done) {
        return;
    }
    http.current = None;
    if !current.framing.keep_alive {
        session.phase = Phase::LastResponse;
    }
}

/// The held answer to request `id`, given from the mailbox. Returns false
/// when the request is gone (the client left, or it was answered).
pub(crate) fn respond_later<H: Handler, S: Socket>(
    session: &mut Session<S>,
    id: RequestId,
    response: &HttpResponse,
    cx: &mut HttpContext<'_, H>,
) -> bool {
    if !owes(session, id, |a| a == Answer::Pending) {
        return false;
    }
    answer(session, response, cx.date);
    resume(session, cx);
    true
}

/// A further piece of a streamed response body (`end`: the last one).
pub(crate) fn body_later<H: Handler, S: Socket>(
    session: &mut Session<S>,
    id: RequestId,
    piece: &[u8],
    end: bool,
    cx: &mut HttpContext<'_, H>,
) -> bool {
    if !owes(session, id, |a| matches!(a, Answer::Streaming(_))) {
        return false;
    }
    let Phase::Http(http) = &mut session.phase else {
        return false;
    };
    let Some(current) = http.current.as_mut() else {
        return false;
    };
    let Answer::Streaming(framing) = current.answer else {
        return false;
    };
    let out = raw_output(&mut session.raw_out);
    if !current.framing.head_only {
        write_body_piece(out, framing, piece);
        if end && framing == BodyFraming::Chunked {
            out.extend_from_slice(LAST_CHUNK);
        }
    }
    if end {
        current.answer = Answer::Done;
        if framing == BodyFraming::UntilClose {
            current.framing.keep_alive = false;
        }
        finish_if_done(session);
        resume(session, cx);
    }
    true
}

fn owes<S: Socket>(session: &Session<S>, id: RequestId, state: impl Fn(Answer) -> bool) -> bool {
    match &session.phase {
        Phase::Http(http) => http
            .current
            .is_some_and(|c| c.seq == id.seq && state(c.answer)),
        _ => false,
    }
}

/// After a held answer: requests that were kept behind it go on.
fn resume<H: Handler, S: Socket>(session: &mut Session<S>, cx: &mut HttpContext<'_, H>) {
    let idle = match &mut session.phase {
        Phase::Http(http) => {
            http.update_timer(cx.config, Instant::now());
            http.current.is_none()
        }
        _ => false,
    };
    if idle {
        http_bytes(session, &mut [], cx);
    }
}

/// A request that must not be answered normally: its status, then close.
pub(crate) fn reject<S: Socket>(session: &mut Session<S>, rejection: &Rejection) {
    log::debug!(
        "{} request from {:?} refused: {rejection}",
        session.id,
        session.peer()
    );
    session.finish_with(&rejection.response());
}

/// A WebSocket connection accepted by policy and handler, not yet in place.
struct Opened {
    conn: Connection,
    subprotocol: Option<String>,
    /// What `on_open` kept with the connection.
    data: Option<Box<AppData>>,
}

/// Answers an upgrade request: the connection with the 101 queued (and
/// whatever `on_open` sent after it), or the rejection (`None`: the socket
/// has no peer any more).
fn open_websocket<H: Handler, S: Socket>(
    stream: &mut Transport<S>,
    id: ConnId,
    request: &Request<'_>,
    cx: &mut HttpContext<'_, H>,
) -> Result<Opened, Option<Rejection>> {
    let deflate = cx.handler.allows_deflate(request);
    let (accepted, mut conn) = accept_upgrade(request, cx.config, deflate).map_err(Some)?;
    // The 101 goes first in the output, before anything on_open sends
    // (and after any response to an earlier request, still in `raw_out`).
    conn.sender().queue_unsent(&accepted.response());
    // Asked of the socket here rather than kept for every connection.
    let peer = stream.socket().peer_addr().map_err(|_| None)?;
    let upgrade = Upgrade {
        request,
        subprotocol: accepted.subprotocol.as_deref(),
        extensions: accepted.extensions.as_deref(),
        peer,
    };
    let mut data = None;
    let mut c = Conn {
        id,
        tx: conn.sender(),
        stream,
        handle: cx.handle,
        subprotocol: accepted.subprotocol.as_deref(),
        data: &mut data,
        topics: cx.topics,
    };
    if let Err(rejection) = cx.handler.on_open(&mut c, &upgrade) {
        // Refused: whatever it subscribed to in on_open goes with it.
        cx.topics.leave_all(id);
        return Err(Some(rejection));
    }
    log::debug!("{id} open {} from {peer}", request.target);
    Ok(Opened {
        conn,
        subprotocol: accepted.subprotocol,
        data,
    })
}

/// The connection speaks WebSocket from here on. Returns the bytes the
/// reader kept after the upgrade request (early frames).
fn become_websocket<S: Socket>(session: &mut Session<S>, opened: Opened) -> Vec<u8> {
    let kept = match &mut session.phase {
        Phase::Http(http) => http.reader.take_rest(),
        _ => Vec::new(),
    };
    session.subprotocol = opened.subprotocol.map(String::into_boxed_str);
    session.data = opened.data;
    session.phase = Phase::Open(Box::new(opened.conn));
    kept
}

/// Checks the upgrade request against the policy and builds the connection,
/// with permessage-deflate when it was offered, is enabled, and the handler
/// allows it (`deflate`).
fn accept_upgrade(
    request: &Request<'_>,
    config: &ServerConfig,
    deflate: bool,
) -> Result<(handshake::Accepted, Connection), Rejection> {
    #[cfg(not(feature = "deflate"))]
    let _ = deflate;
    handshake::accept_connection(
        request,
        &config.policy,
        config.protocol,
        #[cfg(feature = "deflate")]
        config.deflate.as_ref().filter(|_| deflate),
        Instant::now(),
    )
}
