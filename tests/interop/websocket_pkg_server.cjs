// An echo server with the npm `websocket` package, written as the
// tutorial writes it: an http server, a WebSocketServer on it, requests
// accepted with the `echo-protocol` subprotocol and their origin, text
// answered with sendUTF and binary with sendBytes. Its frame and message
// limits are raised (64 KiB and 1 MiB by default) so our client's large
// messages fit. Prints its port.
"use strict";
const http = require("http");
const WebSocketServer = require("websocket").server;

const server = http.createServer((request, response) => {
  response.writeHead(404);
  response.end();
});
const wsServer = new WebSocketServer({
  httpServer: server,
  autoAcceptConnections: false,
  maxReceivedFrameSize: 64 << 20,
  maxReceivedMessageSize: 64 << 20,
});
wsServer.on("request", (request) => {
  const connection = request.accept("echo-protocol", request.origin);
  connection.on("message", (message) => {
    if (message.type === "utf8") {
      connection.sendUTF(message.utf8Data);
    } else if (message.type === "binary") {
      connection.sendBytes(message.binaryData);
    }
  });
});
server.listen(0, "127.0.0.1", () => console.log(server.address().port));
