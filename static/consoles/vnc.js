// noVNC through the portal's console proxy: the proxy logs in on PVE, the browser sees an
// RFB server with security type None.
import RFB from "../vendor/novnc/core/rfb.js";
import keysyms from "../vendor/novnc/core/input/keysymdef.js";
import { nextToken, onPaste, onReconnect, screen, setStatus, websocketUrl } from "./common.js";

const RETURN = 0xff0d;
const TAB = 0xff09;
let rfb = null;
let scaled = true;

async function connect() {
  setStatus("connecting", "connecting");
  let token;
  try {
    token = await nextToken();
  } catch (error) {
    setStatus("disconnected", "disconnected", error.message);
    return;
  }
  screen.replaceChildren();
  rfb = new RFB(screen, websocketUrl(token), { wsProtocols: ["binary"] });
  rfb.scaleViewport = scaled;
  rfb.background = "#000";
  rfb.addEventListener("connect", () => {
    setStatus("connected", "connected");
    rfb.focus();
  });
  rfb.addEventListener("disconnect", (event) => {
    setStatus("disconnected", event.detail.clean ? "disconnected" : "connectionLost");
    rfb = null;
  });
  rfb.addEventListener("securityfailure", (event) => {
    setStatus("disconnected", "refused", event.detail.reason);
  });
}

document.getElementById("console-cad").addEventListener("click", () => rfb?.sendCtrlAltDel());
document.getElementById("console-scale").addEventListener("click", (event) => {
  scaled = !scaled;
  event.currentTarget.setAttribute("aria-pressed", String(scaled));
  if (rfb) rfb.scaleViewport = scaled;
});
// Typed key by key: a VM's console has no shared clipboard.
onPaste((text) => {
  if (!rfb) return;
  for (const char of text.replace(/\r\n?/g, "\n")) {
    if (char === "\n") rfb.sendKey(RETURN, "Enter");
    else if (char === "\t") rfb.sendKey(TAB, "Tab");
    else rfb.sendKey(keysyms.lookup(char.codePointAt(0)), null);
  }
  rfb.focus();
});
onReconnect(connect);
connect();
