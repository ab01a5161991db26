// Node `socket.io` (default settings) answering `simdws load --socketio`:
// each `echo` emit is acked with its arguments. One process:
//   node node_socketio_echo.cjs PORT
"use strict";
const { Server } = require("socket.io");
const io = new Server(Number(process.argv[2] || 3000));
io.on("connection", (socket) => {
  socket.on("echo", (...args) => {
    const ack = args.pop();
    if (typeof ack === "function") ack(...args);
  });
});
