// RunFrames: the replay of a run file, assembled from each built-in domain's reader (in step
// order, as snapshot() fills a live frame) and the exchange's.
#include <cmath>

#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"

namespace citytwin {

Result<RunFrames> RunFrames::open(const RunReader& r, const std::string& file) {
  RunFrames rf;
  if (r.exists("/time")) {
    auto t = r.read<double>("/time");
    if (!t) return fail(t.error());
    rf.time_s = std::move(t->data);
  }
  for (const DomainEntry& e : builtin_domains()) {
    if (!e.open_replay) continue;
    auto part = e.open_replay(r, file);
    if (!part) return fail(part.error());
    if (*part) rf.parts.push_back(std::move(*part));
  }
  auto x = open_exchange_replay(r, file);
  if (!x) return fail(x.error());
  if (*x) rf.parts.push_back(std::move(*x));
  return rf;
}

Result<FrameSnapshot> RunFrames::read(const RunReader& r, std::size_t k) const {
  FrameSnapshot f;
  if (k < time_s.size()) f.t = static_cast<SimTime>(std::llround(time_s[k] * 1000));
  for (const auto& part : parts)
    if (auto ok = part->read(r, k, f); !ok) return fail(ok.error());
  return f;
}

}  // namespace citytwin
