// Our own harness for the 56 cases of the two upstream protocol suites
// (engine.io-protocol's 24 and socket.io-protocol's 32), written again from
// their descriptions: the suites carry no licence. A raw client made of
// fetch and npm `ws` talks to examples/socketio_conformance (ping every
// 300 ms, 200 ms to answer, 1 s to join a namespace) and checks the bytes:
// raw Engine.IO at /engine.io/, Socket.IO at /socket.io/. Then hostile
// inputs: an oversized body, too many attachments, a held GET when its
// session times out, an unknown sid.
//   node tests/interop/socketio_protocol.cjs http://127.0.0.1:PORT
const assert = require("node:assert/strict");
const WebSocket = require("ws");

const base = process.argv[2];
const wsBase = base.replace(/^http/, "ws");
let PATH = "/socket.io/"; // set by each group of cases below
const PING_INTERVAL = 300;
const PING_TIMEOUT = 200;

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

async function get(query) {
  return fetch(`${base}${PATH}?${query}`);
}

async function post(query, body) {
  return fetch(`${base}${PATH}?${query}`, { method: "POST", body });
}

/** A polling session: its sid, after checking the open packet. */
async function openPolling() {
  const response = await get("EIO=4&transport=polling");
  assert.equal(response.status, 200);
  const body = await response.text();
  assert.equal(body[0], "0");
  return JSON.parse(body.slice(1)).sid;
}

/** A WebSocket whose messages queue up, read with next(). */
function connect(query = "EIO=4&transport=websocket") {
  const socket = new WebSocket(`${wsBase}${PATH}?${query}`);
  socket.binaryType = "nodebuffer";
  const queue = [];
  const waiters = [];
  let closed = false;
  const push = (item) => (waiters.length ? waiters.shift()(item) : queue.push(item));
  socket.on("message", (data, isBinary) => push(isBinary ? data : data.toString()));
  socket.on("close", () => { closed = true; push({ closed: true }); });
  socket.on("unexpected-response", (_, res) => { closed = true; push({ refused: res.statusCode }); });
  socket.on("error", () => {});
  const next = (ms = 2000) =>
    queue.length
      ? Promise.resolve(queue.shift())
      : new Promise((resolve, reject) => {
          const timer = setTimeout(() => reject(new Error(`nothing within ${ms} ms`)), ms);
          waiters.push((item) => { clearTimeout(timer); resolve(item); });
        });
  const opened = new Promise((resolve) => {
    socket.on("open", resolve);
    socket.on("unexpected-response", resolve);
  });
  return { socket, next, opened, isClosed: () => closed };
}

/** The next message, after skipping pings (answered) when asked to. */
async function nextSkippingPings(ws) {
  for (;;) {
    const message = await ws.next();
    if (message === "2") {
      ws.socket.send("3");
      continue;
    }
    return message;
  }
}

/** A WebSocket session: the open packet read. */
async function openWebSocket() {
  const ws = connect();
  const open = await ws.next();
  assert.equal(open[0], "0");
  return ws;
}

/** A WebSocket session joined to the main namespace. */
async function joined() {
  const ws = await openWebSocket();
  ws.socket.send("40");
  assert.match(await ws.next(), /^40\{"sid":"[^"]+"\}$/);
  assert.equal(await ws.next(), '42["auth",{}]');
  return ws;
}

async function expectClosed(ws, ms = 2000) {
  for (;;) {
    const message = await ws.next(ms);
    if (message && message.closed) return;
  }
}

const cases = [];
const test = (name, fn) => {
  const path = PATH;
  cases.push({ name: `${path} ${name}`, fn, path });
};

// ==== engine.io-protocol: 24 cases on raw Engine.IO (an echo) =============
PATH = "/engine.io/";
engineCases();
// ==== socket.io-protocol: 32 cases ===========================================
PATH = "/socket.io/";
engineCases({ messages: false });

function engineCases({ messages = true } = {}) {
// ---- Engine.IO: handshake over long-polling ----------------------------
test("polling: opens a session with exactly the five keys", async () => {
  const response = await get("EIO=4&transport=polling");
  assert.equal(response.status, 200);
  const body = await response.text();
  assert.equal(body[0], "0");
  const open = JSON.parse(body.slice(1));
  assert.deepEqual(Object.keys(open).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
  assert.deepEqual(open.upgrades, ["websocket"]);
  assert.equal(open.pingInterval, PING_INTERVAL);
  assert.equal(open.pingTimeout, PING_TIMEOUT);
  assert.equal(open.maxPayload, 1000000);
});
test("polling: an invalid EIO is 400", async () => {
  assert.equal((await get("transport=polling")).status, 400);
  assert.equal((await get("EIO=abc&transport=polling")).status, 400);
});
test("polling: an invalid transport is 400", async () => {
  assert.equal((await get("EIO=4")).status, 400);
  assert.equal((await get("EIO=4&transport=abc")).status, 400);
});
test("polling: a new session by POST or PUT is 400", async () => {
  assert.equal((await post("EIO=4&transport=polling", "")).status, 400);
  const put = await fetch(`${base}${PATH}?EIO=4&transport=polling`, { method: "PUT" });
  assert.equal(put.status, 400);
});

// ---- Engine.IO: handshake over WebSocket --------------------------------
test("websocket: opens a session with no upgrades", async () => {
  const ws = connect();
  const open = await ws.next();
  assert.equal(open[0], "0");
  const packet = JSON.parse(open.slice(1));
  assert.deepEqual(Object.keys(packet).sort(), ["maxPayload", "pingInterval", "pingTimeout", "sid", "upgrades"]);
  assert.deepEqual(packet.upgrades, []);
  ws.socket.close();
});
test("websocket: an invalid EIO is refused", async () => {
  for (const query of ["transport=websocket", "EIO=abc&transport=websocket"]) {
    const ws = connect(query);
    assert.deepEqual(await ws.next(), { refused: 400 });
  }
});
test("websocket: an invalid transport is refused", async () => {
  for (const query of ["EIO=4", "EIO=4&transport=abc"]) {
    const ws = connect(query);
    assert.deepEqual(await ws.next(), { refused: 400 });
  }
});


if (messages) {
  test("polling: one text packet is echoed", async () => {
    const sid = await openPolling();
    assert.equal(await (await post(`EIO=4&transport=polling&sid=${sid}`, "4hello")).text(), "ok");
    assert.equal(await (await get(`EIO=4&transport=polling&sid=${sid}`)).text(), "4hello");
  });
  test("polling: several text packets come back in one GET", async () => {
    const sid = await openPolling();
    await post(`EIO=4&transport=polling&sid=${sid}`, "4test1\x1e4test2\x1e4test3");
    assert.equal(await (await get(`EIO=4&transport=polling&sid=${sid}`)).text(), "4test1\x1e4test2\x1e4test3");
  });
  test("polling: text and binary packets are echoed byte for byte", async () => {
    const sid = await openPolling();
    await post(`EIO=4&transport=polling&sid=${sid}`, "4hello\x1ebAQIDBA==");
    assert.equal(await (await get(`EIO=4&transport=polling&sid=${sid}`)).text(), "4hello\x1ebAQIDBA==");
  });
  test("polling: an invalid packet ends the session", async () => {
    const sid = await openPolling();
    assert.equal((await post(`EIO=4&transport=polling&sid=${sid}`, "abc")).status, 400);
    assert.equal((await get(`EIO=4&transport=polling&sid=${sid}`)).status, 400);
  });
  test("polling: two GETs at once end the session", async () => {
    const sid = await openPolling();
    const first = get(`EIO=4&transport=polling&sid=${sid}`);
    await sleep(20);
    const second = await get(`EIO=4&transport=polling&sid=${sid}`);
    assert.equal(second.status, 400);
    assert.equal(await (await first).text(), "1");
    assert.equal((await get(`EIO=4&transport=polling&sid=${sid}`)).status, 400);
  });
  test("websocket: a text packet is echoed", async () => {
    const ws = await openWebSocket();
    ws.socket.send("4hello");
    assert.equal(await ws.next(), "4hello");
    ws.socket.close();
  });
  test("websocket: a binary packet is echoed as a raw binary frame", async () => {
    const ws = await openWebSocket();
    ws.socket.send(Buffer.from([1, 2, 3, 4]));
    assert.deepEqual([...(await ws.next())], [1, 2, 3, 4]);
    ws.socket.close();
  });
  test("websocket: an invalid packet closes", async () => {
    const ws = await openWebSocket();
    ws.socket.send("abc");
    await expectClosed(ws);
  });
}

// ---- Engine.IO: heartbeat -------------------------------------------------
test("polling: pings come an interval apart and pongs keep the session", async () => {
  const sid = await openPolling();
  for (let i = 0; i < 3; i++) {
    const started = Date.now();
    const response = await get(`EIO=4&transport=polling&sid=${sid}`);
    assert.equal(await response.text(), "2");
    assert.ok(Date.now() - started >= PING_INTERVAL - 50, "a ping came early");
    assert.equal(await (await post(`EIO=4&transport=polling&sid=${sid}`, "3")).text(), "ok");
  }
});
test("polling: no pong closes the session after the timeout", async () => {
  const sid = await openPolling();
  await sleep(PING_INTERVAL + PING_TIMEOUT + 100);
  assert.equal((await get(`EIO=4&transport=polling&sid=${sid}`)).status, 400);
});
test("websocket: pings come an interval apart and pongs keep the session", async () => {
  const ws = await openWebSocket();
  for (let i = 0; i < 3; i++) {
    assert.equal(await ws.next(), "2");
    ws.socket.send("3");
  }
  assert.equal(ws.isClosed(), false);
  ws.socket.close();
});
test("websocket: no pong closes the session after the timeout", async () => {
  const ws = await openWebSocket();
  assert.equal(await ws.next(), "2");
  await expectClosed(ws, PING_TIMEOUT + 500);
});

// ---- Engine.IO: close -------------------------------------------------------
test("polling: a close packet answers the held GET with a noop and ends the session", async () => {
  const sid = await openPolling();
  const held = get(`EIO=4&transport=polling&sid=${sid}`);
  await sleep(20);
  const closing = await post(`EIO=4&transport=polling&sid=${sid}`, "1");
  assert.equal(closing.status, 200);
  assert.equal(await (await held).text(), "6");
  assert.equal((await get(`EIO=4&transport=polling&sid=${sid}`)).status, 400);
});
test("websocket: a close packet ends the session", async () => {
  const ws = await openWebSocket();
  ws.socket.send("1");
  await expectClosed(ws);
});

// ---- Engine.IO: upgrade -------------------------------------------------------
async function upgraded() {
  const sid = await openPolling();
  const ws = connect(`EIO=4&transport=websocket&sid=${sid}`);
  await ws.opened;
  ws.socket.send("2probe");
  assert.equal(await ws.next(), "3probe");
  // A GET while the client moves over is let go at once.
  const during = await get(`EIO=4&transport=polling&sid=${sid}`);
  assert.equal(await during.text(), "6");
  ws.socket.send("5");
  return { sid, ws };
}
test("upgrade: polling moves to WebSocket through the probe", async () => {
  const { ws } = await upgraded();
  if (messages) {
    ws.socket.send("4hello");
    assert.equal(await nextSkippingPings(ws), "4hello");
  } else {
    ws.socket.send("40");
    assert.match(await nextSkippingPings(ws), /^40\{"sid":/);
  }
  ws.socket.close();
});
test("upgrade: polling with the same sid is refused afterwards", async () => {
  const { sid, ws } = await upgraded();
  await sleep(20);
  assert.equal((await get(`EIO=4&transport=polling&sid=${sid}`)).status, 400);
  ws.socket.close();
});
test("upgrade: a second WebSocket with the same sid is refused", async () => {
  const { sid, ws } = await upgraded();
  await sleep(20);
  const second = connect(`EIO=4&transport=websocket&sid=${sid}`);
  const first = await second.next();
  assert.ok(first.refused === 400 || first.closed, `got ${JSON.stringify(first)}`);
  ws.socket.close();
});

}

// ---- Socket.IO: connect -----------------------------------------------------------
test("connect: the main namespace answers with only a sid, then auth", async () => {
  const ws = await openWebSocket();
  ws.socket.send("40");
  const reply = await ws.next();
  assert.equal(reply.slice(0, 2), "40");
  assert.deepEqual(Object.keys(JSON.parse(reply.slice(2))), ["sid"]);
  assert.equal(await ws.next(), '42["auth",{}]');
  ws.socket.close();
});
test("connect: the main namespace with an auth payload", async () => {
  const ws = await openWebSocket();
  ws.socket.send('40{"token":"123"}');
  assert.match(await ws.next(), /^40\{"sid":/);
  assert.equal(await ws.next(), '42["auth",{"token":"123"}]');
  ws.socket.close();
});
test("connect: a custom namespace", async () => {
  const ws = await openWebSocket();
  ws.socket.send("40/custom,");
  assert.match(await ws.next(), /^40\/custom,\{"sid":"[^"]+"\}$/);
  assert.equal(await ws.next(), '42/custom,["auth",{}]');
  ws.socket.close();
});
test("connect: a custom namespace with an auth payload", async () => {
  const ws = await openWebSocket();
  ws.socket.send('40/custom,{"token":"abc"}');
  assert.match(await ws.next(), /^40\/custom,\{"sid":/);
  assert.equal(await ws.next(), '42/custom,["auth",{"token":"abc"}]');
  ws.socket.close();
});
test("connect: an unknown namespace is refused", async () => {
  const ws = await openWebSocket();
  ws.socket.send("40/random");
  assert.equal(await ws.next(), '44/random,{"message":"Invalid namespace"}');
  ws.socket.close();
});
test("connect: an invalid handshake closes", async () => {
  const ws = await openWebSocket();
  ws.socket.send("4abc");
  await expectClosed(ws);
});
test("connect: no handshake within the connect timeout closes", async () => {
  const ws = await openWebSocket();
  const started = Date.now();
  for (;;) {
    const message = await ws.next(3000);
    if (message === "2") { ws.socket.send("3"); continue; }
    assert.deepEqual(message, { closed: true });
    break;
  }
  assert.ok(Date.now() - started >= 900, "closed before the connect timeout");
});

// ---- Socket.IO: disconnect ---------------------------------------------------------
test("disconnect: leaving the main namespace keeps the connection", async () => {
  const ws = await joined();
  ws.socket.send("41");
  assert.equal(await ws.next(), "2");
  assert.equal(ws.isClosed(), false);
  ws.socket.close();
});
test("disconnect: joining and leaving a custom namespace, the main one still answers", async () => {
  const ws = await joined();
  ws.socket.send("40/custom");
  assert.match(await ws.next(), /^40\/custom,\{"sid":/);
  assert.equal(await ws.next(), '42/custom,["auth",{}]');
  ws.socket.send("41/custom");
  ws.socket.send('42["message","after"]');
  assert.equal(await nextSkippingPings(ws), '42["message-back","after"]');
  ws.socket.close();
});

// ---- Socket.IO: messages ---------------------------------------------------------------
test("message: a plain-text event is echoed", async () => {
  const ws = await joined();
  ws.socket.send('42["message",1,"2",{"3":[true]}]');
  assert.equal(await nextSkippingPings(ws), '42["message-back",1,"2",{"3":[true]}]');
  ws.socket.close();
});
const placeholders = '{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}';
test("message: an event with binary attachments is echoed with them", async () => {
  const ws = await joined();
  ws.socket.send(`452-["message",${placeholders}]`);
  ws.socket.send(Buffer.from([1, 2, 3]));
  ws.socket.send(Buffer.from([4, 5, 6]));
  assert.equal(await nextSkippingPings(ws), `452-["message-back",${placeholders}]`);
  assert.deepEqual([...(await nextSkippingPings(ws))], [1, 2, 3]);
  assert.deepEqual([...(await nextSkippingPings(ws))], [4, 5, 6]);
  ws.socket.close();
});
test("message: an event with an ack is acked", async () => {
  const ws = await joined();
  ws.socket.send('42456["message-with-ack",1,"2",{"3":[false]}]');
  assert.equal(await nextSkippingPings(ws), '43456[1,"2",{"3":[false]}]');
  ws.socket.close();
});
test("message: an event with binary attachments and an ack is acked with them", async () => {
  const ws = await joined();
  ws.socket.send(`452-789["message-with-ack",${placeholders}]`);
  ws.socket.send(Buffer.from([1, 2, 3]));
  ws.socket.send(Buffer.from([4, 5, 6]));
  assert.equal(await nextSkippingPings(ws), `462-789[${placeholders}]`);
  assert.deepEqual([...(await nextSkippingPings(ws))], [1, 2, 3]);
  assert.deepEqual([...(await nextSkippingPings(ws))], [4, 5, 6]);
  ws.socket.close();
});
for (const [name, bad] of [
  ["an unknown packet type", "4abc"],
  ["an invalid payload", "42{}"],
  ["an invalid ack id", '42abc["message-with-ack",1]'],
]) {
  test(`message: ${name} closes the connection`, async () => {
    const ws = await joined();
    ws.socket.send(bad);
    await expectClosed(ws);
  });
}

// ==== hostile inputs, beyond the suites ========================================
PATH = "/socket.io/";
test("hostile: a polling body of 1,000,001 bytes is 413 and ends the session", async () => {
  const sid = await openPolling();
  const response = await post(`EIO=4&transport=polling&sid=${sid}`, "4" + "x".repeat(1000000));
  assert.equal(response.status, 413);
  assert.equal((await get(`EIO=4&transport=polling&sid=${sid}`)).status, 400);
});
test("hostile: a packet announcing 11 attachments closes", async () => {
  const ws = await joined();
  ws.socket.send('4511-["message"]');
  await expectClosed(ws);
});
test("hostile: a held GET is answered when its session times out", async () => {
  const sid = await openPolling();
  // The ping comes after 300 ms and is not answered; the next GET is held
  // until the 200 ms timeout ends the session, and is answered then.
  assert.equal(await (await get(`EIO=4&transport=polling&sid=${sid}`)).text(), "2");
  const started = Date.now();
  const held = await get(`EIO=4&transport=polling&sid=${sid}`);
  assert.equal(held.status, 200);
  assert.equal(await held.text(), "1");
  assert.ok(Date.now() - started < PING_TIMEOUT + 300, "answered late");
});
test("hostile: an unknown sid is 400 with Node's code 1", async () => {
  const response = await get("EIO=4&transport=polling&sid=nope");
  assert.equal(response.status, 400);
  assert.deepEqual(await response.json(), { code: 1, message: "Session ID unknown" });
});

(async () => {
  let failed = 0;
  for (const { name, fn, path } of cases) {
    PATH = path;
    try {
      await fn();
      console.log(`  ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`  FAIL ${name}: ${e.message}`);
    }
  }
  console.log(`protocol cases: ${cases.length - failed} of ${cases.length} passed`);
  process.exit(failed ? 1 : 0);
})();
