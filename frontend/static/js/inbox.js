// The inbox: a new private message shows a notice (the list itself is server-rendered).
import { live } from "./live.js";

const root = document.getElementById("inbox");

if (root && live) {
  const notice = root.querySelector(".inbox-live");
  live.subscribe("inbox", (frame) => {
    if (frame.event === "pm.new") notice.hidden = false;
  });
}
