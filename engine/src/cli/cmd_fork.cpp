// citytwin fork CHECKPOINT: several futures from one saved state (docs/batch.md "Fork"). Every
// member starts from the checkpoint's state and runs to --until, writing
// <out>/member-<k>/run.h5; members differ by their seed (member 0 keeps the parent's: an exact
// continuation) or by the value of one scenario key (--vary, one member per value).
//
// The city is imported once, and the parent's scenario and each distinct varied one compiled on
// it once. Before anything runs, the checkpoint is restored into the parent's model (checked
// against its stored hash) and every varied model is checked to lay its state out as the
// parent's does (same_layout), so a key that changes the grid or the vehicles is refused with
// exit 2; each member then restores its own copy when it starts. Members run side by side as a
// batch's do, min(threads, members) at a time with threads / that many workers each. HDF5 1.10
// (Debian's) is not thread-safe: every run file call goes through one lock.
#include <fmt/format.h>
#include <spdlog/spdlog.h>
#include <CLI/CLI.hpp>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>

#include "citytwin/batch.hpp"
#include "citytwin/io.hpp"
#include "citytwin/kpi.hpp"
#include "citytwin/rng.hpp"
#include "citytwin/sim.hpp"
#include "cli/commands.hpp"
#include "cli/run_loop.hpp"

namespace citytwin::cli {

namespace {

using Clock = std::chrono::steady_clock;

struct ForkArgs {
  std::string path;
  std::string until;
  std::string vary;
  std::string out;
  int members = 0;  // 0: not given
  int threads = -1;
  bool quiet = false;
};

// --vary KEY=V1,V2,...: the key and its values, each a number with an optional unit suffix
// ("30mm/h": 30 and "mm/h"), written into each member's scenario as a batch sweep writes them.
struct Vary {
  std::string key;
  std::vector<std::string> text;  // the values as the user wrote them
  std::vector<BatchMember::Setting> settings;
};

std::string_view trim(std::string_view s) {
  const auto b = s.find_first_not_of(" \t");
  if (b == std::string_view::npos) return {};
  return s.substr(b, s.find_last_not_of(" \t") - b + 1);
}

// A dotted TOML key of bare segments (it is written into the member's scenario as it is).
bool dotted_key(std::string_view key) {
  bool segment_empty = true;
  for (char ch : key) {
    if (ch == '.') {
      if (segment_empty) return false;
      segment_empty = true;
    } else if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '_' || ch == '-') {
      segment_empty = false;
    } else {
      return false;
    }
  }
  return !segment_empty;
}

Result<Vary> parse_vary(const std::string& arg) {
  const auto bad = [&](const std::string& what) -> Result<Vary> {
    return fail(
        Error::msg(fmt::format("--vary \"{}\": {} (expected KEY=V1,V2,..., e.g. "
                               "flood.rain.intensity=0mm/h,30mm/h,60mm/h)",
                               arg, what)));
  };
  const std::size_t eq = arg.find('=');
  if (eq == std::string::npos) return bad("no '=' between the key and its values");
  Vary v;
  v.key = std::string(trim(std::string_view(arg).substr(0, eq)));
  if (!dotted_key(v.key)) return bad(fmt::format("\"{}\" is not a dotted scenario key", v.key));
  // One city serves every member, and the clock, seed and outputs are the fork's.
  if (fixed_member_key(v.key))
    return bad(fmt::format(
        "a fork does not vary city, output or scenario keys ({}): the members share the "
        "checkpoint's city and clock, and their seeds and folders are the fork's",
        v.key));
  std::string_view rest = std::string_view(arg).substr(eq + 1);
  while (true) {
    const std::size_t comma = rest.find(',');
    const std::string_view item = trim(rest.substr(0, comma));
    if (item.empty()) return bad("an empty value");
    double x = 0;
    const auto [end, ec] = std::from_chars(item.data(), item.data() + item.size(), x);
    const std::string_view unit = trim(item.substr(static_cast<std::size_t>(end - item.data())));
    const bool unit_ok = std::ranges::all_of(unit, [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '/' || ch == '%' || ch == '_';
    });
    if (ec != std::errc{} || !std::isfinite(x) || !unit_ok)
      return bad(fmt::format("\"{}\" is not a number with an optional unit (e.g. 30mm/h)", item));
    v.text.emplace_back(item);
    v.settings.push_back({v.key, x, std::string(unit)});
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  return v;
}

// --until: "+DURATION" counts from the fork, a plain DURATION from the scenario's start; the end
// must come after the fork and within the scenario. Empty: the scenario's end.
Result<SimTime> fork_end(const std::string& text, SimTime fork, const ScenarioSpec& spec) {
  const SimTime scenario_end = spec.run.duration;
  SimTime end = scenario_end;
  if (!text.empty()) {
    const bool relative = text.starts_with('+');
    const auto d = parse_duration(relative ? std::string_view(text).substr(1) : text);
    if (!d || *d < 0)
      return fail(
          Error::msg(fmt::format("--until: \"{}\" is not a duration (+2h: two hours "
                                 "after the fork; 1h30min: at that time since the start)",
                                 text)));
    end = relative ? fork + *d : *d;
  }
  if (end <= fork)
    return fail(
        Error::msg(fmt::format("--until: {} is not after the fork at {} (the checkpoint's "
                               "time); +DURATION counts from the fork",
                               text.empty() ? format_duration(end) : text, format_duration(fork))));
  if (end > scenario_end)
    return fail(Error::msg(fmt::format("--until: {} ends at {}, past the scenario's duration {}",
                                       text, format_duration(end), format_duration(scenario_end)),
                           spec.path));
  return end;
}

// Member k's seed: the parent's for member 0 (an exact continuation), else a pure function of the
// parent's seed and k, below 2^63 (a TOML integer, as `run --seed` takes it) and never 0.
std::uint64_t member_seed(std::uint64_t parent, int k) {
  if (k == 0) return parent;
  return (Rng(parent, RngStream::fork, static_cast<std::uint64_t>(k), 0).u64(0) >> 1) | 1;
}

// Whether a state of `other` is laid out as one of `parent`'s. A varied key may change the
// state's arrays (flood.resolution: the grid; traffic.demand: the vehicles), and the checkpoint
// cannot tell: its arrays carry their own lengths and load into any model, hashing the same. A
// fresh state of each model, compared part by part in bytes, does tell.
Result<void> same_layout(const Model& parent, const Model& other) {
  const auto a = save_state(parent, make_state(parent));
  const auto b = save_state(other, make_state(other));
  if (!a) return fail(a.error());
  if (!b) return fail(b.error());
  if (a->names != b->names)
    return fail(Error::msg(fmt::format("its state has the parts [{}], the checkpoint's [{}]",
                                       fmt::join(b->names, ", "), fmt::join(a->names, ", "))));
  for (std::size_t i = 0; i < a->names.size(); ++i)
    if (a->parts[i].size() != b->parts[i].size())
      return fail(Error::msg(fmt::format(
          "the varied key changes the layout of the state's part {} ({} bytes at t = 0, the "
          "checkpoint's scenario {}): vary a key that leaves the grid, network and demand as "
          "they are",
          a->names[i], b->parts[i].size(), a->parts[i].size())));
  return {};
}

struct Member {
  int index = 0;
  std::filesystem::path dir;
  std::string value;  // the varied value as written; "" without --vary
  std::uint64_t seed = 0;
  std::shared_ptr<const Model> model;
  // What it gave.
  std::uint64_t hash = 0;
  std::string error;
  double wall_s = 0;
  std::int64_t steps = 0;
  double simulated_s = 0;
};

// The members' HDF5 calls from their stepping threads, one at a time (Debian's HDF5 1.10 is
// built thread-safe, so the run files' writer threads go on outside this lock).
std::mutex& hdf5_lock() {
  static std::mutex m;
  return m;
}

// One member from the checkpoint's state to the end of its model's run.
void run_member(Member& mb, const Checkpoint& c, const std::string& where, int threads) {
  const auto t0 = Clock::now();
  const Model& m = *mb.model;
  const std::string h5 = (mb.dir / "run.h5").string();
  try {
    auto state = restore_state(m, c, where);
    if (!state) {
      mb.error = state.error().to_string();
      return;
    }
    if (mb.seed != state->seed) reseed_state(m, *state, mb.seed);
    Run run(mb.model, threads, std::move(*state));
    std::unique_ptr<RunRecorder> rec;
    {
      const std::lock_guard lock(hdf5_lock());
      auto created = RunRecorder::create(m, h5);
      if (!created) {
        mb.error = created.error().to_string();
        return;
      }
      rec = std::move(*created);
      // Where the member came from (docs/hdf5-layout.md "/meta").
      RunWriter& w = rec->writer();
      std::error_code ec;
      const auto parent = std::filesystem::absolute(where, ec);
      w.attr("/meta", "fork_parent", ec ? where : parent.string());
      w.attr("/meta", "fork_parent_state_hash", hash_hex(c.state_hash));
      w.attr("/meta", "fork_at_s", to_seconds(run.state().t));
      w.attr("/meta", "fork_member", static_cast<std::int64_t>(mb.index));
      rec->observe(run.state());  // the fork's frame: the parent's last
    }
    run.observe([&](const SimState& s) {
      if (!rec->due(s)) return;  // most steps: nothing to write, no lock to wait for
      const std::lock_guard lock(hdf5_lock());
      rec->observe(s);
    });
    run.run_until(m.spec.run.duration);
    {
      const std::lock_guard lock(hdf5_lock());
      rec->finish(run.state());
      rec.reset();
    }
    mb.hash = hash_state(m, run.state());
    mb.steps = run.state().step;
    mb.simulated_s = to_seconds(run.state().t);
  } catch (const OutputError& e) {
    mb.error = fmt::format("cannot write {}: {}", h5, e.what());
  } catch (const std::exception& e) {
    mb.error = e.what();
  }
  mb.wall_s = std::chrono::duration<double>(Clock::now() - t0).count();
}

int run_fork(const ForkArgs& args) {
  namespace fs = std::filesystem;
  const auto t_start = Clock::now();
  std::error_code ec;
  const fs::path cp =
      fs::is_directory(args.path, ec) ? fs::path(args.path) / "checkpoint.h5" : fs::path(args.path);
  auto c = read_checkpoint(cp.string());
  if (!c) {
    std::cerr << c.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  std::optional<Vary> vary;
  if (!args.vary.empty()) {
    auto v = parse_vary(args.vary);
    if (!v) {
      std::cerr << v.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    vary = std::move(*v);
  }
  const int n = vary ? static_cast<int>(vary->settings.size()) : (args.members ? args.members : 4);
  if (vary && args.members != 0 && args.members != n) {
    std::cerr << fmt::format(
        "--members {} but --vary gives {} values: a fork with --vary has one "
        "member per value\n",
        args.members, n);
    return k_exit_bad_input;
  }
  if (vary && !c->scenario_path.ends_with(".toml")) {
    std::cerr << Error::msg("--vary needs a TOML scenario (a member's scenario extends it)",
                            c->scenario_path)
                     .to_string()
              << "\n";
    return k_exit_bad_input;
  }

  // The parent's scenario as the checkpoint knew it, whole: --until cuts it below.
  auto parent = load_run_spec(c->scenario_path, "");
  if (!parent) {
    std::cerr << parent.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  if (parent->resolved_text != c->scenario_text) {
    std::cerr << Error::msg(
                     "the scenario changed since the checkpoint was taken (its resolved "
                     "text differs); run it again to fork it",
                     c->scenario_path)
                     .to_string()
              << "\n";
    return k_exit_bad_input;
  }
  const auto at = image_time(c->image, cp.string());
  if (!at) {
    std::cerr << at.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  const auto until = fork_end(args.until, *at, *parent);
  if (!until) {
    std::cerr << until.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  const fs::path out = args.out.empty() ? cp.parent_path() / "fork" : fs::path(args.out);
  const int threads = args.threads >= 0 ? args.threads : parent->run.threads;

  // Every member's folder and, with --vary, its scenario: the parent's extended by the key.
  std::vector<Member> members(static_cast<std::size_t>(n));
  std::vector<ScenarioSpec> specs;
  for (int k = 0; k < n; ++k) {
    Member& mb = members[static_cast<std::size_t>(k)];
    mb.index = k;
    mb.dir = out / fmt::format("member-{}", k);
    fs::create_directories(mb.dir, ec);
    if (ec) {
      std::cerr << fmt::format("cannot create {}: {}\n", mb.dir.string(), ec.message());
      return k_exit_internal;
    }
    const fs::path toml = mb.dir / "scenario.toml";
    if (!vary) {
      fs::remove(toml, ec);  // an earlier fork's, varied: not this member's
      continue;
    }
    mb.value = vary->text[static_cast<std::size_t>(k)];
    BatchMember bm{fmt::format("member-{}", k), "fork", c->scenario_path, {}, 0};
    bm.set.push_back(vary->settings[static_cast<std::size_t>(k)]);
    {
      std::ofstream f(toml);
      f << member_scenario_text(bm);
      if (!f) {
        std::cerr << fmt::format("cannot write {}\n", toml.string());
        return k_exit_internal;
      }
    }
    auto spec = load_scenario(toml.string());
    if (!spec) {
      std::cerr << fmt::format("--vary {}={}: the member's scenario is not valid:\n{}\n", vary->key,
                               mb.value, spec.error().to_string());
      return k_exit_bad_input;
    }
    specs.push_back(std::move(*spec));
  }

  // One city for every member, and the parent's model, the checkpoint restored into it.
  std::shared_ptr<const CityModel> city;
  if (parent->city.osm.empty() && parent->city.dem.empty()) {
    city = std::make_shared<const CityModel>();
  } else {
    auto imported = import_city(parent->city);
    if (!imported) {
      std::cerr << imported.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    city = std::move(*imported);
  }
  const auto cut = [&](ScenarioSpec& spec, const fs::path& dir) {
    spec.run.duration = *until;
    std::erase_if(spec.events, [&](const EventSpec& e) { return e.at > *until; });
    spec.output.dir = dir.string();
  };
  cut(*parent, out);
  const std::string parent_text = parent->resolved_text;
  auto parent_model = compile_model(std::move(*parent), city, builtin_domains());
  if (!parent_model) {
    std::cerr << parent_model.error().to_string() << "\n";
    return k_exit_bad_input;
  }
  std::uint64_t parent_hash = 0, parent_seed = 0;
  {
    auto state = restore_state(**parent_model, *c, cp.string());
    if (!state) {
      std::cerr << state.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    parent_hash = hash_state(**parent_model, *state);
    parent_seed = state->seed;
  }

  // Every member's model: the parent's, or its varied scenario's, compiled once per distinct
  // text. Varied members keep the parent's seed; the others differ by theirs.
  std::map<std::string, std::shared_ptr<const Model>> models{{parent_text, *parent_model}};
  for (int k = 0; k < n; ++k) {
    Member& mb = members[static_cast<std::size_t>(k)];
    mb.seed = vary ? parent_seed : member_seed(parent_seed, k);
    if (!vary) {
      mb.model = *parent_model;
      continue;
    }
    ScenarioSpec& spec = specs[static_cast<std::size_t>(k)];
    cut(spec, mb.dir);
    if (auto it = models.find(spec.resolved_text); it != models.end()) {
      mb.model = it->second;
      continue;
    }
    const std::string member = fmt::format("member {} ({} = {}): ", k, vary->key, mb.value);
    const std::string text = spec.resolved_text;
    auto model = compile_model(std::move(spec), city, builtin_domains());
    if (!model) {
      std::cerr << member << model.error().to_string() << "\n";
      return k_exit_bad_input;
    }
    if (auto same = same_layout(**parent_model, **model); !same) {
      std::cerr << member
                << "the checkpoint's state does not fit this scenario: " << same.error().to_string()
                << "\n";
      return k_exit_bad_input;
    }
    mb.model = *model;
    models.emplace(text, std::move(*model));
  }
  const std::string name = members.front().model->spec.run.name;

  TaskPool probe(threads);
  const int slots = std::max(1, std::min(probe.threads(), n));
  const int inner = std::max(1, probe.threads() / slots);
  if (!args.quiet)
    spdlog::info("forking {} at {} into {} members to {} ({} at a time, {} thread(s) each)", name,
                 format_duration(*at), n, format_duration(*until), slots, inner);
  std::atomic<int> next{0};
  int done = 0;  // under `report`
  std::mutex report;
  TaskPool outer(slots);
  outer.run_all(slots, [&](std::int64_t) {
    for (int k = next++; k < n; k = next++) {
      Member& mb = members[static_cast<std::size_t>(k)];
      run_member(mb, *c, cp.string(), inner);
      const std::lock_guard lock(report);
      ++done;
      if (!args.quiet)
        spdlog::info("member {} {} in {:.1f} s ({} of {} done)", k,
                     mb.error.empty() ? "done" : "failed", mb.wall_s, done, n);
    }
  });

  // The table: the parent at the fork, then every member's seed, value and final hash.
  std::cout << fmt::format("fork of {} at {} ({}), to {}\n", name, format_duration(*at),
                           cp.string(), format_duration(*until));
  std::cout << fmt::format("parent state hash at {}  {}\n", format_duration(*at),
                           hash_hex(parent_hash));
  std::size_t w_seed = 4, w_value = vary ? vary->key.size() : 0;
  for (const Member& mb : members) {
    w_seed = std::max(w_seed, std::to_string(mb.seed).size());
    w_value = std::max(w_value, mb.value.size());
  }
  const auto row = [&](std::string_view k, std::string_view seed, std::string_view value,
                       std::string_view hash, std::string_view file) {
    std::string line = fmt::format("{:<6}  {:<{}}  ", k, seed, w_seed);
    if (vary) line += fmt::format("{:<{}}  ", value, w_value);
    return line + fmt::format("{:<16}  {}\n", hash, file);
  };
  std::cout << row("member", "seed", vary ? vary->key : "", "state hash", "run file");
  int failed = 0;
  for (std::size_t k = 0; k < members.size(); ++k) {
    const Member& mb = members[k];
    const std::string file = (mb.dir / "run.h5").string();
    if (!mb.error.empty()) {
      ++failed;
      std::cout << row(std::to_string(k), std::to_string(mb.seed), mb.value, "failed", file);
      std::cerr << fmt::format("member {} failed: {}\n", k, mb.error);
      continue;
    }
    std::cout << row(std::to_string(k), std::to_string(mb.seed), mb.value, hash_hex(mb.hash), file);
  }
  // fork.csv: the batch table's columns (docs/batch.md), a row per member with its KPIs.
  BatchSpec table_spec;
  table_spec.out = out.string();
  BatchTable table;
  std::vector<BatchMember> order;
  for (std::size_t k = 0; k < members.size(); ++k) {
    const Member& mb = members[k];
    BatchMember bm{fmt::format("member-{}", k), "fork", c->scenario_path, {}, mb.seed};
    if (vary) bm.set.push_back(vary->settings[k]);
    MemberResult r;
    r.status = mb.error.empty() ? "done" : "failed";
    r.error = mb.error;
    r.seed = mb.seed;
    r.state_hash = mb.hash;
    r.steps = mb.steps;
    r.simulated_s = mb.simulated_s;
    r.wall_s = mb.wall_s;
    if (mb.error.empty()) {
      auto kpis = compute_kpis((mb.dir / "run.h5").string());
      if (kpis)
        r.kpis = std::move(kpis->value);
      else
        r.error = "KPIs: " + kpis.error().to_string();
    }
    merge_rows(table, batch_row(table_spec, bm, r));
    order.push_back(std::move(bm));
  }
  const std::string csv = (out / "fork.csv").string();
  if (auto w = write_batch_csv(csv, table, order); !w) {
    std::cerr << w.error().to_string() << "\n";
    return k_exit_internal;
  }
  if (!args.quiet)
    spdlog::info("{} members in {:.1f} s; table {}", n,
                 std::chrono::duration<double>(Clock::now() - t_start).count(), csv);
  return failed > 0 ? k_exit_internal : k_exit_ok;
}

}  // namespace

Runner add_fork_command(CLI::App& app) {
  auto* cmd = app.add_subcommand(
      "fork", "Run several futures from one checkpoint (other seeds, or one scenario key varied)");
  auto args = std::make_shared<ForkArgs>();
  cmd->add_option("checkpoint", args->path, "A run's output folder, or its checkpoint.h5")
      ->required();
  cmd->add_option("--members", args->members,
                  "Members (default 4; with --vary, one per value): member 0 continues the run "
                  "exactly, the others with seeds of their own")
      ->check(CLI::Range(1, 10000));
  cmd->add_option("--until", args->until,
                  "End: +DURATION after the fork (+2h) or a time since the start (1h30min); "
                  "default the scenario's duration");
  cmd->add_option("--vary", args->vary,
                  "One member per value of a scenario key, e.g. "
                  "flood.rain.intensity=0mm/h,30mm/h,60mm/h");
  cmd->add_option("--out", args->out, "Output folder (default: <checkpoint folder>/fork)");
  cmd->add_option("--threads", args->threads,
                  "Worker threads for all members together (0: all cores)")
      ->check(CLI::Range(0, 1024));
  cmd->add_flag("--quiet", args->quiet, "No progress output");
  return [args]() { return run_fork(*args); };
}

}  // namespace citytwin::cli
