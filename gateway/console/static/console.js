// Frontdesk console: live updates over Server-Sent Events, title badge and sound for new
// handoffs, keyboard shortcuts. Plain JavaScript, no dependencies.
(function () {
  "use strict";
  var body = document.body;
  var page = body.dataset.page;
  var current = body.dataset.conversation;
  var baseTitle = document.title;
  var unseen = 0;
  var sound = document.getElementById("sound");
  var status = document.getElementById("live-status");

  if (sound) {
    sound.checked = localStorage.getItem("fd-sound") === "1";
    sound.addEventListener("change", function () { localStorage.setItem("fd-sound", sound.checked ? "1" : "0"); });
  }

  function beep() {
    if (!sound || !sound.checked) return;
    try {
      var ctx = new (window.AudioContext || window.webkitAudioContext)();
      var osc = ctx.createOscillator(), gain = ctx.createGain();
      osc.frequency.value = 880; gain.gain.value = 0.08;
      osc.connect(gain); gain.connect(ctx.destination);
      osc.start(); osc.stop(ctx.currentTime + 0.25);
    } catch (e) { /* no audio */ }
  }

  function badge() {
    document.title = unseen ? "(" + unseen + ") " + baseTitle : baseTitle;
  }
  window.addEventListener("focus", function () { unseen = 0; badge(); });

  // Times in the reader's own time zone.
  function localize(root) {
    root.querySelectorAll("time[datetime]").forEach(function (el) {
      var d = new Date(el.getAttribute("datetime"));
      if (!isNaN(d)) el.textContent = d.toLocaleString(document.documentElement.lang, { dateStyle: "short", timeStyle: "short" });
    });
  }

  // One refresh at a time; an event that arrives during it asks for one more afterwards,
  // so the last change is always shown.
  var pending = null, again = null;
  function refresh(el, after) {
    if (!el) return;
    if (pending) { again = { el: el, after: after }; return; }
    pending = fetch(el.dataset.src, { credentials: "same-origin", headers: { "Accept": "text/html" } })
      .then(function (r) {
        if (r.redirected || r.status === 401 || r.status === 403) { location.reload(); return null; }
        return r.ok ? r.text() : null;
      })
      .then(function (html) { if (html !== null && html !== undefined) { el.innerHTML = html; localize(el); if (after) after(); } })
      .catch(function () {})
      .then(function () {
        pending = null;
        var next = again;
        again = null;
        if (next) refresh(next.el, next.after);
      });
  }

  function composerChanged() {
    var live = document.querySelector("#live .live-body");
    var reply = document.getElementById("reply");
    if (!live) return;
    if (live.dataset.composer !== body.dataset.composer && !(reply && reply.value)) location.reload();
  }

  if (page === "conversation") {
    var first = document.querySelector("#live .live-body");
    if (first) body.dataset.composer = first.dataset.composer;
  }

  // Show the page's changes: the inbox for any conversation, a conversation for its own
  // (for every one when conversationId is not given).
  function show(conversationId) {
    if (page === "inbox") refresh(document.getElementById("inbox"));
    if (page === "conversation" && (conversationId === undefined || String(conversationId) === current)) {
      refresh(document.getElementById("live"), composerChanged);
    }
  }

  function onEvent(data) {
    if (data.kind === "handoff") { unseen += 1; badge(); beep(); }
    show(data.conversation_id);
  }

  if (page && window.EventSource) {
    var source = new EventSource("/console/events");
    source.addEventListener("open", function () {
      if (status) { status.textContent = status.dataset.live; status.classList.add("on"); }
      // What happened after the page was rendered and before the stream opened (or while it
      // was down) reached no event: read the page once more now that events are arriving.
      show();
    });
    source.addEventListener("error", function () {
      if (status) { status.textContent = status.dataset.offline; status.classList.remove("on"); }
    });
    source.addEventListener("conversation", function (e) {
      try { onEvent(JSON.parse(e.data)); } catch (err) { /* ignore */ }
    });
  }

  // Keyboard: j/k move between conversations, i goes to the inbox, r focuses the reply,
  // Ctrl+Enter (or Cmd+Enter) sends.
  document.addEventListener("keydown", function (e) {
    var t = e.target;
    var typing = t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.tagName === "SELECT" || t.isContentEditable);
    if (typing) {
      if (e.key === "Enter" && (e.ctrlKey || e.metaKey) && t.form) { e.preventDefault(); t.form.requestSubmit(); }
      return;
    }
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    if (e.key === "j" || e.key === "k") {
      var links = Array.prototype.slice.call(document.querySelectorAll("a.open"));
      if (!links.length) return;
      var at = links.indexOf(document.activeElement);
      var next = e.key === "j" ? Math.min(links.length - 1, at + 1) : Math.max(0, at - 1);
      links[at === -1 ? 0 : next].focus();
      e.preventDefault();
    } else if (e.key === "i") {
      location.href = "/console/inbox";
    } else if (e.key === "r") {
      var box = document.getElementById("reply") || document.getElementById("template");
      if (box) { box.focus(); e.preventDefault(); }
    }
  });

  localize(document);
})();
