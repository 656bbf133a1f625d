// A state as named byte blocks (StateImage): checkpoints store it, clones copy through it, and
// the state hash walks the same fields (state_io.hpp).
#include <fmt/format.h>

#include "citytwin/sim.hpp"

namespace citytwin {

namespace {

// The run loop's own fields: the clock, the seed, the event cursor, the injected events waiting
// in the inbox (their scenario text: the payload is parsed again when they are loaded), which
// exchange buffer is current, the events that named nothing.
template <class A, class S>
void sim_fields(A& a, S& s) {
  a.field("t", s.t);
  a.field("step", s.step);
  a.field("seed", s.seed);
  a.field("next_event", s.next_event);
  a.each("inbox", s.inbox, [](A& b, auto& e) {
    b.field("at", e.at);
    b.field("type", e.type);
    b.field("where", e.where);
    b.field("source", e.source);
  });
  a.field("current", s.current);
  a.each("rejected_events", s.rejected_events, [](A& b, auto& r) { b.field("text", r); });
}

// The payloads of a loaded inbox, from each event's text by the scenario's own parser (the same
// model parsed them before they were stored, so an error means a damaged image).
Result<void> parse_inbox(const Model& model, std::vector<EventSpec>& inbox,
                         const std::string& where) {
  for (EventSpec& e : inbox) {
    auto parsed = parse_events(model, e.source, e.where);
    if (!parsed || parsed->size() != 1 || (*parsed)[0].type != e.type)
      return fail(Error::msg(
          fmt::format("state part sim: the injected event {} at {} does not parse again as one "
                      "{} event{}",
                      e.where, format_duration(e.at), e.type,
                      parsed ? std::string() : ": " + parsed.error().to_string()),
          where));
    e.domain = (*parsed)[0].domain;
    e.payload = std::move((*parsed)[0].payload);
  }
  return {};
}

template <class Part>
std::vector<std::byte> save_part(const Part& part) {
  std::vector<std::byte> bytes;
  StateOut out(bytes);
  part.save(out);
  return bytes;
}

}  // namespace

std::size_t StateImage::bytes() const {
  std::size_t n = 0;
  for (const auto& p : parts) n += p.size();
  return n;
}

Result<StateImage> save_state(const Model& model, const SimState& state) {
  for (const EventSpec& e : state.inbox)
    if (e.source.empty())
      return fail(Error::msg(fmt::format("the injected event {} at {} has no scenario text to "
                                         "store (made without parse_events)",
                                         e.type, format_duration(e.at)),
                             model.spec.path));
  StateImage img;
  std::vector<std::byte> sim;
  StateOut out(sim);
  sim_fields(out, state);
  img.names.push_back("sim");
  img.parts.push_back(std::move(sim));
  for (std::size_t i = 0; i < model.domains.size(); ++i) {
    img.names.emplace_back(model.domains[i]->name());
    img.parts.push_back(save_part(*state.domains[i]));
  }
  for (int k = 0; k < 2; ++k) {
    img.names.push_back(fmt::format("exchange.{}", k));
    img.parts.push_back(save_part(state.exchange[k]));
  }
  img.names.push_back("coupling");
  img.parts.push_back(save_part(state.coupling));
  return img;
}

Result<SimState> load_state(const Model& model, const StateImage& image, const std::string& where) {
  std::vector<std::string> expected = {"sim"};
  for (const auto& d : model.domains) expected.emplace_back(d->name());
  expected.insert(expected.end(), {"exchange.0", "exchange.1", "coupling"});
  if (image.names != expected || image.parts.size() != expected.size())
    return fail(Error::msg(
        fmt::format("holds the parts [{}]; this scenario's state has [{}] (another scenario?)",
                    fmt::join(image.names, ", "), fmt::join(expected, ", ")),
        where));
  // A fresh state sizes every array for the model; the image then overwrites its fields.
  SimState s = make_state(model);
  std::size_t k = 0;
  auto read = [&](auto& part) -> Result<void> {
    StateIn in(image.parts[k]);
    part.load(in);
    if (!in.failed() && !in.at_end())
      return fail(Error::msg(fmt::format("state part {}: {} bytes left over after its last field "
                                         "(written by another version?)",
                                         image.names[k], in.left()),
                             where));
    if (in.failed())
      return fail(Error::msg(fmt::format("state part {}: {}", image.names[k], in.error()), where));
    ++k;
    return {};
  };
  struct SimPart {
    SimState& s;
    void load(StateIn& in) { sim_fields(in, s); }
  } sim{s};
  if (auto r = read(sim); !r) return fail(r.error());
  if (s.current != 0 && s.current != 1)
    return fail(Error::msg(
        fmt::format("state part sim: current buffer {} is not 0 or 1", s.current), where));
  if (auto r = parse_inbox(model, s.inbox, where); !r) return fail(r.error());
  if (s.next_event > model.spec.events.size())
    return fail(Error::msg(fmt::format("state part sim: event cursor {} is past the scenario's {} "
                                       "events (another scenario?)",
                                       s.next_event, model.spec.events.size()),
                           where));
  for (std::size_t i = 0; i < model.domains.size(); ++i) {
    if (auto r = read(*s.domains[i]); !r) return fail(r.error());
    model.domains[i]->restored(*s.domains[i]);
  }
  for (CityExchange& x : s.exchange)
    if (auto r = read(x); !r) return fail(r.error());
  if (auto r = read(s.coupling); !r) return fail(r.error());
  return s;
}

Result<SimTime> image_time(const StateImage& image, const std::string& where) {
  if (image.names.empty() || image.names.front() != "sim" || image.parts.empty())
    return fail(Error::msg("the state image does not begin with its part sim", where));
  SimState s;
  StateIn in(image.parts.front());
  sim_fields(in, s);
  if (in.failed()) return fail(Error::msg(fmt::format("state part sim: {}", in.error()), where));
  return s.t;
}

Result<SimState> clone_state(const Model& model, const SimState& state) {
  auto img = save_state(model, state);
  if (!img) return fail(img.error());
  return load_state(model, *img, "clone");
}

}  // namespace citytwin
