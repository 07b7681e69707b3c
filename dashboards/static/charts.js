/* Event page charts: each <figure data-chart="{json}"> becomes an ECharts chart (served from /static). */
(function () {
  "use strict";
  if (!window.echarts) { return; }
  document.querySelectorAll("figure[data-chart]").forEach(function (fig) {
    var spec = JSON.parse(fig.dataset.chart);
    var box = fig.querySelector(".chart-box");
    var chart = echarts.init(box, null, { renderer: "canvas" });
    var option;
    if (spec.type === "pie") {
      option = { tooltip: { trigger: "item" },
        series: [{ type: "pie", radius: ["35%", "65%"],
          data: spec.x.map(function (name, i) { return { name: name, value: spec.y[i] }; }) }] };
    } else {
      option = { tooltip: { trigger: "axis" }, grid: { left: 40, right: 16, top: 16, bottom: 50 },
        xAxis: { type: "category", data: spec.x, axisLabel: { rotate: spec.type === "bar" ? 20 : 30, fontSize: 10 } },
        yAxis: { type: "value", max: spec.title.indexOf("情绪") >= 0 ? 1 : null },
        series: [{ type: spec.type, data: spec.y, smooth: true, connectNulls: true }] };
    }
    chart.setOption(option);
    window.addEventListener("resize", function () { chart.resize(); });
  });
})();
