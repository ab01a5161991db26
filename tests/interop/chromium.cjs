// Debian's Chromium, headless, through playwright-core: the one launch every
// browser check shares. A persistent profile in `profile` (a fresh directory
// the calling script is given), no sandbox (CI runs as root), and nothing
// that reaches the network on its own.
const { chromium } = require("playwright-core");

const QUIET = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync"];

// `tls`: trust any certificate (the TLS check's server is self-signed).
function launchChromium(profile, { tls = false } = {}) {
  return chromium.launchPersistentContext(profile, {
    executablePath: "/usr/bin/chromium",
    headless: true,
    ignoreHTTPSErrors: tls,
    args: tls ? [...QUIET, "--ignore-certificate-errors"] : QUIET,
  });
}

module.exports = { launchChromium };
