// The batch file ([batch], its variants, sweep and Monte Carlo parameters) and the members it
// expands to.
#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>

#include "citytwin/batch.hpp"
#include "citytwin/rng.hpp"

namespace citytwin {

namespace {

std::optional<BatchParameter> parse_parameter(SectionReader p, bool sweep, bool lhs) {
  BatchParameter b;
  b.where = p.where();
  auto key = p.string("key");
  if (!key) {
    p.error("", "missing key \"key\"", "",
            "key = \"flood.rain.intensity\" (a dotted scenario key)");
    return std::nullopt;
  }
  b.key = *key;
  b.unit = p.string_or("unit", "");
  const bool fixed = fixed_member_key(b.key);
  if (fixed)
    p.error("key",
            "a batch does not vary city, output or scenario keys (one city serves every "
            "member; members' outputs and seeds are the batch's)",
            b.key, "a key of a domain section, e.g. flood.rain.intensity");
  if (!sweep) {
    b.distribution =
        p.choice_or("distribution", {"uniform", "normal", "lognormal", "triangular"}, "uniform");
    if (b.distribution == "uniform" || b.distribution == "triangular") {
      b.a = p.number_or("min", 0);
      b.b = p.number_or("max", 1);
      if (b.distribution == "triangular") b.c = p.number_or("mode", 0.5 * (b.a + b.b));
      if (!(b.a < b.b)) p.error("max", "must be above min", fmt::format("{}", b.b));
      if (b.distribution == "triangular" && (b.c < b.a || b.c > b.b))
        p.error("mode", "must lie within [min, max]", fmt::format("{}", b.c));
    } else if (b.distribution == "normal") {
      b.a = p.number_or("mean", 0);
      b.b = p.number_or("sd", 1, 0);
    } else {
      b.a = p.number_or("mu", 0);
      b.b = p.number_or("sigma", 1, 0);
    }
    if (fixed) return std::nullopt;
    return b;
  }
  if (lhs) {
    auto r = p.numbers("range", 2);
    if (!r || !((*r)[0] < (*r)[1])) {
      p.error("range", "a Latin hypercube needs the range of each key", "", "range = [min, max]");
      return std::nullopt;
    }
    b.lo = (*r)[0], b.hi = (*r)[1];
    if (fixed) return std::nullopt;
    return b;
  }
  if (p.has("values")) {
    auto v = p.numbers("values");
    if (v) b.values = *v;
  } else if (p.has("range")) {
    auto r = p.numbers("range", 3);
    if (r) {
      const double lo = (*r)[0], hi = (*r)[1], step = (*r)[2];
      if (!(step > 0) || !(hi >= lo) || (hi - lo) / step > 10000) {
        p.error("range", "expects [first, last, step] with step > 0 and at most 10000 values",
                fmt::format("[{}, {}, {}]", lo, hi, step));
        return std::nullopt;
      }
      const auto n = static_cast<std::int64_t>(std::floor((hi - lo) / step + 1e-9));
      for (std::int64_t k = 0; k <= n; ++k) b.values.push_back(lo + static_cast<double>(k) * step);
    }
  }
  if (b.values.empty()) {
    p.error("", "a sweep parameter needs values", "",
            "values = [20, 40, 60] or range = [first, last, step]");
    return std::nullopt;
  }
  if (fixed) return std::nullopt;
  return b;
}

// A draw of the parameter's distribution from a uniform u in (0, 1) and a normal z.
double draw(const BatchParameter& p, double u, double z) {
  if (p.distribution == "uniform") return p.a + (p.b - p.a) * u;
  if (p.distribution == "normal") return p.a + p.b * z;
  if (p.distribution == "lognormal") return std::exp(p.a + p.b * z);
  // Triangular by its inverse distribution function.
  const double f = (p.c - p.a) / (p.b - p.a);
  return u < f ? p.a + std::sqrt(u * (p.b - p.a) * (p.c - p.a))
               : p.b - std::sqrt((1 - u) * (p.b - p.a) * (p.b - p.c));
}

std::string toml_number(double v) {
  if (std::isfinite(v) && v == std::round(v) && std::abs(v) < 1e15)
    return fmt::format("{}", static_cast<std::int64_t>(v));
  return fmt::format("{}", v);
}

}  // namespace

bool fixed_member_key(const std::string& key) {
  return key.starts_with("city.") || key.starts_with("output.") || key == "extends" ||
         key.starts_with("scenario.");
}

Result<BatchSpec> load_batch(const std::string& path) {
  auto doc = ScenarioDocument::load(path);
  if (!doc) return fail(doc.error());
  BatchSpec b;
  b.path = path;
  SectionReader root = (*doc)->root();
  SectionReader s = root.table("batch");
  if (!root.has("batch"))
    (*doc)->add(Diagnostic::at(path, 0, "batch", "not a batch file: no [batch] table", "",
                               "[batch] with scenario = \"base.toml\""));
  b.name = s.string_or("name", std::filesystem::path(path).stem().string());
  if (auto sc = s.existing_file("scenario"))
    b.scenario = std::filesystem::absolute(*sc).lexically_normal().string();
  else if (root.has("batch") && !s.has("scenario"))
    s.error("", "missing key \"scenario\"", "", "scenario = \"base.toml\" (the base scenario)");
  if (s.has("until")) {
    if (auto t = s.duration("until")) b.until = fmt::format("{}ms", *t);
  }
  b.out = s.path("out").value_or((std::filesystem::path("out") / "batch" / b.name).string());
  b.threads = static_cast<int>(s.integer_or("threads", 0, 0, 1024));
  b.seed = static_cast<std::uint64_t>(s.integer_or("seed", 1, 0));
  b.base_member = s.boolean_or("base_member", true);
  for (SectionReader v : s.tables("variant")) {
    BatchSpec::Variant var;
    var.where = v.where();
    var.name = v.string_or("name", "");
    auto sc = v.existing_file("scenario");
    if (var.name.empty() || var.name == "base" || var.name.find('/') != std::string::npos)
      v.error("name", "each variant needs its own name (not \"base\", no '/')", var.name,
              "name = \"levee\"");
    if (sc) var.scenario = std::filesystem::absolute(*sc).lexically_normal().string();
    if (!var.name.empty() && sc) b.variants.push_back(std::move(var));
  }
  if (root.table("batch").has("sweep")) {
    SectionReader sw = s.table("sweep");
    b.design = sw.choice_or("design", {"factorial", "latin-hypercube"}, "factorial");
    const bool lhs = b.design == "latin-hypercube";
    if (lhs) b.samples = sw.integer_or("samples", 10, 1, 100000);
    const auto params = sw.tables("parameter");
    for (SectionReader p : params)
      if (auto bp = parse_parameter(p, true, lhs)) b.sweep.push_back(std::move(*bp));
    if (params.empty()) sw.error("", "a sweep needs at least one [[batch.sweep.parameter]]");
  }
  if (s.has("monte_carlo")) {
    SectionReader mc = s.table("monte_carlo");
    b.mc_members = mc.integer_or("members", 0, 1, 100000);
    for (SectionReader p : mc.tables("parameter"))
      if (auto bp = parse_parameter(p, false, false)) b.mc.push_back(std::move(*bp));
  }
  Error errors = (*doc)->finish();
  if (!errors.items.empty()) return fail(std::move(errors));
  const std::size_t n = expand_batch(b).size();
  if (n == 0)
    return fail(Diagnostic::at(path, 0, "batch", "the batch has no member", "",
                               "base_member = true, a [[batch.variant]], a [batch.sweep] or a "
                               "[batch.monte_carlo]"));
  return b;
}

std::vector<BatchMember> expand_batch(const BatchSpec& spec) {
  std::vector<BatchMember> out;
  if (spec.base_member) out.push_back({"base", "base", spec.scenario, {}, 0});
  for (const auto& v : spec.variants) out.push_back({v.name, "variant", v.scenario, {}, 0});
  if (!spec.sweep.empty()) {
    using Point = std::vector<BatchMember::Setting>;
    std::vector<Point> points;
    if (spec.design == "factorial") {
      points.emplace_back();
      for (const BatchParameter& p : spec.sweep) {
        std::vector<Point> next;
        for (const auto& pt : points)
          for (double v : p.values) {
            auto q = pt;
            q.push_back({p.key, v, p.unit});
            next.push_back(std::move(q));
          }
        points = std::move(next);
      }
    } else {
      // Latin hypercube (McKay, Beckman, Conover 1979): each key's range cut into `samples`
      // equal strata, one draw in each, strata paired by a random permutation per key.
      const auto n = static_cast<std::size_t>(spec.samples);
      points.assign(n, {});
      for (std::size_t k = 0; k < spec.sweep.size(); ++k) {
        const BatchParameter& p = spec.sweep[k];
        const Rng rng(spec.seed, RngStream::batch, 0xBA7C0000u + k, 0);
        std::vector<std::size_t> perm(n);
        std::iota(perm.begin(), perm.end(), 0);
        for (std::size_t i = n; i > 1; --i)  // Fisher-Yates with keyed draws
          std::swap(perm[i - 1], perm[rng.u64(static_cast<std::uint32_t>(i)) % i]);
        for (std::size_t i = 0; i < n; ++i) {
          const double u =
              (static_cast<double>(perm[i]) + rng.uniform(static_cast<std::uint32_t>(n + 1 + i))) /
              static_cast<double>(n);
          points[i].push_back({p.key, p.lo + (p.hi - p.lo) * u, p.unit});
        }
      }
    }
    for (std::size_t i = 0; i < points.size(); ++i)
      out.push_back({fmt::format("sweep-{:03}", i + 1), "sweep", spec.scenario, points[i], 0});
  }
  for (std::int64_t i = 0; i < spec.mc_members; ++i) {
    const Rng rng(spec.seed, RngStream::batch, 0x3C000000u, static_cast<std::uint64_t>(i));
    BatchMember m{fmt::format("mc-{:03}", i + 1), "monte-carlo", spec.scenario, {}, 0};
    m.seed = (rng.u64(0) >> 1) | 1;  // below 2^63 (a TOML integer), never 0 (the scenario's own)
    for (std::size_t k = 0; k < spec.mc.size(); ++k) {
      const auto idx = static_cast<std::uint32_t>(2 + 2 * k);
      m.set.push_back({spec.mc[k].key, draw(spec.mc[k], rng.uniform(idx), rng.normal(idx + 64)),
                       spec.mc[k].unit});
    }
    out.push_back(std::move(m));
  }
  return out;
}

std::string member_scenario_text(const BatchMember& m) {
  std::string text =
      fmt::format("# batch member {} ({})\nextends = \"{}\"\n", m.id, m.kind, m.scenario);
  // The seed is the state's, not the scenario's (which keys the compiled demand, shared by the
  // members): `citytwin run scenario.toml --seed N` reproduces the member alone.
  if (m.seed != 0)
    text += fmt::format("# state seed {} (citytwin run --seed {})\n", m.seed, m.seed);
  for (const BatchMember::Setting& s : m.set)
    text += s.unit.empty() ? fmt::format("{} = {}\n", s.key, toml_number(s.value))
                           : fmt::format("{} = \"{}{}\"\n", s.key, s.value, s.unit);
  return text;
}

}  // namespace citytwin
