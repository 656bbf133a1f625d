// Travel and activity demand derived from the city: residents and jobs in every building from
// its floor area and use class, zones, a doubly constrained gravity model for the
// origin-destination matrix, daily profiles, and trips sampled from them with counter-based
// random numbers (same seed, same trips). Traffic uses the trips; power uses the activity and
// the profiles for building loads.
#pragma once

#include <array>
#include <cstdint>
#include <vector>

#include "citytwin/city.hpp"
#include "citytwin/spec.hpp"
#include "citytwin/time.hpp"

namespace citytwin {

/// Floor area per resident and per job, by building use class (m2 of gross floor area, as
/// footprint x levels measures it). Defaults (docs/scenario.md "[demand]" gives the sources):
/// ~40 m2 of housing per resident, the EU average dwelling floor area per person; per job,
/// office ~20 m2, retail ~35 m2, industry ~60 m2, schools/hospitals/public ~30 m2, of the order
/// of the HCA Employment Density Guide (2015) figures grossed up from net to gross area.
/// "other" (mostly building=yes, untyped) is split between housing and jobs by
/// `other_residential_share`.
struct ActivityParams {
  double m2_per_resident = 40.0;
  std::array<double, 10> m2_per_job = {0, 35, 20, 60, 30, 30, 30, 100, 0, 35};
  double other_residential_share = 0.7;
};

/// Residents and jobs per building.
struct Activity {
  std::vector<float> residents;  ///< (n_buildings)
  std::vector<float> jobs;       ///< (n_buildings)
  double total_residents() const;
  double total_jobs() const;
};

Activity building_activity(const Buildings& buildings, const ActivityParams& params = {});

/// The city's activity as the scenario asks: the floor-area estimate with [demand]'s floor
/// areas, scaled to its census totals where given (each building keeps its share).
Activity city_activity(const Buildings& buildings, const DemandSpec& demand);

/// Relative intensity by hour of day, linearly interpolated between hour marks (value at h:00).
struct DailyProfile {
  std::array<double, 24> weight{};

  /// Weekday car departures (shape of typical urban traffic counts: peaks at 8:00 and 17:30).
  static DailyProfile weekday_traffic();
  /// Weekday electricity use of homes (evening peak) and of non-residential buildings (day).
  static DailyProfile residential_load();
  static DailyProfile commercial_load();

  /// Interpolated weight at an hour of day in [0, 24) (wraps).
  double at(double hour) const;
  /// Inverse CDF: the time in [begin_s, end_s) (seconds of day, may exceed 86400 to wrap)
  /// below which a fraction u of the profile's mass lies.
  double sample(double u, double begin_s, double end_s) const;
  /// Integral of the profile over [begin_s, end_s) in weight-hours.
  double integral(double begin_s, double end_s) const;
};

/// Square zones over the city's extent; buildings belong to the zone holding their centroid.
struct Zoning {
  double cell_m = 0;
  int nx = 0, ny = 0;
  double x0 = 0, y0 = 0;
  std::vector<std::int32_t> building_zone;  ///< (n_buildings)
  std::vector<double> zone_x, zone_y;  ///< (n_zones) mean building centroid (cell centre if empty)
  int zone_count() const { return nx * ny; }
};

Zoning make_zones(const CityModel& city, double cell_m);

/// Result of a doubly constrained gravity model solved by Furness iterations (iterative
/// proportional fitting): T_ij = a_i P_i b_j A_j exp(-beta c_ij), with row sums P_i and column
/// sums A_j (Wilson 1970, "Entropy in urban and regional modelling").
struct GravityResult {
  int n = 0;
  std::vector<double> trips;  ///< (n * n) row-major, origin i, destination j
  int iterations = 0;
  double max_relative_error = 0;  ///< worst row or column sum mismatch at the end
  bool converged = false;
};

/// productions and attractions must have equal totals (attractions are scaled to match);
/// cost_km is (n * n). Zones with zero production or attraction get zero rows/columns.
GravityResult gravity_model(const std::vector<double>& productions,
                            const std::vector<double>& attractions,
                            const std::vector<double>& cost_km, double beta_per_km,
                            int max_iterations = 200, double tolerance = 1e-10);

/// One car trip between two buildings, with the road links nearest to them.
struct Trip {
  std::int32_t origin_building, dest_building;
  std::int32_t origin_link, dest_link;  ///< RoadNetwork link indices
  SimTime depart;                       ///< ms since the scenario start
};

struct TripParams {
  double trips_per_resident = 0.25;  ///< car trips from home in the window (home-based work)
  double zone_m = 400;               ///< zone size
  double beta_per_km = 0.6;          ///< gravity decay
  double detour_factor = 1.3;        ///< network distance / straight-line distance
  SimTime window_begin = 0;          ///< departures in [begin, end) of simulated time
  SimTime window_end = 3'600'000;
  std::int64_t start_second_of_day = 7 * 3600;  ///< wall-clock time of simulated t = 0
  DailyProfile profile = DailyProfile::weekday_traffic();
  /// (n_links) 1 where trips may start or end (e.g. the strongly connected part of the road
  /// network); empty: every link.
  std::vector<std::uint8_t> usable_links;
};

/// Nearest road link (point-to-polyline distance) to every building centroid among the usable
/// ones (`usable` (n_links), empty = all); -1 if none.
std::vector<std::int32_t> nearest_links(const CityModel& city,
                                        const std::vector<std::uint8_t>& usable = {});

/// How many trips sample_trips() will make (residents x trips_per_resident x the window's share
/// of the daily profile), computed before any is made, to refuse a demand that cannot fit.
double expected_trips(const Activity& activity, const TripParams& params);

/// Home-to-work trips: productions from residents, attractions from jobs, a gravity
/// distribution between zones, buildings within zones by weight, departures from the profile.
/// Deterministic in `seed`; trips are sorted by departure time.
std::vector<Trip> sample_trips(const CityModel& city, const Activity& activity,
                               const TripParams& params, std::uint64_t seed);

}  // namespace citytwin
