// Loads the chosen topic's example into the payload editor. Without
// JavaScript the catalog links do the same through ?topic=.
(function () {
  "use strict";
  var select = document.getElementById("topic");
  var data = document.getElementById("data");
  if (!select || !data) { return; }
  function example(topic) {
    var ts = document.querySelectorAll("template.example");
    for (var i = 0; i < ts.length; i++) {
      if (ts[i].getAttribute("data-topic") === topic) { return ts[i].content.textContent; }
    }
    return null;
  }
  select.addEventListener("change", function () {
    var ex = example(select.value);
    if (ex !== null) { data.value = ex; }
  });
})();
