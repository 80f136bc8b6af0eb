// Workspace page: minutes separated per day (Chart.js from npm).
document.addEventListener("DOMContentLoaded", function () {
  "use strict";
  var canvas = document.getElementById("usage-chart");
  var source = document.getElementById("usage-data");
  if (!canvas || !source || !window.Chart) return;
  var data = JSON.parse(source.textContent);
  var gradient = canvas.getContext("2d").createLinearGradient(0, 0, 0, 220);
  gradient.addColorStop(0, "rgba(139, 92, 246, 0.9)");
  gradient.addColorStop(1, "rgba(34, 211, 238, 0.5)");
  new window.Chart(canvas, {
    type: "bar",
    data: { labels: data.labels, datasets: [{ label: "Minutes", data: data.minutes, backgroundColor: gradient, borderRadius: 5, maxBarThickness: 22 }] },
    options: {
      maintainAspectRatio: false,
      animation: false,
      plugins: { legend: { display: false } },
      scales: {
        x: { ticks: { color: "#a3acbd", maxRotation: 0, autoSkipPadding: 12 }, grid: { display: false } },
        y: { beginAtZero: true, ticks: { color: "#a3acbd", precision: 0 }, grid: { color: "rgba(255,255,255,0.06)" } },
      },
    },
  });
});
