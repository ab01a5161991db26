// npm `websocket` (the package of the tutorial's other Node server) as a
// client of `simdws serve`: its W3CWebSocket and its WebSocketClient, each
// offering the subprotocol `echo-protocol` and sending an Origin.
//
//   node websocket_pkg_clients.cjs ws://127.0.0.1:PORT
"use strict";
const { w3cwebsocket: W3CWebSocket, client: WebSocketClient } = require("websocket");
const { version } = require("websocket/package.json");

const base = process.argv[2];
const origin = "http://pages.example";
let checks = 0;
function ok(condition, what) {
  if (!condition) {
    console.error(`npm websocket ${version}: FAILED: ${what}`);
    process.exit(1);
  }
  checks++;
}

function w3c() {
  return new Promise((resolve, reject) => {
    const ws = new W3CWebSocket(`${base}/echo`, "echo-protocol", origin);
    ws.binaryType = "arraybuffer";
    const replies = [];
    ws.onerror = () => reject(new Error("W3CWebSocket error"));
    ws.onopen = () => {
      ok(ws.protocol === "echo-protocol", `W3CWebSocket: protocol ${ws.protocol}`);
      ok(ws.readyState === ws.OPEN, "W3CWebSocket: readyState OPEN");
      ws.send("héllo from W3CWebSocket ✓");
      ws.send(new Uint8Array([1, 2, 3, 250]).buffer);
    };
    ws.onmessage = (e) => {
      replies.push(e.data);
      if (replies.length === 2) ws.close(1000, "w3c bye ✓");
    };
    ws.onclose = (e) => {
      ok(replies[0] === "héllo from W3CWebSocket ✓", "W3CWebSocket: text echoed");
      ok(replies[1] instanceof ArrayBuffer && new Uint8Array(replies[1]).join() === "1,2,3,250", "W3CWebSocket: binary echoed");
      // (This package calls a close clean only when its code is 1000.)
      ok(e.code === 1000 && e.reason === "w3c bye ✓" && e.wasClean, `W3CWebSocket: close echoed with its reason (${e.code} ${e.reason} ${e.wasClean})`);
      resolve();
    };
  });
}

function client() {
  return new Promise((resolve, reject) => {
    const c = new WebSocketClient();
    c.on("connectFailed", (e) => reject(e));
    c.on("connect", (connection) => {
      ok(connection.protocol === "echo-protocol", `WebSocketClient: protocol ${connection.protocol}`);
      const got = [];
      connection.on("message", (m) => {
        got.push(m.type === "utf8" ? m.utf8Data : m.binaryData);
        if (got.length === 3) connection.close(1000, "client bye");
      });
      connection.on("pong", (data) => { got.pong = data.toString(); });
      connection.on("close", (code, description) => {
        ok(got[0] === "sendUTF ✓", "WebSocketClient: sendUTF echoed");
        ok(Buffer.isBuffer(got[1]) && got[1].length === 100000 && got[1].every((b, i) => b === (i & 255)), "WebSocketClient: 100 kB sendBytes echoed");
        ok(got[2] === "x".repeat(70000), "WebSocketClient: 70 kB text echoed");
        ok(got.pong === "are you there", `WebSocketClient: ping answered (${got.pong})`);
        ok(code === 1000, `WebSocketClient: close ${code} ${description}`);
        resolve();
      });
      connection.ping(Buffer.from("are you there"));
      connection.sendUTF("sendUTF ✓");
      connection.sendBytes(Buffer.from(Array.from({ length: 100000 }, (_, i) => i & 255)));
      connection.sendUTF("x".repeat(70000));
    });
    c.connect(`${base}/echo`, "echo-protocol", origin);
  });
}

(async () => {
  await w3c();
  await client();
  console.log(`npm websocket ${version} (W3CWebSocket, WebSocketClient) -> serve: ${checks} checks passed`);
})().catch((e) => {
  console.error(`npm websocket ${version}: FAILED: ${e.stack || e}`);
  process.exit(1);
});
