//! What `simdws serve` answers over Socket.IO at `/socket.io/` (the
//! tutorial's example, extended), with CORS open to any origin and
//! connection-state recovery on.
//!
//! Namespace `/`:
//! * on connection: `news` `{hello: "world"}`;
//! * `anotherNews(data, ack)`: `ack({ok: true, received: data})`;
//! * `whoami(ack)`: `ack({id, auth, query: {q}})`;
//! * `binary(buf, ack)`: `ack({buf, len})`;
//! * `askClient()`: emits `question` asking for an ack, then
//!   `answerReceived(answer)`;
//! * `join(room, ack)`: `ack({joined: room})`;
//! * `toRoom(room, msg, ack)`: `roomMsg {room, msg, from}` to the room but
//!   the sender (on every server linked through `--redis`, Node's too), then
//!   `ack("sent")`; `msg` may be binary;
//! * `drop()`: the connection is dropped (the client reconnects);
//! * `kick()`: the client is disconnected (it does not reconnect);
//! * `echo(...args, ack)`: `ack(...args)`, for load generators;
//! * `tellServers(...args, ack)`: the server-side event `told(...args)` to
//!   every other server on the Redis (Node's `serverSideEmit`), then
//!   `ack(whether linked)`;
//! * `askServers(ack)`: the server-side event `whoIsThere(1)` to every
//!   other server, then `ack([their answers])` (`{timeout: true, answers}`
//!   when some did not answer within 10 s).
//!
//! From other servers (with `--redis`): the server-side event
//! `whoIsThere(...args)` is answered `{server: "simdws", args}` (for Node's
//! `serverSideEmitWithAck`).
//!
//! Connection-state recovery is on: each event the server emits carries
//! an offset as its last argument, and a client whose connection dropped
//! comes back with its id and rooms and gets what it missed.
//!
//! Namespace `/chat`: `welcome {nsp: "/chat"}` on connection, and
//! `msg(m, ack)`: `ack({nsp: "/chat", echo: m})`. Any other namespace is
//! refused.

use std::time::Duration;

use serde_json::{json, Value};
use simdws::socketio::packet::placeholder;
use simdws::socketio::{Ack, RecoveryConfig, Socket, SocketIo, SocketIoConfig};

/// How long `askClient` waits for the client's answer.
const QUESTION_TIMEOUT: Duration = Duration::from_secs(10);

fn first(args: &[Value]) -> Value {
    args.first().cloned().unwrap_or(Value::Null)
}

fn answer(ack: Option<Ack>, args: Vec<Value>) {
    if let Some(ack) = ack {
        ack.send(args);
    }
}

/// Namespace `/`'s connection handler: its events are handled per
/// namespace (see [`server`]), so an idle client costs no handler tables.
fn main_namespace(socket: &Socket, _auth: Option<&Value>) {
    socket.emit("news", vec![json!({"hello": "world"})]);
}

/// Namespace `/`'s events.
fn main_events(io: &SocketIo) {
    io.on("/", "anotherNews", |_, args, _, ack| {
        answer(ack, vec![json!({"ok": true, "received": first(&args)})]);
    });
    io.on("/", "whoami", |socket, _, _, ack| {
        let auth = socket.auth().unwrap_or_else(|| json!({}));
        let query = json!({"q": socket.query("q")});
        answer(
            ack,
            vec![json!({"id": socket.id(), "auth": auth, "query": query})],
        );
    });
    io.on("/", "binary", |_, _, binary, ack| {
        let (Some(ack), Some(buf)) = (ack, binary.into_iter().next()) else {
            return;
        };
        let len = buf.len();
        ack.send_binary(vec![json!({"buf": placeholder(0), "len": len})], vec![buf]);
    });
    io.on("/", "askClient", |socket, _, _, _| {
        let asker = socket.clone();
        let question = vec![json!("what is the answer?")];
        socket.emit_with_ack("question", question, QUESTION_TIMEOUT, move |answer| {
            if let Ok(args) = answer {
                asker.emit("answerReceived", args);
            }
        });
    });
    io.on("/", "join", |socket, args, _, ack| {
        let Some(room) = args.first().and_then(Value::as_str) else {
            return;
        };
        socket.join(room);
        answer(ack, vec![json!({"joined": room})]);
    });
    io.on("/", "toRoom", |socket, args, binary, ack| {
        let Some(room) = args.first().and_then(Value::as_str) else {
            return;
        };
        // A binary message travels as its placeholder and attachment.
        let message = json!({"room": room, "msg": args.get(1), "from": socket.id()});
        socket
            .to(room)
            .emit_binary("roomMsg", vec![message], binary);
        answer(ack, vec![json!("sent")]);
    });
    io.on("/", "drop", |socket, _, _, _| socket.drop_connection());
    io.on("/", "kick", |socket, _, _, _| socket.disconnect(true));
    io.on("/", "echo", |_, args, binary, ack| {
        if let Some(ack) = ack {
            ack.send_binary(args, binary);
        }
    });
    io.on("/", "tellServers", |socket, args, _, ack| {
        let told = socket.io().server_side_emit("/", "told", args);
        answer(ack, vec![json!(told)]);
    });
    // Counting the servers blocks this worker for one round trip to Redis.
    io.on("/", "askServers", |socket, _, _, ack| {
        let Some(ack) = ack else {
            return;
        };
        let question = vec![json!(1)];
        let answered = move |answers| match answers {
            Ok(answers) => ack.send(vec![json!(answers)]),
            Err(some) => ack.send(vec![json!({"timeout": true, "answers": some})]),
        };
        let io = socket.io();
        io.server_side_emit_with_ack("/", "whoIsThere", question, QUESTION_TIMEOUT, answered);
    });
    io.on_server_event("/", "whoIsThere", |args, ack| {
        if let Some(ack) = ack {
            ack.send(json!({"server": "simdws", "args": args}));
        }
    });
}

fn chat_namespace(socket: &Socket, _auth: Option<&Value>) {
    socket.emit("welcome", vec![json!({"nsp": "/chat"})]);
}

/// The Socket.IO server `serve` mounts; with `redis`, its rooms are shared
/// with every simdws and Node `socket.io` server on that Redis.
pub fn server(redis: Option<String>) -> SocketIo {
    let io = SocketIo::new(SocketIoConfig {
        cors: true,
        recovery: Some(RecoveryConfig::default()),
        redis,
        ..SocketIoConfig::default()
    });
    io.ns("/", main_namespace);
    main_events(&io);
    io.ns("/chat", chat_namespace);
    io.on("/chat", "msg", |_, args, _, ack| {
        answer(ack, vec![json!({"nsp": "/chat", "echo": first(&args)})]);
    });
    io
}
