// HDF5 run files through HDF5's C++ API. Everything is chunked and deflate-compressed;
// series grow along their first axis. HDF5 errors become std::runtime_error with the path in
// the message (disk full, permissions): outputs that cannot be written stop the run loudly.
//
// SWMR (io.hpp): files are created in the latest format, whose superblock carries "open for
// write" flags. HDF5 drops its exclusive file lock when SWMR writing starts (readers take
// shared locks), so the writer takes a shared lock of its own while in SWMR: a second writer
// (another run, a resume) still cannot open it. Leaving SWMR reopens the file with HDF5's
// locking, or without it when followers' shared locks refuse the exclusive one (the writer's
// own shared lock kept then). A
// killed writer leaves the flags set: plain readers then refuse the file, SWMR readers open it,
// and resume() clears them (HDF5's own h5clear does the same, through the same property).
#include <H5Cpp.h>
#include <fcntl.h>
#include <fmt/format.h>
#include <sys/file.h>
#include <unistd.h>

#include <algorithm>
#include <stdexcept>
#include <unordered_map>

#include "citytwin/io.hpp"
#include "io/h5_errors.hpp"
#include "io/write_queue.hpp"

namespace citytwin {

namespace {

template <class T>
const H5::PredType& h5_type();
template <>
const H5::PredType& h5_type<float>() {
  return H5::PredType::NATIVE_FLOAT;
}
template <>
const H5::PredType& h5_type<double>() {
  return H5::PredType::NATIVE_DOUBLE;
}
template <>
const H5::PredType& h5_type<std::int8_t>() {
  return H5::PredType::NATIVE_INT8;
}
template <>
const H5::PredType& h5_type<std::uint8_t>() {
  return H5::PredType::NATIVE_UINT8;
}
template <>
const H5::PredType& h5_type<std::int32_t>() {
  return H5::PredType::NATIVE_INT32;
}
template <>
const H5::PredType& h5_type<std::uint32_t>() {
  return H5::PredType::NATIVE_UINT32;
}
template <>
const H5::PredType& h5_type<std::int64_t>() {
  return H5::PredType::NATIVE_INT64;
}
template <>
const H5::PredType& h5_type<std::uint64_t>() {
  return H5::PredType::NATIVE_UINT64;
}

std::string parent_of(std::string_view path) {
  const auto slash = path.rfind('/');
  return slash == 0 || slash == std::string_view::npos ? "/" : std::string(path.substr(0, slash));
}

// Creates every missing group on the way to (and including) `group`.
void ensure_group(H5::H5File& file, const std::string& group) {
  std::string partial;
  std::size_t pos = 1;
  while (pos <= group.size()) {
    const std::size_t next = std::min(group.find('/', pos), group.size());
    partial = group.substr(0, next);
    if (partial.size() > 1 && !file.nameExists(partial)) file.createGroup(partial);
    pos = next + 1;
  }
}

void string_attr(H5::H5Object& obj, std::string_view name, std::string_view value) {
  const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
  const std::string n(name);
  if (obj.attrExists(n)) obj.removeAttr(n);
  H5::Attribute a = obj.createAttribute(n, type, H5::DataSpace(H5S_SCALAR));
  a.write(type, std::string(value));
}

void describe(H5::DataSet& ds, const DatasetInfo& info) {
  string_attr(ds, "units", info.units);
  string_attr(ds, "description", info.description);
}

// Chunk shape: ~64k elements, whole rows where rows are small, 256x256 tiles of big rasters.
std::vector<hsize_t> chunk_shape(const std::vector<hsize_t>& dims, bool series) {
  std::vector<hsize_t> c(dims);
  std::size_t row = 1;
  for (std::size_t k = 1; k < c.size(); ++k) row *= std::max<hsize_t>(1, c[k]);
  if (series) {
    if (row > 65536) {
      c[0] = 1;
      for (std::size_t k = 1; k < c.size(); ++k)
        c[k] = std::min<hsize_t>(std::max<hsize_t>(1, c[k]), 256);
    } else {
      c[0] = std::clamp<hsize_t>(65536 / row, 1, 4096);
      for (std::size_t k = 1; k < c.size(); ++k) c[k] = std::max<hsize_t>(1, c[k]);
    }
    return c;
  }
  for (hsize_t& d : c) d = std::max<hsize_t>(1, d);
  if (c.size() == 1)
    c[0] = std::min<hsize_t>(c[0], 65536);
  else
    for (hsize_t& d : c) d = std::min<hsize_t>(d, 256);
  return c;
}

// The latest file format (what SWMR needs), with HDF5's file locking on or off.
H5::FileAccPropList latest_format(bool locking) {
  H5::FileAccPropList fapl;
  fapl.setLibverBounds(H5F_LIBVER_LATEST, H5F_LIBVER_LATEST);
  if (!locking) fapl.setFileLocking(false, true);
  return fapl;
}

// A shared flock on the run file, held while HDF5's own lock is dropped.
class SharedLock {
 public:
  SharedLock() = default;
  SharedLock(const SharedLock&) = delete;
  SharedLock& operator=(const SharedLock&) = delete;
  ~SharedLock() {
    if (m_fd >= 0) ::close(m_fd);
  }
  // Best effort: a file system without flock leaves the file unguarded, the run going on.
  void take(const std::string& path) {
    if (m_fd >= 0) return;
    m_fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    if (m_fd >= 0) (void)::flock(m_fd, LOCK_SH | LOCK_NB);
  }
  void release() {
    if (m_fd >= 0) ::close(m_fd);
    m_fd = -1;
  }

 private:
  int m_fd = -1;
};

}  // namespace

// Rows a run may queue ahead of the writer thread: a few frames of a large city.
constexpr std::size_t k_queued_bytes = std::size_t{64} << 20;

struct RunWriter::Impl {
  SharedLock lock;  // declared first: released after the file is closed
  H5::H5File file;
  int compression = 4;
  bool swmr = false;
  std::unordered_map<std::string, H5::DataSet> series;  // the writer thread's, between drains
  std::unordered_map<std::string, std::uint64_t> series_rows;  // queued rows included
  WriteQueue queue{k_queued_bytes};  // last: stopped before the file closes

  H5::DSetCreatPropList props(const std::vector<hsize_t>& dims, bool series_ds) const {
    H5::DSetCreatPropList p;
    const auto chunk = chunk_shape(dims, series_ds);
    p.setChunk(static_cast<int>(chunk.size()), chunk.data());
    if (compression > 0) {
      p.setShuffle();
      p.setDeflate(compression);
    }
    return p;
  }

  // Queues `n` rows for grow() and returns the index of the first.
  template <class T>
  std::size_t post_grow(const std::string& p, std::span<const T> data, hsize_t n,
                        std::span<const std::size_t> row_dims, const DatasetInfo& info,
                        const std::string& file_path) {
    const auto known = series_rows.find(p);
    CT_ASSERT(!swmr || known != series_rows.end(),
              "every series exists before SWMR starts (with the run's first frame)");
    std::uint64_t& count = known != series_rows.end() ? known->second : series_rows[p];
    const auto first = static_cast<std::size_t>(count);
    count += n;
    queue.post(data.size_bytes(),
               [this, p, n, file_path, v = std::vector<T>(data.begin(), data.end()),
                dims = std::vector<std::size_t>(row_dims.begin(), row_dims.end()),
                units = std::string(info.units), what = std::string(info.description)] {
                 grow(p, std::span<const T>(v), n, std::span<const std::size_t>(dims),
                      {units, what}, file_path);
               });
    return first;
  }

  // Appends `rows` rows of shape row_dims to the series at p (created on first use).
  template <class T>
  std::size_t grow(const std::string& p, std::span<const T> data, hsize_t rows,
                   std::span<const std::size_t> row_dims, const DatasetInfo& info,
                   const std::string& file_path);
};

RunWriter::RunWriter(std::unique_ptr<Impl> impl, std::string path)
    : m_impl(std::move(impl)), m_path(std::move(path)) {}
RunWriter::~RunWriter() = default;

Result<std::unique_ptr<RunWriter>> RunWriter::create(const std::string& path, int compression) {
  quiet_hdf5_errors();
  // HDF5 truncates an existing file before it locks it: a file that another process holds (a
  // run writing it, a reader following it) is refused first.
  if (const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC); fd >= 0) {
    const bool held = ::flock(fd, LOCK_EX | LOCK_NB) != 0;
    ::close(fd);
    if (held)
      return fail(Error::msg(
          "in use by another process (a run writing it, or a reader following it): not replaced",
          path));
  }
  auto impl = std::make_unique<Impl>();
  impl->compression = compression;
  try {
    impl->file =
        H5::H5File(path, H5F_ACC_TRUNC, H5::FileCreatPropList::DEFAULT, latest_format(true));
  } catch (const H5::Exception& e) {
    return fail(
        Error::msg("cannot create HDF5 file (does its folder exist and is it writable?)", path));
  }
  return std::unique_ptr<RunWriter>(new RunWriter(std::move(impl), path));
}

namespace {

// Paths of every dataset in the file, sorted.
std::vector<std::string> dataset_paths(H5::H5File& file) {
  std::vector<std::string> links;
  H5Lvisit(
      file.getId(), H5_INDEX_NAME, H5_ITER_INC,
      [](hid_t, const char* name, const H5L_info_t*, void* data) -> herr_t {
        static_cast<std::vector<std::string>*>(data)->push_back(std::string("/") + name);
        return 0;
      },
      &links);
  std::vector<std::string> out;
  for (const std::string& l : links)
    if (file.childObjType(l) == H5O_TYPE_DATASET) out.push_back(l);
  std::sort(out.begin(), out.end());
  return out;
}

std::uint64_t first_axis(const H5::DataSet& ds) {
  const H5::DataSpace sp = ds.getSpace();
  const int rank = sp.getSimpleExtentNdims();
  if (rank <= 0) return 1;
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
  sp.getSimpleExtentDims(dims.data());
  return dims[0];
}

bool is_series(const H5::DataSet& ds) {
  const H5::DataSpace sp = ds.getSpace();
  const int rank = sp.getSimpleExtentNdims();
  if (rank <= 0) return false;
  std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), maxdims(dims.size());
  sp.getSimpleExtentDims(dims.data(), maxdims.data());
  return maxdims[0] == H5S_UNLIMITED;
}

}  // namespace

std::vector<DatasetExtent> RunWriter::extents() const {
  std::vector<DatasetExtent> out;
  m_impl->queue.drain();
  try {
    for (const std::string& p : dataset_paths(m_impl->file))
      out.push_back({p, first_axis(m_impl->file.openDataSet(p))});
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 listing of " + m_path + " failed: " + hdf5_cause(e));
  }
  return out;
}

Result<std::unique_ptr<RunWriter>> RunWriter::resume(const std::string& path, int compression,
                                                     const std::vector<DatasetExtent>& keep) {
  quiet_hdf5_errors();
  auto impl = std::make_unique<Impl>();
  impl->compression = compression;
  try {
    // Clears the "open for write" flags a killed writer left; the exclusive lock taken first
    // refuses a file that a live process holds.
    const H5::FileAccPropList fapl = latest_format(true);
    hbool_t clear = 1;
    (void)H5Pset(fapl.getId(), "clear_status_flags", &clear);
    impl->file = H5::H5File(path, H5F_ACC_RDWR, H5::FileCreatPropList::DEFAULT, fapl);
  } catch (const H5::Exception& e) {
    return fail(
        Error::msg("cannot open the run file to continue it (is a run still writing "
                   "it, or a reader following it?): " +
                       hdf5_cause(e),
                   path));
  }
  try {
    std::unordered_map<std::string, std::uint64_t> rows;
    for (const DatasetExtent& k : keep) rows[k.path] = k.rows;
    const std::vector<std::string> present = dataset_paths(impl->file);
    for (const std::string& p : present)
      if (!rows.contains(p)) impl->file.unlink(p);
    for (const DatasetExtent& k : keep) {
      if (!std::binary_search(present.begin(), present.end(), k.path))
        return fail(Error::msg(
            k.path + " is missing: not the run file the checkpoint was taken with", path));
      H5::DataSet ds = impl->file.openDataSet(k.path);
      const std::uint64_t n = first_axis(ds);
      if (n < k.rows)
        return fail(Error::msg(fmt::format("{} holds {} rows, the checkpoint counted {}: not the "
                                           "run file the checkpoint was taken with",
                                           k.path, n, k.rows),
                               path));
      if (!is_series(ds)) continue;
      impl->series_rows[k.path] = k.rows;
      if (n > k.rows) {
        const H5::DataSpace sp = ds.getSpace();
        std::vector<hsize_t> dims(static_cast<std::size_t>(sp.getSimpleExtentNdims()));
        sp.getSimpleExtentDims(dims.data());
        dims[0] = k.rows;
        ds.extend(dims.data());
      }
      impl->series.emplace(k.path, ds);
    }
  } catch (const H5::Exception& e) {
    return fail(
        Error::msg("cannot cut the run file back to the checkpoint: " + hdf5_cause(e), path));
  }
  return std::unique_ptr<RunWriter>(new RunWriter(std::move(impl), path));
}

template <class T>
void RunWriter::write(std::string_view path, std::span<const T> data,
                      std::span<const std::size_t> dims, DatasetInfo info) {
  const std::string p(path);
  CT_ASSERT(!m_impl->swmr, "no dataset is created while readers follow the file (SWMR)");
  m_impl->queue.drain();
  try {
    ensure_group(m_impl->file, parent_of(p));
    std::vector<hsize_t> d(dims.begin(), dims.end());
    H5::DataSpace space(static_cast<int>(d.size()), d.data());
    std::size_t n = 1;
    for (hsize_t x : d) n *= x;
    if (n != data.size()) throw std::logic_error("dims do not match the data size");
    H5::DataSet ds =
        n == 0 ? m_impl->file.createDataSet(p, h5_type<T>(), space)
               : m_impl->file.createDataSet(p, h5_type<T>(), space, m_impl->props(d, false));
    if (n > 0) ds.write(data.data(), h5_type<T>());
    describe(ds, info);
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 write of " + p + " in " + m_path + " failed: " + hdf5_cause(e));
  }
}

void RunWriter::write_strings(std::string_view path, const std::vector<std::string>& data,
                              DatasetInfo info) {
  const std::string p(path);
  CT_ASSERT(!m_impl->swmr, "no dataset is created while readers follow the file (SWMR)");
  m_impl->queue.drain();
  try {
    ensure_group(m_impl->file, parent_of(p));
    const hsize_t n = data.size();
    H5::DataSpace space(1, &n);
    const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
    H5::DataSet ds = m_impl->file.createDataSet(p, type, space);
    std::vector<const char*> ptrs;
    for (const std::string& s : data) ptrs.push_back(s.c_str());
    if (n > 0) ds.write(ptrs.data(), type);
    describe(ds, info);
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 write of " + p + " in " + m_path + " failed: " + hdf5_cause(e));
  }
}

template <class T>
std::size_t RunWriter::Impl::grow(const std::string& p, std::span<const T> data, hsize_t rows,
                                  std::span<const std::size_t> row_dims, const DatasetInfo& info,
                                  const std::string& file_path) {
  try {
    auto it = series.find(p);
    if (it == series.end()) {
      ensure_group(file, parent_of(p));
      std::vector<hsize_t> dims{0}, maxdims{H5S_UNLIMITED};
      for (std::size_t d : row_dims) dims.push_back(d), maxdims.push_back(d);
      H5::DataSpace space(static_cast<int>(dims.size()), dims.data(), maxdims.data());
      std::vector<hsize_t> shape = dims;
      shape[0] = 1;
      H5::DataSet ds = file.createDataSet(p, h5_type<T>(), space, props(shape, true));
      describe(ds, info);
      it = series.emplace(p, ds).first;
    }
    H5::DataSet& ds = it->second;
    H5::DataSpace fspace = ds.getSpace();
    std::vector<hsize_t> dims(static_cast<std::size_t>(fspace.getSimpleExtentNdims()));
    fspace.getSimpleExtentDims(dims.data());
    std::size_t n = rows;
    for (std::size_t k = 1; k < dims.size(); ++k) n *= dims[k];
    if (n != data.size()) throw std::logic_error("row size does not match the series shape");
    const auto first = static_cast<std::size_t>(dims[0]);
    if (rows == 0) return first;
    std::vector<hsize_t> start(dims.size(), 0), count = dims;
    start[0] = dims[0];
    count[0] = rows;
    dims[0] += rows;
    ds.extend(dims.data());
    fspace = ds.getSpace();
    fspace.selectHyperslab(H5S_SELECT_SET, count.data(), start.data());
    H5::DataSpace mspace(static_cast<int>(count.size()), count.data());
    ds.write(data.data(), h5_type<T>(), mspace, fspace);
    return first;
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 append to " + p + " in " + file_path + " failed: " + hdf5_cause(e));
  }
}

template <class T>
void RunWriter::append(std::string_view path, std::span<const T> row,
                       std::span<const std::size_t> row_dims, DatasetInfo info) {
  m_impl->post_grow(std::string(path), row, 1, row_dims, info, m_path);
}

template <class T>
std::size_t RunWriter::extend(std::string_view path, std::span<const T> values, DatasetInfo info) {
  return m_impl->post_grow(std::string(path), values, values.size(), {}, info, m_path);
}

namespace {
template <class F>
void with_object(H5::H5File& file, const std::string& path, F&& f) {
  if (path != "/" && !file.nameExists(path)) ensure_group(file, path);
  if (path != "/" && file.childObjType(path) == H5O_TYPE_DATASET) {
    H5::DataSet ds = file.openDataSet(path);
    f(static_cast<H5::H5Object&>(ds));
  } else {
    H5::Group g = file.openGroup(path);
    f(static_cast<H5::H5Object&>(g));
  }
}
}  // namespace

void RunWriter::attr(std::string_view path, std::string_view name, std::string_view value) {
  CT_ASSERT(!m_impl->swmr, "no attribute is written while readers follow the file (SWMR)");
  m_impl->queue.drain();
  try {
    with_object(m_impl->file, std::string(path),
                [&](H5::H5Object& o) { string_attr(o, name, value); });
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 attribute " + std::string(name) + " on " + std::string(path) +
                      " failed: " + hdf5_cause(e));
  }
}

template <class T>
static void numeric_attr(H5::H5File& file, const std::string& path, std::string_view name,
                         T value) {
  with_object(file, path, [&](H5::H5Object& o) {
    const std::string n(name);
    if (o.attrExists(n)) o.removeAttr(n);
    H5::Attribute a = o.createAttribute(n, h5_type<T>(), H5::DataSpace(H5S_SCALAR));
    a.write(h5_type<T>(), &value);
  });
}

void RunWriter::attr(std::string_view path, std::string_view name, double value) {
  CT_ASSERT(!m_impl->swmr, "no attribute is written while readers follow the file (SWMR)");
  m_impl->queue.drain();
  try {
    numeric_attr(m_impl->file, std::string(path), name, value);
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 attribute " + std::string(name) + " failed: " + hdf5_cause(e));
  }
}

void RunWriter::attr(std::string_view path, std::string_view name, std::int64_t value) {
  CT_ASSERT(!m_impl->swmr, "no attribute is written while readers follow the file (SWMR)");
  m_impl->queue.drain();
  try {
    numeric_attr(m_impl->file, std::string(path), name, value);
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 attribute " + std::string(name) + " failed: " + hdf5_cause(e));
  }
}

void RunWriter::flush() {
  m_impl->queue.drain();
  try {
    m_impl->file.flush(H5F_SCOPE_GLOBAL);
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 flush of " + m_path + " failed: " + hdf5_cause(e));
  }
}

void RunWriter::limit_queue(std::size_t bytes) {
  m_impl->queue.set_max_bytes(bytes);
}

std::uint64_t RunWriter::queue_flush() {
  return m_impl->queue.post(0, [impl = m_impl.get(), path = m_path] {
    try {
      impl->file.flush(H5F_SCOPE_GLOBAL);
    } catch (const H5::Exception& e) {
      throw OutputError("HDF5 flush of " + path + " failed: " + hdf5_cause(e));
    }
  });
}

bool RunWriter::flushed(std::uint64_t ticket) const {
  return m_impl->queue.done() >= ticket;
}

bool RunWriter::swmr() const {
  return m_impl->swmr;
}

void RunWriter::start_swmr() {
  if (m_impl->swmr) return;
  m_impl->queue.drain();
  try {
    if (H5Fstart_swmr_write(m_impl->file.getId()) < 0)
      throw H5::FileIException("H5Fstart_swmr_write", "cannot start SWMR writing");
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 SWMR start of " + m_path + " failed: " + hdf5_cause(e));
  }
  m_impl->swmr = true;
  m_impl->lock.take(m_path);
}

void RunWriter::stop_swmr() {
  if (!m_impl->swmr) return;
  m_impl->queue.drain();
  try {
    std::vector<std::string> open;
    for (const auto& [p, ds] : m_impl->series) open.push_back(p);
    m_impl->series.clear();
    m_impl->file.close();
    // With HDF5's exclusive lock when nobody follows (a reader this process opens later then
    // shares the file: both opens lock alike); without it, and under the writer's own shared
    // lock, when followers hold theirs.
    m_impl->lock.release();
    const hid_t id = H5Fopen(m_path.c_str(), H5F_ACC_RDWR, latest_format(true).getId());
    if (id >= 0) {
      m_impl->file = H5::H5File(id);
      H5Fclose(id);
    } else {
      m_impl->file =
          H5::H5File(m_path, H5F_ACC_RDWR, H5::FileCreatPropList::DEFAULT, latest_format(false));
      m_impl->lock.take(m_path);
    }
    for (const std::string& p : open) m_impl->series.emplace(p, m_impl->file.openDataSet(p));
  } catch (const H5::Exception& e) {
    throw OutputError("HDF5 reopening of " + m_path + " after SWMR failed: " + hdf5_cause(e));
  }
  m_impl->swmr = false;
}

#define CT_INSTANTIATE(T)                                                        \
  template void RunWriter::write<T>(std::string_view, std::span<const T>,        \
                                    std::span<const std::size_t>, DatasetInfo);  \
  template void RunWriter::append<T>(std::string_view, std::span<const T>,       \
                                     std::span<const std::size_t>, DatasetInfo); \
  template std::size_t RunWriter::extend<T>(std::string_view, std::span<const T>, DatasetInfo);
CT_INSTANTIATE(float)
CT_INSTANTIATE(double)
CT_INSTANTIATE(std::int8_t)
CT_INSTANTIATE(std::uint8_t)
CT_INSTANTIATE(std::int32_t)
CT_INSTANTIATE(std::uint32_t)
CT_INSTANTIATE(std::int64_t)
CT_INSTANTIATE(std::uint64_t)
#undef CT_INSTANTIATE

}  // namespace citytwin
