// Live peer counts for torrent pages and the browse list. Markup (owned by the torrents
// pages): any element with data-live-peers="<torrent id>" containing elements marked
// data-seeders, data-leechers and data-snatches. One stream per torrent on the tab's socket.
import { live } from "./live.js";

if (live) {
  const byTorrent = new Map();
  for (const el of document.querySelectorAll("[data-live-peers]")) {
    const id = el.dataset.livePeers;
    if (!byTorrent.has(id)) byTorrent.set(id, []);
    byTorrent.get(id).push(el);
  }
  for (const [id, elements] of byTorrent) {
    live.subscribe(`torrent:${id}`, (frame) => {
      if (frame.event !== "peers.counts") return;
      for (const el of elements) {
        for (const key of ["seeders", "leechers", "snatches"]) {
          const target = el.querySelector(`[data-${key}]`);
          if (target && typeof frame.payload[key] === "number") {
            target.textContent = String(frame.payload[key]);
          }
        }
      }
    });
  }
}
