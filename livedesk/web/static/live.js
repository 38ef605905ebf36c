// Live pages without a framework: every change the server sends (new updates behind a "N new updates" button;
// corrections, retractions, pins, key events and removals in place), older updates by infinite scroll over the
// plain "Older updates" link, relative times kept fresh.
//
// Each update is a card with data-update-id, data-revision and data-sort (its time in microseconds; with the id,
// its place in the stream, newest first). Whatever the stream said last about an item wins, wherever the item is
// or later shows up (a page loaded by scrolling may be older than an event already received).
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

  const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  // The time of day in the reader's own zone, as livedesk/web/render.py time_of_day() writes it in UTC:
  // "14:05 BST" today, "28 Nov, 14:05 BST" before, with the year when it is another year.
  function clock(date, now) {
    const time = date.toLocaleTimeString("en-GB", { hour: "2-digit", minute: "2-digit", hour12: false, timeZoneName: "short" });
    if (date.toDateString() === now.toDateString()) return time;
    const day = date.getDate() + " " + MONTHS[date.getMonth()];
    return (date.getFullYear() === now.getFullYear() ? day : day + " " + date.getFullYear()) + ", " + time;
  }

  // Relative times ("12 min ago") kept fresh, times of day in the reader's zone, and the page's Live state:
  // live while its last update is within the window the server used.
  function refreshTimes(root) {
    const now = new Date();
    for (const element of (root || document).querySelectorAll("[data-relative]")) {
      const at = element.getAttribute("data-relative") || element.getAttribute("datetime");
      element.textContent = relative(new Date(at), now);
    }
    for (const time of (root || document).querySelectorAll("time[data-clock]")) {
      time.textContent = clock(new Date(time.getAttribute("datetime")), now);
    }
    const state = document.querySelector("[data-live-state][data-last-update]");
    const badge = state && state.querySelector("[data-state-badge]");
    if (badge) {
      const age = now - new Date(state.getAttribute("data-last-update"));
      const live = age < Number(state.getAttribute("data-live-window")) * 1000;
      badge.className = live ? "live-badge" : "ended-badge";
      badge.textContent = live ? "Live" : "Ended";
    }
  }

  // A new update arrived: the page is live from its time on, if that is newer than what the page knew.
  function noteActivity(at) {
    const state = document.querySelector("[data-live-state]");
    if (!state || !at) return;
    const known = state.getAttribute("data-last-update");
    if (!known || new Date(at) > new Date(known)) state.setAttribute("data-last-update", at);
  }

  function parse(html) {
    return new DOMParser().parseFromString(html, "text/html");
  }

  function byId(root, id) {
    return root.querySelector('[data-update-id="' + id + '"]');
  }

  function revisionOf(card) {
    return Number(card.getAttribute("data-revision"));
  }

  // A card's or a key event's item id.
  function itemId(element) {
    return Number(element.getAttribute("data-update-id") || element.getAttribute("data-key-event-id"));
  }

  // Newest first, on (time, id) as the server orders streams: above zero when `a` comes before `b`.
  function compare(a, b) {
    return (Number(a.getAttribute("data-sort")) - Number(b.getAttribute("data-sort"))) || (itemId(a) - itemId(b));
  }

  function insertInOrder(list, element) {
    for (const other of list.children) {
      if (compare(element, other) > 0) { list.insertBefore(element, other); return; }
    }
    list.appendChild(element);
  }

  // Runs `change` (to elements of item `id`, or to none) without moving what the reader is looking at: the first
  // card (or the pager) still in view and not changed stays where it is on screen. At the very top nothing is
  // held: the reader sees the change arrive. (style.css turns the browser's own scroll anchoring off.)
  function keepingScroll(stream, id, change) {
    let anchor = null;
    if (window.scrollY > 0) {
      for (const element of stream.querySelectorAll("[data-update-id], .pager")) {
        if (element.getAttribute("data-update-id") === id) continue;
        if (element.getBoundingClientRect().bottom > 0) { anchor = element; break; }
      }
    }
    const before = anchor && anchor.getBoundingClientRect().top;
    change();
    if (anchor && anchor.isConnected) window.scrollBy(0, anchor.getBoundingClientRect().top - before);
  }

  // What the stream said last about each item: {revision, html} (html null: removed from the pages).
  const latest = new Map();

  function cardFrom(html) {
    const card = parse(html).querySelector("[data-update-id]");
    return card ? document.adoptNode(card) : null;
  }

  // An item as the page should show it now: `card` as loaded, or the newer state the stream sent (null: removed).
  function newest(card) {
    const said = latest.get(card.getAttribute("data-update-id"));
    if (!said || said.revision <= revisionOf(card)) return card;
    return said.html === null ? null : cardFrom(said.html);
  }

  // The Pinned block's copy of a card: its own anchors, marked "Pinned".
  function pinnedCopy(card) {
    for (const element of [card, ...card.querySelectorAll("[id], [aria-labelledby]")]) {
      for (const name of ["id", "aria-labelledby"]) {
        const value = element.getAttribute(name);
        if (value && value.startsWith("update-")) element.setAttribute(name, "pinned-" + value.slice(7));
      }
    }
    for (const flag of card.querySelectorAll(".flag")) flag.remove();
    const flag = document.createElement("p");
    flag.className = "flag pinned-flag";
    flag.textContent = "Pinned";
    const article = card.querySelector("article") || card;
    article.insertBefore(flag, article.firstChild);
    return card;
  }

  function keyEventItem(id, card, data) {
    const item = document.createElement("li");
    item.setAttribute("data-key-event-id", id);
    item.setAttribute("data-sort", card.getAttribute("data-sort"));
    const link = document.createElement("a");
    link.href = data.permalink;
    link.setAttribute("data-anchor", "update-" + id);
    link.textContent = data.label;
    const time = document.createElement("time");
    time.setAttribute("datetime", data.at);
    time.setAttribute("data-clock", "");
    time.textContent = clock(new Date(data.at), new Date());
    item.append(link, " ", time);
    return item;
  }

  function setUpLive(stream, section, list, hasOlder) {
    const url = section.getAttribute("data-events-url");
    if (!url || !window.EventSource) return;
    const slot = section.querySelector(".banner-slot");
    const pinnedBlock = stream.querySelector("[data-pinned-block]");
    const pinned = pinnedBlock && pinnedBlock.querySelector("[data-pinned]");
    const keyBlock = stream.querySelector("[data-key-events-block]");
    const keyEvents = keyBlock && keyBlock.querySelector("[data-key-events]");
    const pending = []; // cards newer than every card shown, waiting for the reader's click
    const title = document.title;
    let button = null;

    // The notice (sticky: style.css keeps it in view while the reader is anywhere among the updates) and the
    // count in the tab's title, "(3) Story title".
    function showBanner() {
      document.title = pending.length ? "(" + pending.length + ") " + title : title;
      if (!pending.length) {
        if (button) { button.remove(); button = null; }
        return;
      }
      if (!button) {
        button = document.createElement("button");
        button.type = "button";
        button.className = "banner";
        button.addEventListener("click", insertPending);
        slot.appendChild(button);
      }
      button.textContent = pending.length + (pending.length === 1 ? " new update" : " new updates");
    }

    // The new cards go above the newest one, and what the reader is reading stays where it is on screen; the
    // keyboard focus moves to the first new card without scrolling to it.
    function insertPending() {
      const inserted = [];
      keepingScroll(stream, null, function () {
        while (pending.length) {
          const item = pending.shift();
          if (!byId(list, item.getAttribute("data-update-id"))) { insertInOrder(list, item); inserted.push(item); }
        }
        refreshTimes(list);
        showBanner();
      });
      inserted.sort(compare).reverse();
      const first = inserted.length && inserted[0].querySelector("a");
      if (first) first.focus({ preventScroll: true });
    }

    // The card in the stream: replaced where it is, removed, queued behind the banner when newer than all, put
    // in its place when within what is loaded, or left for its page when older than that.
    function showInStream(id, card) {
      const current = byId(list, id);
      const waiting = pending.findIndex((item) => item.getAttribute("data-update-id") === id);
      if (!card) {
        if (current) current.remove();
        if (waiting >= 0) pending.splice(waiting, 1);
      } else if (current) {
        if (revisionOf(current) < revisionOf(card)) current.replaceWith(card);
      } else if (waiting >= 0) {
        pending[waiting] = card;
      } else {
        const first = list.querySelector("[data-update-id]");
        const last = list.lastElementChild;
        if (!first || compare(card, first) > 0) pending.push(card);
        else if (!(hasOlder() && last && compare(card, last) < 0)) insertInOrder(list, card);
      }
    }

    function showPinned(id, html, data) {
      if (!pinned) return;
      const current = byId(pinned, id);
      if (html !== null && data.pinned) {
        const copy = pinnedCopy(cardFrom(html));
        if (current) current.replaceWith(copy);
        else pinned.insertBefore(copy, pinned.firstChild); // most recently pinned first
      } else if (current) {
        current.remove();
      }
      pinnedBlock.hidden = !pinned.children.length;
    }

    function showKeyEvent(id, card, data) {
      if (!keyEvents) return;
      const current = keyEvents.querySelector('[data-key-event-id="' + id + '"]');
      if (keyBlock.hasAttribute("data-automatic")) {
        if (!(card && data.key_event)) {
          // Chosen without the desk (the first report of each new claim): only a removal takes one away.
          if (!card && current) current.remove();
          keyBlock.hidden = !keyEvents.children.length;
          return;
        }
        // The desk marked a key event: its choices replace the ones made without it.
        keyBlock.removeAttribute("data-automatic");
        for (const note of keyBlock.querySelectorAll("[data-automatic-note]")) note.remove();
        keyEvents.replaceChildren();
      }
      if (current) current.remove();
      if (card && data.key_event) insertInOrder(keyEvents, keyEventItem(id, card, data));
      keyBlock.hidden = !keyEvents.children.length;
    }

    const source = new EventSource(url);
    source.onmessage = function (event) {
      const data = JSON.parse(event.data);
      const id = String(data.id);
      const said = latest.get(id);
      if (said && said.revision >= data.revision) return; // announced twice, or older than what we have
      const html = data.removed ? null : data.html;
      latest.set(id, { revision: data.revision, html: html });
      if (html !== null && !byId(list, id)) noteActivity(data.at);
      keepingScroll(stream, id, function () {
        const card = html === null ? null : cardFrom(html);
        showInStream(id, card);
        showPinned(id, html, data);
        showKeyEvent(id, card, data);
        showBanner();
        refreshTimes(stream);
      });
    };

    // Editors changed the story (renamed, merged, split): its header is fetched again and swapped in.
    source.addEventListener("story", async function () {
      try {
        const response = await fetch(window.location.pathname + window.location.search);
        if (!response.ok) return;
        const header = parse(await response.text()).querySelector("[data-stream-header]");
        const current = stream.querySelector("[data-stream-header]");
        if (header && current) {
          keepingScroll(stream, null, () => current.replaceWith(document.adoptNode(header)));
          refreshTimes(stream);
        }
      } catch (error) {
        // The header stays as it was; the next story event or a reload brings it up to date.
      }
    });
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
        for (const loaded of page.querySelectorAll("[data-update-id]")) {
          if (byId(list, loaded.getAttribute("data-update-id"))) continue; // arrived live meanwhile
          const card = newest(document.adoptNode(loaded));
          if (card) list.appendChild(card);
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

  // A key event's link goes to the update on this page when it is loaded, else to the update's own page.
  function followKeyEvents(stream) {
    stream.addEventListener("click", function (event) {
      const link = event.target.closest && event.target.closest("[data-key-events] a[data-anchor]");
      if (!link) return;
      const anchor = link.getAttribute("data-anchor");
      if (!document.getElementById(anchor)) return;
      event.preventDefault();
      window.location.hash = anchor;
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const section = document.querySelector("[data-events-url]");
    const list = section && section.querySelector("[data-updates]");
    const stream = section && (section.closest("[data-stream]") || section);
    if (section && list) {
      const pager = section.querySelector(".pager");
      const hasOlder = () => pager !== null && pager.querySelector("a[rel=next]") !== null;
      setUpLive(stream, section, list, hasOlder);
      setUpScroll(section, list);
      followKeyEvents(stream);
    }
    refreshTimes();
    setInterval(refreshTimes, MINUTE);
  });
})();
