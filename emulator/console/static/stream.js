// Follows the live stream through the console's relay (the session
// cookie authenticates it) and appends one readable line per frame.
// Without JavaScript the page links to the request journal.
(function () {
  "use strict";
  var state = document.getElementById("stream-state");
  var list = document.getElementById("stream");
  if (!state || !list || !window.EventSource) { return; }
  var maxLines = 500;
  function text(type, d) {
    switch (type) {
    case "request":
      return d.method + " " + d.path + " → " + d.status + (d.error_code ? " " + d.error_code : "") +
        " (" + (d.operation || "no operation") + ", " + d.latency_ms.toFixed(1) + " ms" +
        (d.auth && d.auth.client_id ? ", " + d.auth.client_id : "") + ")";
    case "event":
      return "event " + d.type + " " + d.id + " published";
    case "delivery":
      return "delivery " + d.delivery_id + " attempt " + d.attempt + " of " + d.event_id + " → " +
        (d.status ? d.status + " " : "") + d.classification + (d.next_retry_at ? ", next retry " + d.next_retry_at : "");
    case "fault":
      return "fault " + d.rule + " fired: " + d.action + (d.operation ? " on " + d.operation : "") +
        (d.webhook_id ? " on " + d.webhook_id : "");
    case "lagged":
      return d.dropped + " frames dropped (the page read too slowly)";
    }
    return type;
  }
  function add(type, raw) {
    var d = {};
    try { d = JSON.parse(raw); } catch (e) { d = {}; }
    var li = document.createElement("li");
    li.className = "frame frame-" + type;
    li.setAttribute("data-type", type);
    var time = document.createElement("span");
    time.className = "frame-time";
    var when = d.time || d.timestamp;
    time.textContent = when ? when.replace("T", " ").replace(/\.\d+Z$/, "Z") + " " : "";
    var tenant = d.tenant ? "[" + d.tenant + "] " : "";
    li.appendChild(time);
    li.appendChild(document.createTextNode(tenant + text(type, d)));
    list.appendChild(li);
    while (list.children.length > maxLines) { list.removeChild(list.firstChild); }
  }
  var src = new EventSource(state.getAttribute("data-source"));
  src.onopen = function () { state.textContent = "Connected: new frames appear below."; };
  src.onerror = function () {
    state.textContent = src.readyState === EventSource.CLOSED ? "Disconnected: reload the page." : "Reconnecting…";
  };
  ["request", "event", "delivery", "fault", "lagged"].forEach(function (type) {
    src.addEventListener(type, function (ev) { add(type, ev.data); });
  });
})();
