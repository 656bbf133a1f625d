// CSV outputs in the spirit of SUMO's tripinfo, summary and edgeData outputs. Written by
// observers outside the time loop.
#include <cmath>
#include <cstdio>
#include <memory>

#include <fmt/format.h>

#include "citytwin/traffic.hpp"

namespace citytwin::traffic {
namespace {
struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

Result<File> open_out(const std::string& path) {
  File f(std::fopen(path.c_str(), "w"));
  if (!f) return fail(Error::msg("cannot write file", path));
  return f;
}
Result<void> close_out(File f, const std::string& path) {
  if (std::ferror(f.get()) != 0 || std::fclose(f.release()) != 0)
    return fail(Error::msg("write failed (disk full?)", path));
  return {};
}
}  // namespace

Result<void> write_trips_csv(const std::string& path, const Demand& d, const TrafficState& s) {
  auto f = open_out(path);
  if (!f) return fail(f.error());
  fmt::print(f->get(), "id,depart,arrival,duration,route_length,time_loss,waiting_time\n");
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v) {
    const auto u = static_cast<std::size_t>(v);
    if (s.veh_status[u] != VehStatus::arrived) continue;
    const double dep = to_seconds(s.veh_insert_time[u]), arr = to_seconds(s.veh_arrive_time[u]);
    fmt::print(f->get(), "{},{:.2f},{:.2f},{:.2f},{:.2f},{:.2f},{:.2f}\n", d.veh_id[u], dep, arr,
               arr - dep, s.veh_route_length[u], s.veh_time_loss[u], s.veh_waiting[u]);
  }
  return close_out(std::move(*f), path);
}

std::string describe_lane(const Network& net, std::int32_t lane) {
  const auto l = static_cast<std::size_t>(lane);
  if (net.lane_edge[l] >= 0)
    return fmt::format("{}_{}", net.edge_id[static_cast<std::size_t>(net.lane_edge[l])],
                       net.lane_index[l]);
  for (std::size_t c = 0; c < net.conn_via_lane.size(); ++c)  // the via lane of one connection
    if (net.conn_via_lane[c] == lane) {
      const auto from = net.lane_edge[static_cast<std::size_t>(net.conn_from_lane[c])];
      const auto to = net.lane_edge[static_cast<std::size_t>(net.conn_to_lane[c])];
      return fmt::format("{} -> {}", net.edge_id[static_cast<std::size_t>(from)],
                         net.edge_id[static_cast<std::size_t>(to)]);
    }
  return fmt::format("lane {}", lane);
}

TeleportTable teleport_table(const Network& net, const Demand& d, const TrafficState& s) {
  TeleportTable t;
  for (const TeleportEvent& e : s.teleport_log) {
    t.time_s.push_back(to_seconds(e.time));
    t.vehicle.push_back(d.veh_id[static_cast<std::size_t>(e.vehicle)]);
    t.stuck_on.push_back(describe_lane(net, e.from_lane));
    t.moved_to.push_back(e.to_lane >= 0 ? describe_lane(net, e.to_lane) : "");
  }
  return t;
}

Result<void> write_teleports_csv(const std::string& path, const TeleportTable& t) {
  auto f = open_out(path);
  if (!f) return fail(f.error());
  fmt::print(f->get(), "time,vehicle,stuck_on,moved_to,outcome\n");
  for (std::size_t k = 0; k < t.time_s.size(); ++k)
    fmt::print(f->get(), "{:.1f},{},{},{},{}\n", t.time_s[k], t.vehicle[k], t.stuck_on[k],
               t.moved_to[k], t.moved_to[k].empty() ? "removed" : "moved");
  return close_out(std::move(*f), path);
}

Result<void> write_detectors_csv(const std::string& path, const std::vector<DetectorSpec>& dets,
                                 const std::vector<DetectorInterval>& intervals) {
  auto f = open_out(path);
  if (!f) return fail(f.error());
  fmt::print(f->get(), "begin,end,detector,count,occupancy,mean_speed\n");
  for (const DetectorInterval& iv : intervals)
    for (std::size_t k = 0; k < iv.count.size() && k < dets.size(); ++k)
      fmt::print(
          f->get(), "{:.0f},{:.0f},{},{},{:.5f},{}\n", iv.begin_s, iv.end_s, dets[k].id,
          iv.count[k], iv.occupancy[k],
          std::isnan(iv.mean_speed[k]) ? std::string() : fmt::format("{:.3f}", iv.mean_speed[k]));
  return close_out(std::move(*f), path);
}

}  // namespace citytwin::traffic
