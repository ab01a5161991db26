// Node's built-in fetch (undici) against examples/http_echo: keep-alive
// across sequential requests, and a streamed POST body sent chunked.
import assert from "node:assert/strict";

const base = `http://127.0.0.1:${process.argv[2]}`;

const numbers = [];
for (let n = 1; n <= 20; n++) {
  const res = await fetch(`${base}/n/${n}`, { method: "POST", body: `body ${n}` });
  assert.equal(res.status, 200);
  assert.equal(await res.text(), `body ${n}`);
  numbers.push(Number(res.headers.get("x-request-number")));
}
// Keep-alive: numbers restart at 1 only on a new connection. undici keeps
// two sockets here and alternates between them (it does the same against
// Node's own http server), so 20 requests show as 1,1,2,2,...,10,10.
const connections = numbers.filter((n) => n === 1).length;
assert.ok(connections <= 2, `a new connection per request: ${numbers}`);
assert.ok(Math.max(...numbers) >= 10, `connections not reused: ${numbers}`);
console.log(`node fetch: 20 requests on ${connections} keep-alive connection(s), up to ${Math.max(...numbers)} requests each`);

const pieces = ["streamed ", "in ", "pieces ", "✓"];
const stream = new ReadableStream({
  async pull(controller) {
    const piece = pieces.shift();
    if (piece === undefined) return controller.close();
    await new Promise((r) => setTimeout(r, 20));
    controller.enqueue(new TextEncoder().encode(piece));
  },
});
const res = await fetch(`${base}/stream`, { method: "POST", body: stream, duplex: "half" });
assert.equal(res.headers.get("x-body-framing"), "chunked");
assert.equal(await res.text(), "streamed in pieces ✓");
console.log("node fetch: a streamed POST body went chunked and came back whole");
