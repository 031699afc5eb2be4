// Headless Debian Chromium, driven by playwright-core, as a real client of the
// wsmachine examples. A browser sends `Origin` and offers permessage-deflate.
//
//   node browser.mjs --echo http://127.0.0.1:PORT/ [--echo URL ...] [--chat URL] [--out DIR]
//                    [--expect-extension permessage-deflate] [--untrusted https://URL ...]
//
// https:// URLs work the same (the pages open wss:// on their own origin);
// Chromium must trust their CA: tests/interop/run.sh puts its test CA into
// an NSS database under a temporary HOME (Chromium on Linux reads
// $HOME/.pki/nssdb), no certificate errors are ignored.
// --untrusted: an https:// page whose certificate comes from a CA Chromium
//   does not trust: loading it must fail with a certificate error (proof
//   that the trust above is real and nothing is being ignored).
//
// --echo: loads the page, then through `new WebSocket` on the page's origin
//   (path /echo) checks echoes of text, non-ASCII text, compressible JSON-like
//   text, an ArrayBuffer and 1 MiB (text and binary), and a clean close with
//   1000; types a message into the page's own form, if it has one, and takes
//   a screenshot.
// --chat: opens the page twice; each page joins /ws and sees the other's
//   message as JSON {"uid": N, "msg": "..."}, a short one and a long one (the
//   long one is over the server's compression threshold).
// --expect-extension NAME: every WebSocket's `ws.extensions` (what the server
//   accepted of Chromium's offer, `permessage-deflate; client_max_window_bits`)
//   must name NAME.
import { mkdirSync, readFileSync } from "node:fs";
import { chromium } from "playwright-core";

const args = { echo: [], chat: null, out: "out", extension: null, untrusted: [] };
for (let i = 2; i < process.argv.length; i += 2) {
  const [flag, value] = [process.argv[i], process.argv[i + 1]];
  if (flag === "--echo") args.echo.push(value);
  else if (flag === "--chat") args.chat = value;
  else if (flag === "--out") args.out = value;
  else if (flag === "--expect-extension") args.extension = value;
  else if (flag === "--untrusted") args.untrusted.push(value);
  else throw new Error(`unknown argument ${flag}`);
}

function playwrightVersion() {
  const file = new URL("node_modules/playwright-core/package.json", import.meta.url);
  return JSON.parse(readFileSync(file, "utf8")).version;
}

function check(ok, what) {
  if (!ok) throw new Error(`check failed: ${what}`);
}

// `ws.extensions` is the server's Sec-WebSocket-Extensions, e.g.
// "permessage-deflate; client_max_window_bits=15": the names before each ';'.
function checkExtension(extensions, where) {
  if (!args.extension) return;
  const names = extensions.split(",").map((item) => item.split(";")[0].trim());
  check(names.includes(args.extension), `ws.extensions from ${where} is ${JSON.stringify(extensions)}, without ${args.extension}`);
}

// Runs inside the page: echoes through a WebSocket to the page's own origin.
async function echoInPage() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/echo`);
  ws.binaryType = "arraybuffer";
  const inbox = [];
  let waiter = null;
  ws.onmessage = (e) => { inbox.push(e.data); if (waiter) waiter(); };
  const closed = new Promise((resolve) => { ws.onclose = (e) => resolve(e); });
  await new Promise((resolve, reject) => { ws.onopen = resolve; ws.onerror = () => reject(new Error("WebSocket failed to open")); });
  const next = async () => {
    while (inbox.length === 0) await new Promise((resolve) => { waiter = resolve; });
    return inbox.shift();
  };
  const results = { extensions: ws.extensions, url: ws.url, checks: [] };
  const same = (a, b) => a.byteLength === b.byteLength && new Uint8Array(a).every((x, i) => x === b[i]);
  const big = new Uint8Array(1 << 20).map((_, i) => (i * 31 + 7) & 0xff);
  const records = Array.from({ length: 400 }, (_, i) => ({ id: i, user: `user-${i % 37}`, text: `message ${i} — ok`, tags: ["a", "b"] }));
  const cases = [
    ["text", "hello from chromium"],
    ["non-ASCII text", "héllo wörld — €uro 𝄞 🦀 中文"],
    ["JSON-like text", JSON.stringify(records)],
    ["non-ASCII text over the threshold", "héllo wörld — €uro 𝄞 🦀 中文 ".repeat(40)],
    ["empty text", ""],
    ["binary ArrayBuffer", new Uint8Array([0, 1, 2, 253, 254, 255]).buffer],
    ["1 MiB text", "0123456789abcdef".repeat(1 << 16)],
    ["1 MiB binary", big.buffer],
  ];
  for (const [name, data] of cases) {
    ws.send(data);
    const echo = await next();
    const ok = typeof data === "string" ? echo === data : echo instanceof ArrayBuffer && same(echo, new Uint8Array(data));
    results.checks.push([name, ok]);
  }
  ws.close(1000, "done");
  const close = await closed;
  results.close = { code: close.code, wasClean: close.wasClean };
  return results;
}

// Runs inside a chat page: joins /ws and collects every message.
function joinChat() {
  window.__chat = [];
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws`);
  window.__chatWs = ws;
  ws.onmessage = (e) => window.__chat.push(e.data);
  return new Promise((resolve, reject) => {
    ws.onopen = () => resolve(ws.extensions);
    ws.onerror = () => reject(new Error("chat WebSocket failed to open"));
  });
}

async function waitForChat(page, text) {
  await page.waitForFunction((t) => window.__chat.some((raw) => {
    try { return JSON.parse(raw).msg === t; } catch { return false; }
  }), text, { timeout: 10_000 });
  return page.evaluate((t) => window.__chat.map((raw) => JSON.parse(raw)).find((m) => m.msg === t), text);
}

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  headless: true,
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
let failed = false;
try {
  console.log(`chromium ${browser.version()} via playwright-core ${playwrightVersion()}`);
  mkdirSync(args.out, { recursive: true });
  for (const [index, url] of args.echo.entries()) {
    const page = await browser.newPage({ viewport: { width: 800, height: 500 } });
    page.on("pageerror", (e) => console.log(`  page error: ${e.message}`));
    const response = await page.goto(url);
    check(response.ok(), `GET ${url} answered ${response.status()}`);
    const results = await page.evaluate(echoInPage);
    for (const [name, ok] of results.checks) check(ok, `echo of ${name} from ${url}`);
    checkExtension(results.extensions, url);
    check(results.close.code === 1000 && results.close.wasClean, `clean close 1000 from ${url}, got ${JSON.stringify(results.close)}`);
    const wantScheme = url.startsWith("https:") ? "wss:" : "ws:";
    check(results.url.startsWith(wantScheme), `the page at ${url} opened ${results.url}`);
    console.log(`[chromium echo ${url}] ok over ${results.url}: ${results.checks.map(([n]) => n).join(", ")}; ` +
      `extensions=${JSON.stringify(results.extensions)}; close ${results.close.code} clean`);
    // The page's own UI, if it has a text input: connect (if it has an Open
    // or Connect button), type a message, send it, and wait (bounded) for it
    // to show. The checks above are the test; this is for the screenshot.
    const input = await page.$("input[type=text], input:not([type]), textarea");
    const marker = "typed in chromium 🦀";
    if (input) {
      const open = page.getByRole("button", { name: /^(open|connect)$/i });
      if (await open.count() === 1) await open.click();
      let shown = false;
      for (let attempt = 0; attempt < 5 && !shown; attempt++) {
        await input.fill(marker);
        await input.press("Enter");
        // Twice: the page's own log of what it sent, and the echo.
        shown = await page.waitForFunction((t) => document.body.innerText.split(t).length > 2, marker, { timeout: 1000 })
          .then(() => true, () => false);
      }
      if (!shown) console.log(`  note: the page did not show "${marker}" after sending it`);
    }
    const shot = `${args.out}/echo-page-${index}.png`;
    await page.screenshot({ path: shot });
    console.log(`  screenshot: ${shot}`);
    await page.close();
  }
  for (const url of args.untrusted) {
    const page = await browser.newPage();
    const error = await page.goto(url).then(() => null, (e) => e.message);
    check(error !== null && /ERR_CERT_/.test(error), `${url} loaded despite its untrusted certificate (${error})`);
    console.log(`[chromium untrusted ${url}] ok: refused with ${error.split("\n")[0]}`);
    await page.close();
  }
  if (args.chat) {
    const context = await browser.newContext();
    const [a, b] = [await context.newPage(), await context.newPage()];
    const extensions = [];
    for (const page of [a, b]) {
      const response = await page.goto(args.chat);
      check(response.ok(), `GET ${args.chat} answered ${response.status()}`);
      extensions.push(await page.evaluate(joinChat));
      checkExtension(extensions.at(-1), `${args.chat} (chat)`);
    }
    await a.evaluate(() => window.__chatWs.send("hello from page A"));
    await b.evaluate(() => window.__chatWs.send("hello from page B 🦀"));
    const seenByB = await waitForChat(b, "hello from page A");
    const seenByA = await waitForChat(a, "hello from page B 🦀");
    check(Number.isInteger(seenByB.uid) && Number.isInteger(seenByA.uid), "uids are integers");
    check(seenByA.uid !== seenByB.uid, "the two pages have different uids");
    // Long enough for the server to compress its broadcast too.
    const longA = "a long message from page A: " + "the quick brown fox jumps over the lazy dog; ".repeat(50);
    const longB = "a long message from page B 🦀: " + "pack my box with five dozen liquor jugs — ".repeat(50);
    await a.evaluate((t) => window.__chatWs.send(t), longA);
    await b.evaluate((t) => window.__chatWs.send(t), longB);
    for (const page of [a, b]) {
      for (const text of [longA, longB]) {
        const seen = await waitForChat(page, text);
        check(seen.msg === text, "a long chat message arrived intact");
      }
    }
    console.log(`[chromium chat ${args.chat}] ok: B saw ${JSON.stringify(seenByB)}, A saw ${JSON.stringify(seenByA)}; ` +
      `both saw both long messages (${longA.length} and ${longB.length} characters); extensions=${JSON.stringify(extensions)}`);
    await context.close();
  }
} catch (e) {
  failed = true;
  console.error(`FAIL: ${e.message}`);
} finally {
  await browser.close();
}
process.exit(failed ? 1 : 0);
