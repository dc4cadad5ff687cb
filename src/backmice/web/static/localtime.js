// Show record times in the reader's own time zone (progressive: without this script the
// page shows them in UTC, labelled as such).
(function () {
  "use strict";
  var format = new Intl.DateTimeFormat(undefined, {
    day: "numeric", month: "short", year: "numeric", hour: "2-digit", minute: "2-digit"
  });
  document.querySelectorAll("time[datetime]").forEach(function (el) {
    var when = new Date(el.getAttribute("datetime"));
    if (!isNaN(when.getTime())) { el.textContent = format.format(when); }
  });
})();
