// npm `ws` sees a server-initiated close: connected to a `simdws serve`
// that gets SIGINT, it must receive 1001 with its reason.
"use strict";
const WebSocket = require("ws");
const { version } = require("ws/package.json");
const [base, pid] = process.argv.slice(2);
const ws = new WebSocket(base + "/echo");
const timer = setTimeout(() => { console.error(`node ws ${version}: FAILED: no close`); process.exit(1); }, 10000);
ws.on("open", () => ws.send("before shutdown"));
ws.on("message", () => process.kill(Number(pid), "SIGINT"));
ws.on("close", (code, reason) => {
  clearTimeout(timer);
  if (code !== 1001 || reason.toString() !== "server shutting down") {
    console.error(`node ws ${version}: FAILED: server close was ${code} ${reason}`);
    process.exit(1);
  }
  console.log(`node ws ${version}: server-initiated close 1001 seen`);
});
