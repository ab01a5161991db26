//! WebSocket bytes to the handler's callbacks: a client connection's
//! handshake response, then frames decoded in place, each event handed to
//! the handler with the connection's sending half to answer on.

use std::time::Instant;

use crate::net::close::CloseReason;
use crate::net::handle::ServerHandle;
use crate::net::handler::{Conn, Handler, Message};
use crate::net::session::{Phase, Session};
use crate::net::topics::Topics;
use crate::net::transport::Socket;
use crate::protocol::{receive_split, Connection, Event, Sender};

/// Bytes of a client connection's handshake response.
#[inline(never)]
pub(super) fn response_bytes<H: Handler, S: Socket>(
    session: &mut Session<S>,
    input: &mut [u8],
    handler: &mut H,
    handle: &ServerHandle,
    topics: &mut Topics,
) {
    let Phase::Connecting {
        request,
        options,
        head,
        ..
    } = &mut session.phase
    else {
        return;
    };
    head.extend_from_slice(input);
    let (response, len) = match request.verify(head, 16 << 10) {
        Ok(Some(verified)) => verified,
        Ok(None) => return,
        Err(e) => {
            session.note_close(CloseReason::Handshake(e.to_string()));
            session.doomed = true;
            return;
        }
    };
    let mut conn = match options.connection(&response, Instant::now()) {
        Ok(conn) => conn,
        Err(e) => {
            session.note_close(CloseReason::Handshake(e.to_string()));
            session.doomed = true;
            return;
        }
    };
    conn.set_delivery(handler.delivery());
    let mut rest = std::mem::take(head);
    session.subprotocol = response.subprotocol.clone().map(String::into_boxed_str);
    session.phase = Phase::Open(Box::new(conn));
    if let Phase::Open(conn) = &mut session.phase {
        let mut c = Conn {
            id: session.id,
            tx: conn.sender(),
            stream: &mut session.stream,
            handle,
            subprotocol: session.subprotocol.as_deref(),
            data: &mut session.data,
            topics,
        };
        handler.on_connect(&mut c, &response);
    }
    if len < rest.len() {
        frame_bytes(session, &mut rest[len..], handler, handle, topics);
    }
}

/// Decodes frames in place and hands each event to the handler, with the
/// connection's sending half to answer on.
///
/// One [`Conn`] serves the whole read: its sender holds the connection's
/// core, which each frame's receiving borrows back
/// ([`receive_split`]), so nothing is rebuilt per message.
pub(crate) fn frame_bytes<H: Handler, S: Socket>(
    session: &mut Session<S>,
    input: &mut [u8],
    handler: &mut H,
    handle: &ServerHandle,
    topics: &mut Topics,
) {
    let Phase::Open(conn) = &mut session.phase else {
        return;
    };
    let Connection {
        core,
        decoder,
        assembler,
    } = &mut **conn;
    let mut c = Conn {
        id: session.id,
        tx: Sender::new(core),
        stream: &mut session.stream,
        handle,
        subprotocol: session.subprotocol.as_deref(),
        data: &mut session.data,
        topics,
    };
    let mut at = 0;
    while at < input.len() {
        let Some(received) = receive_split(c.tx.core(), decoder, assembler, &mut input[at..])
        else {
            let reason = c.tx.core().failure.as_ref().map(|error| {
                log::debug!("{}: {error}", c.id);
                CloseReason::of_error(error)
            });
            if let Some(reason) = reason {
                session.note_close(reason);
            }
            return;
        };
        at += received.consumed;
        let Some(event) = received.event else {
            continue;
        };
        match event {
            Event::Text(text) => handler.on_message(&mut c, Message::Text(text)),
            Event::Binary(data) => handler.on_message(&mut c, Message::Binary(data)),
            Event::Ping(payload) => handler.on_ping(&mut c, payload),
            Event::Pong(payload) => handler.on_pong(&mut c, payload),
            Event::Fragment(fragment) => handler.on_fragment(&mut c, fragment),
            Event::Close(frame) => {
                session.close_info = Some(Box::new(CloseReason::Peer(frame.to_owned())));
            }
        }
    }
}
