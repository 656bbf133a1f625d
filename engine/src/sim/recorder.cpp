// RunRecorder: the observer that writes a run's HDF5 file between steps.
#include <algorithm>

#include "citytwin/demand.hpp"
#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"

namespace citytwin {

RunRecorder::RunRecorder(const Model& model, std::unique_ptr<RunWriter> out)
    : m_model(model), m_out(std::move(out)) {
  // The run steps on while its writer compresses the frames before (a busy machine, a batch's
  // members on every core: the writer's thread runs below the stepping threads) but holds at
  // most a couple of frames: memory, not the writer, would give first.
  constexpr double k_min_queue_bytes = 4 << 20;
  m_out->limit_queue(static_cast<std::size_t>(
      std::max(k_min_queue_bytes, RunEstimate::k_queued_frames * estimate_run(model).frame_bytes)));
}
RunRecorder::~RunRecorder() = default;

Result<std::unique_ptr<RunRecorder>> RunRecorder::create(const Model& model,
                                                         const std::string& path) {
  auto out = RunWriter::create(path, model.spec.output.compression);
  if (!out) return fail(out.error());
  RunWriter& w = **out;
  const ScenarioSpec& s = model.spec;
  // 0 until finish() has written the last frame and the results: a run that stopped early
  // (killed, a full disk) leaves a file that says so.
  w.attr("/meta", "complete", std::int64_t{0});
  w.attr("/meta", "citytwin_version", std::string_view(CITYTWIN_VERSION));
  w.attr("/meta", "scenario_path", s.path);
  w.attr("/meta", "scenario_name", s.run.name);
  w.attr("/meta", "seed", static_cast<std::int64_t>(s.run.seed));
  w.attr("/meta", "coupled", static_cast<std::int64_t>(model.coupling->any()));
  w.attr("/meta", "start", format_rfc3339(s.run.start_unix_s));
  w.attr("/meta", "start_unix_s", s.run.start_unix_s);
  w.attr("/meta", "step_s", to_seconds(s.run.step));
  w.attr("/meta", "duration_s", to_seconds(s.run.duration));
  w.attr("/meta", "crs_name", model.city->crs.name);
  w.attr("/meta", "crs_wkt", model.city->crs.wkt);
  w.write_strings("/meta/scenario", {s.resolved_text},
                  {"", "the scenario as TOML, after extends resolution"});
  std::vector<std::string> domains(s.domain_names.begin(), s.domain_names.end());
  w.write_strings("/meta/domains", domains, {"", "the domains this run simulates, in step order"});
  write_city(*model.city, w);
  // Who is where (the demand model's estimate, [demand]): the KPIs' people affected.
  const Activity activity = city_activity(model.city->buildings, s.demand);
  w.write("/city/buildings/residents", activity.residents,
          {"1", "residents of each building (the demand model's estimate, [demand])"});
  w.write("/city/buildings/jobs", activity.jobs,
          {"1", "jobs in each building (the demand model's estimate, [demand])"});
  for (const auto& d : model.domains) d->write_static(w);
  write_coupling_static(*model.coupling, w);
  w.flush();
  auto rec = std::unique_ptr<RunRecorder>(new RunRecorder(model, std::move(*out)));
  rec->m_next_flush = s.output.flush_every;
  return rec;
}

Result<std::unique_ptr<RunRecorder>> RunRecorder::resume(const Model& model,
                                                         const std::string& path,
                                                         const RecorderMark& mark) {
  auto out = RunWriter::resume(path, model.spec.output.compression, mark.datasets);
  if (!out) return fail(out.error());
  (*out)->attr("/meta", "complete", std::int64_t{0});
  (*out)->attr("/meta", "duration_s", to_seconds(model.spec.run.duration));  // a new --until
  // The checkpoint came after the first frame, so every series exists: readers may follow.
  (*out)->start_swmr();
  auto rec = std::unique_ptr<RunRecorder>(new RunRecorder(model, std::move(*out)));
  rec->m_next_frame = mark.next_frame;
  rec->m_last_frame = mark.last_frame;
  rec->m_next_flush = mark.next_flush;
  rec->m_flushed = mark.last_frame;
  return rec;
}

RecorderMark RunRecorder::mark() {
  m_out->flush();
  m_flushed = std::max(m_flushed, m_last_frame);
  return {m_next_frame, m_last_frame, m_next_flush, m_out->extents()};
}

void RunRecorder::observe(const SimState& state, double lag_s) {
  const OutputSpec& o = m_model.spec.output;
  if (state.t >= m_next_frame) {
    m_out->append<double>("/time", to_seconds(state.t),
                          {"s", "simulated time of each output frame since the start"});
    m_out->append<double>("/run/lag_s", lag_s,
                          {"s",
                           "how far simulated time was behind the wall-clock schedule of "
                           "--realtime at the frame; NaN: not paced"});
    for (std::size_t i = 0; i < m_model.domains.size(); ++i)
      m_model.domains[i]->write_frame(*state.domains[i], *m_out);
    write_coupling_frame(*m_model.coupling, state.x(), *m_out);
    m_last_frame = state.t;
    while (m_next_frame <= state.t) m_next_frame += o.every;
    // The first frame created every per-frame series: from now on readers may follow the file
    // (SWMR; it flushes, so the frame is on disk).
    if (!m_out->swmr()) {
      m_out->start_swmr();
      m_flushed = state.t;
    }
  }
  if (state.t >= m_next_flush) {
    // Queued behind the frame, not waited for: the run steps on (a paced run must not wait).
    while (!m_flushes.empty() && m_out->flushed(m_flushes.front().first)) {
      m_flushed = std::max(m_flushed, m_flushes.front().second);
      m_flushes.pop_front();
    }
    m_flushes.emplace_back(m_out->queue_flush(), state.t);
    while (m_next_flush <= state.t) m_next_flush += o.flush_every;
  }
}

SimTime RunRecorder::flushed() const {
  SimTime t = m_flushed;
  for (const auto& [ticket, at] : m_flushes)
    if (m_out->flushed(ticket)) t = std::max(t, at);
  return t;
}

std::vector<SummaryRow> RunRecorder::finish(
    const SimState& state, double lag_s,
    const std::function<void(RunWriter&, std::vector<SummaryRow>&)>& more) {
  std::vector<SummaryRow> summary;
  // The final state is always a frame, even between output intervals.
  if (m_last_frame != state.t) {
    m_next_frame = state.t;
    observe(state, lag_s);
  }
  // The results are new datasets and attributes, which SWMR forbids.
  m_out->flush();
  m_flushed = state.t;
  m_out->stop_swmr();
  for (std::size_t i = 0; i < m_model.domains.size(); ++i)
    m_model.domains[i]->write_final(*state.domains[i], *m_out, summary);
  write_coupling_final(*m_model.coupling, state.coupling, *m_out, summary);
  if (more) more(*m_out, summary);
  m_out->attr("/meta", "rejected_events", static_cast<std::int64_t>(state.rejected_events.size()));
  for (const std::string& r : state.rejected_events)
    summary.push_back({"run", "event rejected", r});
  m_out->attr("/meta", "end_s", to_seconds(state.t));
  m_out->attr("/meta", "steps", state.step);
  m_out->attr("/meta", "state_seed", static_cast<std::int64_t>(state.seed));
  m_out->attr("/meta", "state_hash", hash_hex(hash_state(m_model, state)));
  m_out->attr("/meta", "complete", std::int64_t{1});
  m_out->flush();
  m_flushed = state.t;
  return summary;
}

}  // namespace citytwin
