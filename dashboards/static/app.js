/* The app's only script (the CSP forbids inline ones): queue refresh, keyboard shortcuts,
   confirmations, ticking countdowns. Everything works without it. */
(function () {
  "use strict";
  var POLL_MS = 15000;

  function typing() {
    var el = document.activeElement;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }

  // Console: poll the queue's fingerprint; when it changed, fetch the cards and swap them in
  // place (no full reload), unless the monitor is typing or has a form open.
  var queue = document.getElementById("queue");
  var box = document.getElementById("cards");
  // The server's clock decides deadlines; a desk PC's clock may be off by minutes.
  var base = document.querySelector("[data-now]");
  var skew = base ? new Date(base.dataset.now) - new Date() : 0;
  function now() { return new Date(Date.now() + skew); }
  var seen = {};
  function majors() {
    return Array.prototype.slice.call(document.querySelectorAll("article[data-alert]")).filter(function (a) {
      return a.dataset.level === "重大" || a.dataset.level === "特别重大";
    });
  }
  majors().forEach(function (a) { seen[a.dataset.alert] = true; });
  function announce() {
    majors().forEach(function (a) {
      if (seen[a.dataset.alert]) { return; }
      seen[a.dataset.alert] = true;
      if (window.Notification && Notification.permission === "granted") {
        new Notification("新的" + a.dataset.level + "预警", { body: a.dataset.title, tag: "alert-" + a.dataset.alert });
      }
      if (localStorage.getItem("yuqing-sound") === "1") { beep(); }
      document.body.dataset.lastMajor = a.dataset.alert;
    });
  }
  function beep() {
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator();
      osc.frequency.value = 880; osc.connect(ctx.destination); osc.start(); osc.stop(ctx.currentTime + 0.3);
    } catch (err) { /* no audio device: the notification still shows */ }
  }
  function refresh() {
    return fetch(box.dataset.fragment, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text().then(function (t) { return [t, r.headers.get("X-Queue-Version")]; }) : null; })
      .then(function (got) {
        if (!got) { return; }
        box.innerHTML = got[0];
        if (got[1]) { queue.dataset.version = got[1]; }
        current = -1;
        clocks(); filter(); announce();
      });
  }
  if (queue) {
    setInterval(function () {
      fetch(queue.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (v) {
          if (!v || v.version === queue.dataset.version) { return; }
          if (typing() || document.querySelector("#cards details[open]") || !box) {
            document.getElementById("newer").classList.remove("hidden");
          } else {
            refresh();
          }
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }, Number(localStorage.getItem("yuqing-poll-ms")) || POLL_MS);  // a wall screen may poll faster
  }

  // Filters and the search box: shown or hidden in place, counted.
  var filters = document.getElementById("filters");
  function filter() {
    if (!filters) { return; }
    var f = new FormData(filters), q = (f.get("q") || "").trim().toLowerCase();
    var since = Number(f.get("since")) || 0, shown = 0, all = 0;
    document.querySelectorAll("article[data-alert]").forEach(function (a) {
      var ok = (!f.get("level") || a.dataset.level === f.get("level"))
        && (!f.get("status") || a.dataset.status === f.get("status"))
        && (!f.get("tier") || (" " + a.dataset.tiers).indexOf(" " + f.get("tier") + " ") >= 0)
        && (!since || now() - new Date(a.dataset.created) <= since * 3600000)
        && (!q || a.textContent.toLowerCase().indexOf(q) >= 0);
      a.classList.toggle("hidden", !ok);
      all += 1; shown += ok ? 1 : 0;
    });
    document.getElementById("shown").textContent = "显示 " + shown + " / " + all + " 条";
  }
  if (filters) {
    filters.addEventListener("input", filter);
    filters.addEventListener("submit", function (e) { e.preventDefault(); });
    filter();
    var on = document.getElementById("notify-on");
    if (window.Notification && Notification.permission === "default") {
      on.classList.remove("hidden");
      on.addEventListener("click", function () {
        Notification.requestPermission().then(function () { on.classList.add("hidden"); });
      });
    }
    var sound = document.getElementById("sound-on");
    sound.checked = localStorage.getItem("yuqing-sound") === "1";
    sound.addEventListener("change", function () { localStorage.setItem("yuqing-sound", sound.checked ? "1" : "0"); });
  }

  // Keyboard shortcuts on the console: j/k select, c/x/a/t/s/o act on the selected alert.
  var cards = [];
  var current = -1;
  function select(i) {
    cards = Array.prototype.slice.call(document.querySelectorAll("article[data-alert]:not(.hidden)"));
    if (!cards.length) { return; }
    current = Math.max(0, Math.min(cards.length - 1, i));
    cards.forEach(function (c) { c.classList.remove("selected"); });
    cards[current].classList.add("selected");
    cards[current].focus({ preventScroll: true });
    cards[current].scrollIntoView({ block: "nearest" });
  }
  document.addEventListener("keydown", function (e) {
    if (typing() || e.ctrlKey || e.metaKey || e.altKey) { return; }
    if (e.key === "j") { select(current + 1); e.preventDefault(); return; }
    if (e.key === "k") { select(current - 1); e.preventDefault(); return; }
    if (current < 0 || !cards[current] || !cards[current].isConnected) { return; }
    var target = cards[current].querySelector('[data-key="' + e.key + '"]');
    if (!target) { return; }
    e.preventDefault();
    if (target.tagName === "SUMMARY") {
      target.parentElement.open = true;
      var input = target.parentElement.querySelector("input[name=comment]");
      if (input) { input.focus(); }
    } else {
      target.click();
    }
  });

  // Buttons that ask first.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-confirm]");
    if (b && !window.confirm(b.dataset.confirm)) { e.preventDefault(); }
  });

  // A duration in words, as the server says it (yuqing/documents/dates.py spoken): 4 小时,
  // 40 分钟, 1 小时 5 分钟, 1 天 15 小时, 不足 1 分钟; the caller says whether it is overdue.
  function span(seconds) {
    var abs = Math.round(Math.abs(seconds) / 60) * 60, d = Math.floor(abs / 86400);  // nearest minute
    var h = Math.floor((abs % 86400) / 3600), m = Math.floor((abs % 3600) / 60);
    var parts = d ? [d + " 天", h ? h + " 小时" : ""] : [h ? h + " 小时" : "", m ? m + " 分钟" : ""];
    return parts.filter(Boolean).join(" ") || "不足 1 分钟";
  }

  // Countdowns on the board tick every minute (the colours are the server's).
  function tick() {
    document.querySelectorAll(".cd[data-due]").forEach(function (el) {
      var left = (new Date(el.dataset.due) - new Date()) / 1000;
      var label = el.textContent.split("：")[0];
      var text = span(left);
      el.textContent = label + "：" + (left < 0 ? "超时 " + text : text + "后到期");
    });
  }
  if (document.querySelector(".cd[data-due]") && !document.body.dataset.frozen) { setInterval(tick, 60000); }

  // Running clocks on the alert cards: the time left to each deadline, red under an hour,
  // marked once breached; set at once (the queue's HTML is shared and cached) and every 30 s.
  function clocks() {
    document.querySelectorAll(".clock[data-due]").forEach(function (el) {
      var left = (new Date(el.dataset.due) - now()) / 1000;
      el.classList.toggle("breached", left < 0);
      el.classList.toggle("red", left >= 0 && left < 3600);
      el.querySelector(".left").textContent = left < 0 ? "已超时 " + span(left) : "剩余 " + span(left);
    });
  }
  if (document.querySelector(".clock[data-due]") || box) { clocks(); setInterval(clocks, 30000); }
})();
