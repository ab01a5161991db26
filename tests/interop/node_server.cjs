// An npm `ws` echo server (permessage-deflate offered) for our client to
// talk to. Prints its port, then serves until killed.
"use strict";
const { WebSocketServer } = require("ws");
const wss = new WebSocketServer({ host: "127.0.0.1", port: 0, perMessageDeflate: true, maxPayload: 64 << 20 });
wss.on("connection", (ws) => {
  ws.on("message", (data, isBinary) => ws.send(data, { binary: isBinary }));
});
wss.on("listening", () => console.log(wss.address().port));
