// Chromium (Debian's, driven by playwright-core) loads socket.io-client's
// browser bundle (dist/socket.io.min.js from npm) from a page on another
// origin and talks to `simdws serve`'s Socket.IO contract, once over
// long-polling (cross-origin XHRs: CORS) and once over WebSocket.
//
//   node socketio_browser.cjs http://127.0.0.1:SERVE_PORT PROFILE_DIR
"use strict";
const http = require("node:http");
const fs = require("node:fs");
const path = require("node:path");
const { launchChromium } = require("./chromium.cjs");

const [serveUrl, profile] = process.argv.slice(2);
const bundle = fs.readFileSync(path.join(path.dirname(require.resolve("socket.io-client/package.json")), "dist", "socket.io.min.js"));

async function checksInPage([url, transports]) {
  const passed = [];
  const check = (c, what) => {
    if (!c) throw new Error("FAILED: " + what);
    passed.push(what);
  };
  const socket = io(url, { transports, auth: { from: "browser" }, reconnection: false });
  const once = (event) => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no ${event}`)), 5000);
    socket.once(event, (...args) => { clearTimeout(timer); resolve(args); });
  });
  const [news] = await once("news");
  check(news.hello === "world", "news on connection");
  const me = await socket.timeout(5000).emitWithAck("whoami");
  check(me.auth.from === "browser" && me.id === socket.id, "auth seen by the server");
  const bin = await socket.timeout(5000).emitWithAck("binary", new Uint8Array([5, 6, 7]).buffer);
  check(bin.len === 3 && new Uint8Array(bin.buf).join() === "5,6,7", "an ArrayBuffer acked back");
  const answered = once("answerReceived");
  socket.once("question", (_, callback) => callback("browser says 42"));
  socket.emit("askClient");
  check((await answered)[0] === "browser says 42", "the server's question acked by the browser");
  check(socket.io.engine.transport.name === transports[0], `on ${transports[0]}`);
  socket.disconnect();
  return passed;
}

(async () => {
  // The page's own origin: another port than the server's.
  const pages = http.createServer((req, res) => {
    if (req.url === "/socket.io.min.js") {
      res.writeHead(200, { "Content-Type": "text/javascript" });
      res.end(bundle);
    } else {
      res.writeHead(200, { "Content-Type": "text/html" });
      res.end('<!doctype html><script src="/socket.io.min.js"></script>');
    }
  });
  await new Promise((resolve) => pages.listen(0, "127.0.0.1", resolve));
  const pageUrl = `http://localhost:${pages.address().port}/`;
  const context = await launchChromium(profile);
  try {
    const page = await context.newPage();
    await page.goto(pageUrl);
    for (const transports of [["polling"], ["websocket"]]) {
      const passed = await page.evaluate(checksInPage, [serveUrl, transports]);
      console.log(`interop: Chromium, socket.io-client's bundle from ${pageUrl} over ${transports[0]}: ${passed.length} checks passed`);
    }
  } finally {
    await context.close();
    pages.close();
  }
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
