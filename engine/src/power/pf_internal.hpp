// Steps of a power flow shared by the Newton and DC solvers (private to the power module).
#pragma once

#include <vector>

#include "citytwin/power.hpp"
#include "power/ybus.hpp"

namespace citytwin::power {

/// Bus kinds for the solver (0 de-energised or isolated, 1 PQ, 2 PV, 3 slack), from bus
/// types, in-service generators and islands (MATPOWER bustypes, per island).
void classify_buses(const Network& w, const Islands& isl, std::vector<std::int8_t>& kind);

/// Voltage magnitude at voltage-controlled buses := the set-point of their generators.
void set_voltage_setpoints(const Network& w, const std::vector<std::int8_t>& kind,
                           std::vector<double>& vm, std::vector<double>& va);

/// Complex injections S = sum(Pg + jQg of in-service generators) - (Pd + jQd), pu.
void make_sbus(const Network& w, std::vector<Complex>& sbus);

/// MATPOWER pfsoln for generators: Qg of every in-service generator from the solved
/// injection (split between generators at one bus in proportion to their Q ranges), Pg of
/// each island's slack generator. Writes into w.gen_pg / w.gen_qg.
void update_generators(Network& w, const Admittance& adm, const std::vector<std::int8_t>& kind,
                       const std::vector<Complex>& v, std::vector<Complex>& ibus,
                       const Islands& isl);

/// MATPOWER runpf Q-limit step: fixes violators at their limits (bus -> PQ, injection moved
/// into the load), moves the slack if needed. Returns the number of new violators; sets
/// `status` to q_limits_infeasible when all remaining regulators violate in one direction.
int switch_q_limited(Network& w, const std::vector<std::int8_t>& kind, const Islands& isl,
                     double violation, std::vector<std::int32_t>& limited,
                     std::vector<double>& fixed_qg, PfStatus& status);

/// Fills the result arrays: voltages (0 on de-energised buses), types, generator outputs and
/// branch flows from the final voltages.
void finish_result(const Network& w, const Admittance& adm, const std::vector<std::int8_t>& kind,
                   const std::vector<double>& vm, const std::vector<double>& va,
                   PowerFlowResult& out);

}  // namespace citytwin::power
