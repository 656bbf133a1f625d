// MPI for batches (batch_mpi.hpp): OpenMPI's C API, used from one thread at a time.
#include "cli/batch_mpi.hpp"

// The C API only: OpenMPI's deprecated C++ bindings would need libmpi_cxx.
#define OMPI_SKIP_MPICXX 1
#define MPICH_SKIP_MPICXX 1
#include <mpi.h>

#include <cstdint>
#include <cstdlib>
#include <mutex>

namespace citytwin::cli {

namespace {

// Members handed out by a counter on rank 0: MPI_Fetch_and_op under a shared passive-target
// lock is atomic across ranks. Calls from this rank's member slots are serialised here
// (MPI_THREAD_SERIALIZED).
class MpiQueue : public MemberQueue {
 public:
  explicit MpiQueue(std::vector<std::size_t> pending) : m_pending(std::move(pending)) {
    const MPI_Aint bytes = 0;
    int rank = 0;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Win_allocate(rank == 0 ? static_cast<MPI_Aint>(sizeof(std::int64_t)) : bytes,
                     sizeof(std::int64_t), MPI_INFO_NULL, MPI_COMM_WORLD, &m_base, &m_win);
    if (rank == 0) {
      MPI_Win_lock(MPI_LOCK_EXCLUSIVE, 0, 0, m_win);
      *m_base = 0;
      MPI_Win_unlock(0, m_win);
    }
    MPI_Barrier(MPI_COMM_WORLD);
  }
  ~MpiQueue() override {
    MPI_Barrier(MPI_COMM_WORLD);  // nobody still fetching
    MPI_Win_free(&m_win);
  }
  MpiQueue(const MpiQueue&) = delete;
  MpiQueue& operator=(const MpiQueue&) = delete;

  std::optional<std::size_t> next() override {
    const std::lock_guard lock(m_mutex);
    const std::int64_t one = 1;
    std::int64_t got = 0;
    MPI_Win_lock(MPI_LOCK_SHARED, 0, 0, m_win);
    MPI_Fetch_and_op(&one, &got, MPI_INT64_T, 0, 0, MPI_SUM, m_win);
    MPI_Win_unlock(0, m_win);
    if (got < 0 || static_cast<std::size_t>(got) >= m_pending.size()) return std::nullopt;
    return m_pending[static_cast<std::size_t>(got)];
  }

 private:
  std::vector<std::size_t> m_pending;
  std::mutex m_mutex;
  std::int64_t* m_base = nullptr;
  MPI_Win m_win{};
};

int env_int(const char* name, int def) {
  const char* v = std::getenv(name);
  return v ? std::atoi(v) : def;
}

}  // namespace

std::unique_ptr<MpiBatch> MpiBatch::start() {
  if (!std::getenv("OMPI_COMM_WORLD_SIZE") && !std::getenv("PMI_SIZE")) return nullptr;
  int provided = 0;
  MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided);
  auto m = std::unique_ptr<MpiBatch>(new MpiBatch());
  MPI_Comm_rank(MPI_COMM_WORLD, &m->m_rank);
  MPI_Comm_size(MPI_COMM_WORLD, &m->m_size);
  m->m_local_size = std::max(1, env_int("OMPI_COMM_WORLD_LOCAL_SIZE", 1));
  return m;
}

MpiBatch::~MpiBatch() {
  MPI_Finalize();
}

std::unique_ptr<MemberQueue> MpiBatch::queue(std::vector<std::size_t> pending) {
  return std::make_unique<MpiQueue>(std::move(pending));
}

std::vector<std::string> MpiBatch::gather(const std::string& text) {
  const int n = static_cast<int>(text.size());
  std::vector<int> sizes(static_cast<std::size_t>(m_size)), offsets(sizes.size());
  MPI_Gather(&n, 1, MPI_INT, sizes.data(), 1, MPI_INT, 0, MPI_COMM_WORLD);
  std::string all;
  if (m_rank == 0) {
    int total = 0;
    for (std::size_t r = 0; r < sizes.size(); ++r) offsets[r] = total, total += sizes[r];
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(text.data(), n, MPI_CHAR, all.data(), sizes.data(), offsets.data(), MPI_CHAR, 0,
              MPI_COMM_WORLD);
  std::vector<std::string> out;
  if (m_rank == 0)
    for (std::size_t r = 0; r < sizes.size(); ++r)
      out.push_back(
          all.substr(static_cast<std::size_t>(offsets[r]), static_cast<std::size_t>(sizes[r])));
  return out;
}

bool MpiBatch::all(bool flag) {
  int in = flag ? 1 : 0, out = 0;
  MPI_Allreduce(&in, &out, 1, MPI_INT, MPI_LAND, MPI_COMM_WORLD);
  return out != 0;
}

void MpiBatch::barrier() {
  MPI_Barrier(MPI_COMM_WORLD);
}

}  // namespace citytwin::cli
