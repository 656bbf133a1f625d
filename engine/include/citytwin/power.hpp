// Power grid: one per-unit network model, readers (MATPOWER case files), the bus admittance
// matrix, Newton-Raphson AC and DC power flow, islands and generator Q limits.
//
// Units inside Network: powers in per unit on base_mva, voltages in per unit, angles in
// radians, impedances in per unit on the branch's own base (MATPOWER convention). Readers
// convert; writers convert back (MW, MVAr, degrees) where users read them.
//
// Thread safety: a Network is plain data. A PowerFlowSolver holds per-solve scratch (the
// Jacobian and its KLU factorisation): one solver per thread; many solvers may share one
// const Network.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "citytwin/error.hpp"

namespace citytwin {
class TaskPool;
struct DomainEntry;
}  // namespace citytwin

namespace citytwin::power {

/// MATPOWER bus types (BUS_TYPE column).
enum class BusType : std::int8_t { pq = 1, pv = 2, ref = 3, isolated = 4 };

/// The per-unit network model, structure of arrays with dense int32 indices.
struct Network {
  std::string name;       ///< case name (file stem)
  double base_mva = 100;  ///< system MVA base

  // Buses (n_bus).
  std::vector<std::int64_t> bus_id;  ///< external bus number (MATPOWER BUS_I)
  std::vector<BusType> bus_type;
  std::vector<double> bus_pd, bus_qd;  ///< load, pu
  std::vector<double> bus_gs, bus_bs;  ///< shunt at V = 1 pu, pu (MW / MVAr over base)
  std::vector<double> bus_vm;          ///< voltage magnitude (start value), pu
  std::vector<double> bus_va;          ///< voltage angle (start value), rad
  std::vector<double> bus_base_kv;
  std::vector<double> bus_vmax, bus_vmin;
  std::vector<double> bus_x, bus_y;  ///< coordinates (lon/lat or metric), NaN if unknown

  // Generators (n_gen).
  std::vector<std::int32_t> gen_bus;                           ///< bus index
  std::vector<std::uint8_t> gen_on;                            ///< 1 in service
  std::vector<double> gen_pg, gen_qg;                          ///< set-point / result, pu
  std::vector<double> gen_qmax, gen_qmin, gen_pmax, gen_pmin;  ///< pu
  std::vector<double> gen_vg;                                  ///< voltage set-point, pu

  // Branches (n_branch): lines and transformers, MATPOWER pi model.
  std::vector<std::int32_t> br_from, br_to;  ///< bus indices
  std::vector<std::uint8_t> br_on;           ///< 1 in service
  std::vector<double> br_r, br_x, br_b;      ///< series impedance and total charging, pu
  std::vector<double> br_rate_a;             ///< long-term rating, pu (0 = unlimited)
  std::vector<double> br_tap;                ///< off-nominal ratio at the from side (1 if none)
  std::vector<double> br_shift;              ///< phase shift, rad

  std::int32_t n_bus() const { return static_cast<std::int32_t>(bus_id.size()); }
  std::int32_t n_gen() const { return static_cast<std::int32_t>(gen_bus.size()); }
  std::int32_t n_branch() const { return static_cast<std::int32_t>(br_from.size()); }
};

/// Reads a MATPOWER case file (format version 2; `.m` or gzip-compressed `.m.gz`). Fields
/// other than baseMVA, bus, gen and branch (gencost, bus_name, ...) are skipped and listed in
/// `ignored` when given. Errors name file:line, the field and the expected form.
Result<Network> read_matpower(const std::string& path, std::vector<std::string>* ignored = nullptr);

/// Parses MATPOWER case text already in memory; `path` only names it in errors.
Result<Network> parse_matpower(const std::string& text, const std::string& path,
                               std::vector<std::string>* ignored = nullptr);

/// Reads a pandapower JSON network (tables bus, line, trafo, load, sgen, ext_grid, switch as
/// pandas "split" DataFrames; bus "geo" points kept as bus_x/bus_y). Tables of elements it
/// does not model (gen, shunt, trafo3w, ...) must be empty, otherwise an error names them.
Result<Network> read_pandapower(const std::string& path, std::vector<std::string>* notes = nullptr);

/// Reads a MATPOWER (.m, .m.gz) or pandapower (.json) network, chosen by the file extension.
Result<Network> read_network(const std::string& path, std::vector<std::string>* notes = nullptr);

/// Connected components over in-service branches, with each island's slack and status.
struct Islands {
  std::vector<std::int32_t> bus_island;        ///< (n_bus) island index, -1 for isolated buses
  std::vector<std::int32_t> island_slack;      ///< (n_islands) slack bus index, -1 if de-energised
  std::vector<std::uint8_t> island_energised;  ///< (n_islands)
  std::vector<std::int32_t> island_size;       ///< (n_islands) number of buses
  std::int32_t n_islands() const { return static_cast<std::int32_t>(island_slack.size()); }
  std::int32_t n_deenergised() const;
};

/// Finds islands. Each island's slack is its reference bus (the first one, by index), or
/// otherwise the bus of its largest in-service generator (by Pmax); an island without an
/// in-service generator is de-energised.
Islands find_islands(const Network& net);

/// AC power-flow method.
enum class PfMethod : std::int8_t {
  newton,          ///< Newton-Raphson, polar (the reference; quadratic convergence)
  fast_decoupled,  ///< fast-decoupled XB (B' and B'' factorised once per solve)
};

/// Linear solver of the Newton steps.
enum class PfLinearSolver : std::int8_t {
  block_lu,  ///< 2x2-block LU on a fixed AMD order, no pivot search (fast; a near-singular
             ///< pivot block or a failed solve falls back to KLU)
  klu,       ///< KLU with partial pivoting in every iteration (the robust reference)
};

/// Options of one power flow.
struct PowerFlowOptions {
  PfMethod method = PfMethod::newton;
  PfLinearSolver linear_solver = PfLinearSolver::block_lu;
  int max_fd_iterations = 30;     ///< fast-decoupled iterations (MATPOWER pf.fd.max_it)
  double tolerance = 1e-8;        ///< max |mismatch|, pu (MATPOWER pf.tol)
  int max_iterations = 10;        ///< Newton iterations per solve (MATPOWER pf.nr.max_it)
  bool enforce_q_limits = false;  ///< MATPOWER pf.enforce_q_lims = 1 (all violators at once)
  int max_q_switch_rounds = 50;   ///< bound on PV->PQ switching rounds
  bool flat_start = false;        ///< start from 1 pu / 0 rad instead of the case's values
  bool warm_start = false;        ///< start from the previous solution of this solver
  /// Optional workers for one solve: a cold solve builds its symbolic factorisation while the
  /// admittances and islands are computed, and every iteration fills the Jacobian and the
  /// injections row-parallel. Results are bit-identical with and without a pool. Leave null
  /// when the solves themselves run in parallel (N-1 over contingencies).
  TaskPool* pool = nullptr;
};

/// Why a power flow failed, never silently.
enum class PfStatus : std::int8_t {
  converged,
  max_iterations,       ///< Newton did not reach the tolerance
  singular,             ///< the Jacobian was singular (KLU failed)
  diverged,             ///< a NaN or an exploding voltage
  q_limits_infeasible,  ///< every remaining PV/slack generator violates in one direction
  q_limits_rounds,      ///< switching did not settle within max_q_switch_rounds
};

/// Result of a power flow. Voltages are per bus; flows per branch; generator outputs per
/// generator (pu). De-energised buses have Vm = 0 and their branches carry no flow.
struct PowerFlowResult {
  PfStatus status = PfStatus::converged;
  bool success() const { return status == PfStatus::converged; }
  int iterations = 0;                    ///< Newton iterations, summed over Q-limit rounds
  int q_rounds = 0;                      ///< Q-limit switching rounds
  double max_mismatch = 0;               ///< final max |mismatch|, pu
  std::int32_t worst_bus = -1;           ///< bus index of the largest final mismatch
  std::vector<double> mismatch_history;  ///< max |mismatch| before each iteration, pu
  std::vector<double> bus_vm, bus_va;    ///< pu, rad
  std::vector<std::int8_t> bus_type;     ///< final types (Q limits may change them)
  std::vector<double> gen_pg, gen_qg;    ///< pu
  std::vector<double> br_pf, br_qf, br_pt, br_qt;  ///< pu, into the branch at each end
  Islands islands;
  double solve_seconds = 0;

  /// A one-paragraph explanation of a failure: the worst bus (by external id), the iteration
  /// history, and the setting to change. Empty when converged.
  std::string diagnosis(const Network& net) const;
};

/// Newton-Raphson AC power flow in polar coordinates (Tinney & Hart 1967; the formulation of
/// MATPOWER's newtonpf). The Jacobian is a matrix of 2x2 blocks on the Ybus pattern, built
/// once per solver (grown only if a bus needs equations it never had; equations a bus lacks
/// in a solve are identity rows), its values filled in place and factorised by a block LU on a
/// fixed AMD order with the symbolic factorisation reused across solves (see newton.cpp).
class PowerFlowSolver {
 public:
  explicit PowerFlowSolver(const Network& net);
  ~PowerFlowSolver();
  PowerFlowSolver(const PowerFlowSolver&) = delete;
  PowerFlowSolver& operator=(const PowerFlowSolver&) = delete;

  /// Solves the AC power flow of `net`, which must have the same buses and branches (in the
  /// same order) as the network given to the constructor; statuses, loads, set-points and
  /// impedances may differ (contingencies, time series).
  PowerFlowResult solve(const Network& net, const PowerFlowOptions& opt);

  /// Same, writing into `out` (its arrays are reused: no allocation once sized).
  void solve(const Network& net, const PowerFlowOptions& opt, PowerFlowResult& out);

  /// Sets the start point of the next solve with warm_start (e.g. the base-case solution for
  /// every contingency, so results do not depend on which contingency a worker solved last).
  void set_start(const std::vector<double>& vm, const std::vector<double>& va);

  /// Number of symbolic analyses (Jacobian pattern builds, KLU analyses) so far (tests of
  /// reuse).
  int symbolic_analyses() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> m_impl;
};

/// DC power flow (MATPOWER dcpf): lossless, |V| = 1, small angles; B' solved with KLU.
/// Q outputs are zero. Islands are solved each with its own slack.
PowerFlowResult solve_dc(const Network& net);

/// Writes bus.csv, branch.csv and gen.csv into `dir` with the columns of MATPOWER reference
/// results (MW, MVAr, degrees). `dc` leaves Q columns as computed (zero).
Result<void> write_results_csv(const Network& net, const PowerFlowResult& r,
                               const std::string& dir);

/// The `[power]` section, its events, outputs and replay (docs/scenario.md#power), for the
/// engine's domain list.
const DomainEntry& domain_entry();

}  // namespace citytwin::power
