// A Node socket.io server on @socket.io/redis-adapter (the official
// adapter, node-redis 4), answering the same `join` and `toRoom` events as
// `simdws serve`, plus what only Node's adapter API can ask the others:
//   rooms(ack)                 -> ack([...adapter.allRooms()])
//   count(ack)                 -> ack(adapter.serverCount())
//   fetch(room, ack)           -> ack(ids from io.in(room).fetchSockets())
//   except(room, not, msg, ack) -> roomMsg to room except room `not`
//   askRoom(room, ack)         -> io.to(room).timeout(3000).emitWithAck("question?")
//                                 and ack(the sorted answers)
//   joinAll(room, newRoom, ack) -> io.in(room).socketsJoin(newRoom)
//   askServers(ack)            -> io.serverSideEmitWithAck("whoIsThere", 1)
//                                 and ack(the answers)
//   told(ack)                  -> ack(the args of each server-side `told` heard)
// and answers the server-side event whoIsThere(arg) with {server: "node", args: [arg]}.
// Prints "ready PORT" once listening and subscribed.
//   node tests/interop/socketio_redis_node.cjs PORT redis://127.0.0.1:RPORT
const { createServer } = require("node:http");
const { Server } = require("socket.io");
const { createAdapter } = require("@socket.io/redis-adapter");
const { createClient } = require("redis");

const [port, redisUrl] = process.argv.slice(2);

async function main() {
  const pub = createClient({ url: redisUrl });
  const sub = pub.duplicate();
  for (const c of [pub, sub]) c.on("error", (e) => console.error("redis:", e.message));
  await Promise.all([pub.connect(), sub.connect()]);
  const http = createServer();
  const io = new Server(http, { adapter: createAdapter(pub, sub) });
  const told = [];
  io.on("told", (...args) => told.push(args));
  io.on("whoIsThere", (arg, answer) => answer({ server: "node", args: [arg] }));
  io.on("connection", (socket) => {
    socket.on("join", (room, ack) => { socket.join(room); ack({ joined: room }); });
    socket.on("toRoom", (room, msg, ack) => {
      socket.to(room).emit("roomMsg", { room, msg, from: socket.id });
      ack("sent");
    });
    socket.on("rooms", async (ack) => ack([...(await io.of("/").adapter.allRooms())]));
    socket.on("count", async (ack) => ack(await io.of("/").adapter.serverCount()));
    socket.on("fetch", async (room, ack) => ack((await io.in(room).fetchSockets()).map((s) => s.id)));
    socket.on("except", (room, not, msg, ack) => {
      io.to(room).except(not).emit("roomMsg", { room, msg, from: socket.id });
      ack("sent");
    });
    socket.on("askRoom", async (room, ack) => {
      try {
        const answers = await io.to(room).timeout(3000).emitWithAck("question?");
        ack(answers.sort());
      } catch (e) {
        ack({ error: e.message });
      }
    });
    socket.on("joinAll", async (room, newRoom, ack) => {
      io.in(room).socketsJoin(newRoom);
      ack("joined");
    });
    socket.on("askServers", async (ack) => {
      try {
        ack(await io.serverSideEmitWithAck("whoIsThere", 1));
      } catch (e) {
        ack({ error: e.message });
      }
    });
    socket.on("told", (ack) => ack(told));
  });
  http.listen(Number(port), "127.0.0.1", () => console.log(`ready ${port}`));
}

main().catch((e) => { console.error(e); process.exit(1); });
