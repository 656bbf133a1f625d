// SUMO import: structure of the real grid20 and acosta networks, tlLogic programs, routes,
// and located errors for bad input.
#include <algorithm>
#include <catch2/catch.hpp>
#include <cstdio>
#include <fstream>

#include "citytwin/parallel.hpp"
#include "citytwin/traffic.hpp"

using namespace citytwin;
using namespace citytwin::traffic;

namespace {
const std::string k_data = std::string(CITYTWIN_SOURCE_DIR) + "/tests/data/traffic/";

std::string write_temp(const std::string& name, const std::string& text) {
  const std::string path = std::string(CITYTWIN_BINARY_DIR) + "/" + name;
  std::ofstream(path) << text;
  return path;
}
}  // namespace

TEST_CASE("grid20 network: counts from the netgenerate call, passages, signals") {
  auto net = read_sumo_net(k_data + "grid20/grid20.net.xml.gz");  // gzip input
  REQUIRE(net);
  // netgenerate --grid.number=20, 2 lanes: 1,520 edges and 3,040 lanes (README of the data).
  CHECK(net->n_edges() == 1520);
  CHECK(net->n_road_lanes == 3040);
  CHECK(net->n_lanes() == net->n_road_lanes + net->n_conns());
  const std::int32_t e = net->find_edge("A0A1");
  REQUIRE(e >= 0);
  CHECK(net->edge_length[e] == Approx(183.2f));
  CHECK(net->lane_speed[net->edge_lane_begin[e]] == Approx(13.89f));
  // A1 is a signal with 4 phases 42/3/42/3 s and 12 links.
  std::size_t t = 0;
  while (net->tl_id[t] != "A1") ++t;
  CHECK(net->tl_cycle[t] == 90000);
  CHECK(net->tl_links[t] == 12);
  CHECK(net->tl_phase_begin[t + 1] - net->tl_phase_begin[t] == 4);
  // A0A1 lane 0 turns right into A1B1 through :A1_8_0, signal link 8.
  const std::int32_t l0 = net->edge_lane_begin[e];
  bool right = false;
  for (std::int32_t c = net->lane_conn_begin[l0]; c < net->lane_conn_begin[l0 + 1]; ++c)
    if (net->edge_id[net->lane_edge[net->conn_to_lane[c]]] == "A1B1") {
      right = true;
      CHECK(net->conn_tl_link[c] == 8);
      CHECK(net->lane_length[net->conn_via_lane[c]] > 1.0f);
    }
  CHECK(right);
}

TEST_CASE("acosta: additional tlLogic replaces the net's program; distributions; stops counted") {
  auto net = read_sumo_net(k_data + "bologna-acosta/acosta_buslanes.net.xml.gz");
  REQUIRE(net);
  CHECK(net->tl_id.size() == 7);
  REQUIRE(read_sumo_tls(k_data + "bologna-acosta/acosta_tls.add.xml", *net));
  std::size_t t = 0;
  while (net->tl_id[t] != "209") ++t;
  // utopia program of 209: 69+3+7+3+3+26+3+3 = 117 s, 8 phases.
  CHECK(net->tl_cycle[t] == 117000);
  CHECK(net->tl_phase_begin[t + 1] - net->tl_phase_begin[t] == 8);
  Demand d;
  REQUIRE(read_sumo_routes(k_data + "bologna-acosta/acosta_vtypes.add.xml", *net, d));
  REQUIRE(read_sumo_routes(k_data + "bologna-acosta/acosta.rou.xml.gz", *net, d));
  // The buses' <stop busStop=...> need the stopping places of the scenario's additional file.
  const auto no_places = read_sumo_routes(k_data + "bologna-acosta/acosta_busses.rou.xml", *net, d);
  REQUIRE_FALSE(no_places);
  CHECK(no_places.error().items[0].field == "stop.busStop");
  CHECK(no_places.error().items[0].line == 3);
  d = Demand{};
  REQUIRE(read_sumo_routes(k_data + "bologna-acosta/acosta_vtypes.add.xml", *net, d));
  REQUIRE(read_sumo_routes(k_data + "bologna-acosta/acosta.rou.xml.gz", *net, d));
  REQUIRE(read_sumo_stop_places(k_data + "bologna-acosta/acosta_bus_stops.add.xml", *net));
  CHECK(net->place_id.size() == 35);
  REQUIRE(read_sumo_routes(k_data + "bologna-acosta/acosta_busses.rou.xml", *net, d));
  finish_demand(d);
  CHECK(d.n_vehicles() == 8779);  // 8,622 cars + 157 buses
  CHECK(d.ignored.empty());
  CHECK(d.stops.size() == 542);
  // bus_130_0 (the first bus, departs at 0): busStop#37, #38, #40, 20 s each, in route order.
  std::int32_t bus = 0;
  while (d.veh_id[bus] != "bus_130_0") ++bus;
  const auto stops = d.stops_of(bus);
  REQUIRE(stops.size() == 3);
  for (const VehicleStop& st : stops) {
    CHECK(st.duration == 20000);
    CHECK(st.until == -1);
    CHECK(net->place_id[st.place].starts_with("busStop#"));
    CHECK(st.lane == net->place_lane[st.place]);
    CHECK(st.end == net->place_end[st.place]);
  }
  CHECK(net->place_id[stops[0].place] == "busStop#37");
  CHECK(net->place_id[stops[2].place] == "busStop#40");
  std::int64_t with_stops = 0;
  for (std::int32_t v = 0; v < d.n_vehicles(); ++v) with_stops += d.stops_of(v).empty() ? 0 : 1;
  CHECK(with_stops == 157);
  for (std::int32_t v = 1; v < d.n_vehicles(); ++v) REQUIRE(d.veh_depart[v - 1] <= d.veh_depart[v]);
}

TEST_CASE("an actuated tlLogic: type, minDur and maxDur, params and loops, bad bounds refused") {
  auto net = read_sumo_net(k_data + "bologna-acosta/acosta_buslanes.net.xml.gz");
  REQUIRE(net);
  std::size_t t = 0;
  while (net->tl_id[t] != "209") ++t;
  const auto links = static_cast<std::size_t>(net->tl_links[t]);
  const std::string green(links, 'G'), red(links, 'r');
  const std::string path = write_temp(
      "actuated.add.xml",
      "<additional>\n<tlLogic id=\"209\" type=\"actuated\" programID=\"a\" offset=\"0\">\n"
      "<param key=\"max-gap\" value=\"2.5\"/>\n<param key=\"detector-gap\" value=\"1.0\"/>\n"
      "<param key=\"show-detectors\" value=\"true\"/>\n"
      "<phase duration=\"30\" minDur=\"5\" maxDur=\"45\" state=\"" +
          green +
          "\"/>\n"
          "<phase duration=\"20\" state=\"" +
          red + "\"/>\n</tlLogic>\n</additional>\n");
  REQUIRE(read_sumo_tls(path, *net));
  CHECK(net->tl_type[t] == "actuated");
  CHECK(net->tl_max_gap_s[t] == 2.5f);
  CHECK(net->tl_detector_gap_s[t] == 1.0f);
  const auto p0 = static_cast<std::size_t>(net->tl_phase_begin[t]);
  CHECK(net->phase_min[p0] == 5000);
  CHECK(net->phase_max[p0] == 45000);
  CHECK(net->phase_min[p0 + 1] == 20000);  // bounds default to the duration
  CHECK(net->phase_max[p0 + 1] == 20000);
  // A loop on every incoming road lane, 1 s at its speed before the stop line, green in
  // phase 0 only; the other signals have none.
  const auto k0 = net->tl_loop_begin[t], k1 = net->tl_loop_begin[t + 1];
  CHECK(k1 - k0 >= 2);
  CHECK(net->loop_lane.size() == static_cast<std::size_t>(k1 - k0));
  for (auto k = k0; k < k1; ++k) {
    const auto lane = static_cast<std::size_t>(net->loop_lane[k]);
    CHECK(net->loop_pos[k] ==
          Approx(std::max(0.0f, net->lane_length[lane] - net->lane_speed[lane])));
    CHECK(net->loop_green[net->loop_green_begin[k]] == 1);
    CHECK(net->loop_green[net->loop_green_begin[k] + 1] == 0);
  }

  const std::string bad = write_temp(
      "actuated_bad.add.xml",
      "<additional>\n<tlLogic id=\"209\" type=\"actuated\" programID=\"a\" offset=\"0\">\n"
      "<phase duration=\"30\" minDur=\"50\" maxDur=\"45\" state=\"" +
          green +
          "\"/>\n"
          "</tlLogic>\n</additional>\n");
  auto r = read_sumo_tls(bad, *net);
  REQUIRE_FALSE(r);
  CHECK_THAT(r.error().to_string(), Catch::Contains("actuated_bad.add.xml:3") &&
                                        Catch::Contains("phase.minDur") &&
                                        Catch::Contains("0 < minDur <= maxDur (45)"));
}

TEST_CASE("bad input is reported with file, line and field") {
  const std::string net_path =
      write_temp("bad_lane.net.xml",
                 "<net>\n<edge id=\"a\" from=\"x\" to=\"y\">\n"
                 "<lane id=\"a_0\" index=\"0\" speed=\"fast\" length=\"10\"/>\n"
                 "</edge>\n</net>\n");
  auto r = read_sumo_net(net_path);
  REQUIRE(!r);
  CHECK(r.error().first().line == 3);
  CHECK(r.error().first().field == "lane.speed");
  CHECK(r.error().first().file == net_path);

  const std::string ok_net =
      write_temp("two.net.xml",
                 "<net>\n<edge id=\"a\" from=\"x\" to=\"y\">\n"
                 "<lane id=\"a_0\" index=\"0\" speed=\"10\" length=\"10\"/>\n"
                 "</edge>\n</net>\n");
  auto net = read_sumo_net(ok_net);
  REQUIRE(net);
  const std::string routes = write_temp("bad.rou.xml",
                                        "<routes>\n<vehicle id=\"v\" depart=\"0\">\n"
                                        "  <route edges=\"a nowhere\"/>\n</vehicle>\n</routes>\n");
  Demand d;
  auto rr = read_sumo_routes(routes, *net, d);
  REQUIRE(!rr);
  CHECK(rr.error().first().line == 3);
  CHECK(rr.error().first().found == "'nowhere'");

  const std::string flows =
      write_temp("flow.rou.xml",
                 "<routes>\n<route id=\"r\" edges=\"a\"/>\n"
                 "<flow id=\"f\" begin=\"0\" end=\"100\" period=\"10\" route=\"r\"/>\n"
                 "</routes>\n");
  Demand f;
  REQUIRE(read_sumo_routes(flows, *net, f));
  CHECK(f.n_vehicles() == 10);
  CHECK(f.veh_depart[9] == 90000);
  // Flows that would expand without bound (once: 3 GB and growing) are refused up front.
  for (const std::string attrs : {"end=\"1e12\" period=\"1\"", "end=\"3600\" period=\"1e-9\"",
                                  "end=\"3600\" number=\"1e30\""}) {
    const std::string huge = write_temp(
        "huge.rou.xml", "<routes>\n<route id=\"r\" edges=\"a\"/>\n<flow id=\"f\" begin=\"0\" " +
                            attrs + " route=\"r\"/>\n</routes>\n");
    Demand h;
    auto hr = read_sumo_routes(huge, *net, h);
    INFO(attrs);
    REQUIRE(!hr);
    CHECK(hr.error().first().line == 3);
    CHECK(h.n_vehicles() == 0);
  }

  // A junction request index sizes a table: -1 once wrote before the heap block, 4e8 asked for
  // 12.8 GB. Now checked against the junction's links.
  for (const std::string index : {"-1", "400000000", "2.5"}) {
    const std::string net_req =
        write_temp("request.net.xml",
                   "<net>\n<edge id=\"a\" from=\"x\" to=\"y\">\n"
                   "<lane id=\"a_0\" index=\"0\" speed=\"10\" length=\"10\"/>\n</edge>\n"
                   "<junction id=\"y\" intLanes=\":y_0_0 :y_1_0\">\n"
                   "<request index=\"" +
                       index + "\" response=\"00\" foes=\"00\"/>\n</junction>\n</net>\n");
    auto rq = read_sumo_net(net_req);
    INFO("index " << index);
    REQUIRE(!rq);
    CHECK(rq.error().first().line == 6);
    CHECK(rq.error().first().field == "request.index");
    CHECK(rq.error().first().expected == "a whole number from 0 to 1");
  }

  // Duplicate ids and departures before the start (once accepted silently).
  for (const auto& [body, field] :
       {std::pair<std::string, std::string>{"<vehicle id=\"v\" depart=\"0\" route=\"r\"/>\n"
                                            "<vehicle id=\"v\" depart=\"5\" route=\"r\"/>\n",
                                            "vehicle.id"},
        {"<vehicle id=\"v\" depart=\"0\" route=\"r\"/>\n<vehicle id=\"w\" depart=\"-3\" "
         "route=\"r\"/>\n",
         "vehicle.depart"},
        {"<vehicle id=\"v\" depart=\"0\" route=\"r\"/>\n<flow id=\"f\" begin=\"-10\" end=\"5\" "
         "period=\"1\" route=\"r\"/>\n",
         "flow.begin"}}) {
    const std::string bad_routes = write_temp(
        "dup.rou.xml", "<routes>\n<route id=\"r\" edges=\"a\"/>\n" + body + "</routes>\n");
    Demand dd;
    auto rr2 = read_sumo_routes(bad_routes, *net, dd);
    INFO(body);
    REQUIRE(!rr2);
    INFO(rr2.error().to_string());
    CHECK(rr2.error().first().line == 4);
    CHECK(rr2.error().first().field == field);
  }

  // A route whose consecutive edges no connection joins (once: 24 vehicles inserted, none
  // arrived, exit 0) is refused like SUMO refuses it, naming the gap.
  for (const bool joined : {false, true}) {
    const std::string two = write_temp(
        "gap.net.xml",
        std::string("<net>\n<edge id=\"a\" from=\"x\" to=\"y\">\n"
                    "<lane id=\"a_0\" index=\"0\" speed=\"10\" length=\"10\"/>\n"
                    "</edge>\n<edge id=\"b\" from=\"y\" to=\"z\">\n"
                    "<lane id=\"b_0\" index=\"0\" speed=\"10\" length=\"10\"/>\n"
                    "</edge>\n") +
            (joined ? "<connection from=\"a\" to=\"b\" fromLane=\"0\" toLane=\"0\"/>\n" : "") +
            "</net>\n");
    auto gap_net = read_sumo_net(two);
    REQUIRE(gap_net);
    const std::string gap_routes =
        write_temp("gap.rou.xml",
                   "<routes>\n<route id=\"r\" edges=\"a b\"/>\n"
                   "<vehicle id=\"v\" depart=\"0\" route=\"r\"/>\n"
                   "<flow id=\"f\" begin=\"0\" end=\"10\" period=\"5\" route=\"r\"/>\n</routes>\n");
    Demand g;
    auto gr = read_sumo_routes(gap_routes, *gap_net, g);
    INFO("connection a -> b: " << joined);
    if (joined) {
      CHECK(gr.has_value());
      CHECK(g.n_vehicles() == 3);
      continue;
    }
    REQUIRE(!gr);
    CHECK(gr.error().first().line == 3);
    CHECK(gr.error().first().field == "vehicle");
    CHECK(gr.error().first().message == "vehicle 'v' has a route that cannot be driven");
    CHECK(gr.error().first().found == "no connection from edge 'a' to edge 'b'");
    CHECK(g.n_vehicles() == 0);
  }

  const std::string broken = write_temp("broken.net.xml", "<net>\n<edge id=\"a\">\n</net>\n");
  auto b = read_sumo_net(broken);
  REQUIRE(!b);
  CHECK(b.error().first().line == 3);
  CHECK(b.error().first().message.find("malformed XML") != std::string::npos);
}

namespace {
/// The links connection c of `net` yields to, as "from>to" edge ids, sorted.
std::vector<std::string> yields_of(const Network& net, std::int32_t c) {
  std::vector<std::string> r;
  for (std::int32_t k = net.conn_yield_begin[c]; k < net.conn_yield_begin[c + 1]; ++k) {
    const std::int32_t f = net.conn_yield[k];
    r.push_back(net.edge_id[net.lane_edge[net.conn_from_lane[f]]] + ">" +
                net.edge_id[net.lane_edge[net.conn_to_lane[f]]]);
  }
  std::sort(r.begin(), r.end());
  return r;
}

std::int32_t conn_of(const Network& net, const std::string& from, const std::string& to) {
  for (std::int32_t c = 0; c < net.n_conns(); ++c)
    if (net.edge_id[net.lane_edge[net.conn_from_lane[c]]] == from &&
        net.edge_id[net.lane_edge[net.conn_to_lane[c]]] == to)
      return c;
  return -1;
}
}  // namespace

TEST_CASE("no internal links: requests by link index, the same right of way as with them") {
  // SUMO numbers a junction's links over its incLanes in order, each lane's connections in
  // file order; without internal lanes (netconvert --no-internal-links) that index is the only
  // key to the junction's <request> rows.
  auto bare = read_sumo_net(k_data + "junction-cross/cross-nointernal.net.xml");
  auto full = read_sumo_net(k_data + "junction-cross/cross-internal.net.xml");
  REQUIRE(bare);
  REQUIRE(full);
  REQUIRE(bare->n_conns() == 12);
  REQUIRE(full->n_conns() == 12);
  // The minor road's straight link yields to both major straights and the major left turns
  // (request 7 of junction C: response 110000111000 over links WC->CN, WC->CE, EC->CS, EC->CW,
  // EC->CN; links numbered NC 0-2, EC 3-5, SC 6-8, WC 9-11).
  const std::vector<std::string> minor = {"EC>CN", "EC>CS", "EC>CW", "WC>CE", "WC>CN"};
  CHECK(yields_of(*bare, conn_of(*bare, "SC", "CN")) == minor);
  // Major straights yield to nobody.
  CHECK(yields_of(*bare, conn_of(*bare, "WC", "CE")).empty());
  // Every link has the same foes with and without internal lanes (and so the lookup through
  // intLanes, which internal junctions must not confuse, agrees with the link index), except
  // the two left turns whose rows netconvert writes differently: with internal lanes they also
  // yield to the opposite left turn (requests 2 and 5).
  for (std::int32_t c = 0; c < bare->n_conns(); ++c) {
    const std::string from = bare->edge_id[bare->lane_edge[bare->conn_from_lane[c]]];
    const std::string to = bare->edge_id[bare->lane_edge[bare->conn_to_lane[c]]];
    INFO(from << " -> " << to);
    std::vector<std::string> with = yields_of(*full, conn_of(*full, from, to));
    if (from + to == "NCCE") std::erase(with, "SC>CW");
    if (from + to == "ECCS") std::erase(with, "WC>CN");
    CHECK(yields_of(*bare, c) == with);
  }
}
