/* A scorecard's trend over the year's quarters (ECharts line: total, and rank on an inverted
   axis), drawn once its htmx partial has arrived; no inline script (the CSP forbids them). */
(function () {
  "use strict";
  function draw() {
    var box = document.getElementById("trend-chart");
    if (!box || box.dataset.ready === "1" || !window.echarts) { return; }
    var data = JSON.parse(document.getElementById("trend-data").textContent);
    var chart = echarts.init(box);
    chart.setOption({
      tooltip: { trigger: "axis" },
      legend: { data: ["总分", "名次"], top: 0, right: 10 },
      grid: { left: 40, right: 40, top: 50, bottom: 25 },
      xAxis: { type: "category", data: data.quarters },
      yAxis: [{ type: "value", name: "总分" },
              { type: "value", name: "名次", inverse: true, min: 1, max: 17, interval: 4 }],
      series: [{ name: "总分", type: "line", data: data.totals, connectNulls: false },
               { name: "名次", type: "line", yAxisIndex: 1, data: data.ranks, connectNulls: false }]
    });
    box.dataset.ready = "1";
    window.addEventListener("resize", function () { chart.resize(); });
  }
  document.addEventListener("htmx:afterSettle", draw);
  document.addEventListener("DOMContentLoaded", draw);
})();
