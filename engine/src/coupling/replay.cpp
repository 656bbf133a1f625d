// The exchange in the viewer's frame, live (snapshot()) and in replay (/exchange rows and the
// /coupling static data): what the coupling rules acted on, read by one mapping.
#include "citytwin/coupling.hpp"
#include "citytwin/frame.hpp"
#include "citytwin/io.hpp"

namespace citytwin {

void fill_exchange_frame(const ExchangeLayout& l, const CityExchange& x, FrameSnapshot& f) {
  if (l.flood) {
    f.building_depth_m = x.building_depth_m;
    std::int64_t flooded = 0;
    for (float d : x.building_depth_m) flooded += d > 0.1f;
    f.figures.emplace_back("flooded buildings", std::to_string(flooded));
  }
  f.link_flood_factor = x.link_speed_factor;
  f.signal_x = l.signal_x, f.signal_y = l.signal_y;
  f.signal_powered = x.signal_powered;
  f.element_in_service = x.element_in_service;
  std::int64_t dark = 0, closed = 0, failed = 0;
  for (std::uint8_t p : x.signal_powered) dark += p ? 0 : 1;
  for (std::uint8_t c : x.link_closed) closed += c;
  for (std::uint8_t e : x.element_in_service) failed += e ? 0 : 1;
  if (closed > 0) f.figures.emplace_back("roads closed by water", std::to_string(closed));
  if (failed > 0) f.figures.emplace_back("grid elements flooded", std::to_string(failed));
  if (dark > 0) f.figures.emplace_back("signals dark", std::to_string(dark));
}

namespace {

class ExchangeReplay : public DomainReplay {
 public:
  explicit ExchangeReplay(ExchangeLayout layout) : m_layout(std::move(layout)) {}

  Result<void> read(const RunReader& r, std::size_t k, FrameSnapshot& f) const override {
    CityExchange x;
    auto row = [&]<class T>(const char* name, std::vector<T>& out) -> Result<void> {
      const std::string path = std::string("/exchange/") + name;
      if (!r.exists(path)) return {};
      auto v = r.read_row<T>(path, k);
      if (!v) return fail(v.error());
      out = std::move(v->data);
      return {};
    };
    for (auto res :
         {row("building_depth_m", x.building_depth_m),
          row("link_speed_factor", x.link_speed_factor), row("link_closed", x.link_closed),
          row("signal_powered", x.signal_powered), row("element_in_service", x.element_in_service)})
      if (!res) return fail(res.error());
    fill_exchange_frame(m_layout, x, f);
    return {};
  }

 private:
  ExchangeLayout m_layout;
};

}  // namespace

Result<std::unique_ptr<const DomainReplay>> open_exchange_replay(const RunReader& r,
                                                                 const std::string& file) {
  if (!r.exists("/exchange/link_closed")) return std::unique_ptr<const DomainReplay>();
  ExchangeLayout l;
  auto sx = r.read_values<double>("/coupling/signal_x");
  auto sy = r.read_values<double>("/coupling/signal_y");
  auto ek = r.read_values<std::uint8_t>("/coupling/element_kind");
  if (!sx || !sy || !ek)
    return fail(Error::msg("/coupling: signal_x, signal_y and element_kind are needed", file));
  l.signal_x = std::move(*sx), l.signal_y = std::move(*sy);
  l.signal_node.assign(l.signal_x.size(), -1);
  for (std::uint8_t k : *ek) l.element_kind.push_back(static_cast<ElementKind>(k));
  l.flood = r.exists("/exchange/building_depth_m");
  l.power = r.exists("/exchange/building_powered");
  return std::unique_ptr<const DomainReplay>(std::make_unique<ExchangeReplay>(std::move(l)));
}

}  // namespace citytwin
