// Running a batch's members concurrently, and its table (batch.csv).
#include <fmt/format.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <sstream>

#include "citytwin/batch.hpp"
#include "citytwin/io.hpp"
#include "citytwin/kpi.hpp"

namespace citytwin {

namespace {

// Compiled models by resolved scenario text, and the imported city, shared by every member.
// The city is imported once (the first member imports it, the others wait); each distinct
// scenario is compiled once, by the first member that needs it, while members needing other
// models compile theirs at the same time (no lock is held while compiling).
class ModelCache {
 public:
  using Entry = Result<std::shared_ptr<const Model>>;

  Entry get(ScenarioSpec spec) {
    std::shared_ptr<const CityModel> city;
    {
      const std::lock_guard lock(m_city_mutex);
      if (!m_city) {
        if (spec.city.osm.empty() && spec.city.dem.empty()) {
          m_city = std::make_shared<const CityModel>();
        } else {
          auto imported = import_city(spec.city);
          if (!imported) return fail(imported.error());  // every member tries and says so
          m_city = std::move(*imported);
        }
      }
      city = m_city;
    }
    const std::string text = spec.resolved_text;
    std::shared_ptr<std::promise<Entry>> mine;
    std::shared_future<Entry> model;
    {
      const std::lock_guard lock(m_mutex);
      if (auto it = m_models.find(text); it != m_models.end()) {
        model = it->second;
      } else {
        mine = std::make_shared<std::promise<Entry>>();
        model = mine->get_future().share();
        m_models.emplace(text, model);
      }
    }
    if (mine) {
      try {
        mine->set_value(compile_model(std::move(spec), city, builtin_domains()));
      } catch (...) {  // out of memory, say: the members waiting for it fail with it too
        mine->set_exception(std::current_exception());
      }
    }
    return model.get();
  }

 private:
  std::mutex m_city_mutex, m_mutex;
  std::shared_ptr<const CityModel> m_city;
  std::map<std::string, std::shared_future<Entry>> m_models;
};

// The members' HDF5 calls from their stepping threads, one at a time (Debian's HDF5 1.10 is
// built thread-safe, so the run files' writer threads go on outside this lock).
std::mutex& hdf5_lock() {
  static std::mutex m;
  return m;
}

MemberResult run_member(const BatchSpec& spec, const BatchMember& m, ModelCache& cache,
                        int threads) {
  namespace fs = std::filesystem;
  MemberResult r;
  const auto t0 = std::chrono::steady_clock::now();
  const fs::path dir = fs::path(spec.out) / "members" / m.id;
  std::error_code ec;
  fs::create_directories(dir, ec);
  const std::string scenario = (dir / "scenario.toml").string();
  {
    std::ofstream f(scenario);
    f << member_scenario_text(m);
    if (!f) {
      r.status = "failed";
      r.error = "cannot write " + scenario;
      return r;
    }
  }
  auto loaded = load_scenario(scenario);
  if (!loaded) {
    r.status = "failed";
    r.error = loaded.error().to_string();
    return r;
  }
  if (!spec.until.empty()) {
    const SimTime until = *parse_duration(spec.until);
    if (until < loaded->run.duration) {
      loaded->run.duration = until;
      std::erase_if(loaded->events, [&](const EventSpec& e) { return e.at > until; });
    }
  }
  loaded->output.dir = dir.string();
  ModelCache::Entry model = [&]() -> ModelCache::Entry {
    try {
      return cache.get(std::move(*loaded));
    } catch (const std::exception& e) {  // the member fails, the batch goes on
      return fail(Error::msg(std::string("compiling the model: ") + e.what(), scenario));
    }
  }();
  if (!model) {
    r.status = "failed";
    r.error = model.error().to_string();
    return r;
  }
  const Model& mod = **model;
  r.seed = m.seed != 0 ? m.seed : mod.spec.run.seed;
  const RunEstimate est = estimate_run(mod);
  r.state_bytes = est.state_bytes;
  r.shared_bytes = est.city_bytes + est.model_bytes;
  const std::string h5 = (dir / "run.h5").string();
  try {
    Run run(*model, threads, r.seed);
    std::unique_ptr<RunRecorder> rec;
    {
      const std::lock_guard lock(hdf5_lock());
      auto created = RunRecorder::create(mod, h5);
      if (!created) {
        r.status = "failed";
        r.error = created.error().to_string();
        return r;
      }
      rec = std::move(*created);
      rec->observe(run.state());  // the t = 0 frame
    }
    run.observe([&](const SimState& s) {
      if (!rec->due(s)) return;  // most steps: nothing to write, no lock to wait for
      const std::lock_guard lock(hdf5_lock());
      rec->observe(s);
    });
    run.run_until(mod.spec.run.duration);
    {
      const std::lock_guard lock(hdf5_lock());
      rec->finish(run.state());
      rec.reset();
      auto k = compute_kpis(h5);
      if (!k) throw std::runtime_error("KPIs: " + k.error().to_string());
      r.kpis = std::move(k->value);
    }
    r.state_hash = hash_state(mod, run.state());
    r.steps = run.state().step;
    r.simulated_s = to_seconds(run.state().t);
    r.status = "done";
  } catch (const std::exception& e) {
    r.status = "failed";
    r.error = e.what();
  }
  r.wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  return r;
}

std::string csv_field(const std::string& v) {
  if (v.find_first_of(",\"\n") == std::string::npos) return v;
  std::string q = "\"";
  for (char c : v) {
    if (c == '"') q += '"';
    q += c == '\n' ? ' ' : c;
  }
  return q + "\"";
}

std::vector<std::string> csv_split(const std::string& line) {
  std::vector<std::string> out(1);
  bool quoted = false;
  for (std::size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (quoted) {
      if (c == '"' && i + 1 < line.size() && line[i + 1] == '"')
        out.back() += '"', ++i;
      else if (c == '"')
        quoted = false;
      else
        out.back() += c;
    } else if (c == '"') {
      quoted = true;
    } else if (c == ',') {
      out.emplace_back();
    } else {
      out.back() += c;
    }
  }
  return out;
}

}  // namespace

void run_batch(const BatchSpec& spec, const std::vector<BatchMember>& members, MemberQueue& queue,
               const BatchRunOptions& options) {
  TaskPool probe(options.threads);
  const int threads = probe.threads();
  const int slots = std::max(1, std::min<int>(threads, static_cast<int>(members.size())));
  const int inner = std::max(1, threads / slots);
  ModelCache cache;
  std::mutex report;
  TaskPool outer(slots);
  outer.run_all(slots, [&](std::int64_t) {
    while (auto k = queue.next()) {
      if (*k >= members.size()) break;
      {
        const std::lock_guard lock(report);
        if (options.started) options.started(*k);
      }
      const MemberResult r = run_member(spec, members[*k], cache, inner);
      const std::lock_guard lock(report);
      if (options.finished) options.finished(*k, r);
    }
  });
}

BatchTable batch_row(const BatchSpec& spec, const BatchMember& m, const MemberResult& r) {
  BatchTable t;
  t.columns = {"member", "kind", "seed"};
  for (const auto& p : spec.sweep) t.columns.push_back(p.key);
  for (const auto& p : spec.mc)
    if (std::find(t.columns.begin(), t.columns.end(), p.key) == t.columns.end())
      t.columns.push_back(p.key);
  for (const BatchMember::Setting& s : m.set)  // a fork's --vary key, say
    if (std::find(t.columns.begin(), t.columns.end(), s.key) == t.columns.end())
      t.columns.push_back(s.key);
  for (const char* c :
       {"status", "error", "steps", "simulated_s", "wall_s", "state_hash", "state_bytes"})
    t.columns.emplace_back(c);
  auto& row = t.rows[m.id];
  row["member"] = m.id;
  row["kind"] = m.kind;
  row["seed"] = std::to_string(r.seed);
  for (const BatchMember::Setting& s : m.set) row[s.key] = fmt::format("{}{}", s.value, s.unit);
  row["status"] = r.status;
  row["error"] = r.error;
  row["steps"] = std::to_string(r.steps);
  row["simulated_s"] = fmt::format("{}", r.simulated_s);
  row["wall_s"] = fmt::format("{:.2f}", r.wall_s);
  row["state_hash"] = r.status == "done" ? hash_hex(r.state_hash) : "";
  row["state_bytes"] = fmt::format("{:.0f}", r.state_bytes);
  const auto defs = kpi_definitions();
  for (std::size_t k = 0; k < defs.size(); ++k) {
    const std::string col(defs[k].id);
    t.columns.push_back(col);
    if (k < r.kpis.size() && !std::isnan(r.kpis[k])) row[col] = fmt::format("{:.10g}", r.kpis[k]);
  }
  return t;
}

void merge_rows(BatchTable& into, const BatchTable& from) {
  for (const std::string& c : from.columns)
    if (std::find(into.columns.begin(), into.columns.end(), c) == into.columns.end())
      into.columns.push_back(c);
  for (const auto& [id, row] : from.rows) into.rows[id] = row;
}

std::string batch_csv(const BatchTable& t, const std::vector<BatchMember>& order) {
  std::string out;
  for (std::size_t c = 0; c < t.columns.size(); ++c) {
    if (c) out += ',';
    out += csv_field(t.columns[c]);
  }
  out += "\n";
  for (const BatchMember& m : order) {
    const auto it = t.rows.find(m.id);
    if (it == t.rows.end()) continue;
    for (std::size_t c = 0; c < t.columns.size(); ++c) {
      const auto v = it->second.find(t.columns[c]);
      if (c) out += ',';
      if (v != it->second.end()) out += csv_field(v->second);
    }
    out += "\n";
  }
  return out;
}

Result<void> write_batch_csv(const std::string& path, const BatchTable& t,
                             const std::vector<BatchMember>& order) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream f(tmp);
    f << batch_csv(t, order);
    if (!f) return fail(Error::msg("cannot write the batch table", tmp));
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) return fail(Error::msg("cannot rename " + tmp + " into place: " + ec.message(), path));
  return {};
}

Result<BatchTable> parse_batch_csv(const std::string& text, const std::string& name) {
  BatchTable t;
  std::istringstream f(text);
  std::string line;
  if (!std::getline(f, line)) return t;
  t.columns = csv_split(line);
  int n = 1;
  while (std::getline(f, line)) {
    ++n;
    if (line.empty()) continue;
    const auto v = csv_split(line);
    if (v.size() != t.columns.size())
      return fail(Diagnostic::at(
          name, n, "", fmt::format("{} fields, the header has {}", v.size(), t.columns.size())));
    auto& row = t.rows[v[0]];
    for (std::size_t c = 0; c < v.size(); ++c) row[t.columns[c]] = v[c];
  }
  return t;
}

Result<BatchTable> read_batch_csv(const std::string& path) {
  std::ifstream f(path);
  if (!f) return BatchTable{};
  std::ostringstream text;
  text << f.rdbuf();
  return parse_batch_csv(text.str(), path);
}

}  // namespace citytwin
