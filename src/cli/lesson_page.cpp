// The lesson page. The script, about 150 lines, has no dependencies and no build step: it reads the steps from the
// page's JSON, and for step k shows every node's value once the forward pass has reached it, every node's adjoint
// (micrograd's grad) as the reverse sweep has accumulated it, the current node and edge highlighted, and the step's
// lines in the panel. The URL's fragment (#step=7) selects the step, so a teacher can link to a moment.
#include "lesson_page.hpp"

#include <fmt/format.h>

#include "svg.hpp"

namespace symgrad::cli {

namespace {

// JSON inside <script>: "</" would end the element early.
std::string script_safe(std::string_view json) {
    std::string out;
    for (std::size_t i = 0; i < json.size(); ++i) {
        if (json[i] == '<' && i + 1 < json.size() && json[i + 1] == '/') {
            out += "<\\/";
            ++i;
            continue;
        }
        out += json[i];
    }
    return out;
}

constexpr std::string_view style = R"CSS(
body { font-family: Helvetica, Arial, sans-serif; margin: 0; color: #222; }
header { padding: 10px 16px; background: #f3f3f3; border-bottom: 1px solid #ddd; }
header h1 { font-size: 18px; margin: 0 0 4px 0; }
header .at { font-size: 13px; color: #555; }
main { display: flex; gap: 16px; padding: 12px 16px; align-items: flex-start; }
#graph { flex: 1 1 60%; overflow: auto; }
#graph svg { max-width: 100%; height: auto; }
#panel { flex: 1 1 40%; min-width: 320px; position: sticky; top: 8px; }
#controls button { font-size: 15px; padding: 4px 10px; margin-right: 4px; }
#counter { margin-left: 8px; font-size: 14px; color: #555; }
#phase { display: inline-block; margin-top: 10px; padding: 2px 8px; border-radius: 4px; font-size: 12px; color: #fff; }
#phase.forward { background: #3c78d8; }
#phase.backward { background: #cc4125; }
#phase.done { background: #6aa84f; }
#title { font-size: 17px; margin: 8px 0; }
#lines div { font-family: Menlo, Consolas, monospace; font-size: 14px; margin: 6px 0; white-space: pre-wrap; }
#lines b { background: #fff2cc; }
#follow { margin-top: 12px; font-size: 13px; }
.help { font-size: 12px; color: #777; margin-top: 14px; }
g.node.current polygon { stroke: #e69138; stroke-width: 4px; }
g.node.reached polygon { fill: #eaf1fb; }
g.node.adjoint polygon { fill: #fbeaea; }
g.edge.current path { stroke: #e69138; stroke-width: 3px; }
g.edge.current polygon { stroke: #e69138; fill: #e69138; }
text.hidden { visibility: hidden; }
#all-steps { padding: 0 16px 16px 16px; }
#all-steps section { border-top: 1px solid #ddd; }
#all-steps h3 { font-size: 15px; margin: 10px 0 4px 0; }
#all-steps div { font-family: Menlo, Consolas, monospace; font-size: 13px; margin: 3px 0; white-space: pre-wrap; }
)CSS";

constexpr std::string_view script = R"JS(
(function () {
  "use strict";
  const data = JSON.parse(document.getElementById("lesson-data").textContent);
  const steps = data.steps;
  document.getElementById("at").textContent = "at " + data.at.join(", ");
  const nodes = {}, edges = {}, lines = {};
  document.querySelectorAll("#graph g.node").forEach(function (g) {
    const id = g.querySelector("title").textContent.slice(1);  // "n3" -> "3"
    nodes[id] = g;
    g.querySelectorAll("text").forEach(function (t) {
      if (t.textContent.startsWith("data ")) lines[id + ":data"] = t;
      if (t.textContent.startsWith("grad ")) lines[id + ":grad"] = t;
    });
  });
  document.querySelectorAll("#graph g.edge").forEach(function (g) {
    const m = g.querySelector("title").textContent.match(/^n(\d+)->n(\d+)$/);
    if (m) (edges[m[1] + "-" + m[2]] = edges[m[1] + "-" + m[2]] || []).push(g);
  });

  // The element the reader follows: an index into the output's shape, mapped onto each value by broadcasting.
  let follow = null;
  function followed(shape) {
    if (follow === null || shape.length > follow.length) return -1;
    let flat = 0;
    for (let k = 0; k < shape.length; k++) {
      const out = data.output_shape[follow.length - shape.length + k];
      if (shape[k] !== 1 && shape[k] !== out) return -1;  // not broadcast to the output along this axis
      const i = follow[follow.length - shape.length + k];
      flat = flat * shape[k] + (shape[k] === 1 ? 0 : i);
    }
    return flat;
  }
  // A value as the trace prints it: "[2, 3] [[1, 2, 3], [4, 5, 6]]", the followed element in bold.
  function valueHtml(v) {
    if (v.text !== undefined) return escapeHtml(v.text);
    const shape = v.shape, mark = followed(shape);
    const block = [];
    let size = 1;
    for (let k = shape.length - 1; k >= 0; k--) block[k] = size *= shape[k];
    let out = "";
    v.elems.forEach(function (e, i) {
      block.forEach(function (b) { if (i % b === 0) out += "["; });
      out += i === mark ? "<b>" + escapeHtml(e) + "</b>" : escapeHtml(e);
      block.forEach(function (b) { if ((i + 1) % b === 0) out += "]"; });
      if (i + 1 < v.elems.length) out += ", ";
    });
    return "[" + shape.join(", ") + "] " + out;
  }
  function shortText(v) { return v.short; }
  function escapeHtml(s) { return s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;"); }

  let current = 0, listing = false;
  function show(k) {
    if (!listing) document.getElementById("all-steps").hidden = true;
    current = Math.max(0, Math.min(steps.length - 1, k));
    const step = steps[current];
    // Replay the steps up to this one: which values are known, and each adjoint as accumulated so far.
    const reached = {}, adjoint = {};
    for (let s = 0; s <= current; s++) {
      if (steps[s].data !== undefined) reached[steps[s].data] = true;
      (steps[s].grad || []).forEach(function (g) { adjoint[g[0]] = g[1]; });
    }
    for (const id in nodes) {
      const g = nodes[id];
      g.classList.toggle("current", String(step.node) === id && !step.edge);
      g.classList.toggle("reached", reached[id] === true && adjoint[id] === undefined);
      g.classList.toggle("adjoint", adjoint[id] !== undefined);
      const d = lines[id + ":data"], a = lines[id + ":grad"];
      if (d) d.classList.toggle("hidden", reached[id] !== true);
      if (a) {
        a.classList.toggle("hidden", adjoint[id] === undefined);
        if (adjoint[id] !== undefined) a.textContent = "grad " + shortText(adjoint[id]);
      }
    }
    for (const key in edges) edges[key].forEach(function (g) { g.classList.remove("current"); });
    if (step.edge) (edges[step.edge[0] + "-" + step.edge[1]] || []).forEach(function (g) { g.classList.add("current"); });
    if (step.edge) nodes[step.edge[0]].classList.add("current");
    document.getElementById("counter").textContent = "step " + (current + 1) + " of " + steps.length;
    const phase = document.getElementById("phase");
    phase.textContent = {forward: "forward pass", backward: "backward pass", done: "done"}[step.phase];
    phase.className = step.phase;
    document.getElementById("title").textContent = step.title;
    document.getElementById("lines").innerHTML = step.lines.map(function (segments) {
      return "<div>" + segments.map(function (s) { return typeof s === "string" ? escapeHtml(s) : valueHtml(s); }).join("") + "</div>";
    }).join("");
    const hash = "#step=" + (current + 1) + (follow === null ? "" : "&follow=" + follow.join(","));
    if (!listing && location.hash !== hash) history.replaceState(null, "", hash);
  }
  // #all: every step one after another (a handout to print), each as the panel shows it.
  function showAll() {
    const list = document.getElementById("all-steps");
    list.innerHTML = "";
    listing = true;
    for (let k = 0; k < steps.length; k++) {
      show(k);
      const section = document.createElement("section");
      section.setAttribute("data-step", String(k + 1));
      section.innerHTML = "<h3>" + (k + 1) + ". " + escapeHtml(steps[k].title) + " <small>(" +
        document.getElementById("phase").textContent + ")</small></h3>" + document.getElementById("lines").outerHTML.replace(' id="lines"', "");
      list.appendChild(section);
    }
    listing = false;
    list.hidden = false;
  }
  // #step=7, or #step=7&follow=1,2 (the element of the output to follow); #all lists every step.
  function fromHash() {
    if (location.hash === "#all") { showAll(); return; }
    document.getElementById("all-steps").hidden = true;
    const m = location.hash.match(/^#step=(\d+)(?:&follow=([\d,]*))?$/);
    const wanted = m && m[2] ? m[2].split(",").map(Number) : null;
    const valid = wanted !== null && wanted.length === data.output_shape.length &&
      wanted.every(function (i, k) { return i < data.output_shape[k]; });
    follow = valid ? wanted : null;
    document.getElementById("follow-select").value = valid ? m[2] : "";
    show(m ? parseInt(m[1], 10) - 1 : 0);
  }

  // Which element to follow, for a tensor output.
  const outShape = data.output_shape;
  if (outShape.length > 0) {
    const select = document.getElementById("follow-select");
    const count = outShape.reduce(function (a, b) { return a * b; }, 1);
    for (let f = 0; f < count && f < 64; f++) {
      const index = [];
      let rest = f;
      for (let k = outShape.length - 1; k >= 0; k--) { index.unshift(rest % outShape[k]); rest = Math.floor(rest / outShape[k]); }
      const option = document.createElement("option");
      option.value = index.join(",");
      option.textContent = data.output + "[" + index.join(", ") + "]";
      select.appendChild(option);
    }
    select.addEventListener("change", function () {
      follow = select.value === "" ? null : select.value.split(",").map(Number);
      show(current);
    });
    document.getElementById("follow").hidden = false;
  }
  document.getElementById("first").onclick = function () { show(0); };
  document.getElementById("prev").onclick = function () { show(current - 1); };
  document.getElementById("next").onclick = function () { show(current + 1); };
  document.getElementById("last").onclick = function () { show(steps.length - 1); };
  document.addEventListener("keydown", function (e) {
    if (e.key === "ArrowRight" || e.key === " ") { show(current + 1); e.preventDefault(); }
    if (e.key === "ArrowLeft") { show(current - 1); e.preventDefault(); }
    if (e.key === "Home") show(0);
    if (e.key === "End") show(steps.length - 1);
  });
  window.addEventListener("hashchange", fromHash);
  fromHash();
})();
)JS";

}  // namespace

std::string lesson_page(std::string_view title, std::string_view svg, std::string_view steps_json) {
    // Graphviz's SVG starts with an XML declaration and a DOCTYPE, which HTML does not want inline.
    std::string_view drawing = svg;
    if (const auto start = drawing.find("<svg"); start != std::string_view::npos) drawing.remove_prefix(start);
    return fmt::format(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{0}</title>\n<style>{1}</style>\n</head>\n"
        "<body>\n<header><h1>{0}</h1><div class=\"at\" id=\"at\"></div></header>\n<main>\n<div id=\"graph\">\n{2}</div>\n"
        "<div id=\"panel\">\n<div id=\"controls\"><button id=\"first\" title=\"first step (Home)\">|&#x25C0;</button>"
        "<button id=\"prev\" title=\"previous step (left arrow)\">&#x25C0;</button>"
        "<button id=\"next\" title=\"next step (right arrow)\">&#x25B6;</button>"
        "<button id=\"last\" title=\"last step (End)\">&#x25B6;|</button><span id=\"counter\"></span></div>\n"
        "<div id=\"phase\"></div>\n<div id=\"title\"></div>\n<div id=\"lines\"></div>\n"
        "<div id=\"follow\" hidden>follow the element <select id=\"follow-select\"><option value=\"\">(none)</option></select></div>\n"
        "<div class=\"help\">Arrow keys or the buttons step through the forward pass, then the reverse sweep. Each node "
        "shows its value (data) once evaluated, and its adjoint (grad: the derivative of the output's sum with respect "
        "to it) as the sweep accumulates it. The address ends in #step=N: link to a step; #all lists every step (to "
        "print). Made by symgrad lesson.</div>\n"
        "</div>\n</main>\n<div id=\"all-steps\" hidden></div>\n<script type=\"application/json\" id=\"lesson-data\">{3}</script>\n<script>{4}</script>\n</body>\n</html>\n",
        svg::escape_xml(title), style, drawing, script_safe(steps_json), script);
}

}  // namespace symgrad::cli
