// SUMO .net.xml import (https://sumo.dlr.de/docs/Networks/SUMO_Road_Networks.html).
//
// Each connection (lane -> lane through a junction) becomes one passage lane whose length is
// the sum of its internal lanes (the via chain, e.g. a left turn with an internal stop) and
// whose speed is the chain's lowest limit. Right of way comes from the junction's <request>
// rows: bit j of `response` (read from the right) set means this link yields to link j. A
// request index is the link's index within its junction: SUMO numbers a junction's links by
// walking its incLanes in order and, per lane, its connections in file order
// (MSRightOfWayJunction::postloadInit); links into walking areas are not numbered. With internal
// lanes that index is also the position of the connection's internal lane in intLanes, which is
// used when there is one; a network built with --no-internal-links has only the link index.
#include <algorithm>
#include <cmath>
#include <map>
#include <unordered_map>

#include <fmt/format.h>

#include "citytwin/traffic.hpp"
#include "traffic/kernel.hpp"
#include "traffic/sumo_common.hpp"
#include "traffic/vclass.hpp"
#include "traffic/xml_reader.hpp"

namespace citytwin::traffic {

std::int32_t Network::find_edge(std::string_view id) const {
  auto it = std::lower_bound(edge_sorted.begin(), edge_sorted.end(), id,
                             [&](std::int32_t e, std::string_view k) { return edge_id[e] < k; });
  if (it == edge_sorted.end() || edge_id[*it] != id) return -1;
  return *it;
}

namespace {

// More links than any real junction has: an index beyond it is a corrupt file, not a network.
constexpr double k_max_junction_links = 256;
// Bound of lane and link indices read from a file (far above any real network; it only keeps
// them within an int).
constexpr int k_max_index = 1'000'000;

struct RawLane {
  std::string id;
  float length, speed;
  std::uint8_t allow;
};
struct RawConn {
  std::string from, to, via;
  int from_lane, to_lane, link;
  std::string tl;
  char state;
  int line;
};
struct RawJunction {
  bool internal = false;  // an internal junction (a left turn's waiting point): no requests
  std::vector<std::string> inc_lanes;
  std::vector<std::string> int_lanes;
  std::vector<std::string> response;  // per request index
};

class NetHandler final : public xml::Handler {
 public:
  std::vector<std::string> edges;
  std::vector<std::vector<RawLane>> edge_lanes;
  std::unordered_map<std::string, RawLane> internal_lanes;
  std::vector<RawConn> conns;
  std::unordered_map<std::string, std::string> internal_next;  // internal lane -> next via
  std::vector<RawJunction> junctions;
  std::map<std::string, TlsProgram> programs;
  std::string file;

  Result<void> start(std::string_view name, const xml::Attrs& at, int depth) override {
    if (depth == 1) {
      if (name != "net")
        return fail(at.error("root", "not a SUMO network", "<" + std::string(name) + ">", "<net>"));
      return {};
    }
    if (name == "edge") return start_edge(at);
    if (name == "lane") return start_lane(at);
    if (name == "connection") return start_connection(at);
    if (name == "junction") {
      RawJunction j;
      const char* type = at.find("type");
      j.internal = type != nullptr && std::string_view(type) == "internal";
      if (const char* il = at.find("incLanes")) j.inc_lanes = split_spaces(il);
      if (const char* il = at.find("intLanes")) j.int_lanes = split_spaces(il);
      junctions.push_back(std::move(j));
      m_in_junction = true;
      return {};
    }
    if (name == "request" && m_in_junction) {
      auto idx = at.number("request", "index");
      if (!idx) return fail(idx.error());
      auto resp = at.text("request", "response");
      if (!resp) return fail(resp.error());
      // The index is a link's position in the junction (also its internal lane's in intLanes,
      // when there are internal lanes), so it sizes the response table: checked before it is used
      // (a junction has at most k_max_junction_links links, SUMO's own limit).
      const std::size_t n_int = junctions.back().int_lanes.size();
      const double bound = n_int > 0 ? static_cast<double>(n_int) : k_max_junction_links;
      if (!(*idx >= 0 && *idx < bound && *idx == std::floor(*idx)))
        return fail(at.error("request.index", "not a link of this junction",
                             fmt::format("{}", *idx),
                             fmt::format("a whole number from 0 to {}", bound - 1)));
      auto& r = junctions.back().response;
      const auto i = static_cast<std::size_t>(*idx);
      if (r.size() <= i) r.resize(i + 1);
      r[i] = std::string(*resp);
      return {};
    }
    return tls_start(name, at, programs, m_tls);
  }

  Result<void> end(std::string_view name, int) override {
    if (name == "edge") m_edge_kind = EdgeKind::none;
    if (name == "junction") m_in_junction = false;
    return tls_end(name, programs, m_tls);
  }

 private:
  enum class EdgeKind { none, road, internal, skip };
  EdgeKind m_edge_kind = EdgeKind::none;
  bool m_in_junction = false;
  TlsParse m_tls;

  Result<void> start_edge(const xml::Attrs& at) {
    auto id = at.text("edge", "id");
    if (!id) return fail(id.error());
    const char* fn = at.find("function");
    const std::string_view f = fn ? fn : "normal";
    if (f == "internal") {
      m_edge_kind = EdgeKind::internal;
    } else if (f == "normal") {
      m_edge_kind = EdgeKind::road;
      edges.emplace_back(*id);
      edge_lanes.emplace_back();
    } else {
      m_edge_kind = EdgeKind::skip;  // walkingarea, crossing, connector: no vehicles
    }
    return {};
  }

  Result<void> start_lane(const xml::Attrs& at) {
    if (m_edge_kind == EdgeKind::none)
      return fail(at.error("lane", "lane outside an edge", {}, "<lane> inside <edge>"));
    if (m_edge_kind == EdgeKind::skip) return {};
    auto id = at.text("lane", "id");
    auto len = at.number("lane", "length");
    auto speed = at.number("lane", "speed");
    if (!id) return fail(id.error());
    if (!len) return fail(len.error());
    if (!speed) return fail(speed.error());
    if (*len < 0 || *speed <= 0)
      return fail(at.error("lane.length/speed", "out of range",
                           std::to_string(*len) + "/" + std::to_string(*speed),
                           "length >= 0 and speed > 0"));
    std::uint8_t allow = k_class_all;
    if (const char* a = at.find("allow")) allow = vclass_mask(a);
    if (const char* d = at.find("disallow")) allow &= static_cast<std::uint8_t>(~vclass_mask(d));
    RawLane l{std::string(*id), static_cast<float>(*len), static_cast<float>(*speed), allow};
    if (m_edge_kind == EdgeKind::internal)
      internal_lanes.emplace(l.id, l);
    else
      edge_lanes.back().push_back(std::move(l));
    return {};
  }

  Result<void> start_connection(const xml::Attrs& at) {
    auto from = at.text("connection", "from");
    auto to = at.text("connection", "to");
    if (!from) return fail(from.error());
    if (!to) return fail(to.error());
    for (const char* a : {"fromLane", "toLane"})
      if (!at.find(a))
        return fail(at.error(std::string("connection.") + a, "missing attribute", {}, "a number"));
    // Lane and link indices are looked up (lanes by name, links against the signal's), but
    // must first be whole numbers an int holds.
    auto fl = at.whole_or("connection", "fromLane", 0, 0, k_max_index);
    auto tl = at.whole_or("connection", "toLane", 0, 0, k_max_index);
    if (!fl) return fail(fl.error());
    if (!tl) return fail(tl.error());
    const char* via = at.find("via");
    if (!from->empty() && from->front() == ':') {
      // An internal-to-internal step of a via chain (or internal -> road: chain end).
      if (via != nullptr) internal_next[std::string(*from) + "_" + std::to_string(*fl)] = via;
      return {};
    }
    RawConn c;
    c.from = *from;
    c.to = *to;
    c.from_lane = *fl;
    c.to_lane = *tl;
    c.via = via ? via : "";
    c.tl = at.find("tl") ? at.find("tl") : "";
    auto li = at.whole_or("connection", "linkIndex", -1, -1, k_max_index);
    if (!li) return fail(li.error());
    c.link = *li;
    const char* st = at.find("state");
    c.state = st && st[0] ? st[0] : 'M';
    c.line = at.line();
    if (!c.tl.empty() && c.link < 0)
      return fail(at.error("connection.linkIndex", "signalised connection without a link index", {},
                           "linkIndex >= 0"));
    conns.push_back(std::move(c));
    return {};
  }
};

LinkRule rule_of(char state) {
  switch (state) {
    case 'm':
    case 'o':
    case 'g':
      return LinkRule::minor;
    case 's':
      return LinkRule::stop;
    case '=':
      return LinkRule::all_way;
    default:
      return LinkRule::major;
  }
}

}  // namespace

Result<Network> read_sumo_net(const std::string& path) {
  NetHandler h;
  h.file = path;
  if (auto r = xml::parse_file(path, h); !r) return fail(r.error());

  Network net;
  std::unordered_map<std::string, std::int32_t> lane_of;
  net.edge_lane_begin.push_back(0);
  for (std::size_t e = 0; e < h.edges.size(); ++e) {
    if (h.edge_lanes[e].empty())
      return fail(Error::msg("edge '" + h.edges[e] + "' has no lanes", path));
    net.edge_id.push_back(h.edges[e]);
    net.edge_length.push_back(h.edge_lanes[e][0].length);
    for (std::size_t k = 0; k < h.edge_lanes[e].size(); ++k) {
      const RawLane& l = h.edge_lanes[e][k];
      lane_of[l.id] = net.n_lanes();
      net.lane_length.push_back(std::max(l.length, 0.1f));
      net.lane_speed.push_back(l.speed);
      net.lane_edge.push_back(static_cast<std::int32_t>(e));
      net.lane_index.push_back(static_cast<std::int32_t>(k));
      net.lane_allow.push_back(l.allow);
    }
    net.edge_lane_begin.push_back(net.n_lanes());
  }
  net.n_road_lanes = net.n_lanes();
  net.edge_sorted.resize(net.edge_id.size());
  for (std::size_t e = 0; e < net.edge_id.size(); ++e)
    net.edge_sorted[e] = static_cast<std::int32_t>(e);
  std::sort(net.edge_sorted.begin(), net.edge_sorted.end(),
            [&](std::int32_t a, std::int32_t b) { return net.edge_id[a] < net.edge_id[b]; });

  // Junction request index of every internal lane. An internal junction's intLanes are the
  // lanes it watches, not its links: they must not replace the junction's own indices.
  std::unordered_map<std::string, std::pair<std::int32_t, std::int32_t>> request_of;
  for (std::size_t j = 0; j < h.junctions.size(); ++j)
    for (std::size_t i = 0; !h.junctions[j].internal && i < h.junctions[j].int_lanes.size(); ++i)
      request_of[h.junctions[j].int_lanes[i]] = {static_cast<std::int32_t>(j),
                                                 static_cast<std::int32_t>(i)};

  // Junction and link index of every connection, as SUMO numbers a junction's links: its
  // incLanes in order, each lane's connections in file order, links into walking areas left out.
  std::unordered_map<std::string, std::vector<std::size_t>> conns_of_lane;  // file order
  for (std::size_t i = 0; i < h.conns.size(); ++i) {
    const RawConn& c = h.conns[i];
    if (c.to.empty() || c.to.front() != ':')
      conns_of_lane[c.from + "_" + std::to_string(c.from_lane)].push_back(i);
  }
  std::vector<std::pair<std::int32_t, std::int32_t>> link_of(h.conns.size(), {-1, -1});
  for (std::size_t j = 0; j < h.junctions.size(); ++j) {
    if (h.junctions[j].internal) continue;
    std::int32_t link = 0;
    for (const std::string& lane : h.junctions[j].inc_lanes)
      if (auto it = conns_of_lane.find(lane); it != conns_of_lane.end())
        for (std::size_t i : it->second) link_of[i] = {static_cast<std::int32_t>(j), link++};
  }

  // Connections, sorted by from-lane (stable: file order within a lane).
  struct Compiled {
    std::int32_t from, to, junction, request;
    float length, speed;
    std::uint8_t allow;
    const RawConn* raw;
  };
  std::vector<Compiled> cs;
  for (const RawConn& c : h.conns) {
    auto fi = lane_of.find(c.from + "_" + std::to_string(c.from_lane));
    auto ti = lane_of.find(c.to + "_" + std::to_string(c.to_lane));
    if (fi == lane_of.end() || ti == lane_of.end()) {
      Diagnostic d;
      d.file = path;
      d.line = c.line;
      d.field = "connection";
      d.message = "connection refers to an unknown lane";
      d.found = c.from + "_" + std::to_string(c.from_lane) + " -> " + c.to + "_" +
                std::to_string(c.to_lane);
      d.expected = "lanes of edges defined in this file";
      return fail(std::move(d));
    }
    Compiled k{fi->second,  ti->second, -1,
               -1,          0.0f,       net.lane_speed[static_cast<std::size_t>(ti->second)],
               k_class_all, &c};
    // Walk the via chain: length, lowest speed, and the lane that carries the request index.
    std::string lane = c.via;
    for (int guard = 0; !lane.empty() && guard < 16; ++guard) {
      auto il = h.internal_lanes.find(lane);
      if (il == h.internal_lanes.end()) {
        Diagnostic d;
        d.file = path;
        d.line = c.line;
        d.field = "connection.via";
        d.message = "via names an unknown internal lane";
        d.found = lane;
        return fail(std::move(d));
      }
      k.length += il->second.length;
      k.speed = std::min(k.speed, il->second.speed);
      k.allow &= il->second.allow;
      if (auto rq = request_of.find(lane); rq != request_of.end() && k.junction < 0) {
        k.junction = rq->second.first;
        k.request = rq->second.second;
      }
      auto nx = h.internal_next.find(lane);
      lane = nx == h.internal_next.end() ? std::string() : nx->second;
    }
    // Without internal lanes (netconvert --no-internal-links) the request is the link index's.
    if (k.junction < 0) {
      k.junction = link_of[static_cast<std::size_t>(&c - h.conns.data())].first;
      k.request = link_of[static_cast<std::size_t>(&c - h.conns.data())].second;
    }
    k.allow &= net.lane_allow[static_cast<std::size_t>(k.to)];
    cs.push_back(k);
  }
  std::stable_sort(cs.begin(), cs.end(),
                   [](const Compiled& a, const Compiled& b) { return a.from < b.from; });

  std::map<std::string, std::int32_t> tl_index;
  for (const auto& [id, prog] : h.programs) {
    (void)prog;
    tl_index.emplace(id, static_cast<std::int32_t>(tl_index.size()));
  }
  std::map<std::pair<std::int32_t, std::int32_t>, std::int32_t> conn_of_request;
  for (std::size_t c = 0; c < cs.size(); ++c) {
    const Compiled& k = cs[c];
    const auto via = net.n_lanes();
    net.lane_length.push_back(std::max(k.length, 0.1f));
    net.lane_speed.push_back(k.speed);
    net.lane_edge.push_back(-1);
    net.lane_index.push_back(0);
    net.lane_allow.push_back(k.allow);
    net.conn_from_lane.push_back(k.from);
    net.conn_to_lane.push_back(k.to);
    net.conn_via_lane.push_back(via);
    std::int32_t tl = -1;
    if (!k.raw->tl.empty()) {
      auto t = tl_index.find(k.raw->tl);
      if (t == tl_index.end()) {
        Diagnostic d;
        d.file = path;
        d.line = k.raw->line;
        d.field = "connection.tl";
        d.message = "connection names a traffic light without a tlLogic";
        d.found = k.raw->tl;
        return fail(std::move(d));
      }
      tl = t->second;
    }
    net.conn_tl.push_back(tl);
    net.conn_tl_link.push_back(tl >= 0 ? k.raw->link : -1);
    net.conn_rule.push_back(rule_of(k.raw->state));
    if (k.junction >= 0) conn_of_request[{k.junction, k.request}] = static_cast<std::int32_t>(c);
  }
  // Outgoing connections per lane (CSR over all lanes; passages continue to their to-lane).
  net.lane_conn_begin.assign(static_cast<std::size_t>(net.n_lanes()) + 1, 0);
  for (std::int32_t from : net.conn_from_lane)
    ++net.lane_conn_begin[static_cast<std::size_t>(from) + 1];
  for (std::size_t l = 0; l < static_cast<std::size_t>(net.n_lanes()); ++l)
    net.lane_conn_begin[l + 1] += net.lane_conn_begin[l];

  // Yield lists from the junction responses.
  net.conn_yield_begin.push_back(0);
  for (std::size_t c = 0; c < cs.size(); ++c) {
    const Compiled& k = cs[c];
    if (k.junction >= 0) {
      const auto& resp = h.junctions[static_cast<std::size_t>(k.junction)].response;
      if (static_cast<std::size_t>(k.request) < resp.size()) {
        const std::string& bits = resp[static_cast<std::size_t>(k.request)];
        const auto n = static_cast<std::int32_t>(bits.size());
        for (std::int32_t j = 0; j < n; ++j) {
          if (bits[static_cast<std::size_t>(n - 1 - j)] != '1') continue;
          auto f = conn_of_request.find({k.junction, j});
          if (f != conn_of_request.end()) net.conn_yield.push_back(f->second);
        }
      }
    }
    net.conn_yield_begin.push_back(static_cast<std::int32_t>(net.conn_yield.size()));
  }

  for (const auto& [id, prog] : h.programs) {
    net.tl_id.push_back(id);
    net.tl_offset.push_back(0);
    net.tl_cycle.push_back(0);
    net.tl_links.push_back(0);
  }
  net.tl_phase_begin.assign(net.tl_id.size() + 1, 0);
  for (const auto& [id, prog] : h.programs)
    if (auto r = set_program(net, id, prog); !r) return fail(r.error());
  // Every signalised connection must index into its program's state strings.
  for (std::size_t c = 0; c < cs.size(); ++c) {
    const std::int32_t tl = net.conn_tl[c];
    if (tl >= 0 && net.conn_tl_link[c] >= net.tl_links[static_cast<std::size_t>(tl)]) {
      Diagnostic d;
      d.file = path;
      d.line = cs[c].raw->line;
      d.field = "connection.linkIndex";
      d.message = "link index beyond the signal's state string";
      d.found = std::to_string(net.conn_tl_link[c]);
      d.expected = "< " + std::to_string(net.tl_links[static_cast<std::size_t>(tl)]);
      return fail(std::move(d));
    }
  }
  finalize_network(net);
  return net;
}

void finalize_network(Network& net) {
  net.lane_in_begin.assign(static_cast<std::size_t>(net.n_lanes()) + 1, 0);
  for (std::int32_t to : net.conn_to_lane) ++net.lane_in_begin[static_cast<std::size_t>(to) + 1];
  for (std::size_t l = 0; l + 1 < net.lane_in_begin.size(); ++l)
    net.lane_in_begin[l + 1] += net.lane_in_begin[l];
  net.lane_in_conn.assign(net.conn_to_lane.size(), 0);
  std::vector<std::int32_t> fill(net.lane_in_begin.begin(), net.lane_in_begin.end() - 1);
  for (std::int32_t c = 0; c < net.n_conns(); ++c)
    net.lane_in_conn[static_cast<std::size_t>(
        fill[static_cast<std::size_t>(net.conn_to_lane[static_cast<std::size_t>(c)])]++)] = c;
  // Connections per signal (all-way stop of dark signals).
  net.tl_conn_begin.assign(net.tl_id.size() + 1, 0);
  for (std::int32_t t : net.conn_tl)
    if (t >= 0) ++net.tl_conn_begin[static_cast<std::size_t>(t) + 1];
  for (std::size_t t = 0; t + 1 < net.tl_conn_begin.size(); ++t)
    net.tl_conn_begin[t + 1] += net.tl_conn_begin[t];
  net.tl_conn.assign(static_cast<std::size_t>(net.tl_conn_begin.back()), 0);
  std::vector<std::int32_t> tfill(net.tl_conn_begin.begin(), net.tl_conn_begin.end() - 1);
  for (std::int32_t c = 0; c < net.n_conns(); ++c)
    if (const std::int32_t t = net.conn_tl[static_cast<std::size_t>(c)]; t >= 0)
      net.tl_conn[static_cast<std::size_t>(tfill[static_cast<std::size_t>(t)]++)] = c;
  build_actuation(net);
  build_routing_graph(net);
}

}  // namespace citytwin::traffic
