// Refreshes a table marked data-refresh="URL" every 5 seconds: fetches URL (the table's rows
// alone, rendered by the server) and replaces the table's body. The page itself stays put, so
// the reader keeps their place; a failed fetch leaves the rows as they were. A refresh is not
// someone using the console (X-Lotscan-Refresh): it never keeps a session from ending. Once
// the session has ended (the store sends the sign-in page instead), the rows stop refreshing
// and the page says so, with the way to sign in again.
(function () {
  "use strict";
  const PERIOD = 5000;
  const timers = [];
  function signedOut(table) {
    timers.forEach(clearInterval);
    if (document.getElementById("signed-out")) { return; }
    const notice = document.createElement("p");
    notice.id = "signed-out";
    notice.className = "error";
    notice.setAttribute("role", "alert");
    notice.textContent = "Signed out: this table has stopped refreshing. ";
    const again = document.createElement("a");
    again.href = "/console/sign-in?next=" + encodeURIComponent(location.pathname + location.search);
    again.textContent = "Sign in again";
    notice.appendChild(again);
    table.parentNode.insertBefore(notice, table);
  }
  function refresh(table) {
    fetch(table.dataset.refresh, {
      credentials: "same-origin",
      headers: { Accept: "text/html", "X-Lotscan-Refresh": "1" },
    })
      .then(function (answer) {
        if (answer.redirected || answer.status === 401) { signedOut(table); return null; }
        return answer.ok ? answer.text() : null;
      })
      .then(function (rows) {
        if (rows === null) { return; }
        const x = window.scrollX, y = window.scrollY;
        table.tBodies[0].innerHTML = rows;
        window.scrollTo(x, y);
      })
      .catch(function () { /* the store is out of reach: try again next time */ });
  }
  document.querySelectorAll("table[data-refresh]").forEach(function (table) {
    timers.push(setInterval(function () { if (!document.hidden) { refresh(table); } }, PERIOD));
  });
})();
