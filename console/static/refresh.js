// Refreshes a table marked data-refresh="URL" every 5 seconds: fetches URL (the table's rows
// alone, rendered by the server) and replaces the table's body. The page itself stays put, so
// the reader keeps their place; a failed fetch leaves the rows as they were.
(function () {
  "use strict";
  const PERIOD = 5000;
  function refresh(table) {
    fetch(table.dataset.refresh, { credentials: "same-origin", headers: { Accept: "text/html" } })
      .then(function (answer) { return answer.ok && !answer.redirected ? answer.text() : null; })
      .then(function (rows) {
        if (rows === null) { return; }
        const x = window.scrollX, y = window.scrollY;
        table.tBodies[0].innerHTML = rows;
        window.scrollTo(x, y);
      })
      .catch(function () { /* the store is out of reach: try again next time */ });
  }
  document.querySelectorAll("table[data-refresh]").forEach(function (table) {
    setInterval(function () { if (!document.hidden) { refresh(table); } }, PERIOD);
  });
})();
