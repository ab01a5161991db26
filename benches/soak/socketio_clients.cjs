// The Socket.IO soak's clients (scripts/soak.sh drives it): CLIENTS
// official socket.io-clients spread over the servers given, each in one of
// ROOMS rooms, for MINUTES minutes, with connection churn.
// * Each client emits `echo(n)` with an ack every ~10 s; an ack that does
//   not come within 10 s while its client stays connected is LOST (the
//   soak fails on any).
// * Rooms hold 10 clients. Each client says something to its room every
//   ~60 s (`toRoom`); the other members, on every server, count what they
//   got. (One Node process decodes every delivery: these rates keep it
//   under one core, so what is measured is the servers.)
// * Every second ~0.5% of the clients leave and as many new ones come.
// Prints a line of figures every 10 s (with the servers' RSS, from the
// pids given) and a JSON summary at the end.
//   node benches/soak/socketio_clients.cjs MINUTES CLIENTS URL,URL PID,PID
const fs = require("node:fs");
const { io } = require("socket.io-client");

const [minutes, clients, urlList, pidList] = process.argv.slice(2);
const urls = urlList.split(",");
const pids = pidList.split(",").map(Number);
const CLIENTS = Number(clients);
const ROOMS = Math.ceil(CLIENTS / 10);
const ECHO_EVERY_MS = 10000;
const SAY_EVERY_MS = 60000;
const ACK_TIMEOUT_MS = 10000;
const CHURN_PER_S = Math.max(1, Math.round(CLIENTS * 0.005));
const endAt = Date.now() + Number(minutes) * 60_000;

const stats = {
  connected: 0, connects: 0, connectErrors: 0, disconnects: 0,
  acksSent: 0, acksAnswered: 0, acksLost: 0, acksCutByDisconnect: 0, ackMismatches: 0,
  said: 0, roomDeliveries: 0,
};
let nextId = 0;
const live = new Set();

function rssKiB(pid) {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
    return Number(/VmRSS:\s+(\d+)/.exec(status)[1]);
  } catch {
    return null; // the server is gone
  }
}

function start() {
  const n = nextId++;
  const url = urls[n % urls.length];
  // One in ten starts on polling and upgrades, as browsers behind proxies do.
  const transports = n % 10 === 0 ? ["polling", "websocket"] : ["websocket"];
  const socket = io(url, { transports, forceNew: true, reconnection: false });
  const room = `room${n % ROOMS}`;
  const timers = [];
  live.add(socket);
  socket.on("connect", () => {
    stats.connected++;
    stats.connects++;
    socket.emit("join", room, () => {});
    // Spread the clients' timers so the load is even.
    const every = (f, ms) => timers.push(setTimeout(() => { f(); timers.push(setInterval(f, ms)); }, Math.random() * ms));
    every(echo, ECHO_EVERY_MS);
    every(say, SAY_EVERY_MS);
  });
  socket.on("connect_error", () => { stats.connectErrors++; stop(socket); });
  socket.on("disconnect", () => { stats.connected--; stats.disconnects++; stop(socket); });
  socket.on("roomMsg", () => { stats.roomDeliveries++; });
  socket.stopTimers = () => timers.forEach((t) => { clearTimeout(t); clearInterval(t); });

  function echo() {
    const sent = stats.acksSent++;
    socket.timeout(ACK_TIMEOUT_MS).emit("echo", sent, (err, value) => {
      if (!err) {
        stats.acksAnswered++;
        if (value !== sent) stats.ackMismatches++;
      } else if (socket.connected) {
        stats.acksLost++;
      } else {
        stats.acksCutByDisconnect++;
      }
    });
  }
  function say() {
    stats.said++;
    socket.emit("toRoom", room, `hello from ${n}`, () => {});
  }
}

function stop(socket) {
  socket.stopTimers?.();
  socket.removeAllListeners();
  socket.disconnect();
  live.delete(socket);
}

function churn() {
  const sockets = [...live];
  for (let i = 0; i < CHURN_PER_S && sockets.length; i++) {
    const leaving = sockets.splice(Math.floor(Math.random() * sockets.length), 1)[0];
    if (leaving.connected) {
      stats.connected--;
      stats.disconnects++;
    }
    stop(leaving);
  }
  while (live.size < CLIENTS) start();
}

const samples = [];
function report() {
  const rss = pids.map(rssKiB);
  const line = { s: Math.round((Date.now() - (endAt - Number(minutes) * 60_000)) / 1000), live: live.size, rssKiB: rss, ...stats };
  samples.push(line);
  console.log(JSON.stringify(line));
}

// Open the clients at 100 per second, then churn.
const opener = setInterval(() => {
  for (let i = 0; i < 100 && live.size < CLIENTS; i++) start();
  if (live.size >= CLIENTS) clearInterval(opener);
}, 1000);
// Churn starts once every client has been opened.
const churner = setInterval(() => nextId >= CLIENTS && churn(), 1000);
const reporter = setInterval(report, 10_000);
setTimeout(() => {
  clearInterval(churner);
  clearInterval(reporter);
  report();
  // Acks still in flight get their time.
  setTimeout(() => {
    const last = samples[samples.length - 1];
    const summary = { samples, final: { ...stats, rssKiB: pids.map(rssKiB) } };
    fs.writeFileSync(process.env.SOAK_OUT || "/dev/stdout", JSON.stringify(summary, null, 1));
    for (const s of live) stop(s);
    process.exit(last.rssKiB.includes(null) ? 2 : 0);
  }, ACK_TIMEOUT_MS + 1000);
}, endAt - Date.now());
