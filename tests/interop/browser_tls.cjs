// Chromium over TLS: the page `simdws serve --tls-self-signed` delivers on
// https://, its echo over wss://, and the API from a page of the test's
// own. The certificate is generated at start-up, so the browser is told to
// accept it (--ignore-certificate-errors).
//
//   node browser_tls.cjs https://127.0.0.1:PORT PROFILE_DIR
"use strict";
const { launchChromium } = require("./chromium.cjs");

const [base, profile] = process.argv.slice(2);
let checks = 0;
function ok(condition, what) {
  if (!condition) throw new Error(`FAILED: ${what}`);
  checks++;
}

async function main() {
  const context = await launchChromium(profile, { tls: true });
  try {
    const page = await context.newPage();
    await page.goto(base + "/");
    ok(page.url().startsWith("https://"), `the page loads over https (${page.url()})`);
    ok((await page.title()).includes("simdws"), "serve's page");
    await page.click("#echo-connect");
    await page.waitForFunction(() => document.getElementById("echo-state").textContent === "OPEN");
    ok((await page.textContent("#echo-ext")) === "permessage-deflate", "deflate negotiated over wss");
    await page.fill("#echo-text", "Hello over TLS 你好 😀");
    await page.click("#echo-send");
    await page.waitForFunction(() => document.getElementById("echo-log").textContent.includes("← text: Hello over TLS 你好 😀"));
    ok(true, "the page's echo round trip over wss");
    const result = await page.evaluate(async () => {
      const ws = new WebSocket(location.origin.replace("https://", "wss://") + "/echo");
      ws.binaryType = "arraybuffer";
      await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("error")); });
      const big = new Uint8Array(1 << 20);
      for (let i = 0; i < big.length; i++) big[i] = (i * 31) & 255;
      const echoed = new Promise((resolve) => { ws.onmessage = (e) => resolve(new Uint8Array(e.data)); });
      ws.send(big);
      const back = await echoed;
      const same = back.length === big.length && back.every((v, i) => v === big[i]);
      const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(e); });
      ws.close(4000, "bye over TLS");
      const e = await closed;
      return { url: ws.url, same, code: e.code, clean: e.wasClean };
    });
    ok(result.url.startsWith("wss://"), `the socket is wss (${result.url})`);
    ok(result.same, "1 MiB binary echoed over wss");
    ok(result.code === 4000 && result.clean, `clean close 4000 over wss (${JSON.stringify(result)})`);
  } finally {
    await context.close();
  }
  console.log(`chromium over TLS: ${checks} checks passed`);
}

main().catch((e) => {
  console.error(`chromium over TLS: ${e.stack || e}`);
  process.exit(1);
});
