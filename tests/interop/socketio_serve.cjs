// The official socket.io-client against `simdws serve`'s Socket.IO
// contract (src/bin/simdws/socketio.rs), over WebSocket only, polling only
// and polling upgraded: news on connection, acks both ways, auth and
// query, binary, rooms between two clients, the /chat namespace, an
// unknown namespace refused; then a dropped connection the client comes
// back from by itself (connection-state recovery: same id, same rooms, the
// events it missed), and a kick it does not come back from.
// With recovery on, each event the server emits carries an offset as its
// last argument: the checks look at the arguments before it.
//   node tests/interop/socketio_serve.cjs http://127.0.0.1:PORT
const assert = require("node:assert/strict");
const { io } = require("socket.io-client");
const url = process.argv[2];

function once(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

function client(transports, options = {}, nsp = "") {
  return io(`${url}${nsp}`, { transports, forceNew: true, reconnection: false, ...options });
}

async function contract(transports) {
  const name = transports.join("+");
  const a = client(transports, { auth: { user: "alice" }, query: { q: "hello world" } });
  const [news] = await once(a, "news");
  assert.deepEqual(news, { hello: "world" });

  assert.deepEqual(await a.timeout(5000).emitWithAck("anotherNews", { n: 1 }), { ok: true, received: { n: 1 } });

  const me = await a.timeout(5000).emitWithAck("whoami");
  assert.equal(me.id, a.id);
  assert.deepEqual(me.auth, { user: "alice" });
  assert.deepEqual(me.query, { q: "hello world" });

  const bin = await a.timeout(5000).emitWithAck("binary", Buffer.from([9, 8, 7]));
  assert.equal(bin.len, 3);
  assert.deepEqual([...bin.buf], [9, 8, 7]);

  // The server asks, the client answers through its ack, the server says so.
  a.once("question", (text, callback) => { assert.equal(text, "what is the answer?"); callback(42); });
  const received = once(a, "answerReceived");
  a.emit("askClient");
  assert.equal((await received)[0], 42);

  assert.deepEqual(await a.timeout(5000).emitWithAck("echo", 1, "two", [3]), 1);

  // Rooms: b and c join, a sends; b and c get it, a (not in it) does not.
  const b = client(transports);
  const c = client(transports);
  await Promise.all([once(b, "news"), once(c, "news")]);
  assert.deepEqual(await b.timeout(5000).emitWithAck("join", "lobby"), { joined: "lobby" });
  assert.deepEqual(await c.timeout(5000).emitWithAck("join", "lobby"), { joined: "lobby" });
  let aGotIt = false;
  a.on("roomMsg", () => { aGotIt = true; });
  const atB = once(b, "roomMsg");
  const atC = once(c, "roomMsg");
  assert.equal(await a.timeout(5000).emitWithAck("toRoom", "lobby", "hi all"), "sent");
  assert.deepEqual((await atB)[0], { room: "lobby", msg: "hi all", from: a.id });
  assert.deepEqual((await atC)[0], { room: "lobby", msg: "hi all", from: a.id });
  // The sender is left out even when it is in the room.
  let bGotOwn = false;
  b.on("roomMsg", () => { bGotOwn = true; });
  const cAgain = once(c, "roomMsg");
  await b.timeout(5000).emitWithAck("toRoom", "lobby", "from b");
  await cAgain;
  await new Promise((r) => setTimeout(r, 100));
  assert.equal(aGotIt, false, "a, outside the room, got the room's message");
  assert.equal(bGotOwn, false, "the sender got its own room message");

  const chat = client(transports, {}, "/chat");
  const [welcome] = await once(chat, "welcome");
  assert.deepEqual(welcome, { nsp: "/chat" });
  assert.deepEqual(await chat.timeout(5000).emitWithAck("msg", "yo"), { nsp: "/chat", echo: "yo" });

  for (const s of [a, b, c, chat]) s.disconnect();
  console.log(`serve over ${name}: news, acks both ways, auth and query, binary, rooms, /chat ✓`);
}

async function recovery(transports) {
  const a = io(url, { transports, forceNew: true, reconnectionDelay: 300, reconnectionDelayMax: 400 });
  const b = client(transports);
  await Promise.all([once(a, "news"), once(b, "news")]);
  await a.timeout(5000).emitWithAck("join", "crew");
  const firstId = a.id;
  const dropped = once(a, "disconnect");
  a.emit("drop");
  await dropped;
  // While a is away, b writes to the room a is in.
  const missed = once(a, "roomMsg", 5000);
  assert.equal(await b.timeout(5000).emitWithAck("toRoom", "crew", "while you were away"), "sent");
  await once(a, "connect", 5000);
  assert.equal(a.recovered, true);
  assert.equal(a.id, firstId);
  assert.equal((await missed)[0].msg, "while you were away", "the missed event was replayed");
  // The room came back with it.
  const again = once(a, "roomMsg");
  await b.timeout(5000).emitWithAck("toRoom", "crew", "welcome back");
  assert.equal((await again)[0].msg, "welcome back");
  a.close();
  b.disconnect();
  console.log(`serve over ${transports.join("+")}: connection-state recovery (id, rooms, a missed event) ✓`);
}

async function unknownNamespace() {
  const s = client(["websocket"], {}, "/nope");
  const [error] = await once(s, "connect_error");
  assert.equal(error.message, "Invalid namespace");
  s.disconnect();
  console.log("serve: an unknown namespace refused ✓");
}

async function dropAndKick(transports) {
  const s = io(url, { transports, forceNew: true, reconnectionDelay: 100, reconnectionDelayMax: 200 });
  await once(s, "connect");
  const firstId = s.id;
  const dropped = once(s, "disconnect");
  s.emit("drop");
  const [reason] = await dropped;
  assert.equal(reason, "transport close");
  await once(s, "connect", 5000);
  assert.equal(s.recovered, true, "the dropped socket was recovered");
  assert.equal(s.id, firstId, "a recovered socket keeps its id");

  const kicked = once(s, "disconnect");
  s.emit("kick");
  const [why] = await kicked;
  assert.equal(why, "io server disconnect");
  await new Promise((r) => setTimeout(r, 500));
  assert.equal(s.connected, false, "reconnected after a kick");
  s.close();
  console.log(`serve over ${transports.join("+")}: a dropped client reconnects, a kicked one does not ✓`);
}

(async () => {
  for (const transports of [["websocket"], ["polling"], ["polling", "websocket"]]) {
    await contract(transports);
    await dropAndKick(transports);
    await recovery(transports);
  }
  await unknownNamespace();
  process.exit(0);
})().catch((e) => {
  console.error("FAILED:", e);
  process.exit(1);
});
