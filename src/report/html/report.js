// pansweep HTML report: sortable tables and the findings filter. No network, no eval;
// allowed by the page's Content-Security-Policy through this file's SHA-256.
(function () {
  "use strict";
  function key(cell) {
    var v = cell.getAttribute("data-v");
    if (v !== null && v !== "" && !isNaN(v)) { return { n: Number(v) }; }
    return { s: cell.textContent.trim().toLowerCase() };
  }
  function compare(a, b) {
    if (a.n !== undefined && b.n !== undefined) { return a.n - b.n; }
    var x = a.s !== undefined ? a.s : String(a.n), y = b.s !== undefined ? b.s : String(b.n);
    return x < y ? -1 : x > y ? 1 : 0;
  }
  Array.prototype.forEach.call(document.querySelectorAll("table.sortable"), function (table) {
    var heads = table.tHead ? table.tHead.rows[0].cells : [];
    Array.prototype.forEach.call(heads, function (th, col) {
      th.classList.add("sort");
      th.setAttribute("role", "columnheader");
      function sort() {
        var body = table.tBodies[0];
        var dir = th.getAttribute("aria-sort") === "descending" ? 1 : -1;
        Array.prototype.forEach.call(heads, function (h) { h.removeAttribute("aria-sort"); });
        th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
        var rows = Array.prototype.slice.call(body.rows);
        var keyed = rows.map(function (r, i) { return { r: r, k: key(r.cells[col]), i: i }; });
        keyed.sort(function (a, b) { return dir * compare(a.k, b.k) || a.i - b.i; });
        var frag = document.createDocumentFragment();
        keyed.forEach(function (e) { frag.appendChild(e.r); });
        body.appendChild(frag);
      }
      th.addEventListener("click", sort);
      th.addEventListener("keydown", function (e) {
        if (e.key === "Enter" || e.key === " ") { e.preventDefault(); sort(); }
      });
    });
  });
  var table = document.getElementById("findings");
  var filter = document.getElementById("filter");
  var tier = document.getElementById("tier-filter");
  var shown = document.getElementById("shown");
  function apply() {
    if (!table) { return; }
    var q = filter ? filter.value.trim().toLowerCase() : "";
    var t = tier ? tier.value : "";
    var rows = table.tBodies[0].rows, n = 0;
    for (var i = 0; i < rows.length; i++) {
      var r = rows[i];
      var ok = (!t || r.cells[0].getAttribute("data-v") === t) &&
        (!q || r.textContent.toLowerCase().indexOf(q) !== -1);
      r.hidden = !ok;
      if (ok) { n++; }
    }
    if (shown) {
      shown.textContent = shown.getAttribute("data-fmt")
        .replace("{shown}", n.toLocaleString("en")).replace("{total}", rows.length.toLocaleString("en"));
    }
  }
  if (filter) { filter.addEventListener("input", apply); }
  if (tier) { tier.addEventListener("change", apply); }
  apply();
  document.documentElement.setAttribute("data-ready", "1");
})();
