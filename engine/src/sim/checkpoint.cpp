// Checkpoints: a state image, the run file's mark and the run's identity in one HDF5 file,
// written atomically (write, sync, rename).
#include <fcntl.h>
#include <unistd.h>

#include <cstdio>
#include <filesystem>

#include <fmt/format.h>

#include "citytwin/io.hpp"
#include "citytwin/sim.hpp"

namespace citytwin {

namespace {

// Makes the file's bytes durable before the rename publishes it.
void sync_file(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return;
  ::fsync(fd);
  ::close(fd);
}

void write_file(const std::string& path, const Checkpoint& c) {
  auto created = RunWriter::create(path, 1);
  if (!created) throw OutputError(created.error().to_string());
  RunWriter& w = **created;
  w.attr("/meta", "checkpoint_format", Checkpoint::k_format);
  w.attr("/meta", "citytwin_version", std::string_view(CITYTWIN_VERSION));
  w.attr("/meta", "scenario_path", c.scenario_path);
  w.attr("/meta", "duration_ms", static_cast<std::int64_t>(c.duration));
  w.attr("/meta", "state_hash", hash_hex(c.state_hash));
  w.write_strings("/meta/scenario", {c.scenario_text},
                  {"", "the scenario as TOML, after extends resolution"});
  w.write_strings("/state/names", c.image.names, {"", "the state's parts, in order"});
  for (std::size_t k = 0; k < c.image.parts.size(); ++k) {
    const auto& b = c.image.parts[k];
    const std::span<const std::uint8_t> bytes(reinterpret_cast<const std::uint8_t*>(b.data()),
                                              b.size());
    const std::size_t n = bytes.size();
    w.write<std::uint8_t>("/state/" + c.image.names[k], bytes, std::span<const std::size_t>(&n, 1),
                          {"", "the part's fields in their listed order (state_io.hpp)"});
  }
  const RecorderMark& m = c.recorder;
  std::vector<std::string> paths;
  std::vector<std::uint64_t> rows;
  for (const DatasetExtent& d : m.datasets) paths.push_back(d.path), rows.push_back(d.rows);
  w.write_strings("/run_file/datasets", paths, {"", "every dataset of the run file then"});
  w.write("/run_file/rows", rows, {"", "each dataset's length along its first axis then"});
  w.attr("/run_file", "next_frame_ms", static_cast<std::int64_t>(m.next_frame));
  w.attr("/run_file", "last_frame_ms", static_cast<std::int64_t>(m.last_frame));
  w.attr("/run_file", "next_flush_ms", static_cast<std::int64_t>(m.next_flush));
  w.flush();
}

}  // namespace

Result<void> write_checkpoint(const std::string& path, const Checkpoint& c) {
  const std::string tmp = path + ".tmp";
  std::error_code ec;
  std::filesystem::remove(tmp, ec);
  try {
    write_file(tmp, c);  // closed (and so complete) when its writer goes out of scope
  } catch (const OutputError& e) {
    std::filesystem::remove(tmp, ec);
    return fail(Error::msg(std::string("cannot write the checkpoint: ") + e.what(), path));
  }
  sync_file(tmp);
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    std::filesystem::remove(tmp, ec);
    return fail(Error::msg("cannot rename the new checkpoint into place", path));
  }
  return {};
}

Result<Checkpoint> read_checkpoint(const std::string& path) {
  auto opened = RunReader::open(path);
  if (!opened) return fail(opened.error());
  const RunReader& r = **opened;
  auto format = r.attr_double("/meta", "checkpoint_format");
  if (!format)
    return fail(Error::msg("not a CityTwin checkpoint (no /meta checkpoint_format)", path));
  if (static_cast<std::int64_t>(*format) != Checkpoint::k_format)
    return fail(Error::msg(fmt::format("checkpoint format {} (this build reads format {}; resume "
                                       "with the version that wrote it)",
                                       *format, Checkpoint::k_format),
                           path));
  Checkpoint c;
  auto scenario_path = r.attr_string("/meta", "scenario_path");
  auto duration = r.attr_double("/meta", "duration_ms");
  auto hash = r.attr_string("/meta", "state_hash");
  auto text = r.read_strings("/meta/scenario");
  auto names = r.read_strings("/state/names");
  auto paths = r.read_strings("/run_file/datasets");
  auto rows = r.read_values<std::uint64_t>("/run_file/rows");
  auto next_frame = r.attr_double("/run_file", "next_frame_ms");
  auto last_frame = r.attr_double("/run_file", "last_frame_ms");
  auto next_flush = r.attr_double("/run_file", "next_flush_ms");
  if (!scenario_path || !duration || !hash || !text || text->size() != 1 || !names || !paths ||
      !rows || rows->size() != paths->size() || !next_frame || !last_frame || !next_flush)
    return fail(
        Error::msg("an incomplete checkpoint: /meta, /state/names or /run_file is missing "
                   "or inconsistent",
                   path));
  c.scenario_path = *scenario_path;
  c.scenario_text = (*text)[0];
  c.duration = static_cast<SimTime>(*duration);
  c.state_hash = std::strtoull(hash->c_str(), nullptr, 16);
  c.image.names = *names;
  for (const std::string& n : *names) {
    auto bytes = r.read_values<std::uint8_t>("/state/" + n);
    if (!bytes) return fail(Error::msg("the state part /state/" + n + " is missing", path));
    auto& part = c.image.parts.emplace_back(bytes->size());
    std::copy(bytes->begin(), bytes->end(), reinterpret_cast<std::uint8_t*>(part.data()));
  }
  for (std::size_t k = 0; k < paths->size(); ++k)
    c.recorder.datasets.push_back({(*paths)[k], (*rows)[k]});
  c.recorder.next_frame = static_cast<SimTime>(*next_frame);
  c.recorder.last_frame = static_cast<SimTime>(*last_frame);
  c.recorder.next_flush = static_cast<SimTime>(*next_flush);
  return c;
}

Result<SimState> restore_state(const Model& model, const Checkpoint& c, const std::string& where) {
  auto s = load_state(model, c.image, where);
  if (!s) return fail(s.error());
  if (const std::uint64_t h = hash_state(model, *s); h != c.state_hash)
    return fail(Error::msg(fmt::format("the restored state hashes to {}, the checkpoint says {}: "
                                       "damaged, or written by another build",
                                       hash_hex(h), hash_hex(c.state_hash)),
                           where));
  return s;
}

}  // namespace citytwin
