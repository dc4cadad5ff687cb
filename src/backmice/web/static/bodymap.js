// Body map: a click on the outline fills the "Add a nodule" form with the point and
// submits it. Keyboard and screen-reader users use the same form directly.
(function () {
  "use strict";
  var svg = document.getElementById("body-map");
  var form = document.getElementById("add-nodule");
  if (!svg || !form) { return; }
  svg.addEventListener("click", function (event) {
    if (event.target.closest("a")) { return; } // a nodule: its link opens its history
    var point = svg.createSVGPoint();
    point.x = event.clientX;
    point.y = event.clientY;
    var inMap = point.matrixTransform(svg.getScreenCTM().inverse());
    var x = Math.round(Math.min(100, Math.max(0, inMap.x)) * 10) / 10;
    var y = Math.round(Math.min(100, Math.max(0, inMap.y)) * 10) / 10;
    form.elements.namedItem("x").value = x;
    form.elements.namedItem("y").value = y;
    form.submit();
  });
})();
