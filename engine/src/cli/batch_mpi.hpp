// Private to cli/: a batch across processes (`mpirun -n K citytwin batch ...`, OpenMPI). Ranks
// take members from one counter on rank 0 (MPI one-sided fetch-and-add: dynamic, so a long
// member never leaves other ranks idle), run them on their own task pools, and rank 0 gathers
// every rank's rows into batch.csv.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "citytwin/batch.hpp"

namespace citytwin::cli {

class MpiBatch {
 public:
  /// Starts MPI when mpirun launched this process (OMPI_COMM_WORLD_SIZE or PMI_SIZE set);
  /// null otherwise (one process, no MPI).
  static std::unique_ptr<MpiBatch> start();
  ~MpiBatch();  // MPI_Finalize
  MpiBatch(const MpiBatch&) = delete;
  MpiBatch& operator=(const MpiBatch&) = delete;

  int rank() const { return m_rank; }
  int size() const { return m_size; }
  /// Ranks on this machine (to share its cores among them).
  int local_size() const { return m_local_size; }

  /// The members of `pending`, handed out across every rank. Collective: every rank calls it,
  /// with the same list.
  std::unique_ptr<MemberQueue> queue(std::vector<std::size_t> pending);
  /// Every rank's text, on rank 0 in rank order (empty on the others). Collective.
  std::vector<std::string> gather(const std::string& text);
  /// The logical and of every rank's flag. Collective.
  bool all(bool flag);
  void barrier();

 private:
  MpiBatch() = default;
  int m_rank = 0, m_size = 1, m_local_size = 1;
};

}  // namespace citytwin::cli
