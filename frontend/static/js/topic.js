// A forum topic made live: new posts appear (on the last page), edits and removals update
// in place; catch-up after a reconnect comes from the socket's replay. Text via textContent.
import { live } from "./live.js";

const root = document.getElementById("forum-topic");

function postArticle(p) {
  const article = document.createElement("article");
  article.className = "forum-post live";
  article.id = `post-${p.id}`;
  article.dataset.id = p.id;
  const header = document.createElement("header");
  const author = document.createElement("b");
  author.className = "author";
  if (p.username && p.username !== "[deleted]") {
    // As the server renders names (member_tags.member_link): linked to the profile.
    const link = document.createElement("a");
    link.className = "member";
    link.href = `/users/${encodeURIComponent(p.username)}/`;
    link.textContent = p.username;
    author.append(link);
  } else {
    author.textContent = p.username;
  }
  const time = document.createElement("time");
  time.dateTime = p.created_at;
  time.textContent = p.created_at.slice(0, 16).replace("T", " ");
  header.append(author, " ", time);
  const body = document.createElement("div");
  body.className = "post-body";
  article.append(header, body);
  return article;
}

if (root && live) {
  const posts = root.querySelector(".posts");
  const more = root.querySelector(".live-more");
  live.subscribe(root.dataset.stream, (frame) => {
    if (frame.event === "forum.topic") {
      if (frame.payload.action === "delete") window.location.reload();
      return;
    }
    if (frame.event !== "forum.post") return;
    const p = frame.payload;
    let article = document.getElementById(`post-${p.id}`);
    if (!article) {
      if (root.dataset.liveAppend !== "1") {
        more.hidden = false;
        return;
      }
      article = postArticle(p);
      posts.append(article);
    }
    const body = article.querySelector(".post-body");
    if (p.deleted) {
      article.classList.add("deleted");
      if (body) body.textContent = "This post was removed by a moderator.";
    } else if (body) {
      body.textContent = p.body;
    }
  }, {
    since: root.dataset.lastEventId,
    // Moved where this member may not read (or gone): the page shows what they may see.
    onUnsubscribed: () => window.location.reload(),
  });
}
