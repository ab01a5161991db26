// Chromium (Debian's, driven by playwright-core) against examples/axum_echo:
// the WebSocket API from a blank page to simdws's axum extractor.
//
//   node axum_echo_browser.cjs ws://127.0.0.1:PORT PROFILE_DIR
"use strict";
const { launchChromium } = require("./chromium.cjs");

const [url, profile] = process.argv.slice(2);

async function checksInPage(url) {
  const passed = [];
  const check = (c, what) => {
    if (!c) throw new Error("FAILED: " + what);
    passed.push(what);
  };
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  await new Promise((resolve, reject) => {
    ws.onopen = resolve;
    ws.onerror = () => reject(new Error("error before open"));
  });
  check(ws.extensions === "permessage-deflate", `permessage-deflate negotiated (got ${JSON.stringify(ws.extensions)})`);
  const recv = () => new Promise((resolve) => { ws.onmessage = (e) => resolve(e.data); });
  ws.send("你好，世界 😀🎉 ñ");
  check((await recv()) === "你好，世界 😀🎉 ñ", "CJK and emoji text echoed");
  ws.send(new Uint8Array([1, 2, 3]).buffer);
  check(new Uint8Array(await recv()).join() === "1,2,3", "ArrayBuffer echoed");
  const big = new Uint8Array(1 << 20);
  for (let i = 0; i < big.length; i++) big[i] = (i * 7) & 255;
  ws.send(big);
  const data = new Uint8Array(await recv());
  check(data.length === big.length && data.every((v, i) => v === big[i]), "1 MiB binary echoed");
  const closed = new Promise((resolve) => { ws.onclose = resolve; });
  ws.close(4000, "bye from the browser");
  const event = await closed;
  check(event.code === 4000 && event.reason === "bye from the browser" && event.wasClean,
        `clean close 4000 echoed (got ${event.code} ${JSON.stringify(event.reason)} clean=${event.wasClean})`);
  return passed;
}

(async () => {
  const context = await launchChromium(profile);
  try {
    const page = await context.newPage();
    const passed = await page.evaluate(checksInPage, url);
    console.log(`interop: Chromium against axum_echo: ${passed.length} checks passed`);
  } finally {
    await context.close();
  }
})().catch((e) => {
  console.error(e.message || e);
  process.exit(1);
});
