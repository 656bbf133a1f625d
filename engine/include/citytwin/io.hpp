// Run output (HDF5; the only HDF5 user is engine/src/io). docs/hdf5-layout.md documents every
// dataset this writes.
//
// Datasets are chunked and deflate-compressed. Growing datasets ("series") have time as their
// first axis and are extended one row per append(). flush() makes everything written so far
// durable, so a crash loses at most what came after the last flush.
//
// append() and extend() return before their rows are compressed and written: a writer thread
// does that in call order while the run steps on (a frame of a city's rasters takes longer to
// compress than a macro step). Every other call waits for it first. An error of the writer
// thread is thrown by the next call (OutputError).
//
// Readers may follow a run while it writes (HDF5's single-writer/multiple-reader mode, SWMR):
// between start_swmr() and stop_swmr() the writer only appends to series that exist and
// flushes, and a reader that opened the file with SWMR read access sees every flushed row. SWMR
// forbids creating a dataset or an attribute, so a run creates every per-frame series with its
// first frame, then starts SWMR, and writes its end-of-run results after stop_swmr().
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

#include "citytwin/error.hpp"

namespace citytwin {

/// An output that could not be written (a full disk, an I/O error, a file removed under the
/// run). Thrown by RunWriter; the run stops, and what was flushed before stays readable.
class OutputError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// Describes a dataset for readers: its unit ("m", "m/s", "1" for dimensionless, "" for ids)
/// and one sentence of meaning. Stored as the attributes `units` and `description`.
struct DatasetInfo {
  std::string_view units;
  std::string_view description;
};

/// A dataset of a run file and its length along the first axis (rows of a series).
struct DatasetExtent {
  std::string path;
  std::uint64_t rows = 0;
};

/// Writes one run's HDF5 file. Thread safety: not thread-safe; one writer per file, used from
/// the thread that drives the simulation (observers run between steps); its own writer thread
/// never runs at the same time as the calls that use the file directly.
class RunWriter {
 public:
  /// Creates (truncates) the file in HDF5's latest format (what SWMR needs); its folder must
  /// exist.
  static Result<std::unique_ptr<RunWriter>> create(const std::string& path, int compression);
  /// Reopens a run file to continue it from a checkpoint: every dataset of `keep` is cut back
  /// to its rows, every other dataset (written after the checkpoint: later frames' series,
  /// end-of-run results) is removed. An error when a kept dataset is missing or shorter (the
  /// file is not the one the checkpoint was taken with). A file left marked open by a writer
  /// that was killed is taken over, unless another process holds it (a live run, a reader).
  static Result<std::unique_ptr<RunWriter>> resume(const std::string& path, int compression,
                                                   const std::vector<DatasetExtent>& keep);
  ~RunWriter();

  /// Every dataset in the file with its first-axis length, by path (what a checkpoint keeps).
  std::vector<DatasetExtent> extents() const;

  /// Writes a whole dataset of the given shape (dims multiply to data.size()). Intermediate
  /// groups are created as needed.
  template <class T>
  void write(std::string_view path, std::span<const T> data, std::span<const std::size_t> dims,
             DatasetInfo info);
  template <class T>
  void write(std::string_view path, const std::vector<T>& data, DatasetInfo info) {
    const std::size_t n = data.size();
    write(path, std::span<const T>(data), std::span<const std::size_t>(&n, 1), info);
  }
  /// A 1-D dataset of strings.
  void write_strings(std::string_view path, const std::vector<std::string>& data, DatasetInfo info);
  /// Appends one row to a series (created on first use with shape (0, row_dims...)).
  template <class T>
  void append(std::string_view path, std::span<const T> row, std::span<const std::size_t> row_dims,
              DatasetInfo info);
  /// Appends a scalar row to a 1-D series.
  template <class T>
  void append(std::string_view path, T value, DatasetInfo info) {
    append(path, std::span<const T>(&value, 1), std::span<const std::size_t>(), info);
  }
  /// Appends values to the end of a 1-D series (created on first use with shape (0)) and
  /// returns the index of the first: ragged per-frame data, located by per-frame offset and
  /// count series written alongside.
  template <class T>
  std::size_t extend(std::string_view path, std::span<const T> values, DatasetInfo info);
  template <class T>
  std::size_t extend(std::string_view path, const std::vector<T>& values, DatasetInfo info) {
    return extend(path, std::span<const T>(values), info);
  }
  /// Attributes on a group or dataset (created as a group if missing).
  void attr(std::string_view path, std::string_view name, std::string_view value);
  void attr(std::string_view path, std::string_view name, double value);
  void attr(std::string_view path, std::string_view name, std::int64_t value);

  /// At most `bytes` of rows queued ahead of the writer thread (default 64 MiB; one larger
  /// append still goes, alone): appending beyond that waits for the writer.
  void limit_queue(std::size_t bytes);
  /// Waits for the rows queued so far and makes everything written durable.
  void flush();
  /// Queues a flush after the rows queued so far and returns at once; its ticket is for
  /// flushed() (a run's periodic flush, which must not hold the run back).
  std::uint64_t queue_flush();
  /// Whether the flush with this ticket has completed.
  bool flushed(std::uint64_t ticket) const;
  const std::string& path() const { return m_path; }

  /// Flushes and lets readers follow the file (SWMR): until stop_swmr(), only append(),
  /// extend() and flush(); creating a dataset or an attribute is a broken invariant. The
  /// process holds a shared lock on the file meanwhile, so no second writer opens it.
  void start_swmr();
  /// Closes the file and reopens it read-write (not SWMR), so datasets and attributes can be
  /// created again. Readers still open see nothing of what is written after this. No-op when
  /// not in SWMR mode.
  void stop_swmr();
  bool swmr() const;

 private:
  struct Impl;
  RunWriter(std::unique_ptr<Impl> impl, std::string path);
  std::unique_ptr<Impl> m_impl;
  std::string m_path;
};

/// A dataset read back: values converted to T, and its shape.
template <class T>
struct Dataset {
  std::vector<T> data;
  std::vector<std::size_t> dims;
};

/// Reads a run's HDF5 file (replay, compare, tests).
class RunReader {
 public:
  /// Opens a finished file, or one a run is writing or a killed run left (SWMR read access:
  /// what was flushed when it was opened).
  static Result<std::unique_ptr<RunReader>> open(const std::string& path);
  ~RunReader();
  bool exists(std::string_view path) const;
  template <class T>
  Result<Dataset<T>> read(std::string_view path) const;
  /// The values of a dataset, flat (its shape dropped).
  template <class T>
  Result<std::vector<T>> read_values(std::string_view path) const {
    auto d = read<T>(path);
    if (!d) return std::unexpected(std::move(d.error()));
    return std::move(d->data);
  }
  /// Row `row` of the first axis of a series (one frame): dims are the remaining axes.
  template <class T>
  Result<Dataset<T>> read_row(std::string_view path, std::size_t row) const;
  /// Rows [first, first + count) of the first axis (count may be 0): dims are (count, rest...).
  template <class T>
  Result<Dataset<T>> read_rows(std::string_view path, std::size_t first, std::size_t count) const;
  Result<std::vector<std::string>> read_strings(std::string_view path) const;
  Result<std::string> attr_string(std::string_view path, std::string_view name) const;
  Result<double> attr_double(std::string_view path, std::string_view name) const;
  /// Names of the members of a group.
  std::vector<std::string> list(std::string_view group) const;

 private:
  struct Impl;
  explicit RunReader(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> m_impl;
};

struct CityModel;
/// Writes /city (terrain, buildings, roads, power, water) as docs/hdf5-layout.md describes.
void write_city(const CityModel& city, RunWriter& out);

}  // namespace citytwin
