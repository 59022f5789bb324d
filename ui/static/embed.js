/* The minimal chat inside the widget panel (/embed). Talks to POST /api/v1/chat/stream with the widget token
 * as a Bearer credential and renders the Server-Sent Events: tool steps, streamed text, product cards. */
(function () {
  "use strict";
  var cfg = JSON.parse(document.getElementById("sg-config").textContent);
  var T = cfg.text;
  var log = document.getElementById("sg-log");
  var form = document.getElementById("sg-form");
  var input = document.getElementById("sg-input");
  var sendBtn = document.getElementById("sg-send");
  var detailsBox = document.getElementById("sg-product");
  var storeKey = "shopguide-thread-" + cfg.subject;
  var threadId = sessionStorage.getItem(storeKey) || "";
  var busy = false;
  var assistantCount = 0;

  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function money(v) {
    if (v == null) return "";
    return "¥" + (v >= 100 ? Math.round(v).toLocaleString() : Number(v).toFixed(2));
  }
  function hue(s) {
    var h = 0;
    for (var i = 0; i < s.length; i++) h = (h * 31 + s.charCodeAt(i)) % 360;
    return h;
  }
  function glyph(category) {
    var slug = String(category || "").toLowerCase();
    for (var key in cfg.glyphs) if (slug.indexOf(key) !== -1) return cfg.glyphs[key];
    return "🛍️";
  }
  function card(p) {
    var badge = p.on_promotion
      ? '<span class="sg-badge">' + esc(T.on_promotion) + (p.discount_pct > 0 ? " -" + Math.round(p.discount_pct * 100) + "%" : "") + "</span>"
      : "";
    var list = p.list_price && p.list_price > p.price + 0.005 ? '<span class="sg-list">' + esc(money(p.list_price)) + "</span>" : "";
    return (
      '<button type="button" class="sg-card" data-pid="' + esc(p.product_id) + '">' + badge +
      '<div class="sg-img" style="background:hsl(' + hue(glyph(p.category)) + ' 70% 93%)">' + glyph(p.category) + "</div>" +
      '<div class="sg-body"><div class="sg-title">' + esc(p.title) + "</div>" +
      (p.brand ? '<div class="sg-brand">' + esc(p.brand) + "</div>" : "") +
      '<div class="sg-price">' + esc(money(p.price)) + list + "</div>" +
      (p.rating ? '<div class="sg-rating">★ ' + Number(p.rating).toFixed(1) + "</div>" : "") +
      (p.reason ? '<div class="sg-reason">' + esc(p.reason) + "</div>" : "") +
      "</div></button>"
    );
  }
  function bubble(role, html) {
    var div = document.createElement("div");
    div.className = "sg-msg sg-" + role;
    div.innerHTML = html;
    log.appendChild(div);
    log.scrollTop = log.scrollHeight;
    return div;
  }
  function textHtml(s) {
    return esc(s).replace(/\*\*(.+?)\*\*/g, "<b>$1</b>").replace(/\n/g, "<br>");
  }

  async function send(message) {
    if (busy || !message.trim()) return;
    busy = true;
    sendBtn.disabled = true;
    document.getElementById("sg-examples").style.display = "none";
    bubble("user", textHtml(message));
    var turn = bubble("assistant", '<div class="sg-steps"></div><div class="sg-text sg-typing">…</div><div class="sg-cards"></div>');
    var steps = turn.querySelector(".sg-steps");
    var textEl = turn.querySelector(".sg-text");
    var cardsEl = turn.querySelector(".sg-cards");
    var reply = "";
    var open = {};
    try {
      var res = await fetch(cfg.api + "/chat/stream", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + cfg.token },
        body: JSON.stringify({ message: message, thread_id: threadId || null, language: cfg.lang }),
      });
      if (!res.ok) {
        var err = {};
        try { err = await res.json(); } catch (e) {}
        var msg = res.status === 401 ? T.token_invalid : res.status === 429 ? T.rate_limited : (err.detail && typeof err.detail === "string" ? err.detail : err.error || T.chat_unavailable);
        textEl.classList.remove("sg-typing");
        textEl.innerHTML = '<div class="sg-error">' + esc(msg) + "</div>";
        return;
      }
      var reader = res.body.getReader();
      var decoder = new TextDecoder();
      var buffer = "";
      for (;;) {
        var chunk = await reader.read();
        if (chunk.done) break;
        buffer += decoder.decode(chunk.value, { stream: true });
        var parts = buffer.split("\n\n");
        buffer = parts.pop();
        parts.forEach(function (block) {
          var type = "message", dataLine = "";
          block.split("\n").forEach(function (line) {
            if (line.indexOf("event: ") === 0) type = line.slice(7);
            else if (line.indexOf("data: ") === 0) dataLine += line.slice(6);
          });
          if (!dataLine) return;
          var ev = JSON.parse(dataLine);
          if (type === "session") {
            threadId = ev.thread_id;
            sessionStorage.setItem(storeKey, threadId);
          } else if (type === "tool_start") {
            var d = document.createElement("details");
            d.className = "sg-step";
            d.innerHTML = "<summary>🔧 " + esc(T.tools[ev.tool] || ev.tool) + ' <span class="sg-spin">⏳</span></summary><pre></pre>';
            d.querySelector("pre").textContent = JSON.stringify(ev.args || {});
            steps.appendChild(d);
            open[ev.tool] = d;
          } else if (type === "tool_end") {
            var s = open[ev.tool];
            if (s) {
              s.querySelector(".sg-spin").textContent = "✓";
              if (ev.output) s.querySelector("pre").textContent += "\n" + String(ev.output).slice(0, 600);
            }
          } else if (type === "token") {
            reply += ev.text;
            textEl.classList.remove("sg-typing");
            textEl.innerHTML = textHtml(reply);
          } else if (type === "products") {
            cardsEl.innerHTML = (ev.products || []).map(card).join("");
          } else if (type === "done") {
            if (!reply && ev.text) { reply = ev.text; textEl.innerHTML = textHtml(reply); }
            if (ev.products && ev.products.length && !cardsEl.innerHTML) cardsEl.innerHTML = ev.products.map(card).join("");
          } else if (type === "error") {
            textEl.innerHTML = (reply ? textHtml(reply) : "") + '<div class="sg-error">' + esc(ev.text) + "</div>";
          }
          log.scrollTop = log.scrollHeight;
        });
      }
      textEl.classList.remove("sg-typing");
      if (!reply && textEl.textContent === "…") textEl.textContent = "";
      addFeedback(turn, reply);
    } catch (e) {
      textEl.classList.remove("sg-typing");
      textEl.innerHTML = '<div class="sg-error">' + esc(T.chat_unavailable) + "</div>";
    } finally {
      busy = false;
      sendBtn.disabled = false;
      input.focus();
    }
  }

  function addFeedback(turn, reply) {
    var index = assistantCount++;
    var bar = document.createElement("div");
    bar.className = "sg-feedback";
    bar.innerHTML = '<button type="button" data-liked="true" aria-label="like">👍</button><button type="button" data-liked="false" aria-label="dislike">👎</button>';
    bar.addEventListener("click", function (e) {
      var b = e.target.closest("button");
      if (!b || !threadId) return;
      fetch(cfg.api + "/feedback", {
        method: "POST",
        headers: { "Content-Type": "application/json", Authorization: "Bearer " + cfg.token },
        body: JSON.stringify({ thread_id: threadId, message_index: index, liked: b.dataset.liked === "true", message: reply.slice(0, 4000) }),
      }).then(function () { bar.innerHTML = '<span>' + esc(T.feedback_thanks) + "</span>"; });
    });
    turn.appendChild(bar);
  }

  log.addEventListener("click", async function (e) {
    var c = e.target.closest("[data-pid]");
    if (!c) return;
    var res = await fetch(cfg.api + "/products/" + encodeURIComponent(c.dataset.pid));
    if (!res.ok) return;
    var p = await res.json();
    var title = cfg.lang === "zh" ? p.title_zh : p.title_en;
    var desc = cfg.lang === "zh" ? p.description_zh : p.description_en;
    detailsBox.innerHTML = '<button type="button" class="sg-x" aria-label="close">×</button><h3>' + esc(title) + "</h3>" +
      '<div class="sg-meta">' + esc(p.brand) + " · ★ " + Number(p.rating || 0).toFixed(1) + "</div>" +
      '<div class="sg-price">' + esc(money(p.price)) + "</div><p>" + esc(desc || "") + "</p>";
    detailsBox.hidden = false;
  });
  detailsBox.addEventListener("click", function (e) {
    if (e.target.closest(".sg-x")) detailsBox.hidden = true;
  });
  form.addEventListener("submit", function (e) {
    e.preventDefault();
    var m = input.value;
    input.value = "";
    send(m);
  });
  document.getElementById("sg-examples").addEventListener("click", function (e) {
    var b = e.target.closest("button");
    if (b) send(b.textContent);
  });
})();
