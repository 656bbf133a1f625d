// CityGrid (physical units) -> Network (per unit).
#include <cmath>

#include "power/power_domain.hpp"

namespace citytwin::power {

Network to_network(const CityGrid& g, double base_mva) {
  Network net;
  net.name = "city grid";
  net.base_mva = base_mva;
  const double tan_phi = std::tan(std::acos(0.95));
  for (std::int32_t b = 0; b < g.n_bus(); ++b) {
    net.bus_id.push_back(b + 1);
    net.bus_type.push_back(g.bus_kind[b] == GridBusKind::hv ? BusType::ref : BusType::pq);
    const double p = g.bus_peak_w[b] * 1e-6 / base_mva;
    net.bus_pd.push_back(p);
    net.bus_qd.push_back(p * tan_phi);
    net.bus_gs.push_back(0);
    net.bus_bs.push_back(0);
    net.bus_vm.push_back(1.0);
    net.bus_va.push_back(0);
    net.bus_base_kv.push_back(g.bus_kv[b]);
    net.bus_vmax.push_back(1.1);
    net.bus_vmin.push_back(0.9);
    net.bus_x.push_back(g.bus_x[b]);
    net.bus_y.push_back(g.bus_y[b]);
    if (g.bus_kind[b] == GridBusKind::hv) {
      // The upstream grid: a stiff source holding 1.02 pu, as HV/MV substations regulate.
      net.gen_bus.push_back(b);
      net.gen_on.push_back(1);
      net.gen_pg.push_back(0);
      net.gen_qg.push_back(0);
      net.gen_qmax.push_back(1e3);
      net.gen_qmin.push_back(-1e3);
      net.gen_pmax.push_back(1e3);
      net.gen_pmin.push_back(0);
      net.gen_vg.push_back(1.02);
      net.bus_vm.back() = 1.02;
    }
  }
  for (std::int32_t k = 0; k < g.n_branch(); ++k) {
    // Impedances are referred to br_kv, the from-side nominal voltage: per unit on that base.
    const double z_base = g.br_kv[k] * g.br_kv[k] / base_mva;
    net.br_from.push_back(g.br_from[k]);
    net.br_to.push_back(g.br_to[k]);
    net.br_on.push_back(1);
    net.br_r.push_back(g.br_r_ohm[k] / z_base);
    net.br_x.push_back(g.br_x_ohm[k] / z_base);
    net.br_b.push_back(g.br_b_us[k] * 1e-6 * z_base);
    net.br_rate_a.push_back(g.br_rating_mva[k] / base_mva);
    net.br_tap.push_back(1.0);
    net.br_shift.push_back(0.0);
  }
  return net;
}

}  // namespace citytwin::power
