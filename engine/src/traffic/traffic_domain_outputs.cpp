// What the traffic domain writes and shows (TrafficDomain, traffic_domain_impl.hpp): the network
// once (write_static); the network summary, the running vehicles and the per-link state every
// output frame (write_frame); the per-edge and detector intervals, traffic_trips.csv, the
// teleport log and the summary rows at the end (write_final); and the viewer's frame
// (fill_frame). write_frame and fill_frame read the state through the same frame_values.
#include "traffic/traffic_domain_impl.hpp"

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <limits>

#include <fmt/format.h>

#include "citytwin/io.hpp"

namespace citytwin::traffic {

namespace {

using u = std::size_t;

}  // namespace

void TrafficDomain::write_static(RunWriter& out) const {
  out.write_strings("/traffic/edge_id", m_net.edge_id, {"", "SUMO edge id (or city link)"});
  out.write(std::string("/traffic/edge_length"), m_net.edge_length,
            {"m", "length of the edge's rightmost lane"});
  std::vector<std::int32_t> lanes(static_cast<u>(m_net.n_edges()));
  std::vector<float> speed(lanes.size());
  for (std::int32_t e = 0; e < m_net.n_edges(); ++e) {
    lanes[static_cast<u>(e)] =
        m_net.edge_lane_begin[static_cast<u>(e) + 1] - m_net.edge_lane_begin[static_cast<u>(e)];
    speed[static_cast<u>(e)] = m_net.lane_speed[static_cast<u>(m_net.edge_lane_begin[e])];
  }
  out.write(std::string("/traffic/edge_lanes"), lanes, {"1", "lanes of each edge"});
  out.write(std::string("/traffic/edge_speed_limit"), speed,
            {"m/s", "speed limit of the rightmost lane"});
  if (m_c.city) {
    std::vector<std::int32_t> link(static_cast<u>(m_net.n_edges()));
    for (std::int32_t e = 0; e < m_net.n_edges(); ++e) link[static_cast<u>(e)] = e;
    out.write(std::string("/traffic/edge_link"), link,
              {"", "the city road link of each edge (/city/roads)"});
    out.write_strings("/traffic/signal_id", m_net.tl_id, {"", "n<OSM node id> of each signal"});
    std::vector<double> cycle;
    for (SimTime c : m_net.tl_cycle) cycle.push_back(to_seconds(c));
    out.write(std::string("/traffic/signal_cycle_s"), cycle,
              {"s", "cycle of each generated signal plan (Webster)"});
  }
  if (!m_c.detectors.empty()) {
    std::vector<std::string> ids;
    std::vector<std::int32_t> lane;
    std::vector<float> pos;
    for (const DetectorSpec& d : m_c.detectors)
      ids.push_back(d.id), lane.push_back(d.lane), pos.push_back(d.pos);
    out.write_strings("/traffic/detectors/id", ids, {"", "detector id"});
    out.write(std::string("/traffic/detectors/lane"), lane, {"", "road lane index"});
    out.write(std::string("/traffic/detectors/pos"), pos, {"m", "position from the lane start"});
  }
  out.attr("/traffic", "source", m_source);
  out.attr("/traffic", "vehicles", static_cast<std::int64_t>(m_demand.n_vehicles()));
  if (m_demand.n_planned() < m_demand.n_vehicles())
    out.attr("/traffic", "calibrator_reserve",
             static_cast<std::int64_t>(m_demand.n_vehicles() - m_demand.n_planned()));
  out.attr("/traffic", "dt_s", to_seconds(m_params.dt));
}

void TrafficDomain::write_frame(const DomainState& state, RunWriter& out) const {
  const auto& s = static_cast<const TrafficDomainState&>(state);
  const traffic::SummaryRow r = summary(s.ts, m_params);
  out.append<std::int64_t>("/traffic/running", r.running, {"1", "vehicles on the network"});
  out.append<std::int64_t>("/traffic/inserted", r.inserted, {"1", "vehicles inserted so far"});
  out.append<std::int64_t>("/traffic/arrived", r.arrived, {"1", "vehicles arrived so far"});
  out.append<std::int64_t>("/traffic/halting", r.halting,
                           {"1", "running vehicles slower than halting_speed"});
  out.append<std::int64_t>("/traffic/pending", r.pending,
                           {"1", "vehicles not yet inserted (incl. insertion backlog)"});
  out.append<std::int64_t>("/traffic/removed", r.removed,
                           {"1", "vehicles removed after a failed teleport, so far"});
  out.append<std::int64_t>("/traffic/teleports", s.ts.teleports,
                           {"1", "teleports (gridlock recovery) so far"});
  out.append<double>("/traffic/mean_speed", r.mean_speed,
                     {"m/s", "mean speed of the running vehicles (0 when none)"});
  double ratio = 0;
  for (std::int32_t i = 0; i < s.ts.n_running; ++i) {
    const auto v = static_cast<u>(s.ts.running[static_cast<u>(i)]);
    ratio += s.ts.veh_speed[v] / std::max(0.1f, s.ts.lane_speed[static_cast<u>(s.ts.veh_lane[v])]);
  }
  out.append<double>("/traffic/mean_speed_ratio", s.ts.n_running > 0 ? ratio / s.ts.n_running : 1.0,
                     {"1", "mean over running vehicles of speed / speed limit (1 when none)"});
  out.append<std::int64_t>("/traffic/unroutable", s.ts.unroutable,
                           {"1", "vehicles never inserted: no route at departure, so far"});
  out.append<std::int64_t>("/traffic/rerouted", s.ts.rerouted,
                           {"1", "route replacements (closures, slow links), so far"});
  out.append<std::int64_t>("/traffic/stranded", s.ts.stranded,
                           {"1", "vehicles removed because their destination became unreachable"});
  // What the viewer draws (replay): the running vehicles appended to flat arrays, located by
  // per-frame offset and count; per-link state on city networks.
  const FrameValues v = frame_values(s);
  const auto first = static_cast<std::int64_t>(
      out.extend("/traffic/vehicles/x", v.x, {"m", "vehicle position x (model CRS)"}));
  out.extend("/traffic/vehicles/y", v.y, {"m", "vehicle position y (model CRS)"});
  out.extend("/traffic/vehicles/z", v.z, {"m", "ground elevation under the vehicle"});
  out.extend("/traffic/vehicles/heading", v.heading, {"rad", "heading from east, CCW"});
  out.extend("/traffic/vehicles/speed", v.speed, {"m/s", "vehicle speed"});
  out.append<std::int64_t>("/traffic/vehicles/offset", first,
                           {"", "index of the frame's first vehicle in /traffic/vehicles/*"});
  out.append<std::int64_t>("/traffic/vehicles/count", static_cast<std::int64_t>(v.x.size()),
                           {"1", "vehicles of the frame (the running ones)"});
  if (!m_net.tl_id.empty()) {
    const std::size_t nt = m_net.tl_id.size();
    std::vector<std::uint8_t> dark(nt);
    for (std::size_t t = 0; t < nt; ++t) dark[t] = s.ts.tl_dark[t] ? 1 : 0;
    out.append<std::uint8_t>("/traffic/signal_dark", dark, std::span<const std::size_t>(&nt, 1),
                             {"1", "per signal: 1 dark (all-way stop, by an event or no power)"});
  }
  if (m_c.city) {
    const std::size_t ne = v.link_ratio.size();
    out.append<float>("/traffic/link_speed_ratio", v.link_ratio,
                      std::span<const std::size_t>(&ne, 1),
                      {"1", "per road link: mean speed / speed limit of its vehicles, NaN none"});
    out.append<std::uint8_t>("/traffic/link_closed", v.link_closed,
                             std::span<const std::size_t>(&ne, 1),
                             {"1", "per road link: 1 when closed"});
  }
}

// One row per vehicle of the demand (its index), whatever became of it: the KPIs' trips.
constexpr std::uint8_t k_trip_stranded = 4, k_trip_cancelled = 5, k_trip_calibrated = 6;
void TrafficDomain::write_trip_table(const TrafficState& ts, RunWriter& out) const {
  const std::size_t n = static_cast<std::size_t>(m_demand.n_vehicles());
  std::vector<std::uint8_t> status(n);
  std::vector<double> depart(n), insert(n), arrive(n);
  const double nan = std::nan("");
  for (std::size_t v = 0; v < n; ++v) {
    const VehStatus st = ts.veh_status[v];
    const bool inserted = ts.veh_insert_time[v] >= 0;
    const auto removed_by = [&](std::uint8_t flag) {
      return st == VehStatus::removed && (ts.veh_flags[v] & flag) != 0;
    };
    status[v] = !inserted && st == VehStatus::removed ? k_trip_cancelled
                : removed_by(k_flag_stranded)         ? k_trip_stranded
                : removed_by(k_flag_calibrated)       ? k_trip_calibrated
                                                      : static_cast<std::uint8_t>(st);
    // A calibrator's reserve vehicle has no planned departure.
    depart[v] =
        m_demand.veh_depart[v] == k_reserve_depart ? nan : to_seconds(m_demand.veh_depart[v]);
    insert[v] = inserted ? to_seconds(ts.veh_insert_time[v]) : nan;
    arrive[v] = st == VehStatus::arrived ? to_seconds(ts.veh_arrive_time[v]) : nan;
  }
  const std::string p = "/traffic/trips/";
  out.write(p + "status", status,
            {"",
             "0 not yet inserted, 1 running at the end, 2 arrived, 3 removed after a failed "
             "teleport, 4 stranded (destination cut off), 5 cancelled (no route at departure), "
             "6 removed by a live-count calibrator"});
  out.write(p + "depart_s", depart,
            {"s", "planned departure; NaN: a calibrator's reserve vehicle"});
  out.write(p + "insert_s", insert, {"s", "time it entered the network; NaN: never"});
  out.write(p + "arrival_s", arrive, {"s", "arrival; NaN: did not arrive"});
  out.write(p + "route_length_m", ts.veh_route_length, {"m", "distance driven"});
  out.write(p + "time_loss_s", ts.veh_time_loss,
            {"s", "time lost driving below the allowed speed (SUMO timeLoss)"});
  out.write(p + "waiting_s", ts.veh_waiting,
            {"s", "time below the halting speed, stops left out (SUMO waitingTime)"});
  out.write(p + "stop_s", ts.veh_stop_time.empty() ? std::vector<float>(n, 0.0f) : ts.veh_stop_time,
            {"s", "time standing at scheduled stops (SUMO stopTime)"});
}

void TrafficDomain::write_final(const DomainState& state, RunWriter& out,
                                std::vector<citytwin::SummaryRow>& summary_rows) const {
  const auto& s = static_cast<const TrafficDomainState&>(state);
  // The closed intervals and the open one up to the end of the run.
  TrafficState tail = s.ts;
  std::vector<EdgeInterval> intervals = s.intervals;
  if (s.ts.time > s.interval_begin)
    intervals.push_back(
        take_edge_interval(tail, to_seconds(s.interval_begin), to_seconds(s.ts.time)));
  const std::size_t ne = static_cast<std::size_t>(m_net.n_edges());
  for (const EdgeInterval& iv : intervals) {
    out.append<double>("/traffic/edges/begin_s", iv.begin_s, {"s", "interval start"});
    out.append<double>("/traffic/edges/end_s", iv.end_s, {"s", "interval end"});
    out.append<std::int32_t>("/traffic/edges/entered", iv.entered,
                             std::span<const std::size_t>(&ne, 1),
                             {"1", "vehicles that entered (or were inserted on) each edge"});
    out.append<float>("/traffic/edges/mean_speed", iv.mean_speed,
                      std::span<const std::size_t>(&ne, 1),
                      {"m/s", "space-mean speed on each edge, NaN without traffic"});
    std::vector<float> vs(iv.veh_seconds.begin(), iv.veh_seconds.end());
    out.append<float>("/traffic/edges/veh_seconds", vs, std::span<const std::size_t>(&ne, 1),
                      {"s", "vehicle-seconds spent on each edge"});
  }
  std::vector<DetectorInterval> detections = s.detections;
  if (!tail.detectors.empty() && s.ts.time > s.interval_begin)
    detections.push_back(
        take_detector_interval(tail, to_seconds(s.interval_begin), to_seconds(s.ts.time)));
  const std::size_t nd = m_c.detectors.size();
  for (const DetectorInterval& iv : detections) {
    out.append<double>("/traffic/detectors/begin_s", iv.begin_s, {"s", "interval start"});
    out.append<double>("/traffic/detectors/end_s", iv.end_s, {"s", "interval end"});
    out.append<std::int32_t>("/traffic/detectors/count", iv.count,
                             std::span<const std::size_t>(&nd, 1),
                             {"1", "vehicles whose front passed the detector"});
    out.append<float>("/traffic/detectors/occupancy", iv.occupancy,
                      std::span<const std::size_t>(&nd, 1),
                      {"1", "fraction of the interval the detector was covered"});
    out.append<float>("/traffic/detectors/mean_speed", iv.mean_speed,
                      std::span<const std::size_t>(&nd, 1),
                      {"m/s", "mean speed of the passing vehicles, NaN if none"});
  }
  const std::filesystem::path dir = std::filesystem::path(out.path()).parent_path();
  if (nd > 0) {
    const auto det_csv =
        write_detectors_csv((dir / "traffic_detectors.csv").string(), m_c.detectors, detections);
    if (!det_csv)
      summary_rows.push_back({"traffic", "detectors file", det_csv.error().to_string()});
  }
  const std::string trips = (dir / "traffic_trips.csv").string();
  const auto wrote = write_trips_csv(trips, m_demand, s.ts);
  write_trip_table(s.ts, out);
  if (m_c.tripinfo) {
    const std::string tripinfo = (dir / "tripinfo.xml").string();
    const auto xml = write_tripinfo_xml(tripinfo, m_net, m_demand, s.ts);
    summary_rows.push_back(
        {"traffic", "tripinfo file", xml ? tripinfo : "not written: " + xml.error().to_string()});
  }
  // Every teleport: when, who, where it was stuck and where it went (SUMO prints these as
  // warnings; here they are data).
  std::string teleports_file;
  if (!s.ts.teleport_log.empty()) {
    const TeleportTable t = teleport_table(m_net, m_demand, s.ts);
    out.write(std::string("/traffic/teleport_log/time_s"), t.time_s, {"s", "time of the teleport"});
    out.write_strings("/traffic/teleport_log/vehicle", t.vehicle, {"", "vehicle id"});
    out.write_strings("/traffic/teleport_log/stuck_on", t.stuck_on,
                      {"", "lane the vehicle was stuck on (<edge>_<lane> or <from> -> <to>)"});
    out.write_strings("/traffic/teleport_log/moved_to", t.moved_to,
                      {"", "road lane it was put on; empty when it was removed"});
    const std::string path = (dir / "traffic_teleports.csv").string();
    const auto ok = write_teleports_csv(path, t);
    teleports_file = ok ? path : "not written: " + ok.error().to_string();
  }

  double dur = 0, loss = 0;
  for (std::int32_t v = 0; v < m_demand.n_vehicles(); ++v)
    if (s.ts.veh_status[static_cast<u>(v)] == VehStatus::arrived) {
      dur += to_seconds(s.ts.veh_arrive_time[static_cast<u>(v)] -
                        s.ts.veh_insert_time[static_cast<u>(v)]);
      loss += s.ts.veh_time_loss[static_cast<u>(v)];
    }
  const double n_arr = static_cast<double>(std::max<std::int64_t>(1, s.ts.arrived));
  const traffic::SummaryRow r = summary(s.ts, m_params);
  out.attr("/traffic", "arrived", s.ts.arrived);
  out.attr("/traffic", "removed", s.ts.removed);
  out.attr("/traffic", "teleports", s.ts.teleports);
  out.attr("/traffic", "vehicle_steps", s.ts.vehicle_steps);
  auto add = [&](std::string key, std::string value) {
    summary_rows.push_back({"traffic", std::move(key), std::move(value)});
  };
  add("network",
      fmt::format("{} edges, {} lanes, {} junction passages, {} signals", ne, m_net.n_road_lanes,
                  m_net.n_lanes() - m_net.n_road_lanes, m_net.tl_id.size()));
  add("vehicles in the demand / inserted / arrived",
      fmt::format("{} / {} / {}", m_demand.n_planned(), s.ts.inserted, s.ts.arrived));
  if (!m_demand.calibrators.empty()) {
    out.attr("/traffic", "calibrator_inserted", s.ts.calib_inserted);
    out.attr("/traffic", "calibrator_removed", s.ts.calib_removed);
    out.attr("/traffic", "calibrator_short_steps", s.ts.calib_short);
    add("live-count calibrators: vehicles inserted / removed / steps short of reserve",
        fmt::format("{} / {} / {}", s.ts.calib_inserted, s.ts.calib_removed, s.ts.calib_short));
  }
  add("running now / not yet inserted", fmt::format("{} / {}", r.running, r.pending));
  // Names as docs/kpi.md defines them.
  add("mean travel time (completed trips)", fmt::format("{:.1f} s", dur / n_arr));
  add("mean time loss (completed trips)", fmt::format("{:.1f} s", loss / n_arr));
  add("teleports", std::to_string(s.ts.teleports));
  if (!m_demand.stops.empty()) {
    out.attr("/traffic", "stops_made", s.ts.stops_made);
    out.attr("/traffic", "stops_missed", s.ts.stops_missed);
    add("scheduled stops of finished trips: made / missed",
        fmt::format("{} / {}", s.ts.stops_made, s.ts.stops_missed));
  }
  add("trips stranded / cancelled / removed by gridlock",
      fmt::format("{} / {} / {}", s.ts.stranded, s.ts.unroutable, s.ts.removed - s.ts.stranded));
  add("route replacements (closures, slow links)", std::to_string(s.ts.rerouted));
  std::int64_t dark = 0;
  for (std::uint8_t d : s.applied_dark) dark += d;
  if (!s.applied_closed.empty()) out.attr("/traffic", "flood_reroutes", s.flood_reroutes);
  if (s.flood_reroutes > 0 || dark > 0)
    add("re-route requests by flood closures / signals dark now",
        fmt::format("{} / {}", s.flood_reroutes, dark));
  for (const auto& [k, v] : m_c.notes) add(k, v);
  add("trips file", wrote ? trips : "not written: " + wrote.error().to_string());
  if (!teleports_file.empty()) add("teleports file", teleports_file);
}

void TrafficDomain::fill_frame(const DomainState& state, FrameSnapshot& frame) const {
  const FrameValues v = frame_values(static_cast<const TrafficDomainState&>(state));
  fill_traffic_frame(v.data(), frame);
}

TrafficDomain::FrameValues TrafficDomain::frame_values(const TrafficDomainState& s) const {
  FrameValues f;
  const std::size_t n = static_cast<std::size_t>(s.ts.n_running);
  f.x.resize(n);
  f.y.resize(n);
  f.z.resize(n);
  f.heading.resize(n);
  f.speed.resize(n);
  for (std::size_t i = 0; i < n; ++i) {
    const auto v = static_cast<u>(s.ts.running[i]);
    const std::int32_t lane = s.ts.veh_lane[v];
    double x = 0, y = 0;
    float heading = 0;
    if (!m_geom.empty())
      m_geom.at(lane, s.ts.veh_pos[v], m_net.lane_length[static_cast<u>(lane)], x, y, heading);
    const double z = m_city.terrain.empty() ? 0.0 : m_city.ground(x, y);
    f.x[i] = static_cast<float>(x);
    f.y[i] = static_cast<float>(y);
    f.z[i] = std::isfinite(z) ? static_cast<float>(z) : 0.0f;
    f.heading[i] = heading;
    f.speed[i] = s.ts.veh_speed[v];
  }
  if (m_c.city) {
    // Per city link: mean speed of the vehicles on it / its current speed limit.
    const auto ne = static_cast<u>(m_net.n_edges());
    std::vector<float> sum(ne, 0.0f);
    std::vector<std::int32_t> count(ne, 0);
    for (std::size_t i = 0; i < n; ++i) {
      const auto v = static_cast<u>(s.ts.running[i]);
      const std::int32_t lane = s.ts.veh_lane[v];
      const std::int32_t e = m_net.lane_edge[static_cast<u>(lane)];
      if (e < 0) continue;
      sum[static_cast<u>(e)] +=
          s.ts.veh_speed[v] / std::max(0.1f, s.ts.lane_speed[static_cast<u>(lane)]);
      ++count[static_cast<u>(e)];
    }
    f.link_ratio.assign(ne, std::numeric_limits<float>::quiet_NaN());
    for (std::size_t e = 0; e < ne; ++e)
      if (count[e] > 0) f.link_ratio[e] = std::min(1.0f, sum[e] / static_cast<float>(count[e]));
    f.link_closed.assign(ne, 0);
    for (std::size_t e = 0; e < ne; ++e) f.link_closed[e] = s.ts.edge_closed[e] ? 1 : 0;
  }
  f.summary = summary(s.ts, m_params);
  return f;
}

void fill_traffic_frame(const TrafficFrameData& d, FrameSnapshot& f) {
  f.vehicle_x.assign(d.vehicle_x.begin(), d.vehicle_x.end());
  f.vehicle_y.assign(d.vehicle_y.begin(), d.vehicle_y.end());
  f.vehicle_z.assign(d.vehicle_z.begin(), d.vehicle_z.end());
  f.vehicle_heading.assign(d.vehicle_heading.begin(), d.vehicle_heading.end());
  f.vehicle_speed_mps.assign(d.vehicle_speed.begin(), d.vehicle_speed.end());
  f.link_speed_ratio.assign(d.link_speed_ratio.begin(), d.link_speed_ratio.end());
  f.link_closed.assign(d.link_closed.begin(), d.link_closed.end());
  f.figures.emplace_back("vehicles running", std::to_string(d.running));
  f.figures.emplace_back("vehicles arrived", std::to_string(d.arrived));
  f.figures.emplace_back("mean speed", fmt::format("{:.1f} km/h", d.mean_speed_mps * 3.6));
}

namespace {

// Frame k's vehicles are rows [offset[k], offset[k] + count[k]) of /traffic/vehicles/*.
class TrafficReplay : public DomainReplay {
 public:
  TrafficReplay(std::vector<std::int64_t> offset, std::vector<std::int64_t> count, bool links)
      : m_offset(std::move(offset)), m_count(std::move(count)), m_links(links) {}

  Result<void> read(const RunReader& r, std::size_t k, FrameSnapshot& f) const override {
    if (k >= m_offset.size())
      return fail(Error::msg("/traffic/vehicles: no frame " + std::to_string(k)));
    const auto first = static_cast<std::size_t>(m_offset[k]);
    const auto n = static_cast<std::size_t>(m_count[k]);
    Result<Dataset<float>> v[5] = {r.read_rows<float>("/traffic/vehicles/x", first, n),
                                   r.read_rows<float>("/traffic/vehicles/y", first, n),
                                   r.read_rows<float>("/traffic/vehicles/z", first, n),
                                   r.read_rows<float>("/traffic/vehicles/heading", first, n),
                                   r.read_rows<float>("/traffic/vehicles/speed", first, n)};
    for (const auto& a : v)
      if (!a) return fail(a.error());
    auto running = r.read_row<std::int64_t>("/traffic/running", k);
    auto arrived = r.read_row<std::int64_t>("/traffic/arrived", k);
    auto speed = r.read_row<double>("/traffic/mean_speed", k);
    if (!running) return fail(running.error());
    if (!arrived) return fail(arrived.error());
    if (!speed) return fail(speed.error());
    Result<Dataset<float>> ratio = Dataset<float>{};
    Result<Dataset<std::uint8_t>> closed = Dataset<std::uint8_t>{};
    if (m_links) {
      ratio = r.read_row<float>("/traffic/link_speed_ratio", k);
      if (!ratio) return fail(ratio.error());
      closed = r.read_row<std::uint8_t>("/traffic/link_closed", k);
      if (!closed) return fail(closed.error());
    }
    TrafficFrameData td;
    td.vehicle_x = v[0]->data, td.vehicle_y = v[1]->data, td.vehicle_z = v[2]->data;
    td.vehicle_heading = v[3]->data, td.vehicle_speed = v[4]->data;
    td.link_speed_ratio = ratio->data, td.link_closed = closed->data;
    td.running = running->data.at(0), td.arrived = arrived->data.at(0);
    td.mean_speed_mps = speed->data.at(0);
    fill_traffic_frame(td, f);
    return {};
  }

 private:
  std::vector<std::int64_t> m_offset, m_count;
  bool m_links;
};

}  // namespace

Result<std::unique_ptr<const DomainReplay>> open_traffic_replay(const RunReader& r,
                                                                const std::string& file) {
  if (!r.exists("/traffic/vehicles/offset")) return std::unique_ptr<const DomainReplay>();
  auto off = r.read<std::int64_t>("/traffic/vehicles/offset");
  if (!off) return fail(off.error());
  auto cnt = r.read<std::int64_t>("/traffic/vehicles/count");
  if (!cnt) return fail(cnt.error());
  auto time = r.read<double>("/time");
  if (!time) return fail(time.error());
  if (off->data.size() != cnt->data.size() || off->data.size() < time->data.size())
    return fail(Error::msg("/traffic/vehicles: offset and count need one row per /time row", file));
  return std::unique_ptr<const DomainReplay>(std::make_unique<TrafficReplay>(
      std::move(off->data), std::move(cnt->data), r.exists("/traffic/link_speed_ratio")));
}

}  // namespace citytwin::traffic
