// The home page kept current: each event from /events is one story's entry as the list shows it. It replaces the
// story's entry, or joins the list, at its place by last update (newest first); `removed` takes it away. Without
// JavaScript the list is as served, with a "More stories" link.
"use strict";

(function () {
  // Newest first on (last update, id), as the server lists stories: above zero when `a` comes before `b`.
  function compare(a, b) {
    return (Number(a.getAttribute("data-sort")) - Number(b.getAttribute("data-sort"))) ||
      (Number(a.getAttribute("data-story-id")) - Number(b.getAttribute("data-story-id")));
  }

  function entryFrom(html) {
    return new DOMParser().parseFromString("<ol>" + html + "</ol>", "text/html").querySelector("li");
  }

  // Runs `change` without moving the entry the reader is looking at once they have scrolled; at the very top the
  // reader sees new stories arrive. (style.css turns the browser's own scroll anchoring off.)
  function keepingPlace(list, storyId, change) {
    let anchor = null;
    if (window.scrollY > 0) {
      for (const entry of list.children) {
        if (entry.getAttribute("data-story-id") === storyId) continue;
        if (entry.getBoundingClientRect().bottom > 0) { anchor = entry; break; }
      }
    }
    const before = anchor && anchor.getBoundingClientRect().top;
    change();
    if (anchor && anchor.isConnected) window.scrollBy(0, anchor.getBoundingClientRect().top - before);
  }

  document.addEventListener("DOMContentLoaded", function () {
    const list = document.querySelector("[data-home-stories]");
    const url = list && list.getAttribute("data-home-events-url");
    if (!url || !window.EventSource) return;
    const status = document.querySelector("[data-home-status]");
    const source = new EventSource(url);
    source.onmessage = function (event) {
      const data = JSON.parse(event.data);
      const storyId = String(data.story_id);
      const entry = data.removed ? null : entryFrom(data.html);
      keepingPlace(list, storyId, function () {
        const old = list.querySelector('[data-story-id="' + storyId + '"]');
        if (old) old.remove();
        if (!entry) return;
        const next = Array.from(list.children).find((other) => compare(entry, other) > 0);
        list.insertBefore(entry, next || null);
      });
      const empty = document.querySelector("main .empty");
      if (empty && list.children.length) empty.remove();
      if (entry && status) status.textContent = "Updated: " + entry.querySelector("h2 a").textContent;
    };
  });
})();
