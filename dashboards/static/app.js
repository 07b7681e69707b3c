/* The app's only script (the CSP forbids inline ones): queue refresh, keyboard shortcuts,
   confirmations, ticking countdowns. Everything works without it. */
(function () {
  "use strict";
  var POLL_MS = 15000;

  function typing() {
    var el = document.activeElement;
    return el && (el.tagName === "INPUT" || el.tagName === "TEXTAREA" || el.tagName === "SELECT");
  }

  // Console: poll the queue's fingerprint; reload when it changed and nobody is typing.
  var queue = document.getElementById("queue");
  if (queue) {
    setInterval(function () {
      fetch(queue.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
        .then(function (r) { return r.ok ? r.json() : null; })
        .then(function (v) {
          if (!v || v.version === queue.dataset.version) { return; }
          if (typing() || document.querySelector("details[open]")) {
            document.getElementById("newer").classList.remove("hidden");
          } else {
            location.reload();
          }
        })
        .catch(function () { /* offline for a moment: try again at the next tick */ });
    }, POLL_MS);
  }

  // Keyboard shortcuts on the console: j/k select, c/x/a/t/s/o act on the selected alert.
  var cards = Array.prototype.slice.call(document.querySelectorAll("article[data-alert]"));
  var current = -1;
  function select(i) {
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
    if (current < 0 || !cards[current]) { return; }
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

  // Countdowns on the board tick every minute (the colours are the server's).
  function tick() {
    document.querySelectorAll(".cd[data-due]").forEach(function (el) {
      var left = (new Date(el.dataset.due) - new Date()) / 1000;
      var label = el.textContent.split("：")[0];
      var abs = Math.abs(left), h = Math.floor(abs / 3600), m = Math.floor((abs % 3600) / 60);
      var text = (h >= 24 ? Math.floor(h / 24) + " 天 " + (h % 24) + " 小时" : h ? h + " 小时 " + m + " 分" : m + " 分");
      el.textContent = label + "：" + (left < 0 ? "超时 " + text : text + "后到期");
    });
  }
  if (document.querySelector(".cd[data-due]") && !document.body.dataset.frozen) { setInterval(tick, 60000); }

  // Running clocks on the alert cards: the time left to each deadline, red under an hour,
  // marked once breached; set at once (the queue's HTML is shared and cached) and every 30 s.
  function span(seconds) {
    var abs = Math.abs(seconds), h = Math.floor(abs / 3600), m = Math.floor((abs % 3600) / 60);
    return h >= 24 ? Math.floor(h / 24) + " 天 " + (h % 24) + " 小时" : h ? h + " 小时 " + m + " 分" : m + " 分";
  }
  function clocks() {
    document.querySelectorAll(".clock[data-due]").forEach(function (el) {
      var left = (new Date(el.dataset.due) - new Date()) / 1000;
      el.classList.toggle("breached", left < 0);
      el.classList.toggle("red", left >= 0 && left < 3600);
      el.querySelector(".left").textContent = left < 0 ? "已超时 " + span(left) : "剩余 " + span(left);
    });
  }
  if (document.querySelector(".clock[data-due]")) { clocks(); setInterval(clocks, 30000); }
})();
