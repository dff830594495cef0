// verdict report: sort and filter the alert table. It only moves and hides
// existing rows and reads data-* attributes; it never builds HTML from data.
(function () {
  "use strict";
  var table = document.getElementById("alerts");
  if (!table) { return; }
  var tbody = table.tBodies[0];
  var rows = Array.prototype.slice.call(tbody.rows);
  var controls = document.getElementById("controls");
  var q = document.getElementById("q");
  var fv = document.getElementById("f-verdict");
  var fc = document.getElementById("f-class");
  var shown = document.getElementById("shown");
  if (controls) { controls.hidden = false; }

  function text(row) {
    if (row._text === undefined) { row._text = row.textContent.toLowerCase(); }
    return row._text;
  }
  function filter() {
    var needle = q ? q.value.trim().toLowerCase() : "";
    var v = fv ? fv.value : "";
    var c = fc ? fc.value : "";
    var n = 0;
    rows.forEach(function (row) {
      var ok = (!v || row.getAttribute("data-verdict") === v) &&
        (!c || row.getAttribute("data-class") === c) &&
        (!needle || text(row).indexOf(needle) !== -1);
      row.hidden = !ok;
      if (ok) { n++; }
    });
    if (shown) { shown.textContent = String(n); }
  }
  function sortBy(th) {
    var key = th.getAttribute("data-key");
    var numeric = th.getAttribute("data-type") === "num";
    // A column's first click uses its natural order (data-first); later
    // clicks toggle.
    var current = th.getAttribute("aria-sort");
    var dir = current === "descending" ? 1 : -1;
    if (current === "none") { dir = th.getAttribute("data-first") === "desc" ? -1 : 1; }
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (h) {
      if (h.hasAttribute("data-key")) { h.setAttribute("aria-sort", "none"); }
    });
    th.setAttribute("aria-sort", dir === 1 ? "ascending" : "descending");
    rows.sort(function (a, b) {
      var x = a.getAttribute("data-" + key), y = b.getAttribute("data-" + key);
      var r = numeric ? (Number(x) - Number(y)) : (x < y ? -1 : x > y ? 1 : 0);
      if (r === 0) { r = Number(a.getAttribute("data-seq")) - Number(b.getAttribute("data-seq")); return r; }
      return r * dir;
    });
    rows.forEach(function (row) { tbody.appendChild(row); });
  }
  Array.prototype.forEach.call(table.querySelectorAll("th[data-key] button"), function (btn) {
    btn.addEventListener("click", function () { sortBy(btn.parentNode); });
  });
  [q, fv, fc].forEach(function (el) {
    if (el) { el.addEventListener("input", filter); el.addEventListener("change", filter); }
  });
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(document.querySelectorAll("details.alert"), function (d) { d.open = true; });
  });
  filter();
})();
