// npm `ws` (a client nobody here wrote) against `simdws serve`: echo of
// text and binary from 0 B to 16 MiB, fragmented sends, ping/pong, close
// paths, subprotocols, and permessage-deflate: its default offer accepted,
// then context takeover on and off and window bits 9 and 15, messages from
// 0 B to 4 MiB.
"use strict";
const WebSocket = require("ws");
const { version } = require("ws/package.json");

const BASE = process.argv[2];
const SIZES = [0, 1, 125, 126, 65535, 65536, 1 << 20, 16 << 20];
let checks = 0;
function ok(condition, what) {
  if (!condition) {
    console.error(`node ws ${version}: FAILED: ${what}`);
    process.exit(1);
  }
  checks++;
}

function open(path, protocols, options = {}) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(BASE + path, protocols, { perMessageDeflate: true, maxPayload: 64 << 20, ...options });
    ws.once("open", () => resolve(ws));
    ws.once("unexpected-response", (_req, res) => reject(new Error(`status ${res.statusCode}`)));
    ws.once("error", reject);
  });
}

function next(ws) {
  return new Promise((resolve, reject) => {
    const onMessage = (data, isBinary) => {
      ws.off("close", onClose);
      resolve({ data, isBinary });
    };
    const onClose = (code) => {
      ws.off("message", onMessage);
      reject(new Error(`closed with ${code}`));
    };
    ws.once("message", onMessage);
    ws.once("close", onClose);
  });
}

function closed(ws) {
  return new Promise((resolve) => ws.once("close", (code, reason) => resolve({ code, reason: reason.toString() })));
}

async function main() {
  const ws = await open("/echo", ["echo-protocol"]);
  ok(ws.protocol === "echo-protocol", "subprotocol echo-protocol chosen");
  ok(ws.extensions === "permessage-deflate", `permessage-deflate accepted (extensions: ${JSON.stringify(ws.extensions)})`);
  for (const size of SIZES) {
    const text = "é中😀a".repeat(Math.floor(size / 8) + 1).slice(0, Math.floor(size / 3));
    ws.send(text);
    const t = await next(ws);
    ok(!t.isBinary && t.data.toString() === text, `text echo of ${Buffer.byteLength(text)} bytes`);
    const data = Buffer.alloc(size, 7);
    ws.send(data);
    const b = await next(ws);
    ok(b.isBinary && Buffer.compare(b.data, data) === 0, `binary echo of ${size} bytes`);
  }
  // Fragmented send: `fin: false` then the last fragment.
  ws.send("frag", { fin: false });
  ws.send("mented", { fin: true });
  const f = await next(ws);
  ok(f.data.toString() === "fragmented", "fragmented text");
  const pong = new Promise((resolve) => ws.once("pong", resolve));
  ws.ping("are you there");
  ok((await pong).toString() === "are you there", "ping answered with its payload");
  const done = closed(ws);
  ws.close(4000, "bye from node");
  const c = await done;
  ok(c.code === 4000 && c.reason === "bye from node", `close 4000 echoed with its reason (got ${c.code} ${JSON.stringify(c.reason)})`);

  try {
    await open("/nowhere", []);
    ok(false, "404 for an unknown path");
  } catch (e) {
    ok(/404/.test(e.message), `404 for an unknown path (${e.message})`);
  }

  for (const takeover of [true, false]) {
    for (const bits of [15, 9]) {
      const what = `deflate takeover=${takeover} bits=${bits}`;
      const d = await open("/echo", [], {
        perMessageDeflate: {
          serverNoContextTakeover: !takeover,
          clientNoContextTakeover: !takeover,
          serverMaxWindowBits: bits < 15 ? bits : undefined,
          clientMaxWindowBits: bits < 15 ? bits : true,
          threshold: 0,
        },
      });
      // `extensions` lists names only; the accepted parameters are kept on
      // ws's extension object.
      ok(d.extensions === "permessage-deflate", `${what}: negotiated (${d.extensions})`);
      const params = d._extensions["permessage-deflate"].params;
      const shown = JSON.stringify(params);
      ok(takeover || params.server_no_context_takeover === true, `${what}: server_no_context_takeover in ${shown}`);
      ok(bits === 15 || params.server_max_window_bits === bits, `${what}: server window bits in ${shown}`);
      for (const size of [0, 1, 125, 126, 65535, 65536, 1 << 20, 4 << 20]) {
        const text = "é中😀a deflate ".repeat(Math.floor(size / 18) + 1).slice(0, Math.floor(size / 2));
        for (let i = 0; i < 2; i++) {
          d.send(text);
          const t = await next(d);
          ok(!t.isBinary && t.data.toString() === text, `${what}: text echo of ${Buffer.byteLength(text)} bytes`);
        }
        const data = Buffer.alloc(size);
        for (let i = 0; i < Math.min(size, 65536); i++) data[i] = (i * 7) % 251;
        d.send(data);
        const b = await next(d);
        ok(b.isBinary && Buffer.compare(b.data, data) === 0, `${what}: binary echo of ${size} bytes`);
      }
      d.close();
    }
  }

  const a = await open("/chat", ["chat"]);
  const b = await open("/chat", ["chat"]);
  const seenByB = next(b);
  a.send("hello from a");
  ok((await seenByB).data.toString() === "hello from a", "chat broadcast");
  a.close();
  b.close();
  console.log(`node ws ${version}: ${checks} checks passed`);
}

main().catch((e) => {
  console.error(`node ws ${version}: FAILED: ${e.stack || e}`);
  process.exit(1);
});
