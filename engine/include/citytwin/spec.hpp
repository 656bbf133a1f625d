// Scenario files: TOML (toml++) -> a typed, validated ScenarioSpec.
//
// Strictness: every key a reader does not ask for is an error ("unknown key"), every value is
// type-checked, quantities carry units ("90s", "5m", "80mm/h"), and every error names the file,
// line and column where the value was written. A variant may say `extends = "base.toml"`: the
// base is loaded first and the variant's keys override it (tables merge key by key, everything
// else is replaced). Relative paths resolve against the folder of the file that wrote them.
//
// Domains (flood, traffic, power, ...) parse their own sections through SectionReader; see
// DomainInfo in sim.hpp. docs/scenario.md documents every key.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "citytwin/error.hpp"
#include "citytwin/time.hpp"

namespace citytwin {

/// Physical kinds a quantity string may have; values are returned in SI units
/// (duration in milliseconds as SimTime via duration(), everything else SI).
enum class Quantity {
  length,     ///< mm, cm, m, km -> m
  speed,      ///< m/s, km/h, mph -> m/s
  intensity,  ///< rain or loss rate: mm/h, mm/min, mm/s, m/s -> m/s
  discharge,  ///< m3/s, l/s -> m3/s
  power,      ///< W, kW, MW, GW -> W
  reactive,   ///< var, kvar, MVAr -> var
  voltage,    ///< V, kV -> V
  area,       ///< m2, km2, ha -> m2
};

/// The SI value of one `unit` ("cm" -> 0.01) of the given kind; the error lists the units.
std::expected<double, std::string> unit_factor(std::string_view unit, Quantity kind);
/// Parses "80mm/h" as a quantity of the given kind; the error text says what was expected.
std::expected<double, std::string> parse_quantity(std::string_view text, Quantity kind);
/// Parses "90s", "2h", "1h30min", "250ms", "1d" into milliseconds.
std::expected<SimTime, std::string> parse_duration(std::string_view text);
/// Parses an RFC 3339 date-time ("2026-06-01T08:00:00Z", offsets allowed) into Unix seconds;
/// the zone's offset from UTC (seconds) goes to `utc_offset_s` when given.
std::expected<std::int64_t, std::string> parse_rfc3339(std::string_view text,
                                                       int* utc_offset_s = nullptr);
/// Same, into Unix milliseconds: fractional seconds kept to the millisecond (observation times).
std::expected<std::int64_t, std::string> parse_rfc3339_ms(std::string_view text,
                                                          int* utc_offset_s = nullptr);

struct Point2 {
  double x = 0, y = 0;
};

class ScenarioDocument;

/// Typed, located access to one TOML table of a scenario. Every getter marks its key as read;
/// after parsing, any key nobody read is reported as unknown. Getters never throw: a wrong type
/// or bad value records a located Diagnostic and returns the default (or nullopt), so one load
/// reports every problem at once.
class SectionReader {
 public:
  /// Dotted name of this table, e.g. "flood" or "flood.inflow[1]".
  const std::string& name() const { return m_name; }
  bool has(std::string_view key) const;
  /// True when `key` is present and was written by a base file the scenario extends, not by the
  /// file the user named (for keys a variant must not inherit, such as output.dir).
  bool inherited(std::string_view key) const;

  std::optional<std::string> string(std::string_view key);
  std::string string_or(std::string_view key, std::string_view def);
  /// A string that must be one of `allowed`.
  std::string choice_or(std::string_view key, std::initializer_list<std::string_view> allowed,
                        std::string_view def);
  std::optional<double> number(std::string_view key);
  /// A number (integers accepted) within [lo, hi].
  double number_or(std::string_view key, double def, double lo = -1e300, double hi = 1e300);
  std::int64_t integer_or(std::string_view key, std::int64_t def, std::int64_t lo = INT64_MIN,
                          std::int64_t hi = INT64_MAX);
  bool boolean_or(std::string_view key, bool def);
  /// A quantity string with units, returned in SI; must be >= lo.
  std::optional<double> quantity(std::string_view key, Quantity kind, double lo = -1e300);
  double quantity_or(std::string_view key, Quantity kind, double def_si, double lo = -1e300);
  std::optional<SimTime> duration(std::string_view key);
  SimTime duration_or(std::string_view key, SimTime def);
  /// RFC 3339 date-time -> Unix seconds (and the zone's UTC offset, when asked).
  std::optional<std::int64_t> datetime(std::string_view key, int* utc_offset_s = nullptr);
  /// A path, resolved against the folder of the file that wrote it; the file must exist.
  std::optional<std::string> existing_file(std::string_view key);
  /// A string or an array of strings (always returned as a list).
  std::optional<std::vector<std::string>> strings(std::string_view key);
  /// One path or an array of paths, each resolved and checked like existing_file().
  std::optional<std::vector<std::string>> existing_files(std::string_view key);
  /// A path resolved like existing_file(), which need not exist (outputs).
  std::optional<std::string> path(std::string_view key);
  /// An array of numbers of the given length (any length if n < 0).
  std::optional<std::vector<double>> numbers(std::string_view key, int n = -1);
  /// A point [x, y].
  std::optional<Point2> point(std::string_view key);
  /// A point [x, y] or a line [[x, y], [x, y], ...]; always returns a list.
  std::optional<std::vector<Point2>> points(std::string_view key);
  /// A sub-table (an empty reader when absent).
  SectionReader table(std::string_view key);
  /// An array of tables ([[key]] blocks); empty when absent.
  std::vector<SectionReader> tables(std::string_view key);
  /// Every key of this table, sorted (for tables whose keys are names).
  std::vector<std::string> keys() const;

  /// Records a located error for a key this table holds (or the table itself if key is empty).
  void error(std::string_view key, std::string message, std::string found = {},
             std::string expected = {});
  /// Records an error found in another file the section names (its own file and line).
  void report(Diagnostic d);
  /// "file:line" of a key (or the table), for messages written later (events, run-time issues).
  std::string where(std::string_view key = {}) const;
  /// This table in scenario syntax, as the one table of an array `[[array]]`: the stored form of
  /// an event (a checkpoint's inbox), which reads back to the same table.
  std::string text_as(std::string_view array) const;

 private:
  friend class ScenarioDocument;
  SectionReader(ScenarioDocument* doc, const void* table, std::string name)
      : m_doc(doc), m_table(table), m_name(std::move(name)) {}
  const void* node(std::string_view key) const;
  ScenarioDocument* m_doc;
  const void* m_table;  // toml::table*, null for an absent table
  std::string m_name;
};

/// The scenario's TOML after `extends` resolution, with its error list. Owns the TOML tree.
class ScenarioDocument {
 public:
  /// Reads a scenario file and the chain of files it extends. Syntax errors, missing files and
  /// extends cycles are returned as errors.
  static Result<std::unique_ptr<ScenarioDocument>> load(const std::string& path);
  /// Parses scenario text held in memory; `path` names it in messages and anchors paths.
  static Result<std::unique_ptr<ScenarioDocument>> parse(std::string_view text,
                                                         const std::string& path);
  ~ScenarioDocument();

  SectionReader root();
  /// The merged scenario as TOML text (what /meta/scenario stores).
  std::string resolved_text() const;
  /// The file the user named.
  const std::string& path() const { return m_path; }

  void add(Diagnostic d) { m_errors.items.push_back(std::move(d)); }
  /// Adds an "unknown key" error for every key no reader asked for, then returns all errors
  /// (empty when the scenario is valid).
  Error finish();

  struct Impl;  // the TOML tree and the record of which keys were read

 private:
  friend class SectionReader;
  explicit ScenarioDocument(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> m_impl;
  std::string m_path;
  Error m_errors;
};

/// [scenario]: the run as a whole.
struct RunSpec {
  std::string name;               ///< scenario.name (default: file stem)
  SimTime duration = 3'600'000;   ///< scenario.duration
  SimTime step = 1'000;           ///< scenario.step: the coupling (macro) step
  std::int64_t start_unix_s = 0;  ///< scenario.start (RFC 3339), default 2026-01-01T00:00:00Z
  int start_utc_offset_s = 0;     ///< the zone offset written in scenario.start (local time)

  /// Local time of day (seconds in [0, 86400)) at simulated time t, in scenario.start's zone.
  double local_second_of_day(SimTime t) const;
  std::uint64_t seed = 1;  ///< scenario.seed
  int threads = 0;         ///< scenario.threads, 0 = all hardware threads
  /// Memory the run may use (bytes; `--max-memory`), 0: the machine's available memory. Models
  /// that would need more are refused before they are allocated.
  std::uint64_t max_memory = 0;
};

/// [city]: what to import and how to project it.
struct CitySpec {
  std::string osm;  ///< city.osm (.osm.pbf, .osm, .osm.gz), optional
  /// city.dem: one raster (GeoTIFF, ESRI ASCII, SRTM .hgt...) or a list of tiles mosaicked
  /// into one; optional.
  std::vector<std::string> dem;
  std::string elevation_points;  ///< city.elevation_points: OSM file with `ele` nodes
  /// city.add_buildings: a GeoJSON file of buildings added after OSM's (a new development).
  std::string add_buildings;
  std::string crs;  ///< city.crs ("EPSG:32632"); empty: UTM of the centroid
  std::optional<std::array<double, 4>> bbox;  ///< city.bbox [west, south, east, north] degrees
  /// city.margin: without a bbox, the terrain covers the OSM data's box plus this margin.
  double margin_m = 200.0;
  double terrain_resolution_m = 0;          ///< city.terrain_resolution; 0 = close to the DEM's
  double default_building_height_m = 10.0;  ///< city.default_building_height
  double level_height_m = 3.0;              ///< city.level_height
  bool fill_depressions = false;            ///< city.fill_depressions: priority-flood fill
  /// city.allow_network: let GDAL read the DEM from network file systems (/vsicurl/, URLs).
  bool allow_network = false;
};

/// [demand]: the city's synthesised population and jobs (docs/scenario.md). Residents and jobs
/// are estimated per building from its floor area; census totals, when given, scale them.
struct DemandSpec {
  double residents = 0;                ///< demand.residents: total (0: the floor-area estimate)
  double jobs = 0;                     ///< demand.jobs: total (0: the floor-area estimate)
  double floor_area_per_resident = 0;  ///< demand.floor_area_per_resident, m2 (0: default)
  double floor_area_per_job = 0;       ///< demand.floor_area_per_job, m2, every use (0: default)
};

/// [output]: where and how often results are written.
struct OutputSpec {
  /// output.dir, as written in the file the user named (never inherited through `extends`);
  /// default "out/<name>", the name that file gives in scenario.name, else its file stem.
  std::string dir;
  SimTime every = 60'000;         ///< output.every: frame interval
  SimTime flush_every = 300'000;  ///< output.flush_every: a crash loses at most this much
  int compression = 4;            ///< output.compression: deflate level 0-9
};

/// [coupling]: which cross-domain rules run and their parameters (docs/coupling.md). A rule
/// defaults to on when the [coupling] section is present and the domains it joins are.
struct CouplingSpec {
  bool enabled = false;  ///< a [coupling] section with enabled = true (the default)
  std::string where;     ///< "file:line" of the section

  /// Flood depth on a road link -> its speed and closure.
  struct FloodRoads {
    bool on = false;
    /// Depth (m) -> speed factor, piecewise linear; empty: Pregnolato et al. (2017),
    /// v(w) = 0.0009 w^2 - 0.5529 w + 86.9448 km/h (w in mm) as a cap on the speed limit.
    std::vector<std::pair<double, double>> curve;
    double close_depth_m = 0.3;   ///< closed at or above this depth
    double reopen_depth_m = 0.2;  ///< a closed link reopens below this depth (hysteresis)
  } flood_roads;

  /// Flood depth at a substation or transformer -> out of service; flooded buildings.
  struct FloodPower {
    bool on = false;
    double substation_depth_m = 1.0, transformer_depth_m = 0.3;  ///< thresholds
    bool fragility = false;  ///< lognormal fragility curves instead of thresholds
    double substation_median_m = 1.0, substation_sigma = 0.4;
    double transformer_median_m = 0.3, transformer_sigma = 0.4;
    SimTime repair = 6 * 3'600'000;  ///< back in service this long after the water recedes
    double building_depth_m = 0;     ///< > 0: buildings this deep lose supply (0: off)
  } flood_power;

  /// Dark LV bus -> signal battery -> dark signal (all-way stop).
  struct Signals {
    bool on = false;
    SimTime battery = 4 * 3'600'000;  ///< backup time; 0: no battery
  } signals;

  /// A drainage pump: removes `capacity` while its bus has power.
  struct Pump {
    std::string name;
    Point2 at;
    double capacity_m3s = 0;
    std::string where;
  };
  std::vector<Pump> pumps;
  bool pumps_on = false;  ///< the power -> pump rule (on when pumps and power exist)

  /// Arrivals -> EV charging load at the destination building.
  struct EvCharging {
    bool on = false;
    double share = 0.2;     ///< fraction of arriving cars that charge
    double power_w = 7400;  ///< charging power per car
    SimTime duration = 3'600'000;
  } ev;
};

/// What a datastream observes (docs/live.md "Datastreams").
enum class SensorKind : std::uint8_t {
  traffic_count = 0,   ///< vehicles counted at a detector over the observation's interval (veh)
  traffic_speed = 1,   ///< mean speed at a detector (speed units)
  water_depth = 2,     ///< water depth at a flood gauge (length units)
  water_level = 3,     ///< water surface elevation at a gauge (length units, the DEM's datum)
  active_power = 4,    ///< active power through a substation or feeder meter (power units)
  rain_intensity = 5,  ///< rain intensity at a rain gauge (intensity units)
  status = 6,          ///< an element's state: 1 in service (road open, breaker closed), 0 out
};
/// The kind's name as written in scenarios ("water_depth").
std::string_view sensor_kind_name(SensorKind kind);
/// The quantity its results measure; none for counts ("veh") and status (no unit).
std::optional<Quantity> sensor_kind_quantity(SensorKind kind);

/// [[sensors.datastream]]: one stream of observations of one entity (docs/live.md).
struct DatastreamSpec {
  std::string id;  ///< unique; the topic's last level and the messages' "datastream"
  SensorKind kind = SensorKind::status;
  std::string entity;        ///< what it observes: a detector, substation, road link or element id
  std::optional<Point2> at;  ///< where it stands (model CRS); gauges need it
  std::string unit;          ///< the unit its results are in ("cm", "veh", "kW"; "" for status)
  double unit_si = 1;        ///< SI value of one `unit`
  double lo = -1e300, hi = 1e300;  ///< plausible range of results, in `unit` (datastream.range)
  double radius_m = 50;  ///< datastream.radius: how far a gauge's assimilation reaches (m)
  /// datastream.period (traffic kinds): the interval a count or mean speed covers, ending at
  /// the observation's time.
  SimTime period = 60'000;
  /// datastream.reserve (traffic_count): vehicles its calibrator may insert over the run.
  std::int32_t reserve = 200;
  std::string where;  ///< "file:line", for messages
  /// Its position in LiveSpec::datastreams (set when parsed): what the domains find their
  /// sensor for it by, resolved when they compile rather than per observation.
  std::int32_t index = -1;
};

/// The index a datastream's entity gives for `prefix` ("substation:3" with "substation" -> 3);
/// nullopt when the entity has another prefix or no non-negative integer after it.
std::optional<std::int64_t> entity_index(std::string_view entity, std::string_view prefix);

/// [live]: how a running twin talks to its sensors and operators (docs/live.md). The broker's
/// credentials are never here: they come from a file or the environment.
struct LiveSpec {
  std::string twin;     ///< live.twin: topics are citytwin/<twin>/... (default: scenario.name)
  std::string broker;   ///< live.broker: mqtt://host:port or mqtts://host:port; empty: none
  std::string ca_file;  ///< live.ca_file: CA to verify an mqtts broker (default: system)
  std::string credentials_file;   ///< live.credentials_file: "username:password" on one line
  std::string client_id;          ///< live.client_id (default citytwin-<twin>): its session
  SimTime status_every = 10'000;  ///< live.status_every: simulated time between status messages
  /// live.max_ahead: an observation further ahead of the clock than this is refused ("future").
  SimTime max_ahead = 3'600'000;
  std::vector<DatastreamSpec> datastreams;  ///< [[sensors.datastream]], in file order
  /// live.gain: the share of an observation's misfit assimilation corrects, (0, 1]
  double gain = 0.5;
};

/// Base of every domain's typed section (FloodSpec, TrafficSpec, ...).
struct DomainSpec {
  virtual ~DomainSpec() = default;
};

/// Base of every event payload a domain parses.
struct EventPayload {
  virtual ~EventPayload() = default;
};

/// One timed event from the scenario's [[event]] list (or injected at run time).
struct EventSpec {
  SimTime at = 0;    ///< when it applies (ms since start)
  std::string type;  ///< "<domain>.<action>", e.g. "power.trip_branch"
  int domain = -1;   ///< index into the scenario's domain list
  std::shared_ptr<const EventPayload> payload;
  std::string where;  ///< "file:line" where it was declared, for messages
  /// The event as one `[[event]]` table in scenario syntax: what a checkpoint stores of an
  /// injected event waiting in the inbox, parsed again when it is loaded.
  std::string source;
};

/// Everything the user wrote, typed and validated.
struct ScenarioSpec {
  std::string path;           ///< the scenario file as named by the user
  std::string resolved_text;  ///< TOML after extends resolution
  RunSpec run;
  CitySpec city;
  DemandSpec demand;
  OutputSpec output;
  CouplingSpec coupling;
  LiveSpec live;
  /// One entry per domain section present, in the order of the built-in domain list.
  std::vector<std::string> domain_names;
  std::vector<std::shared_ptr<const DomainSpec>> domains;
  std::vector<EventSpec> events;  ///< sorted by (at, declaration order)

  /// The domain spec for a section name, or null.
  template <class T>
  const T* domain(std::string_view name) const {
    for (std::size_t i = 0; i < domain_names.size(); ++i)
      if (domain_names[i] == name) return dynamic_cast<const T*>(domains[i].get());
    return nullptr;
  }
};

/// How a domain plugs into scenario loading.
struct DomainInfo {
  std::string_view section;  ///< TOML table name, also the event type prefix
  /// Parses the domain's table into its typed spec (errors go to the reader).
  std::shared_ptr<const DomainSpec> (*parse)(SectionReader& section, const ScenarioSpec& core);
  /// Parses an event of this domain ("<section>.<action>"); null when the type is unknown.
  std::shared_ptr<const EventPayload> (*parse_event)(std::string_view action, SectionReader& ev);
  /// The actions parse_event knows, for messages ("breach" or "close, reopen, ...").
  std::string_view actions = {};
};

/// Loads and validates a scenario: core sections, each domain's section, and the events.
Result<ScenarioSpec> load_scenario(const std::string& path, std::span<const DomainInfo> domains);
/// Events written as in a scenario (`[[event]]` tables), for a run of `spec` already loaded:
/// what an operator, a test or a coupling injects during a run. `where` names the text in
/// messages ("operator", "drill.toml"); every problem is reported at once.
Result<std::vector<EventSpec>> parse_events(std::string_view text, const std::string& where,
                                            const ScenarioSpec& spec,
                                            std::span<const DomainInfo> domains);
/// Same, from text in memory (tests); `path` anchors relative paths and names the file.
Result<ScenarioSpec> parse_scenario(std::string_view text, const std::string& path,
                                    std::span<const DomainInfo> domains);

}  // namespace citytwin
