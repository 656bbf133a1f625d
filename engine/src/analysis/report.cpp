// report.html of citytwin compare: one self-contained file a planner can e-mail — the scenario
// difference, the KPI table, the maps (PNG inlined as data URIs) and interactive time-series
// charts drawn by Chart.js (Debian's libjs-chart.js, inlined so the report opens offline).
#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include <cmath>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "citytwin/compare.hpp"

namespace citytwin {

namespace {

std::string escape(std::string_view s) {
  std::string o;
  for (char ch : s) switch (ch) {
      case '&':
        o += "&amp;";
        break;
      case '<':
        o += "&lt;";
        break;
      case '>':
        o += "&gt;";
        break;
      case '"':
        o += "&quot;";
        break;
      default:
        o += ch;
    }
  return o;
}

std::string base64(const std::string& in) {
  static constexpr char k[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((in.size() + 2) / 3 * 4);
  for (std::size_t i = 0; i < in.size(); i += 3) {
    const auto b0 = static_cast<unsigned char>(in[i]);
    const auto b1 = i + 1 < in.size() ? static_cast<unsigned char>(in[i + 1]) : 0u;
    const auto b2 = i + 2 < in.size() ? static_cast<unsigned char>(in[i + 2]) : 0u;
    const unsigned v = (b0 << 16) | (b1 << 8) | b2;
    out += k[(v >> 18) & 63];
    out += k[(v >> 12) & 63];
    out += i + 1 < in.size() ? k[(v >> 6) & 63] : '=';
    out += i + 2 < in.size() ? k[v & 63] : '=';
  }
  return out;
}

Result<std::string> slurp(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  if (!f) return fail(Error::msg("cannot read", path));
  std::ostringstream s;
  s << f.rdbuf();
  return s.str();
}

// Chart.js's UMD build: $CITYTWIN_CHARTJS, else Debian's libjs-chart.js.
Result<std::string> chart_js() {
  const char* env = std::getenv("CITYTWIN_CHARTJS");
  const std::string path = env && *env ? env : "/usr/share/javascript/chart.js/chart.min.js";
  auto js = slurp(path);
  if (!js)
    return fail(
        Error::msg("the report needs Chart.js (Debian package libjs-chart.js, or "
                   "CITYTWIN_CHARTJS=path/to/chart.min.js)",
                   path));
  // Inside <script>, "</script" would end the element early.
  for (std::size_t p = js->find("</script"); p != std::string::npos; p = js->find("</script", p))
    js->replace(p, 2, "<\\/");
  return js;
}

// The lines that differ between two texts (longest common subsequence), with up to two lines
// of context: "  line", "- base line", "+ variant line", "…" between hunks.
std::vector<std::string> line_diff(const std::string& a, const std::string& b) {
  auto lines = [](const std::string& t) {
    std::vector<std::string> out;
    std::istringstream s(t);
    for (std::string l; std::getline(s, l);) out.push_back(l);
    return out;
  };
  const auto x = lines(a), y = lines(b);
  const std::size_t n = x.size(), m = y.size();
  std::vector<std::vector<int>> L(n + 1, std::vector<int>(m + 1, 0));
  for (std::size_t i = n; i-- > 0;)
    for (std::size_t j = m; j-- > 0;)
      L[i][j] = x[i] == y[j] ? L[i + 1][j + 1] + 1 : std::max(L[i + 1][j], L[i][j + 1]);
  std::vector<std::string> all;
  std::size_t i = 0, j = 0;
  while (i < n || j < m) {
    if (i < n && j < m && x[i] == y[j])
      all.push_back("  " + x[i++]), ++j;
    else if (i < n && (j == m || L[i + 1][j] >= L[i][j + 1]))
      all.push_back("- " + x[i++]);
    else
      all.push_back("+ " + y[j++]);
  }
  std::vector<std::string> out;
  std::size_t last = 0;
  bool any = false;
  for (std::size_t k = 0; k < all.size(); ++k) {
    bool near = false;
    for (std::size_t d = k >= 2 ? k - 2 : 0; d < std::min(all.size(), k + 3) && !near; ++d)
      near = all[d][0] != ' ';
    if (!near) continue;
    if (any && k > last + 1) out.push_back("…");
    out.push_back(all[k]);
    last = k, any = true;
  }
  return out;
}

std::string number(double v, std::string_view unit) {
  if (std::isnan(v)) return "n/a";
  std::string s = v == std::floor(v) && std::abs(v) < 1e12 ? fmt::format("{:.0f}", v)
                                                           : fmt::format("{:.4g}", v);
  if (unit != "1" && !unit.empty()) s += fmt::format(" {}", unit);
  return s;
}

std::string kpi_table(const Comparison& c) {
  std::string h =
      "<table id=\"kpis\"><thead><tr><th>indicator</th><th>base</th><th>variant</th>"
      "<th>change</th></tr></thead><tbody>\n";
  std::string_view domain;
  const auto defs = kpi_definitions();
  for (std::size_t i = 0; i < defs.size(); ++i) {
    const double b = c.base.value[i], v = c.variant.value[i];
    if (std::isnan(b) && std::isnan(v)) continue;
    if (defs[i].domain != domain)
      h += fmt::format("<tr class=\"domain\"><td colspan=\"4\">{}</td></tr>\n",
                       escape(domain = defs[i].domain));
    const double d = v - b;
    std::string cls = "same", arrow = "=";
    if (!std::isnan(d) && std::abs(d) > 1e-9 * std::max({1.0, std::abs(b), std::abs(v)})) {
      arrow = d > 0 ? "▲" : "▼";
      cls = defs[i].better == Better::neutral              ? "neutral"
            : (d < 0) == (defs[i].better == Better::lower) ? "better"
                                                           : "worse";
    }
    std::string change = std::isnan(d) ? "n/a" : arrow + " " + number(d, defs[i].unit);
    if (!std::isnan(d) && b != 0 && arrow != "=")
      change += fmt::format(" ({:+.1f} %)", 100.0 * d / std::abs(b));
    h += fmt::format(
        "<tr class=\"{}\" data-kpi=\"{}\"><td title=\"{}\">{}</td><td>{}</td><td>{}</td>"
        "<td class=\"change\">{}</td></tr>\n",
        cls, escape(defs[i].id), escape(defs[i].definition), escape(defs[i].label),
        escape(number(b, defs[i].unit)), escape(number(v, defs[i].unit)), escape(change));
  }
  return h + "</tbody></table>\n";
}

nlohmann::json series_json(const SeriesTable& s) {
  auto num = [](double x) { return std::isnan(x) ? nlohmann::json() : nlohmann::json(x); };
  nlohmann::json cols = nlohmann::json::array();
  for (const auto& col : s.columns) {
    nlohmann::json b = nlohmann::json::array(), v = nlohmann::json::array();
    for (std::size_t k = 0; k < s.time_s.size(); ++k)
      b.push_back(num(col.base[k])), v.push_back(num(col.variant[k]));
    cols.push_back(
        {{"id", col.id}, {"label", col.label}, {"unit", col.unit}, {"base", b}, {"variant", v}});
  }
  nlohmann::json t = nlohmann::json::array();
  for (double x : s.time_s) t.push_back(x / 60.0);
  return {{"minutes", t}, {"columns", cols}};
}

constexpr const char* k_style = R"(
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:1100px;color:#222;padding:0 1em}
h1{font-size:1.6em}h2{margin-top:1.6em;border-bottom:1px solid #ccc}
table{border-collapse:collapse;width:100%}td,th{padding:3px 8px;border-bottom:1px solid #eee;text-align:right}
td:first-child,th:first-child{text-align:left}tr.domain td{font-weight:bold;background:#f3f3f3;text-align:left}
tr.better .change{color:#1a7f37}tr.worse .change{color:#c62828}tr.neutral .change{color:#555}tr.same .change{color:#999}
pre{background:#f7f7f7;padding:8px;overflow-x:auto;font-size:.85em}
.plus{color:#1a7f37}.minus{color:#c62828}
figure{margin:1em 0}figure img{max-width:100%;border:1px solid #ddd}figcaption{font-size:.9em;color:#555}
.charts{display:grid;grid-template-columns:1fr 1fr;gap:1em}.chart{position:relative;height:260px}
)";

constexpr const char* k_script = R"(
(function(){
  var errors=[];
  window.addEventListener('error',function(e){errors.push(String(e.message));document.body.dataset.errors=errors.join(' | ');});
  var data=JSON.parse(document.getElementById('series').textContent);
  var box=document.getElementById('charts'), drawn=0;
  data.columns.forEach(function(col){
    var div=document.createElement('div');div.className='chart';
    var canvas=document.createElement('canvas');canvas.id='chart-'+col.id;div.appendChild(canvas);box.appendChild(div);
    new Chart(canvas,{type:'line',data:{labels:data.minutes.map(function(m){return m.toFixed(1);}),datasets:[
      {label:'base',data:col.base,borderColor:'#4e79a7',backgroundColor:'#4e79a7',pointRadius:0,spanGaps:true},
      {label:'variant',data:col.variant,borderColor:'#e15759',backgroundColor:'#e15759',pointRadius:0,spanGaps:true}]},
      options:{animation:false,maintainAspectRatio:false,interaction:{mode:'index',intersect:false},
        plugins:{title:{display:true,text:col.label+(col.unit&&col.unit!=='1'?' ('+col.unit+')':'')}},
        scales:{x:{title:{display:true,text:'minutes since the start'}}}}});
    if(canvas.width>0&&canvas.height>0)drawn++;
  });
  document.body.dataset.charts=String(drawn);
})();
)";

}  // namespace

Result<std::string> write_report(const Comparison& c, const CompareOptions& o) {
  auto js = chart_js();
  if (!js) return fail(js.error());
  std::string h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n";
  h += fmt::format("<title>CityTwin: {} against {}</title>\n", escape(c.variant.scenario_name),
                   escape(c.base.scenario_name));
  h += fmt::format("<style>{}</style></head>\n<body data-charts=\"0\">\n", k_style);
  h += fmt::format("<h1>What changes: <em>{}</em> against <em>{}</em></h1>\n",
                   escape(c.variant.scenario_name), escape(c.base.scenario_name));
  h += fmt::format(
      "<p>Base run <code>{}</code>, variant run <code>{}</code>. The runs differ most at "
      "{:.1f} min; both end at {:.1f} min. Indicators are defined in CityTwin's docs/kpi.md "
      "(hover a name for its definition); green is better for the city, red worse.</p>\n",
      escape(c.base.path), escape(c.variant.path), c.peak_time_s / 60.0, c.end_time_s / 60.0);
  h += "<h2>What the variant changes</h2>\n<pre id=\"scenario-diff\">";
  const auto diff = line_diff(c.base_scenario, c.variant_scenario);
  if (diff.empty()) h += "(the resolved scenarios are identical)";
  for (const std::string& l : diff) {
    const char* cls = l.starts_with("+ ") ? "plus" : l.starts_with("- ") ? "minus" : "";
    h += *cls ? fmt::format("<span class=\"{}\">{}</span>\n", cls, escape(l)) : escape(l) + "\n";
  }
  h += "</pre>\n<h2>Indicators</h2>\n" + kpi_table(c);
  h += "<h2>Over time</h2>\n<div class=\"charts\" id=\"charts\"></div>\n";
  h += "<h2>Maps</h2>\n";
  for (const auto& [caption, path] : c.pictures) {
    auto png = slurp(path);
    if (!png) return fail(png.error());
    h += fmt::format(
        "<figure><img alt=\"{0}\" src=\"data:image/png;base64,{1}\"><figcaption>{0}"
        "</figcaption></figure>\n",
        escape(caption), base64(*png));
  }
  h += "<p>The same maps as GeoTIFF and GeoJSON (for GIS) and every number as CSV are in the "
       "report's folder: kpi.csv, series.csv, links.csv, max_depth_difference.tif, "
       "flood_extent_change.tif, links.geojson, buildings.geojson.</p>\n";
  std::string data = series_json(c.series).dump();
  for (std::size_t p = data.find("</"); p != std::string::npos; p = data.find("</", p + 3))
    data.replace(p, 2, "<\\/");
  h += "<script type=\"application/json\" id=\"series\">" + data + "</script>\n";
  h += "<script>" + *js + "</script>\n<script>" + k_script + "</script>\n</body></html>\n";
  const std::string path = o.out_dir + "/report.html";
  std::ofstream f(path, std::ios::binary);
  f << h;
  f.close();
  if (!f) return fail(Error::msg("cannot write the report", path));
  return path;
}

}  // namespace citytwin
