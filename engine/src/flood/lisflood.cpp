// LISFLOOD-FP's input files, read as they are (docs/lisflood.md; formats after the LISFLOOD-FP
// 8 user documentation, Shaw et al. 2021, and the LISFLOOD-FP 5.9 manual, Bates et al. 2013):
//  - .par: `key [value]` lines; the keys of the run (sim_time, massint, saveint, DEMfile,
//    dirroot) become the scenario's (lisflood_scenario), those of the flood (fpfric,
//    manningfile, bcifile, bdyfile, stagefile, startfile, the solver) the [flood] section's
//    (apply_lisflood_par); every other key is listed once as a warning.
//  - .bci: `N|E|S|W from to TYPE [value]` on an edge (from, to: x on N and S, y on E and W), or
//    `P x y TYPE value` at a point; TYPE one of CLOSED, FREE [slope], HFIX level, HVAR name,
//    QFIX q, QVAR name, q a discharge per unit width (m2/s).
//  - .bdy: a comment line, then per series its name, a `count unit` line (seconds, minutes,
//    hours) and `count` rows of `value time`; read once with the .bci that names its series.
//  - .stage: the number of points, then one `x y` per line.
#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <optional>
#include <span>
#include <sstream>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "flood/domain.hpp"

namespace citytwin::flood {

namespace {

// Lines of a text file, with the 1-based number of each; `#` starts a comment; blank lines and
// comment-only lines are dropped. Refuses what is not a regular file.
Result<std::vector<std::pair<int, std::string>>> text_lines(const std::string& path,
                                                            const char* what) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return fail(Diagnostic::at(path, 0, "", fmt::format("not a readable {} file", what)));
  std::ifstream in(path);
  if (!in) return fail(Diagnostic::at(path, 0, "", fmt::format("cannot open the {} file", what)));
  std::vector<std::pair<int, std::string>> lines;
  std::string line;
  for (int n = 1; std::getline(in, line); ++n) {
    if (const auto hash = line.find('#'); hash != std::string::npos) line.erase(hash);
    if (!line.empty() && line.back() == '\r') line.pop_back();
    // Blank: nothing but what words() skips (any of isspace's six), so every kept line has a
    // first word.
    if (line.find_first_not_of(" \t\n\v\f\r") == std::string::npos) continue;
    lines.emplace_back(n, line);
    if (lines.size() > 10'000'000)
      return fail(Diagnostic::at(path, n, "", "more than 10 million lines", "", what));
  }
  return lines;
}

std::vector<std::string> words(const std::string& line) {
  std::istringstream ls(line);
  std::vector<std::string> w;
  for (std::string t; ls >> t;) w.push_back(t);
  return w;
}

std::optional<double> number(const std::string& text) {
  std::size_t used = 0;
  try {
    const double v = std::stod(text, &used);
    if (used == text.size() && std::isfinite(v)) return v;
  } catch (const std::exception&) {
  }
  return std::nullopt;
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

// A path the .par names, relative to the .par's folder.
std::string beside(const std::string& par, const std::string& name) {
  const std::filesystem::path p(name);
  return p.is_absolute() ? name : (std::filesystem::path(par).parent_path() / p).string();
}

// The .par keys CityTwin reads, and those it accepts without an effect (each with the reason
// docs/lisflood.md gives). Every other key is a warning.
constexpr std::string_view k_run_keys[] = {"DEMfile", "sim_time", "massint",
                                           "saveint", "dirroot",  "resroot"};
constexpr std::string_view k_flood_keys[] = {
    "fpfric", "manningfile",  "bcifile", "bdyfile", "stagefile",     "startfile", "cfl",
    "theta",  "acceleration", "fv1",     "dg2",     "initial_tstep", "elevoff"};

bool listed(std::string_view key, std::span<const std::string_view> keys) {
  return std::find(keys.begin(), keys.end(), key) != keys.end();
}

}  // namespace

const ParFile::Entry* ParFile::find(std::string_view key) const {
  for (auto it = entries.rbegin(); it != entries.rend(); ++it)
    if (it->key == key) return &*it;
  return nullptr;
}

Result<ParFile> read_par(const std::string& path) {
  auto lines = text_lines(path, "LISFLOOD-FP parameter (.par)");
  if (!lines) return fail(lines.error());
  ParFile par;
  par.path = path;
  for (auto& [n, line] : *lines) {
    const auto w = words(line);
    ParFile::Entry e{w[0], w.size() > 1 ? w[1] : std::string(), n};
    if (w.size() > 2)
      return fail(Diagnostic::at(path, n, e.key, "more than one value", line, "key [value]"));
    par.entries.push_back(std::move(e));
  }
  if (!par.find("DEMfile"))
    return fail(Diagnostic::at(path, 0, "DEMfile", "a LISFLOOD-FP case needs its DEM", "",
                               "DEMfile case.dem (an ESRI ASCII grid)"));
  if (!par.find("sim_time"))
    return fail(Diagnostic::at(path, 0, "sim_time", "a LISFLOOD-FP case needs its duration", "",
                               "sim_time 3600 (seconds)"));
  return par;
}

Result<std::string> lisflood_scenario(const std::string& par_path) {
  auto par = read_par(par_path);
  if (!par) return fail(par.error());
  const auto seconds = [&](std::string_view key, double def) -> Result<double> {
    const ParFile::Entry* e = par->find(key);
    if (!e) return def;
    const auto v = number(e->value);
    if (!v || *v <= 0 || *v > 1e10)
      return fail(Diagnostic::at(par_path, e->line, e->key, "not a positive time in seconds",
                                 e->value, "e.g. 3600"));
    return *v;
  };
  auto sim_time = seconds("sim_time", 0);
  if (!sim_time) return fail(sim_time.error());
  // LISFLOOD-FP's defaults: mass balance every 10 s, results every 100 s.
  auto massint = seconds("massint", 10);
  auto saveint = seconds("saveint", 100);
  if (!massint || !saveint) return fail((massint ? saveint : massint).error());
  const auto ms = [](double s) { return static_cast<std::int64_t>(std::llround(s * 1000)); };
  const std::string dem = par->find("DEMfile")->value;
  std::string out;
  if (const ParFile::Entry* d = par->find("dirroot"))
    out = fmt::format("[output]\ndir = \"{}\"\nevery = \"{}ms\"\n", d->value, ms(*saveint));
  else
    out = fmt::format("[output]\nevery = \"{}ms\"\n", ms(*saveint));
  // The macro step (flood gauges and the volume balance are logged every one) is massint.
  return fmt::format(
      "[scenario]\nname = \"{}\"\nduration = \"{}ms\"\nstep = \"{}ms\"\n{}[city]\ndem = \"{}\"\n"
      "[flood]\nlisflood_par = \"{}\"\n",
      std::filesystem::path(par_path).stem().string(), ms(*sim_time), ms(*massint), out, dem,
      std::filesystem::path(par_path).filename().string());
}

LisfloodFiles apply_lisflood_par(const ParFile& par, FloodSpec& spec, SectionReader& s) {
  const auto report = [&](const ParFile::Entry& e, std::string message, std::string expected) {
    s.report(
        Diagnostic::at(par.path, e.line, e.key, std::move(message), e.value, std::move(expected)));
  };
  const auto file = [&](std::string_view key) -> std::string {
    const ParFile::Entry* e = par.find(key);
    if (!e) return {};
    std::error_code ec;
    const std::string p = beside(par.path, e->value);
    if (e->value.empty() || !std::filesystem::is_regular_file(p, ec)) {
      report(*e, "no such file", "a file beside the .par");
      return {};
    }
    return p;
  };
  const auto value = [&](std::string_view key, double lo, double hi, double& out) {
    const ParFile::Entry* e = par.find(key);
    if (!e) return;
    const auto v = number(e->value);
    if (v && *v >= lo && *v <= hi)
      out = *v;
    else
      report(*e, "out of range", fmt::format("a number from {} to {}", lo, hi));
  };
  // theta stays CityTwin's 0.7 (de Almeida et al. 2012) unless the .par sets it: LISFLOOD-FP's
  // own default, 1, has no numerical damping, and a still pond of EA test 1 grew oscillations
  // with it (docs/lisflood.md).
  value("fpfric", 1e-4, 1.0, spec.manning);
  value("cfl", 0.01, 1.0, spec.cfl);
  value("theta", 0.0, 1.0, spec.theta);
  if (const ParFile::Entry* e = par.find("cfl"); e && spec.cfl > std::sqrt(spec.theta / 2))
    report(
        *e, "above the 2-D stability limit of the inertial scheme",
        fmt::format("cfl <= sqrt(theta / 2) = {:.3f} (docs/flood.md)", std::sqrt(spec.theta / 2)));
  spec.manning_raster = file("manningfile");
  spec.initial_depth = file("startfile");
  if (par.find("fv1") || par.find("dg2")) spec.solver = Solver::godunov;
  if (par.find("acceleration")) spec.solver = Solver::inertial;
  const ParFile::Entry* res = par.find("resroot");
  spec.lisflood_resroot = res ? res->value : std::filesystem::path(par.path).stem().string();
  std::vector<std::string> ignored;
  for (const ParFile::Entry& e : par.entries)
    if (!listed(e.key, k_run_keys) && !listed(e.key, k_flood_keys) &&
        std::find(ignored.begin(), ignored.end(), e.key) == ignored.end())
      ignored.push_back(e.key);
  if (!ignored.empty())
    spec.warnings.push_back(Diagnostic::at(
        par.path, 0, "", "LISFLOOD-FP keys CityTwin does not use (ignored)",
        fmt::format("{}", fmt::join(ignored, ", ")), "the keys docs/lisflood.md lists"));
  return {file("bcifile"), file("bdyfile"), file("stagefile")};
}

Result<std::vector<BoundarySpec>> read_bci(const std::string& path, const std::string& bdy) {
  auto lines = text_lines(path, "LISFLOOD-FP boundary (.bci)");
  if (!lines) return fail(lines.error());
  std::vector<BoundarySpec> out;
  Error errors;
  const char* const form = "N|E|S|W from to TYPE [value], or P x y TYPE value";
  // The .bdy is read once, when the first line names a series.
  std::optional<std::map<std::string, BdySeries>> series;
  for (auto& [n, line] : *lines) {
    const auto w = words(line);
    const auto bad = [&, n = n, &line = line](std::string field, std::string message,
                                              std::string expected) {
      errors.items.push_back(
          Diagnostic::at(path, n, std::move(field), std::move(message), line, std::move(expected)));
    };
    if (w.size() < 4) {
      bad("", "too few columns", form);
      continue;
    }
    BoundarySpec b;
    b.where = fmt::format("{}:{}", path, n);
    const std::string id = upper(w[0]), type = upper(w[3]);
    const auto a = number(w[1]), c = number(w[2]);
    if (!a || !c) {
      bad("", "columns 2 and 3 must be coordinates", form);
      continue;
    }
    if (id == "P") {
      b.at = {*a, *c};
    } else if (id == "N" || id == "E" || id == "S" || id == "W") {
      b.side = id == "W" ? west : id == "E" ? east : id == "S" ? south : north;
      b.from = std::min(*a, *c);
      b.to = std::max(*a, *c);
    } else {
      bad("identifier", "unknown boundary identifier", form);
      continue;
    }
    const std::string arg = w.size() > 4 ? w[4] : std::string();
    if (type == "CLOSED" || type == "FREE") {
      if (id == "P") {
        bad("type", "a point takes HFIX, HVAR, QFIX or QVAR", form);
        continue;
      }
      b.type = type == "FREE" ? BoundarySpec::Type::free : BoundarySpec::Type::closed;
      if (!arg.empty()) {
        const auto slope = number(arg);
        if (b.type == BoundarySpec::Type::free && slope && *slope >= 0 && *slope <= 1)
          b.slope = *slope;
        else if (b.type == BoundarySpec::Type::free && slope && *slope < 0)
          b.slope = -1;  // LISFLOOD-FP's -1: no slope given
        else
          bad("value", "not a slope", "FREE [slope from 0 to 1]");
      }
    } else if (type == "HFIX" || type == "QFIX") {
      b.type = type == "HFIX" ? BoundarySpec::Type::level : BoundarySpec::Type::discharge;
      const SeriesRange& r = type == "HFIX" ? k_level_range : k_unit_discharge_range;
      const auto v = number(arg);
      if (!v || *v < r.lo || *v > r.hi) {
        bad("value", "out of range", r.what);
        continue;
      }
      b.value = *v;
    } else if (type == "HVAR" || type == "QVAR") {
      b.type = type == "HVAR" ? BoundarySpec::Type::level : BoundarySpec::Type::discharge;
      if (arg.empty()) {
        bad("value", "names no series", type + " name (a series of the .bdy file)");
        continue;
      }
      if (bdy.empty()) {
        bad("value", "names a series but the case has no .bdy file", "bdyfile in the .par");
        continue;
      }
      if (!series) {
        auto read = read_bdy(bdy);
        if (!read) return fail(read.error());
        series = std::move(*read);
      }
      const auto found = series->find(arg);
      if (found == series->end()) {
        bad("value", fmt::format("no series '{}' in {}", arg, bdy), "a series of the .bdy file");
        continue;
      }
      const SeriesRange& r = type == "HVAR" ? k_level_range : k_unit_discharge_range;
      const BdySeries& bs = found->second;
      for (std::size_t k = 0; k < bs.series.value.size(); ++k)
        if (!(bs.series.value[k] >= r.lo && bs.series.value[k] <= r.hi))
          errors.items.push_back(Diagnostic::at(bdy, bs.row_lines[k], arg, "out of range",
                                                fmt::format("{}", bs.series.value[k]), r.what));
      b.bdy = bs.series;
    } else {
      bad("type", "unknown boundary type", "CLOSED, FREE, HFIX, HVAR, QFIX or QVAR");
      continue;
    }
    out.push_back(std::move(b));
  }
  if (!errors.items.empty()) return fail(std::move(errors));
  return out;
}

Result<std::vector<NamedPoints>> read_stage_points(const std::string& path) {
  auto lines = text_lines(path, "LISFLOOD-FP stage (.stage)");
  if (!lines) return fail(lines.error());
  if (lines->empty()) return fail(Diagnostic::at(path, 0, "", "empty", "", "a count, then x y"));
  const auto count = number((*lines)[0].second);
  if (!count || *count < 0 || *count != std::floor(*count) ||
      *count != static_cast<double>(lines->size() - 1))
    return fail(Diagnostic::at(path, (*lines)[0].first, "count",
                               "not the number of points that follow", (*lines)[0].second,
                               std::to_string(lines->size() - 1)));
  std::vector<NamedPoints> out;
  for (std::size_t k = 1; k < lines->size(); ++k) {
    const auto& [n, line] = (*lines)[k];
    const auto w = words(line);
    const auto x = w.size() >= 2 ? number(w[0]) : std::nullopt;
    const auto y = w.size() >= 2 ? number(w[1]) : std::nullopt;
    if (!x || !y) return fail(Diagnostic::at(path, n, "", "not a point", line, "x y"));
    NamedPoints p;
    p.name = fmt::format("stage{}", k);
    p.at.push_back({*x, *y});
    p.where = fmt::format("{}:{}", path, n);
    out.push_back(std::move(p));
  }
  return out;
}

Result<std::map<std::string, BdySeries>> read_bdy(const std::string& path) {
  auto lines = text_lines(path, "LISFLOOD-FP time series (.bdy)");
  if (!lines) return fail(lines.error());
  std::map<std::string, BdySeries> out;
  // The first line is a comment whatever it holds (LISFLOOD-FP skips it); text_lines already
  // dropped it when blank or starting with '#'.
  std::size_t k = !lines->empty() && (*lines)[0].first == 1 ? 1 : 0;
  while (k < lines->size()) {
    const auto& [n, line] = (*lines)[k];
    const std::string name = words(line)[0];
    if (k + 1 >= lines->size())
      return fail(Diagnostic::at(path, n, name, "a series without its count line", line,
                                 "count seconds|minutes|hours"));
    const auto& [cn, cline] = (*lines)[k + 1];
    const auto cw = words(cline);
    const auto count = number(cw[0]);
    const std::string unit = cw.size() > 1 ? upper(cw[1]) : "SECONDS";
    const double scale = unit == "SECONDS"   ? 1
                         : unit == "MINUTES" ? 60
                         : unit == "HOURS"   ? 3600
                                             : 0;
    if (!count || *count < 1 || *count != std::floor(*count) ||
        *count > static_cast<double>(lines->size() - k - 2) || scale == 0)
      return fail(Diagnostic::at(path, cn, name, "bad count line", cline,
                                 "the number of rows that follow, then seconds|minutes|hours"));
    const std::size_t rows = static_cast<std::size_t>(*count);
    BdySeries bs;
    for (std::size_t r = 0; r < rows; ++r) {
      const auto& [rn, rline] = (*lines)[k + 2 + r];
      const auto rw = words(rline);
      const auto v = number(rw[0]);
      const auto t = rw.size() > 1 ? number(rw[1]) : std::nullopt;
      Series& s = bs.series;
      if (!v || !t) return fail(Diagnostic::at(path, rn, name, "bad row", rline, "value time"));
      if (!s.t_s.empty() && *t * scale <= s.t_s.back())
        return fail(Diagnostic::at(path, rn, name, "times must increase", rline,
                                   fmt::format("> {}", s.t_s.back() / scale)));
      s.t_s.push_back(*t * scale);
      s.value.push_back(*v);
      bs.row_lines.push_back(rn);
    }
    if (!out.emplace(name, std::move(bs)).second)
      return fail(Diagnostic::at(path, n, name, "a second series of that name", line,
                                 "one series per name"));
    k += 2 + rows;
  }
  return out;
}

}  // namespace citytwin::flood
