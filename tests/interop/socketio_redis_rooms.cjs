// Socket.IO rooms across processes: `simdws serve --redis` processes and
// one Node socket.io server on @socket.io/redis-adapter 8.3, all on one
// redis-server. The official client connects to each server (WebSocket,
// and polling upgraded); members join one room, and on every server one
// client stays out.
// * Every member's room message (one of them binary) reaches every other
//   member on every server exactly once, never its sender, never an
//   outsider.
// * Node's adapter API sees the simdws servers: serverCount, allRooms,
//   fetchSockets, a broadcast with `except`, a broadcast that wants acks,
//   and socketsJoin; server-side events go both ways.
//   node tests/interop/socketio_redis_rooms.cjs redis://H:P NODE_URL SIMDWS_URL...
const assert = require("node:assert/strict");
const { io } = require("socket.io-client");
const { createClient } = require("redis");

const [redisUrl, nodeUrl, ...simdwsUrls] = process.argv.slice(2);
const servers = [nodeUrl, ...simdwsUrls];
const ROOM = "lobby";
const SETTLE_MS = 1500;

function once(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
}

function connect(url, transports) {
  const socket = io(url, { transports, forceNew: true, reconnection: false });
  socket.server = url;
  socket.got = [];
  // serve's events carry a recovery offset last; Node's do not.
  socket.on("roomMsg", (message) => socket.got.push(message));
  socket.on("question?", (...args) => args[args.length - 1](`answer from ${socket.id}`));
  return new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", reject);
  });
}

async function allLinked(redis) {
  for (let i = 0; i < 100; i++) {
    const counts = await redis.pubSubNumSub("socket.io-request#/#");
    if (counts["socket.io-request#/#"] === servers.length) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`not every server subscribed to ${redisUrl}`);
}

const settle = () => new Promise((r) => setTimeout(r, SETTLE_MS));
const ask = (socket, ...args) => socket.timeout(5000).emitWithAck(...args);

async function main() {
  const redis = createClient({ url: redisUrl });
  await redis.connect();
  await allLinked(redis);

  const members = [];
  const outsiders = [];
  for (const url of servers) {
    members.push(await connect(url, ["websocket"]));
    members.push(await connect(url, ["polling", "websocket"]));
    outsiders.push(await connect(url, ["websocket"]));
  }
  for (const m of members) assert.deepEqual(await ask(m, "join", ROOM), { joined: ROOM });

  // Every member speaks once; the last sends bytes.
  const bytes = Buffer.from([0, 1, 2, 255]);
  for (const [i, m] of members.entries()) {
    const msg = i === members.length - 1 ? bytes : `hello ${i}`;
    assert.equal(await ask(m, "toRoom", ROOM, msg), "sent");
  }
  await settle();
  for (const m of members) {
    const from = m.got.map((g) => g.from).sort();
    const others = members.filter((o) => o !== m).map((o) => o.id).sort();
    assert.deepEqual(from, others, `${m.id} on ${m.server}: every other member once, never itself`);
    const binary = m.got.find((g) => Buffer.isBuffer(g.msg));
    if (m !== members[members.length - 1]) {
      assert.ok(binary, `${m.server}: the binary message arrived as bytes`);
      assert.deepEqual([...binary.msg], [...bytes]);
    }
  }
  for (const o of outsiders) assert.equal(o.got.length, 0, `outsider on ${o.server} got ${o.got.length}`);
  console.log(`socket.io rooms across ${servers.length} servers: ${members.length} members, each got the ${members.length - 1} others' messages once`);

  // Node's adapter asks the others.
  const node = members[0];
  assert.equal(await ask(node, "count"), servers.length);
  const rooms = await ask(node, "rooms");
  assert.ok(rooms.includes(ROOM));
  for (const s of [...members, ...outsiders]) assert.ok(rooms.includes(s.id), `allRooms holds ${s.id}`);
  const fetched = (await ask(node, "fetch", ROOM)).sort();
  assert.deepEqual(fetched, members.map((m) => m.id).sort(), "fetchSockets finds every member");

  // `except`: one member on a simdws server is in room "quiet" and is left out.
  for (const m of members) m.got = [];
  const quiet = members[2];
  await ask(quiet, "join", "quiet");
  await ask(node, "except", ROOM, "quiet", "not for quiet");
  await settle();
  for (const m of members) assert.equal(m.got.length, m === quiet ? 0 : 1, `except: ${m.id} on ${m.server}`);

  // A broadcast that wants acks: every member answers, wherever it is.
  const answers = await ask(node, "askRoom", ROOM);
  assert.deepEqual(answers, members.map((m) => `answer from ${m.id}`).sort());

  // socketsJoin reaches the sockets on the simdws servers.
  assert.equal(await ask(node, "joinAll", "quiet", "late"), "joined");
  await settle();
  const lateRooms = await ask(node, "rooms");
  assert.ok(lateRooms.includes("late"), "the simdws socket joined room late");
  for (const m of members) m.got = [];
  await ask(members[1], "toRoom", "late", "to the late room");
  await settle();
  for (const m of members) assert.equal(m.got.length, m === quiet ? 1 : 0, `late: ${m.id}`);

  console.log("socket.io redis adapter: serverCount, allRooms, fetchSockets, except, acks and socketsJoin see the simdws servers");

  // Server-side events both ways: Node's serverSideEmitWithAck gets one
  // answer from each simdws server, and a simdws server's serverSideEmit
  // reaches Node's `io.on`.
  const serverAnswers = await ask(node, "askServers");
  assert.deepEqual(serverAnswers, simdwsUrls.map(() => ({ server: "simdws", args: [1] })));
  const simdwsMember = members.find((m) => m.server !== nodeUrl);
  assert.equal(await ask(simdwsMember, "tellServers", "hello servers", 2), true);
  await settle();
  assert.deepEqual(await ask(node, "told"), [["hello servers", 2]]);
  // ...and a simdws server's serverSideEmitWithAck gets each other server's answer.
  const key = (a) => `${a.server} ${JSON.stringify(a.args)}`;
  const gathered = (await ask(simdwsMember, "askServers")).map(key).sort();
  const expected = [{ server: "node", args: [1] }, ...simdwsUrls.slice(1).map(() => ({ server: "simdws", args: [1] }))];
  assert.deepEqual(gathered, expected.map(key).sort());
  console.log("socket.io redis adapter: server-side events both ways between Node and the simdws servers, with acks");
  for (const s of [...members, ...outsiders]) s.disconnect();
  await redis.quit();
}

main().then(() => process.exit(0), (e) => { console.error(e); process.exit(1); });
