// The official socket.io-client against examples/socketio_conformance, over each
// transport: WebSocket only, long-polling only, and polling upgraded to
// WebSocket (the client's default). Each run joins with an auth payload,
// has an event with a binary argument echoed, gets an ack, and checks the
// transport it ended on. Then: an unknown namespace is refused, and
// /custom answers with its own auth event. Exits non-zero on any failure.
//   node tests/interop/socketio_client.cjs http://127.0.0.1:PORT
const assert = require("node:assert/strict");
const { io } = require("socket.io-client");
const url = process.argv[2];

function once(socket, event, ms = 5000) {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event} within ${ms} ms`)), ms);
    socket.once(event, (...args) => { clearTimeout(timer); resolve(args); });
    socket.once("connect_error", (e) => { clearTimeout(timer); reject(e); });
  });
}

async function roundTrip(transports, expectedTransport) {
  const socket = io(url, { transports, auth: { token: "123" }, reconnection: false, forceNew: true });
  try {
    const [auth] = await once(socket, "auth");
    assert.deepEqual(auth, { token: "123" });
    const back = once(socket, "message-back");
    socket.emit("message", 1, "2", { 3: [true] }, Buffer.from([1, 2, 3]), "é😀");
    const echoed = await back;
    assert.deepEqual(echoed.slice(0, 3), [1, "2", { 3: [true] }]);
    assert.ok(Buffer.isBuffer(echoed[3]), "the binary argument came back as binary");
    assert.deepEqual([...echoed[3]], [1, 2, 3]);
    assert.equal(echoed[4], "é😀");
    const acked = await socket.timeout(5000).emitWithAck("message-with-ack", "four", 5);
    assert.equal(acked, "four");
    // A bigger message, binary, through the same transport.
    const big = Buffer.alloc(100000, 7);
    const bigBack = once(socket, "message-back");
    socket.emit("message", big);
    const [bigEcho] = await bigBack;
    assert.ok(Buffer.isBuffer(bigEcho) && bigEcho.equals(big), "100 kB binary echoed intact");
    if (expectedTransport === "websocket" && socket.io.engine.transport.name !== "websocket") {
      await new Promise((resolve) => socket.io.engine.once("upgrade", resolve));
    }
    assert.equal(socket.io.engine.transport.name, expectedTransport);
    console.log(`socket.io-client over ${transports.join("+")}: auth, echo with binary, ack, 100 kB, on ${expectedTransport} ✓`);
  } finally {
    socket.disconnect();
  }
}

async function namespaces() {
  const unknown = io(`${url}/random`, { transports: ["websocket"], reconnection: false, forceNew: true });
  const error = await new Promise((resolve, reject) => {
    unknown.on("connect", () => reject(new Error("joined an unknown namespace")));
    unknown.on("connect_error", resolve);
  });
  assert.equal(error.message, "Invalid namespace");
  unknown.disconnect();
  const custom = io(`${url}/custom`, { transports: ["websocket"], auth: { who: "custom" }, reconnection: false, forceNew: true });
  const [auth] = await once(custom, "auth");
  assert.deepEqual(auth, { who: "custom" });
  custom.disconnect();
  console.log("socket.io-client: an unknown namespace refused, /custom joined ✓");
}

(async () => {
  await roundTrip(["websocket"], "websocket");
  await roundTrip(["polling"], "polling");
  await roundTrip(["polling", "websocket"], "websocket");
  await namespaces();
  process.exit(0);
})().catch((e) => {
  console.error("FAILED:", e);
  process.exit(1);
});
