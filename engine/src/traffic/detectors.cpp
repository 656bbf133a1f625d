// Detectors in the spirit of SUMO's induction loops (e1): per interval, the number of vehicles
// whose front passed the position, the fraction of time the position was covered by a
// vehicle (occupancy), and the arithmetic mean speed of the passing vehicles.
//
// Within a step a vehicle moves dx from speed v0 to v1; the kernels treat that as a constant
// acceleration over the distance, a = (v1^2 - v0^2) / (2 dx), so the speed after x metres is
// v(x) = sqrt(v0^2 + 2 a x) and the time to get there t(x) = 2 x / (v0 + v(x)) (exact for the
// ballistic update of a vehicle that keeps or reverses no acceleration sign within the step,
// and for constant speed). A vehicle that stops within the step stands for dt - t(dx).
// Passing and leaving are thus timed inside the step, so a single vehicle at constant speed v
// of length L gives occupancy (L / v) / T over an interval T (tested). Detection follows the
// vehicle's path (its lane before and after the move); a vehicle that changes lanes onto a
// detector's lane with its front already past the position is not counted, and occupancy
// follows the vehicle that passed even if it changes lanes while covering.
#include <algorithm>
#include <cmath>
#include <limits>

#include "citytwin/parallel.hpp"
#include "traffic/kernel.hpp"
#include "traffic/sumo_common.hpp"
#include "traffic/xml_reader.hpp"

namespace citytwin::traffic {
namespace {

using u = std::size_t;
inline u z(std::int64_t i) {
  return static_cast<u>(i);
}

/// Motion of one vehicle within one step (see the file comment).
struct StepMotion {
  double v0, v1, dx, dt, a;
  StepMotion(double v0_, double v1_, double dx_, double dt_)
      : v0(v0_), v1(v1_), dx(dx_), dt(dt_), a(dx_ > 0 ? (v1_ * v1_ - v0_ * v0_) / (2 * dx_) : 0) {}
  double speed_at(double x) const { return std::sqrt(std::max(0.0, v0 * v0 + 2 * a * x)); }
  double time_at(double x) const {
    if (x <= 0) return 0;
    const double s = v0 + speed_at(x);
    return s > 0 ? std::min(dt, 2 * x / s) : 0;
  }
};

class DetectorHandler final : public xml::Handler {
 public:
  explicit DetectorHandler(const Network& n) : m_net(n) {}
  std::vector<DetectorSpec> dets;

  Result<void> start(std::string_view name, const xml::Attrs& at, int depth) override {
    if (depth == 1) return additional_root(name, at);
    if (name != "inductionLoop" && name != "e1Detector") return {};
    const std::string el(name);
    auto id = at.text(el, "id");
    if (!id) return fail(id.error());
    auto lane_id = at.text(el, "lane");
    if (!lane_id) return fail(lane_id.error());
    auto pos = at.number(el, "pos");
    if (!pos) return fail(pos.error());
    const std::string lid(*lane_id);
    const std::int32_t lane = find_lane(m_net, lid);
    if (lane < 0)
      return fail(at.error(el + ".lane", "unknown lane", "'" + lid + "'",
                           "a lane of the network (<edge id>_<index>)"));
    auto p = lane_position(at, el, "pos", *pos, m_net.lane_length[z(lane)]);
    if (!p) return fail(p.error());
    dets.push_back({std::string(*id), lane, *p});
    return {};
  }

 private:
  const Network& m_net;
};

}  // namespace

Result<std::vector<DetectorSpec>> read_sumo_detectors(const std::string& path, const Network& net) {
  DetectorHandler h(net);
  if (auto r = parse_sumo_file(path, h); !r) return fail(r.error());
  return std::move(h.dets);
}

Result<void> set_detectors(const Network& n, TrafficState& s, std::vector<DetectorSpec> dets) {
  for (const DetectorSpec& d : dets) {
    if (d.lane < 0 || d.lane >= n.n_road_lanes)
      return fail(Error::msg("detector '" + d.id + "': lane " + std::to_string(d.lane) +
                             " is not a road lane (expected 0.." +
                             std::to_string(n.n_road_lanes - 1) + ")"));
    if (!(d.pos >= 0 && d.pos <= n.lane_length[z(d.lane)]))
      return fail(Error::msg("detector '" + d.id + "': position " + std::to_string(d.pos) +
                             " m outside its lane (expected 0.." +
                             std::to_string(n.lane_length[z(d.lane)]) + " m)"));
  }
  const auto nd = z(dets.size());
  s.detectors = std::move(dets);
  s.lane_det_begin.assign(z(n.n_lanes()) + 1, 0);
  for (const DetectorSpec& d : s.detectors) ++s.lane_det_begin[z(d.lane) + 1];
  for (u l = 0; l + 1 < s.lane_det_begin.size(); ++l)
    s.lane_det_begin[l + 1] += s.lane_det_begin[l];
  s.lane_det.assign(nd, 0);
  std::vector<std::int32_t> fill(s.lane_det_begin.begin(), s.lane_det_begin.end() - 1);
  for (u k = 0; k < nd; ++k)
    s.lane_det[z(fill[z(s.detectors[k].lane)]++)] = static_cast<std::int32_t>(k);
  s.det_count.assign(nd, 0);
  s.det_occupied_s.assign(nd, 0.0);
  s.det_speed_sum.assign(nd, 0.0);
  s.det_total.assign(nd, 0);
  s.det_speed_total.assign(nd, 0.0);
  s.det_cover.clear();
  const u nv = s.veh_status.size();
  s.det_prev_lane.assign(nv, -1);
  s.det_prev_pos.assign(nv, 0.0f);
  s.det_prev_speed.assign(nv, 0.0f);
  return {};
}

void detectors_before_move(TrafficState& s, TaskPool& pool) {
  pool.for_blocks(s.n_running, 4096, [&](std::int64_t b, std::int64_t e, int) {
    for (std::int64_t i = b; i < e; ++i) {
      const std::int32_t v = s.running[z(i)];
      s.det_prev_lane[z(v)] = s.veh_lane[z(v)];
      s.det_prev_pos[z(v)] = s.veh_pos[z(v)];
      s.det_prev_speed[z(v)] = s.veh_speed[z(v)];
    }
  });
}

void detectors_after_move(const Network& n, const Demand& d, const Params& p, TrafficState& s) {
  const double dt = to_seconds(p.dt);
  const auto has = [&](std::int32_t lane) {
    return lane >= 0 && lane < n.n_lanes() &&
           s.lane_det_begin[z(lane) + 1] > s.lane_det_begin[z(lane)];
  };
  const auto pass = [&](std::int32_t k, std::int32_t v, double s_f, const StepMotion& m) {
    const double speed = m.speed_at(s_f);
    ++s.det_count[z(k)];
    s.det_speed_sum[z(k)] += speed;
    ++s.det_total[z(k)];
    s.det_speed_total[z(k)] += speed;
    s.det_cover.push_back({k, v, s.veh_teleports[z(v)], -s_f});  // progress at step start
  };
  // New passings, in running order (serial: fixed order, deterministic sums).
  for (std::int32_t i = 0; i < s.n_running; ++i) {
    const std::int32_t v = s.running[z(i)];
    const std::int32_t pl = s.det_prev_lane[z(v)], nl = s.veh_lane[z(v)];
    // Lanes crossed in between (several junctions and short edges may be crossed in a step).
    std::int32_t mid[8];
    const int n_mid = nl != pl && pl >= 0 ? crossed_lanes(n, d, s, v, pl, mid, 8) : 0;
    bool any_mid = false;
    for (int q = 0; q < n_mid; ++q) any_mid = any_mid || has(mid[q]);
    if (!has(pl) && !any_mid && !(nl != pl && has(nl))) continue;
    const double pp = s.det_prev_pos[z(v)], np = s.veh_pos[z(v)], dx = s.scratch_dx[z(v)];
    const StepMotion m(s.det_prev_speed[z(v)], s.veh_speed[z(v)], dx, dt);
    if (has(pl))
      for (std::int32_t j = s.lane_det_begin[z(pl)]; j < s.lane_det_begin[z(pl) + 1]; ++j) {
        const double pos = s.detectors[z(s.lane_det[z(j)])].pos;
        if (pp < pos && pos <= pp + dx) pass(s.lane_det[z(j)], v, pos - pp, m);
      }
    if (any_mid) {
      double before = pl >= 0 ? n.lane_length[z(pl)] - pp : 0.0;  // step start to lane start
      for (int q = 0; q < n_mid; ++q) {
        for (std::int32_t j = s.lane_det_begin[z(mid[q])]; j < s.lane_det_begin[z(mid[q]) + 1]; ++j)
          pass(s.lane_det[z(j)], v, before + s.detectors[z(s.lane_det[z(j)])].pos, m);
        before += n.lane_length[z(mid[q])];
      }
    }
    if (nl != pl && has(nl))
      for (std::int32_t j = s.lane_det_begin[z(nl)]; j < s.lane_det_begin[z(nl) + 1]; ++j) {
        const double pos = s.detectors[z(s.lane_det[z(j)])].pos;
        if (pos <= np) pass(s.lane_det[z(j)], v, std::max(0.0, dx - (np - pos)), m);
      }
  }
  // Coverage of every vehicle over a detector during this step; covers that end are dropped.
  std::size_t keep = 0;
  for (std::size_t c = 0; c < s.det_cover.size(); ++c) {
    TrafficState::DetCover cv = s.det_cover[c];
    const std::int32_t v = cv.veh;
    if (s.veh_teleports[z(v)] != cv.teleports) continue;
    // Gone before this step (removed by a teleport): nothing more to cover.
    if (s.veh_status[z(v)] != VehStatus::running && s.veh_arrive_time[z(v)] != s.time + p.dt)
      continue;
    const double len = d.types[z(d.veh_type[z(v)])].length;
    const double dx = s.scratch_dx[z(v)];
    // Covers found this step start at -s_f; older ones continue from their progress.
    const double p0 = cv.progress, p1 = p0 + dx;
    const StepMotion m(s.det_prev_speed[z(v)], s.veh_speed[z(v)], dx, dt);
    const double a = std::max(0.0, p0) - p0, b = std::min(len, p1) - p0;
    double covered = b > a ? m.time_at(b) - m.time_at(a) : 0.0;
    if (p1 >= 0 && p1 < len) covered += dt - m.time_at(dx);  // stands on it after stopping
    s.det_occupied_s[z(cv.det)] += covered;
    cv.progress = p1;
    if (p1 < len && s.veh_status[z(v)] == VehStatus::running) s.det_cover[keep++] = cv;
  }
  s.det_cover.resize(keep);
}

DetectorInterval take_detector_interval(TrafficState& s, double begin_s, double end_s) {
  DetectorInterval r;
  r.begin_s = begin_s;
  r.end_s = end_s;
  r.count = s.det_count;
  const double span = end_s - begin_s;
  r.occupancy.resize(s.det_count.size());
  r.mean_speed.resize(s.det_count.size());
  for (u k = 0; k < s.det_count.size(); ++k) {
    r.occupancy[k] = span > 0 ? static_cast<float>(s.det_occupied_s[k] / span) : 0.0f;
    r.mean_speed[k] = s.det_count[k] > 0 ? static_cast<float>(s.det_speed_sum[k] / s.det_count[k])
                                         : std::numeric_limits<float>::quiet_NaN();
  }
  std::fill(s.det_count.begin(), s.det_count.end(), 0);
  std::fill(s.det_occupied_s.begin(), s.det_occupied_s.end(), 0.0);
  std::fill(s.det_speed_sum.begin(), s.det_speed_sum.end(), 0.0);
  return r;
}

}  // namespace citytwin::traffic
