// Idle Socket.IO clients on long-polling, for the memory measurement of
// benches/compare/socketio.sh (the 5% of clients that poll): N official
// socket.io-clients, polling only, join `/` and hold for SECONDS.
// Prints how many joined; exits 1 when any did not.
//   node benches/compare/socketio_polling_idle.cjs URL N SECONDS
const { io } = require("socket.io-client");

const [url, n, seconds] = process.argv.slice(2);
const clients = [];
let joined = 0;
for (let i = 0; i < Number(n); i++) {
  const socket = io(url, { transports: ["polling"], reconnection: false, forceNew: true });
  socket.on("connect", () => joined++);
  clients.push(socket);
}
setTimeout(() => {
  console.log(`${joined} of ${n} polling clients joined`);
  for (const socket of clients) socket.close();
  process.exit(joined === Number(n) ? 0 : 1);
}, Number(seconds) * 1000);
