// A live drill's forks (docs/live.md "Forks"): the running state saved as a checkpoint in
// <output.dir>/fork-<time>/, and `citytwin fork` started on it as a child process of this one
// (the same executable), its output in fork.log there. The twin goes on; the session asks
// which forks ended after every step, and waits for the rest when the run ends.
#include <fcntl.h>
#include <fmt/format.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <system_error>

#include "citytwin/live.hpp"
#include "cli/run_loop.hpp"

extern char** environ;

namespace citytwin::cli {

namespace {

namespace fs = std::filesystem;

class ProcessForker final : public live::Forker {
 public:
  ProcessForker(const Model& m, SimTime started_duration, RunRecorder& rec)
      : m_model(m), m_started(started_duration), m_rec(rec) {}
  ~ProcessForker() override { finished(true); }

  Result<std::string> start(const Run& run, const live::Command& cmd) override {
    const SimState& s = run.state();
    // fork-<seconds>s, then -2, -3 ... for more forks at the same time.
    const fs::path base = fs::absolute(m_model.spec.output.dir);
    fs::path dir = base / fmt::format("fork-{}s", s.t / 1000);
    for (int k = 2; fs::exists(dir); ++k) dir = base / fmt::format("fork-{}s-{}", s.t / 1000, k);
    std::error_code ec;
    fs::create_directories(dir, ec);
    if (ec)
      return fail(Error::msg(fmt::format("cannot create {}: {}", dir.string(), ec.message())));
    const std::string cp = (dir / "checkpoint.h5").string();
    if (auto w = checkpoint_run(m_model, s, m_started, m_rec, cp); !w) return fail(w.error());

    std::error_code self_ec;
    const std::string self = fs::read_symlink("/proc/self/exe", self_ec).string();
    if (self_ec)
      return fail(Error::msg("cannot find the citytwin executable: " + self_ec.message()));
    std::vector<std::string> args{self, "fork", cp, "--out", dir.string(), "--quiet"};
    if (cmd.members > 0) args.insert(args.end(), {"--members", std::to_string(cmd.members)});
    if (!cmd.until.empty()) args.insert(args.end(), {"--until", cmd.until});
    if (!cmd.vary.empty()) args.insert(args.end(), {"--vary", cmd.vary});
    std::vector<char*> argv;
    for (std::string& a : args) argv.push_back(a.data());
    argv.push_back(nullptr);
    const std::string log = (dir / "fork.log").string();
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    posix_spawn_file_actions_adddup2(&fa, 1, 2);
    pid_t pid = 0;
    const int rc = posix_spawn(&pid, self.c_str(), &fa, nullptr, argv.data(), environ);
    posix_spawn_file_actions_destroy(&fa);
    if (rc != 0)
      return fail(Error::msg(fmt::format("cannot start citytwin fork: {}", std::strerror(rc))));
    m_running.push_back({pid, cmd.id, dir.string()});
    return dir.string();
  }

  std::vector<Done> finished(bool wait) override {
    std::vector<Done> done;
    for (auto it = m_running.begin(); it != m_running.end();) {
      int status = 0;
      const pid_t r = ::waitpid(it->pid, &status, wait ? 0 : WNOHANG);
      if (r == 0) {
        ++it;
        continue;
      }
      const int code = r < 0                 ? -1
                       : WIFEXITED(status)   ? WEXITSTATUS(status)
                       : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
                                             : -1;
      done.push_back({it->id, it->dir, code});
      it = m_running.erase(it);
    }
    return done;
  }

 private:
  struct Child {
    pid_t pid;
    std::string id, dir;
  };
  const Model& m_model;
  SimTime m_started;
  RunRecorder& m_rec;
  std::vector<Child> m_running;
};

}  // namespace

std::unique_ptr<live::Forker> process_forker(const Model& m, SimTime started_duration,
                                             RunRecorder& rec) {
  return std::make_unique<ProcessForker>(m, started_duration, rec);
}

}  // namespace citytwin::cli
