/* The dashboard's map (ECharts, the vendored Hubei map) and small conveniences; no inline
   script, so the Content-Security-Policy can forbid them. */
(function () {
  "use strict";
  document.querySelectorAll("select[data-autosubmit]").forEach(function (select) {
    select.addEventListener("change", function () { select.form.submit(); });
  });
  var box = document.getElementById("hubei-map");
  if (!box || !window.echarts) { return; }
  var data = JSON.parse(document.getElementById("map-data").textContent);
  fetch("/static/map/hubei.json").then(function (r) { return r.json(); }).then(function (geo) {
    echarts.registerMap("hubei", geo);
    var chart = echarts.init(box);
    var values = data.map(function (d) { return d.value; });
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) {
        if (!p.data) { return p.name; }
        return p.name + "<br>第 " + p.data.rank + " 名 · 总分 " + p.data.total;
      } },
      visualMap: { min: Math.min.apply(null, values.concat([0])), max: Math.max.apply(null, values.concat([1])),
                   left: "left", bottom: 0, text: ["高", "低"], calculable: false,
                   inRange: { color: ["#fde0dc", "#e57373", "#b71c1c"] } },
      series: [{ type: "map", map: "hubei", roam: false, data: data,
                 label: { show: window.innerWidth > 600, fontSize: 10 },
                 emphasis: { label: { show: true } } }]
    });
    chart.on("click", function (p) {
      if (p.data && p.data.region) {
        window.location.href = "/scorecard/" + p.data.region + "?quarter=" + encodeURIComponent(box.dataset.quarter);
      }
    });
    box.dataset.ready = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
