// View beacons without a framework: every [data-view-beacon="ID"] element sends one beacon per page load,
// once it has been at least half visible for a second; then every [data-views-for="ID"] element shows
// the fresh count. Elements added later (live updates, infinite scroll) are picked up as they arrive.
"use strict";

(function () {
  const DWELL_MS = 1000;
  const MAX_IDS = 100; // per count request, as the API allows

  // Same wording and rounding (down) as livedesk/web/views.py format_views().
  function formatViews(n) {
    n = Math.max(0, Math.floor(Number(n) || 0));
    if (n === 1) return "1 view";
    for (const [unit, suffix] of [[1e9, "B"], [1e6, "M"], [1e3, "K"]]) {
      if (n >= unit) {
        const tenths = Math.floor((n * 10) / unit);
        const whole = Math.floor(tenths / 10);
        const short = tenths >= 100 || tenths % 10 === 0 ? String(whole) : whole + "." + (tenths % 10);
        return short + suffix + " views";
      }
    }
    return n + " views";
  }

  async function refreshCounts() {
    const ids = new Set();
    for (const el of document.querySelectorAll("[data-views-for]")) ids.add(el.dataset.viewsFor);
    const all = [...ids].filter((id) => /^\d+$/.test(id));
    for (let start = 0; start < all.length; start += MAX_IDS) {
      const query = all.slice(start, start + MAX_IDS).join(",");
      let counts;
      try {
        const response = await fetch("/api/views?ids=" + query, { credentials: "same-origin" });
        if (!response.ok) continue;
        counts = await response.json();
      } catch (error) {
        continue; // offline: the server-rendered counts stay
      }
      for (const el of document.querySelectorAll("[data-views-for]")) {
        const count = counts[el.dataset.viewsFor];
        if (count !== undefined) el.textContent = formatViews(count);
      }
    }
  }

  // Several beacons close together share one refresh.
  let refreshing = null;
  function scheduleRefresh() {
    if (!refreshing) {
      refreshing = new Promise((resolve) => setTimeout(resolve, 50))
        .then(refreshCounts)
        .finally(() => (refreshing = null));
    }
  }

  const sent = new Set(); // article ids beaconed on this page load
  async function sendBeacon(id) {
    if (sent.has(id)) return;
    sent.add(id);
    try {
      // keepalive: the beacon survives the reader leaving the page right away.
      await fetch("/api/views/" + encodeURIComponent(id), { method: "POST", keepalive: true, credentials: "same-origin" });
    } catch (error) {
      return; // not counted; nothing to show
    }
    scheduleRefresh();
  }

  // Half of the element visible, or, for an element taller than twice the window (a long article), half
  // the window filled by it: a ratio of 0.5 alone could never be reached by such an element.
  function halfVisible(entry) {
    if (!entry.isIntersecting) return false;
    const viewport = entry.rootBounds ? entry.rootBounds.height : window.innerHeight;
    const needed = 0.5 * Math.min(entry.boundingClientRect.height, viewport);
    return entry.intersectionRect.height >= needed && entry.intersectionRect.height > 0;
  }

  const timers = new Map(); // element → dwell timer, while it is half visible
  const visible = new Set(); // elements half visible right now
  const observed = new WeakSet();
  let observer = null;

  function startDwell(el) {
    if (timers.has(el) || document.hidden) return;
    timers.set(
      el,
      setTimeout(() => {
        timers.delete(el);
        visible.delete(el);
        if (observer) observer.unobserve(el);
        sendBeacon(el.dataset.viewBeacon);
      }, DWELL_MS),
    );
  }

  function stopDwell(el) {
    clearTimeout(timers.get(el));
    timers.delete(el);
  }

  function watch(root) {
    const found = root.matches && root.matches("[data-view-beacon]") ? [root] : [];
    found.push(...(root.querySelectorAll ? root.querySelectorAll("[data-view-beacon]") : []));
    for (const el of found) {
      const id = el.dataset.viewBeacon;
      if (observed.has(el) || !/^\d+$/.test(id) || sent.has(id)) continue;
      observed.add(el);
      if (observer) observer.observe(el);
      else sendBeacon(id); // no IntersectionObserver: an old browser; count the page load
    }
  }

  function start() {
    if (!window.fetch) return;
    if (window.IntersectionObserver) {
      const thresholds = Array.from({ length: 21 }, (_, i) => i / 20);
      observer = new IntersectionObserver((entries) => {
        for (const entry of entries) {
          if (halfVisible(entry)) {
            visible.add(entry.target);
            startDwell(entry.target);
          } else {
            visible.delete(entry.target);
            stopDwell(entry.target);
          }
        }
      }, { threshold: thresholds });
      // A background tab is not being read: the dwell restarts when it comes back.
      document.addEventListener("visibilitychange", () => {
        for (const el of visible) (document.hidden ? stopDwell : startDwell)(el);
      });
    }
    watch(document);
    new MutationObserver((mutations) => {
      for (const mutation of mutations) for (const node of mutation.addedNodes) if (node.nodeType === 1) watch(node);
    }).observe(document.body, { childList: true, subtree: true });
  }

  window.livedeskViews = { formatViews: formatViews, refresh: refreshCounts };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
