// npm `ws` over TLS (wss://) against `simdws serve --tls-...`, trusting the
// server's certificate through `ca`: echo up to 4 MiB with
// permessage-deflate, close; an untrusted certificate is refused.
//
//   node node_tls_client.cjs wss://localhost:PORT CA.pem
"use strict";
const fs = require("fs");
const WebSocket = require("ws");
const { version } = require("ws/package.json");

const [base, caFile] = process.argv.slice(2);
const ca = fs.readFileSync(caFile);
let checks = 0;
function ok(condition, what) {
  if (!condition) {
    console.error(`node ws ${version} over TLS: FAILED: ${what}`);
    process.exit(1);
  }
  checks++;
}

function open(options) {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(base + "/echo", [], { perMessageDeflate: { threshold: 0 }, maxPayload: 64 << 20, ...options });
    ws.once("open", () => resolve(ws));
    ws.once("error", reject);
  });
}

function next(ws) {
  return new Promise((resolve) => ws.once("message", (data, isBinary) => resolve({ data, isBinary })));
}

async function main() {
  const ws = await open({ ca });
  ok(ws.extensions === "permessage-deflate", `permessage-deflate over TLS (${ws.extensions})`);
  ok(ws._socket.alpnProtocol === false || ws._socket.alpnProtocol === "http/1.1", `ALPN ${ws._socket.alpnProtocol}`);
  for (const size of [0, 1, 125, 65536, 1 << 20, 4 << 20]) {
    const text = "wss é中😀 ".repeat(Math.floor(size / 12) + 1).slice(0, Math.floor(size / 2));
    ws.send(text);
    const t = await next(ws);
    ok(!t.isBinary && t.data.toString() === text, `text echo of ${Buffer.byteLength(text)} bytes`);
    const data = Buffer.alloc(size, 5);
    ws.send(data);
    const b = await next(ws);
    ok(b.isBinary && Buffer.compare(b.data, data) === 0, `binary echo of ${size} bytes`);
  }
  const closed = new Promise((resolve) => ws.once("close", (code) => resolve(code)));
  ws.close(4000, "bye");
  ok((await closed) === 4000, "close 4000 echoed");
  try {
    await open({});
    ok(false, "an untrusted certificate is refused");
  } catch (e) {
    ok(/self[- ]signed|unable to verify|certificate/i.test(e.message), `an untrusted certificate is refused (${e.message})`);
  }
  console.log(`node ws ${version} over TLS: ${checks} checks passed`);
}

main().catch((e) => {
  console.error(`node ws ${version} over TLS: FAILED: ${e.stack || e}`);
  process.exit(1);
});
