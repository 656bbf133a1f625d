// The city exchange (DESIGN.md "Coupling: the city exchange"): what crosses between domains,
// as plain arrays in the city's index spaces. Domains never include each other; each one
// publishes its exports here after its step and consumes the inputs the coupling rules wrote
// before its next step. The exchange is double-buffered in SimState, hashed with it, and read
// by the observers (recorder, viewer frame), so each cross-domain rule has one owner.
//
// Index spaces (ExchangeLayout, fixed when the model is compiled):
//   links      the CityModel's road links (traffic on the city network: edge e = link e)
//   buildings  the CityModel's buildings
//   signals    the CityModel's road nodes tagged highway=traffic_signals, in node order
//   buses      the power grid's buses (the grid synthesised from the city, or a case)
//   elements   the power grid's substations, then its MV/LV transformers (kiosks)
//   pumps      the scenario's [[coupling.pump]] entries, in file order
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "citytwin/state_io.hpp"

namespace citytwin {

/// What a power element is: its failure threshold and repair rules depend on it.
enum class ElementKind : std::uint8_t { substation = 0, transformer = 1 };

/// The exchange's index spaces: sizes, and where the point entities stand (model CRS).
/// Built once per Model: the city gives links, buildings and signals; the power domain
/// declares its buses and elements; the coupling spec its pumps.
struct ExchangeLayout {
  std::int32_t n_links = 0, n_buildings = 0;
  std::vector<std::int32_t> signal_node;   ///< (n_signals) road node of each signal
  std::vector<double> signal_x, signal_y;  ///< (n_signals)

  std::vector<double> bus_x, bus_y;          ///< (n_bus) NaN when unknown
  std::vector<std::uint8_t> bus_lv;          ///< (n_bus) 1 on low-voltage buses (customers)
  std::vector<ElementKind> element_kind;     ///< (n_elements)
  std::vector<double> element_x, element_y;  ///< (n_elements) where the equipment stands
  std::vector<std::int32_t> element_bus;     ///< (n_elements) the bus it energises downstream
  std::vector<std::int32_t> building_bus;    ///< (n_buildings) supplying bus, -1 when unknown

  std::vector<double> pump_x, pump_y;   ///< (n_pumps)
  std::vector<std::string> pump_where;  ///< (n_pumps) "file:line" of each, for errors

  /// Which domains take part (publish their exports).
  bool flood = false, traffic = false, power = false;
  bool traffic_on_city_links = false;  ///< traffic edges are the city links (edge e = link e)

  std::int32_t n_signals() const { return static_cast<std::int32_t>(signal_node.size()); }
  std::int32_t n_bus() const { return static_cast<std::int32_t>(bus_x.size()); }
  std::int32_t n_elements() const { return static_cast<std::int32_t>(element_kind.size()); }
  std::int32_t n_pumps() const { return static_cast<std::int32_t>(pump_x.size()); }
};

/// One buffer of the exchange. Exports are written by their domain's publish(); inputs by the
/// coupling rules; neutral values (dry, open, powered) where nothing writes.
struct CityExchange {
  // Exports: flood (depth now, metres).
  std::vector<float> link_depth_m;      ///< (n_links) deepest cell the link crosses
  std::vector<float> building_depth_m;  ///< (n_buildings) deepest cell at the footprint
  std::vector<float> element_depth_m;   ///< (n_elements) water at the equipment
  std::vector<float> pump_depth_m;      ///< (n_pumps) water at the pump's sump

  // Exports: power.
  std::vector<std::int64_t> bus_dark_since;     ///< (n_bus) ms when it lost power, -1 energised
  std::vector<std::uint8_t> building_powered;   ///< (n_buildings) 1 supplied
  std::vector<std::uint8_t> element_energised;  ///< (n_elements) 1 in service and live

  // Exports: traffic.
  std::vector<std::int32_t> building_arrivals;  ///< (n_buildings) trips ended there this step

  // Inputs (coupling rules): to traffic.
  std::vector<float> link_speed_factor;      ///< (n_links) 1 unaffected, (0, 1] slowed
  std::vector<std::uint8_t> link_closed;     ///< (n_links) 1 closed by the flood
  std::vector<std::uint8_t> signal_powered;  ///< (n_signals) 0 dark: all-way stop
  // Inputs: to power.
  std::vector<std::uint8_t> element_in_service;  ///< (n_elements) 0 switched out (failed)
  std::vector<std::uint8_t> building_connected;  ///< (n_buildings) 0 disconnected (flooded)
  std::vector<float> building_extra_w;           ///< (n_buildings) added load (EV charging)
  // Inputs: to flood.
  std::vector<float> pump_rate_m3s;  ///< (n_pumps) what each pump removes now

  /// Sizes every array for the layout, with neutral values.
  void reset(const ExchangeLayout& layout);
  /// Every array (state_io.hpp): the state hash and checkpoints.
  void save(StateOut& out) const;
  void load(StateIn& in);
};

}  // namespace citytwin
