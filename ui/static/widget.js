/* ShopGuide launcher: paste
 *   <script src="https://SHOP-GUIDE-HOST/widget.js" data-token="SIGNED_TOKEN" async></script>
 * into any page. It adds a floating button that opens the shopping chat in a panel (an iframe to /embed).
 * Options (data-*): token (required; a short-lived token your backend issues), lang ("zh"|"en"; default: the
 * browser's language), title, position ("right"|"left"), open ("true" to start open).
 * API: window.ShopGuide.open() / .close() / .toggle() / .setToken(newToken).
 */
(function () {
  "use strict";
  if (window.ShopGuide && window.ShopGuide.__loaded) return;
  var script = document.currentScript || document.querySelector('script[src*="widget.js"]');
  var data = (script && script.dataset) || {};
  var origin = new URL(script ? script.src : "/", location.href).origin;
  var lang = data.lang || ((navigator.language || "en").toLowerCase().indexOf("zh") === 0 ? "zh" : "en");
  var token = data.token || "";
  var side = data.position === "left" ? "left" : "right";
  var labels = {
    zh: { open: "导购助手", close: "关闭" },
    en: { open: "Shopping help", close: "Close" },
  }[lang];
  var title = data.title || labels.open;

  var css =
    "#shopguide-launcher{position:fixed;bottom:20px;" + side + ":20px;z-index:2147483000;display:flex;" +
    "align-items:center;gap:8px;border:0;border-radius:999px;padding:12px 18px;background:#e11d48;color:#fff;" +
    "font:600 15px/1.2 system-ui,-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;cursor:pointer;" +
    "box-shadow:0 8px 24px rgba(225,29,72,.35)}" +
    "#shopguide-launcher:hover{background:#be123c}" +
    "#shopguide-panel{position:fixed;bottom:84px;" + side + ":20px;z-index:2147483001;width:380px;height:600px;" +
    "max-height:calc(100vh - 110px);max-width:calc(100vw - 24px);border-radius:16px;overflow:hidden;" +
    "background:#fff;box-shadow:0 16px 48px rgba(17,24,39,.28);display:none;flex-direction:column}" +
    "#shopguide-panel.sg-open{display:flex}" +
    "#shopguide-panel header{display:flex;align-items:center;justify-content:space-between;padding:10px 14px;" +
    "background:#e11d48;color:#fff;font:600 15px system-ui,-apple-system,'PingFang SC',sans-serif}" +
    "#shopguide-panel header button{background:transparent;border:0;color:#fff;font-size:20px;cursor:pointer}" +
    "#shopguide-panel iframe{flex:1;border:0;width:100%}" +
    "@media (max-width:480px){#shopguide-panel{left:0;right:0;bottom:0;width:100vw;max-width:100vw;" +
    "height:85vh;max-height:85vh;border-radius:16px 16px 0 0}}";
  var style = document.createElement("style");
  style.textContent = css;
  document.head.appendChild(style);

  var launcher = document.createElement("button");
  launcher.id = "shopguide-launcher";
  launcher.type = "button";
  launcher.setAttribute("aria-haspopup", "dialog");
  launcher.innerHTML = '<span aria-hidden="true">💬</span><span></span>';
  launcher.lastChild.textContent = title;

  var panel = document.createElement("div");
  panel.id = "shopguide-panel";
  panel.setAttribute("role", "dialog");
  panel.setAttribute("aria-label", title);
  var header = document.createElement("header");
  var heading = document.createElement("span");
  heading.textContent = "🛍️ " + title;
  var closeBtn = document.createElement("button");
  closeBtn.type = "button";
  closeBtn.setAttribute("aria-label", labels.close);
  closeBtn.textContent = "×";
  header.appendChild(heading);
  header.appendChild(closeBtn);
  panel.appendChild(header);
  var frame = null;

  function embedUrl() {
    return origin + "/embed?lang=" + encodeURIComponent(lang) + "&token=" + encodeURIComponent(token);
  }
  function open() {
    if (!frame) {
      frame = document.createElement("iframe");
      frame.id = "shopguide-frame";
      frame.title = title;
      frame.src = embedUrl();
      panel.appendChild(frame);
    }
    panel.classList.add("sg-open");
    launcher.setAttribute("aria-expanded", "true");
  }
  function close() {
    panel.classList.remove("sg-open");
    launcher.setAttribute("aria-expanded", "false");
  }
  function toggle() {
    panel.classList.contains("sg-open") ? close() : open();
  }
  launcher.addEventListener("click", toggle);
  closeBtn.addEventListener("click", close);

  function mount() {
    document.body.appendChild(panel);
    document.body.appendChild(launcher);
    if (data.open === "true") open();
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.ShopGuide = {
    __loaded: true,
    open: open,
    close: close,
    toggle: toggle,
    setToken: function (newToken) {
      token = newToken;
      if (frame) frame.src = embedUrl();
    },
  };
})();
