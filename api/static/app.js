// dutyflow pages: the live countdown of working time, confirmations for irreversible buttons,
// "back" links, file choosers worded in Chinese, and links that open the folded section they point into. Every behaviour of the pages lives here: their Content-Security-Policy allows no
// inline script, no inline event handler and no javascript: link.
//
// The server renders each countdown with the working seconds left at its own "now" (which may be
// a controlled clock) and the office periods ahead (#office-schedule). The browser adds the real
// time elapsed since the page loaded, and subtracts only the part that falls inside office hours:
// the countdown stands still at lunch, at night and on rest days, exactly like the engine's count.
(function () {
  "use strict";

  function readSchedule() {
    var node = document.getElementById("office-schedule");
    if (!node) return null;
    try { return JSON.parse(node.textContent); } catch (e) { return null; }
  }

  // Milliseconds of office time between a and b (a <= b), from the schedule's periods.
  function officeMs(periods, a, b) {
    var total = 0;
    for (var i = 0; i < periods.length; i++) {
      var start = Math.max(periods[i][0], a), end = Math.min(periods[i][1], b);
      if (end > start) total += end - start;
    }
    return total;
  }

  function format(seconds, daySeconds) {
    var overdue = seconds < 0;
    var minutesTotal = Math.floor(Math.abs(seconds) / 60);
    var dayMinutes = Math.floor(daySeconds / 60);
    var days = Math.floor(minutesTotal / dayMinutes), rest = minutesTotal % dayMinutes;
    var hours = Math.floor(rest / 60), minutes = rest % 60, secs = Math.floor(Math.abs(seconds)) % 60;
    // Whole days need no seconds; under a day the seconds tick so the count visibly runs.
    var text = days ? days + "个工作日" + (hours ? hours + "小时" : "") + (minutes ? minutes + "分" : "")
      : (hours ? hours + "小时" : "") + minutes + "分" + (secs < 10 ? "0" : "") + secs + "秒";
    return overdue ? "超期" + text : "剩余" + text;
  }

  function setState(node, state) {
    var box = node.closest("[data-state]");
    if (!box || box.getAttribute("data-state") === state) return;
    box.setAttribute("data-state", state);
    box.classList.remove("state-green-border", "state-yellow-border", "state-red-border");
    box.classList.add("state-" + state + "-border");
    var badge = box.querySelector(".state");
    if (badge) {
      badge.className = "state state-" + state;
      badge.textContent = {green: "正常", yellow: "黄牌预警", red: "红牌超期"}[state];
    }
  }

  function startCountdowns() {
    var schedule = readSchedule();
    var nodes = document.querySelectorAll(".countdown[data-left]");
    if (!schedule || !nodes.length) return;
    var loadedAt = Date.now();
    function tick() {
      var serverNow = schedule.now + (Date.now() - loadedAt);
      var spent = officeMs(schedule.periods, schedule.now, serverNow) / 1000;
      nodes.forEach(function (node) {
        var left = parseFloat(node.getAttribute("data-left")) - spent;
        node.textContent = format(left, schedule.day_seconds);
        var yellowBelow = parseFloat(node.getAttribute("data-yellow-below"));
        if (left < 0) setState(node, "red");
        else if (!isNaN(yellowBelow) && left <= yellowBelow) setState(node, "yellow");
      });
    }
    tick();
    setInterval(tick, 1000);
  }

  function confirmations() {
    document.querySelectorAll("form[data-confirm]").forEach(function (form) {
      form.addEventListener("submit", function (event) {
        if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
      });
    });
  }

  // <a href="/" data-back>: back to the previous page when there is one, else the home page.
  function backLinks() {
    document.querySelectorAll("a[data-back]").forEach(function (link) {
      link.addEventListener("click", function (event) {
        if (window.history.length > 1) { event.preventDefault(); window.history.back(); }
      });
    });
  }

  // <div data-file-picker>: the browser words its own file control ("Choose File", "No file
  // chosen") in its own language. The native input is hidden from sight but stays focusable and
  // labelled; its second label is shown as the 选择文件 button, and the chosen file's name (or
  // 未选择文件) is written next to it and read as the input's description. Without this script the
  // native control is shown as it is.
  function filePickers() {
    document.querySelectorAll("[data-file-picker]").forEach(function (box) {
      var input = box.querySelector("input[type=file]");
      var button = box.querySelector(".file-button"), name = box.querySelector(".file-name");
      if (!input || !button || !name) return;
      function show() {
        var files = Array.prototype.map.call(input.files || [], function (file) { return file.name; });
        name.textContent = files.length ? files.join("、") : "未选择文件";
      }
      if (name.id) input.setAttribute("aria-describedby", name.id);
      button.hidden = false;
      name.hidden = false;
      box.classList.add("enhanced");
      input.addEventListener("change", show);
      show();
    });
  }

  // A link to a row inside a folded <details> (绩效考评: a missing score → its form): unfold it,
  // show the row and put the cursor in its first field.
  function openTarget() {
    var id;
    try { id = decodeURIComponent(window.location.hash.slice(1)); } catch (e) { return; }
    var target = id && document.getElementById(id);
    if (!target) return;
    var box = target.closest("details");
    if (!box) return;
    box.open = true;
    target.scrollIntoView({block: "center"});
    var field = target.querySelector("input:not([type=hidden])");
    if (field) field.focus({preventScroll: true});
  }

  document.addEventListener("DOMContentLoaded", function () {
    startCountdowns(); confirmations(); backLinks(); filePickers(); openTarget();
  });
  window.addEventListener("hashchange", openTarget);
})();
