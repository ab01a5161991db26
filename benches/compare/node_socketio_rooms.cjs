// Node `socket.io` (default settings) rooms for `simdws load --fanout N
// --socketio`, in `simdws serve`'s contract: `join(room, ack)` acks
// `{joined: room}`, `toRoom(room, msg, ack?)` sends `roomMsg {room, msg,
// from}` to the room but the sender. One process:
//   node node_socketio_rooms.cjs PORT
"use strict";
const { Server } = require("socket.io");
const io = new Server(Number(process.argv[2] || 3000));
io.on("connection", (socket) => {
  socket.on("join", (room, ack) => {
    socket.join(room);
    if (typeof ack === "function") ack({ joined: room });
  });
  socket.on("toRoom", (room, msg, ack) => {
    socket.to(room).emit("roomMsg", { room, msg, from: socket.id });
    if (typeof ack === "function") ack("sent");
  });
});
