// npm `ws` echo server (no compression), one process: node node_ws_echo.cjs PORT
"use strict";
const { WebSocketServer } = require("ws");
const wss = new WebSocketServer({ host: "127.0.0.1", port: Number(process.argv[2] || 9005), perMessageDeflate: false, maxPayload: 64 << 20 });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on("listening", () => console.log(`listening on ${wss.address().port}`));
