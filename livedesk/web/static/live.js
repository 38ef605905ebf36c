// Live pages without a framework: new updates through server-sent events behind a "N new updates" button,
// older ones by infinite scroll over the plain "Older updates" link, relative times kept fresh.
"use strict";

(function () {
  const MINUTE = 60 * 1000;

  // Same wording as livedesk/web/render.py relative_time().
  function relative(date, now) {
    const seconds = (now - date) / 1000;
    if (seconds < 60) return "just now";
    if (seconds < 3600) return Math.floor(seconds / 60) + " min ago";
    if (seconds < 86400) return Math.floor(seconds / 3600) + " h ago";
    if (seconds < 7 * 86400) {
      const days = Math.floor(seconds / 86400);
      return days + (days > 1 ? " days ago" : " day ago");
    }
    return date.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric", timeZone: "UTC" });
  }

  function refreshTimes(root) {
    const now = Date.now();
    for (const time of (root || document).querySelectorAll("time[data-relative]")) {
      time.textContent = relative(new Date(time.getAttribute("datetime")), now);
    }
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function known(list, id) {
    return list.querySelector('[data-update-id="' + id + '"]') !== null;
  }

  function setUpLive(section, list) {
    const url = section.getAttribute("data-events-url");
    if (!url || !window.EventSource) return;
    const slot = section.querySelector(".banner-slot");
    const pending = [];
    let button = null;

    function showBanner() {
      if (!button) {
        button = document.createElement("button");
        button.type = "button";
        button.className = "banner";
        button.addEventListener("click", insertPending);
        slot.appendChild(button);
      }
      button.textContent = pending.length + (pending.length === 1 ? " new update" : " new updates");
    }

    function insertPending() {
      // Newest first: the last received goes on top.
      while (pending.length) {
        const item = pending.shift();
        if (!known(list, item.getAttribute("data-update-id"))) list.insertBefore(item, list.firstChild);
      }
      refreshTimes(list);
      if (button) { button.remove(); button = null; }
      const first = list.querySelector("a");
      if (first) first.focus();
    }

    const source = new EventSource(url);
    source.onmessage = function (event) {
      const data = JSON.parse(event.data);
      if (known(list, data.id) || pending.some((item) => item.getAttribute("data-update-id") === String(data.id))) return;
      const item = parse(data.html).querySelector("[data-update-id]");
      if (!item) return;
      pending.push(document.adoptNode(item));
      showBanner();
    };
  }

  function setUpScroll(section, list) {
    const pager = section.querySelector(".pager");
    if (!pager || !window.IntersectionObserver || !window.fetch) return;
    let loading = false;

    function caughtUp() {
      const end = document.createElement("p");
      end.className = "caught-up";
      end.textContent = "You're all caught up";
      pager.replaceChildren(end);
    }

    async function loadMore(link) {
      loading = true;
      try {
        const href = link.getAttribute("href");
        const response = await fetch(href + (href.includes("?") ? "&" : "?") + "fragment=1");
        if (!response.ok) throw new Error(response.statusText);
        const page = parse(await response.text());
        for (const item of page.querySelectorAll("[data-update-id]")) {
          if (!known(list, item.getAttribute("data-update-id"))) list.appendChild(document.adoptNode(item));
        }
        refreshTimes(list);
        const next = page.querySelector("a[rel=next]");
        if (next) pager.replaceChildren(document.adoptNode(next));
        else caughtUp();
      } catch (error) {
        // Leave the plain link in place: the reader can still follow it.
      } finally {
        loading = false;
        // Observing afresh reports the pager's visibility again: a short page keeps loading.
        observer.unobserve(pager);
        observer.observe(pager);
      }
    }

    const observer = new IntersectionObserver(function (entries) {
      if (loading || !entries.some((entry) => entry.isIntersecting)) return;
      const link = pager.querySelector("a[rel=next]");
      if (link) loadMore(link);
    }, { rootMargin: "400px" });
    observer.observe(pager);
    if (!pager.querySelector("a[rel=next]") && list.children.length) caughtUp();
  }

  document.addEventListener("DOMContentLoaded", function () {
    const section = document.querySelector("[data-events-url]");
    const list = section && section.querySelector("[data-updates]");
    if (section && list) {
      setUpLive(section, list);
      setUpScroll(section, list);
    }
    refreshTimes();
    setInterval(refreshTimes, MINUTE);
  });
})();
