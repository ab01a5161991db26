// Chromium (Debian's, driven by playwright-core) against `simdws serve`:
// the WebSocket API as a web developer relies on it, on the page `serve`
// delivers and on a page of the test's own.
//
//   node browser.cjs BASE BASE_WITH_ORIGIN_POLICY SERVE_PID SCREENSHOT PROFILE_DIR
"use strict";
const { launchChromium } = require("./chromium.cjs");
const { version } = require("playwright-core/package.json");

const [base, guarded, servePid, shotPath, profile] = process.argv.slice(2);
const wsBase = base.replace("http://", "ws://");
let checks = 0;
function ok(condition, what) {
  if (!condition) throw new Error(`FAILED: ${what}`);
  checks++;
}

/// The API checks, run inside a page.
async function apiChecks(url) {
  const passed = [];
  const check = (c, what) => {
    if (!c) throw new Error("FAILED: " + what);
    passed.push(what);
  };
  const order = [];
  const ws = new WebSocket(url + "/echo", "echo-protocol");
  check(ws.readyState === 0, "readyState 0 while connecting");
  await new Promise((resolve, reject) => {
    ws.onopen = () => { order.push("open"); resolve(); };
    ws.onerror = () => reject(new Error("error before open"));
  });
  check(ws.readyState === 1, "readyState 1 when open");
  check(ws.protocol === "echo-protocol", "protocol is the chosen subprotocol");
  check(ws.extensions === "permessage-deflate", `permessage-deflate negotiated (got ${JSON.stringify(ws.extensions)})`);
  const recv = () => new Promise((resolve) => { ws.onmessage = (e) => { order.push("message"); resolve(e.data); }; });
  ws.send("你好，世界 😀🎉 ñ");
  check((await recv()) === "你好，世界 😀🎉 ñ", "CJK and emoji text echoed");
  ws.binaryType = "arraybuffer";
  ws.send(new Uint8Array([1, 2, 3]).buffer);
  let data = await recv();
  check(data instanceof ArrayBuffer && new Uint8Array(data).join() === "1,2,3", "ArrayBuffer sent, ArrayBuffer received");
  ws.send(new Blob([new Uint8Array([4, 5, 6])]));
  data = await recv();
  check(data instanceof ArrayBuffer && new Uint8Array(data).join() === "4,5,6", "Blob sent, ArrayBuffer received");
  ws.binaryType = "blob";
  ws.send(new Uint8Array([7, 8]));
  data = await recv();
  check(data instanceof Blob && new Uint8Array(await data.arrayBuffer()).join() === "7,8", "binaryType blob delivers a Blob");
  ws.binaryType = "arraybuffer";
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
  ws.send(big);
  data = new Uint8Array(await recv());
  check(data.length === big.length && data.every((v, i) => v === big[i]), "1 MiB binary message (sent by Chromium in several frames)");
  const bigText = "x中😀".repeat(150000);
  ws.send(bigText);
  check((await recv()) === bigText, "1 MiB+ text message");
  const closed = new Promise((resolve) => { ws.onclose = (e) => { order.push("close"); resolve(e); }; });
  ws.close(4000, "bye from the browser ✓");
  check(ws.readyState === 2, "readyState 2 while closing");
  const event = await closed;
  check(ws.readyState === 3, "readyState 3 when closed");
  check(event.code === 4000 && event.wasClean, `close 4000 completed cleanly (code ${event.code}, clean ${event.wasClean})`);
  check(event.reason === "bye from the browser ✓", `the server echoed the close reason (got ${JSON.stringify(event.reason)})`);
  check(order[0] === "open" && order[order.length - 1] === "close" && !order.includes("error"), `events in order: ${order.join(",")}`);
  return passed;
}

/// Opens a socket that the server refuses; returns the events seen.
async function refused(url) {
  const events = [];
  const ws = new WebSocket(url);
  await new Promise((resolve) => {
    ws.onerror = () => events.push("error");
    ws.onclose = (e) => { events.push(`close ${e.code}`); resolve(); };
  });
  return events.join(",");
}

async function main() {
  const context = await launchChromium(profile);
  const browserVersion = context.browser() ? context.browser().version() : "chromium";
  try {
    // A page of the test's own.
    const own = await context.newPage();
    await own.setContent("<!doctype html><title>own page</title><p>simdws API test</p>");
    const passed = await own.evaluate(apiChecks, wsBase);
    checks += passed.length;

    // The page `serve` delivers at `/`.
    const page = await context.newPage();
    await page.goto(base + "/");
    ok((await page.title()).includes("simdws"), "serve's page loads");
    await page.click("#echo-connect");
    await page.waitForFunction(() => document.getElementById("echo-state").textContent === "OPEN");
    ok((await page.textContent("#echo-proto")) === "echo-protocol", "page shows the negotiated protocol");
    ok((await page.textContent("#echo-ext")) === "permessage-deflate", "page shows the negotiated extension");
    await page.fill("#echo-text", "Hello from Chromium 你好 😀");
    await page.click("#echo-send");
    await page.waitForFunction(() => document.getElementById("echo-log").textContent.includes("← text: Hello from Chromium 你好 😀"));
    ok(true, "page echo round trip");

    // Two pages in the chat room see each other's messages.
    const other = await context.newPage();
    await other.goto(base + "/");
    await other.fill("#chat-name", "bob");
    await other.click("#chat-join");
    await other.waitForFunction(() => document.getElementById("chat-state").textContent === "OPEN");
    await page.fill("#chat-name", "alice");
    await page.click("#chat-join");
    await page.waitForFunction(() => document.getElementById("chat-state").textContent === "OPEN");
    await page.fill("#chat-text", "hi bob");
    await page.click("#chat-send");
    await other.waitForFunction(() => document.getElementById("chat-log").textContent.includes("alice: hi bob"));
    ok(true, "chat message from one page reaches the other");

    // HTTP beside the WebSockets: the page's own fetch of /healthz shows in
    // its header, and a POST from the page reaches the room's WebSockets.
    await page.waitForFunction(() => /server: ok · \d+ WebSockets/.test(document.getElementById("health").textContent));
    ok(true, "the page fetched /healthz while its WebSockets are open");
    const http = await page.evaluate(async () => {
      const results = [];
      for (let i = 0; i < 5; i++) {
        const h = await (await fetch("/healthz")).json();
        results.push(h.status === "ok" && h.websockets >= 2);
      }
      const said = await fetch("/chat/say", { method: "POST", body: "alice (over HTTP): hello room" });
      return { health: results.every(Boolean), said: said.status, text: (await said.text()).trim() };
    });
    ok(http.health, "five fetches of /healthz count the open WebSockets");
    ok(http.said === 200 && /^sent to [2-9]/.test(http.text), `POST /chat/say answered: ${JSON.stringify(http)}`);
    await other.waitForFunction(() => document.getElementById("chat-log").textContent.includes("alice (over HTTP): hello room"));
    ok(true, "a message POSTed over HTTP reaches the other page's WebSocket");
    await page.fill("#chat-text", "typed and posted");
    await page.click("#chat-post");
    await other.waitForFunction(() => document.getElementById("chat-log").textContent.includes("(over HTTP): typed and posted"));
    ok(true, "the page's 'Send over HTTP' button reaches the room");
    const icon = await page.evaluate(async () => (await fetch("/favicon.ico")).status);
    ok(icon === 200, `favicon served (${icon})`);
    await page.setViewportSize({ width: 1200, height: 760 });
    await page.screenshot({ path: shotPath });

    // Refused handshakes: error, then close 1006.
    ok((await own.evaluate(refused, wsBase + "/nowhere")) === "error,close 1006", "404 seen as error + 1006");
    const guardedWs = guarded.replace("http://", "ws://") + "/echo";
    ok((await page.evaluate(refused, guardedWs)) === "error,close 1006", "403 (disallowed Origin) seen as error + 1006");

    // A server-initiated close: SIGINT makes `serve` close with 1001.
    await own.evaluate((url) => {
      window.serverClose = new Promise((resolve, reject) => {
        const ws = new WebSocket(url + "/echo");
        ws.onopen = () => { window.opened = true; };
        ws.onerror = () => reject(new Error("error"));
        ws.onclose = (e) => resolve({ code: e.code, reason: e.reason, clean: e.wasClean });
      });
    }, wsBase);
    await own.waitForFunction(() => window.opened === true);
    process.kill(Number(servePid), "SIGINT");
    const close = await own.evaluate(() => window.serverClose);
    ok(close.code === 1001 && close.reason === "server shutting down" && close.clean,
      `server-initiated close seen: ${JSON.stringify(close)}`);
  } finally {
    await context.close();
  }
  console.log(`chromium ${browserVersion} (playwright-core ${version}): ${checks} checks passed`);
}

main().catch((e) => {
  console.error(`chromium: ${e.stack || e}`);
  process.exit(1);
});
