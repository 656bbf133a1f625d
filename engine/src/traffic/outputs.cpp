// CSV outputs in the spirit of SUMO's tripinfo, summary and edgeData outputs, and SUMO's own
// tripinfo XML. Written by observers outside the time loop.
#include <algorithm>
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

namespace {
// Text as an XML attribute value.
std::string xml_escape(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// A lane as SUMO names it: "<edge>_<index>", or the passage's internal lane of a junction.
std::string sumo_lane_id(const Network& net, std::int32_t lane) {
  const auto l = static_cast<std::size_t>(lane);
  if (lane < 0) return "";
  if (net.lane_edge[l] >= 0)
    return fmt::format("{}_{}", net.edge_id[static_cast<std::size_t>(net.lane_edge[l])],
                       net.lane_index[l]);
  return describe_lane(net, lane);
}
}  // namespace

Result<void> write_tripinfo_xml(const std::string& path, const Network& net, const Demand& d,
                                const TrafficState& s) {
  std::vector<std::int32_t> arrived;
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v)
    if (s.veh_status[static_cast<std::size_t>(v)] == VehStatus::arrived) arrived.push_back(v);
  std::stable_sort(arrived.begin(), arrived.end(), [&](std::int32_t a, std::int32_t b) {
    return s.veh_arrive_time[static_cast<std::size_t>(a)] <
           s.veh_arrive_time[static_cast<std::size_t>(b)];
  });
  auto f = open_out(path);
  if (!f) return fail(f.error());
  fmt::print(f->get(),
             "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
             "<!-- CityTwin {}: SUMO's tripinfo format -->\n"
             "<tripinfos xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
             "xsi:noNamespaceSchemaLocation=\"http://sumo.dlr.de/xsd/tripinfo_file.xsd\">\n",
             CITYTWIN_VERSION);
  for (const std::int32_t v : arrived) {
    const auto u = static_cast<std::size_t>(v);
    const std::string id = xml_escape(d.veh_id[u]);
    const double insert = to_seconds(s.veh_insert_time[u]),
                 arrive = to_seconds(s.veh_arrive_time[u]);
    // A reserve vehicle of a calibrator departs when it is inserted.
    const double planned =
        d.veh_depart[u] == k_reserve_depart ? insert : to_seconds(d.veh_depart[u]);
    const std::int32_t arrival_lane = s.veh_lane[u];
    const VehicleType& type = d.types[static_cast<std::size_t>(d.veh_type[u])];
    // Vehicles enter at rest (insert_vehicle) and arrive at the end of their last lane.
    fmt::print(f->get(),
               "    <tripinfo id=\"{}\" depart=\"{:.2f}\" departLane=\"{}\" departPos=\"{:.2f}\" "
               "departSpeed=\"0.00\" departDelay=\"{:.2f}\" arrival=\"{:.2f}\" "
               "arrivalLane=\"{}\" arrivalPos=\"{:.2f}\" arrivalSpeed=\"{:.2f}\" "
               "duration=\"{:.2f}\" routeLength=\"{:.2f}\" waitingTime=\"{:.2f}\" "
               "waitingCount=\"{}\" stopTime=\"{:.2f}\" timeLoss=\"{:.2f}\" rerouteNo=\"{}\" "
               "devices=\"tripinfo_{}\" vType=\"{}\" speedFactor=\"{:.2f}\" vaporized=\"\"/>\n",
               id, insert, xml_escape(sumo_lane_id(net, s.veh_depart_lane[u])), s.veh_depart_pos[u],
               insert - planned, arrive, xml_escape(sumo_lane_id(net, arrival_lane)),
               arrival_lane >= 0 ? net.lane_length[static_cast<std::size_t>(arrival_lane)] : 0.0f,
               s.veh_speed[u], arrive - insert, s.veh_route_length[u], s.veh_waiting[u],
               s.veh_waits[u], s.veh_stop_time.empty() ? 0.0f : s.veh_stop_time[u],
               s.veh_time_loss[u], s.veh_reroutes[u], id, xml_escape(type.id), s.veh_v0[u]);
  }
  fmt::print(f->get(), "</tripinfos>\n");
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
