// The KPI table: ids, units, definitions and sources. docs/kpi.md explains each in more words;
// `citytwin kpi --list` prints this table so the two can be checked against each other.
#include <cmath>

#include "citytwin/kpi.hpp"

namespace citytwin {

namespace {
constexpr KpiDef k_kpis[] = {
    // ---- flood (from /flood's end-of-run rasters and the volume series) ----
    {"flood.max_depth", "flood", "maximum depth", "m", Better::lower,
     "largest water depth any active cell reached", ""},
    {"flood.area_over_0_1m", "flood", "area flooded > 0.1 m", "ha", Better::lower,
     "area of the cells whose maximum depth exceeded 0.1 m", ""},
    {"flood.area_over_0_3m", "flood", "area flooded > 0.3 m", "ha", Better::lower,
     "area of the cells whose maximum depth exceeded 0.3 m", ""},
    {"flood.area_over_1m", "flood", "area flooded > 1 m", "ha", Better::lower,
     "area of the cells whose maximum depth exceeded 1 m", ""},
    {"flood.buildings_over_0_1m", "flood", "buildings flooded > 0.1 m", "1", Better::lower,
     "buildings whose maximum depth around the footprint exceeded 0.1 m", ""},
    {"flood.buildings_over_0_3m", "flood", "buildings flooded > 0.3 m", "1", Better::lower,
     "buildings whose maximum depth around the footprint exceeded 0.3 m", ""},
    {"flood.buildings_over_1m", "flood", "buildings flooded > 1 m", "1", Better::lower,
     "buildings whose maximum depth around the footprint exceeded 1 m", ""},
    {"flood.residents_flooded", "flood", "residents in flooded buildings", "1", Better::lower,
     "residents (the demand model's estimate) of buildings flooded deeper than 0.3 m", ""},
    {"flood.hazard_area_low", "flood", "hazard area: low", "ha", Better::lower,
     "wetted area whose maximum hazard rating HR = d (v + 0.5) + DF stayed below 0.75",
     "Defra/EA FD2320 (2006), Table 13.1"},
    {"flood.hazard_area_some", "flood", "hazard area: danger for some", "ha", Better::lower,
     "wetted area with maximum hazard rating 0.75 <= HR < 1.25",
     "Defra/EA FD2320 (2006), Table 13.1"},
    {"flood.hazard_area_most", "flood", "hazard area: danger for most", "ha", Better::lower,
     "wetted area with maximum hazard rating 1.25 <= HR < 2", "Defra/EA FD2320 (2006), Table 13.1"},
    {"flood.hazard_area_all", "flood", "hazard area: danger for all", "ha", Better::lower,
     "wetted area with maximum hazard rating HR >= 2", "Defra/EA FD2320 (2006), Table 13.1"},
    {"flood.rain_volume", "flood", "rain volume", "m3", Better::neutral,
     "rain that fell on the active cells over the run", ""},
    {"flood.inflow_volume", "flood", "inflow volume", "m3", Better::neutral,
     "water that entered through inflow boundaries and breaches", ""},
    {"flood.outflow_volume", "flood", "outflow volume", "m3", Better::neutral,
     "water that left through open boundaries and the sea", ""},
    {"flood.losses_volume", "flood", "infiltration and drainage", "m3", Better::neutral,
     "water removed by infiltration and the drainage network", ""},
    {"flood.stored_volume", "flood", "water on the ground at the end", "m3", Better::lower,
     "water stored on the grid at the end of the run", ""},
    {"flood.volume_error", "flood", "relative volume error", "1", Better::lower,
     "|stored - initial - rain - inflow + outflow + losses| / (initial + rain + inflow): the "
     "solver's mass balance",
     ""},
    // ---- traffic (from /traffic/trips, one row per vehicle of the demand) ----
    {"traffic.trips_completed", "traffic", "trips completed", "1", Better::higher,
     "vehicles that reached their destination", ""},
    {"traffic.travel_time_mean", "traffic", "mean travel time", "s", Better::lower,
     "mean over completed trips of arrival minus insertion", "SUMO tripinfo duration"},
    {"traffic.travel_time_p95", "traffic", "95th percentile travel time", "s", Better::lower,
     "95th percentile (nearest rank) of the completed trips' travel times",
     "SUMO tripinfo duration"},
    {"traffic.delay", "traffic", "total delay", "veh h", Better::lower,
     "time lost by every inserted vehicle driving below its allowed speed, summed",
     "SUMO tripinfo timeLoss"},
    {"traffic.vehicle_km", "traffic", "vehicle kilometres", "km", Better::neutral,
     "distance driven by every inserted vehicle", ""},
    {"traffic.trips_stranded", "traffic", "trips stranded", "1", Better::lower,
     "vehicles removed on the road because a closure cut their destination off", ""},
    {"traffic.trips_cancelled", "traffic", "trips cancelled", "1", Better::lower,
     "vehicles never inserted because no open route led to their destination", ""},
    {"traffic.trips_removed", "traffic", "trips removed by gridlock", "1", Better::lower,
     "vehicles removed after a teleport found no room (SUMO's time-to-teleport)", ""},
    {"traffic.link_hours_closed", "traffic", "link-hours closed", "h", Better::lower,
     "road links closed (by an event or water) times the time they stayed closed, at output "
     "frame resolution",
     ""},
    // ---- power (from /power's per-frame series and its cascade log) ----
    {"power.unserved_energy", "power", "energy not supplied", "MWh", Better::lower,
     "load that was not served (de-energised or shed), integrated every macro step",
     "IEEE 1366 (ENS)"},
    {"power.customers_out_max", "power", "most customers without power", "1", Better::lower,
     "largest number of buildings without power at one output frame", ""},
    {"power.customer_minutes_lost", "power", "customer-minutes lost", "min", Better::lower,
     "buildings without power times the minutes they stayed so, at output frame resolution",
     "IEEE 1366 (CMI)"},
    {"power.saidi", "power", "SAIDI", "min", Better::lower,
     "customer-minutes lost divided by the customers (buildings on the grid)", "IEEE 1366"},
    {"power.peak_loading", "power", "peak branch loading", "%", Better::lower,
     "highest apparent power over rating of any branch at any output frame", ""},
    {"power.lowest_voltage", "power", "lowest voltage", "pu", Better::higher,
     "lowest voltage magnitude of an energised bus at any output frame", ""},
    {"power.elements_failed", "power", "elements failed", "1", Better::lower,
     "branches tripped (by an event or overload), substations taken out by an event and "
     "substations or kiosks (MV/LV transformers) taken out by water, each counted once",
     ""},
    // ---- the coupled city (exchange, coupling log, facilities and the road network) ----
    {"coupled.trips_rerouted_by_flood", "coupled", "trips re-routed by the flood", "1",
     Better::lower, "vehicles queued for a new route because water closed a road they meant to use",
     ""},
    {"coupled.signals_dark_max", "coupled", "most signals dark", "1", Better::lower,
     "largest number of traffic signals dark (all-way stops) at one output frame", ""},
    {"coupled.signal_hours_dark", "coupled", "signal-hours dark", "h", Better::lower,
     "signals dark times the time they stayed dark, at output frame resolution", ""},
    {"coupled.critical_flooded", "coupled", "critical facilities flooded", "1", Better::lower,
     "hospitals, fire stations, police stations and schools whose building was flooded deeper "
     "than 0.3 m",
     ""},
    {"coupled.critical_unpowered", "coupled", "critical facilities without power", "1",
     Better::lower, "critical facilities whose building lost power at some output frame", ""},
    {"coupled.critical_cut_off", "coupled", "critical facilities cut off", "1", Better::lower,
     "critical facilities no fire station can reach by road while the most links are closed", ""},
    {"coupled.residents_cut_off_fire", "coupled", "residents cut off from fire stations", "1",
     Better::lower,
     "residents of buildings no fire station can reach by road while the most "
     "links are closed",
     ""},
    {"coupled.fire_access_p95_open", "coupled", "fire access time p95, roads open", "min",
     Better::lower,
     "95th percentile over residents of the drive at the speed limit from the nearest fire "
     "station, every road open",
     ""},
    {"coupled.fire_access_p95_peak", "coupled", "fire access time p95, peak closures", "min",
     Better::lower, "the same while the most links are closed (unreachable residents excluded)",
     ""},
    {"coupled.residents_cut_off_hospital", "coupled", "residents cut off from hospitals", "1",
     Better::lower,
     "residents of buildings no hospital can be reached from by road while the "
     "most links are closed",
     ""},
    {"coupled.hospital_access_p95_open", "coupled", "hospital access time p95, roads open", "min",
     Better::lower,
     "95th percentile over residents of the drive at the speed limit to the nearest hospital, "
     "every road open",
     ""},
    {"coupled.hospital_access_p95_peak", "coupled", "hospital access time p95, peak closures",
     "min", Better::lower,
     "the same while the most links are closed (unreachable residents excluded)", ""},
};
}  // namespace

std::span<const KpiDef> kpi_definitions() {
  return k_kpis;
}

int kpi_index(std::string_view id) {
  for (std::size_t k = 0; k < std::size(k_kpis); ++k)
    if (k_kpis[k].id == id) return static_cast<int>(k);
  return -1;
}

double KpiValues::get(std::string_view id) const {
  const int k = kpi_index(id);
  return k < 0 || static_cast<std::size_t>(k) >= value.size() ? std::nan("")
                                                              : value[static_cast<std::size_t>(k)];
}

}  // namespace citytwin
