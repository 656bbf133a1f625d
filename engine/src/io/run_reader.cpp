#include <H5Cpp.h>

#include "citytwin/io.hpp"
#include "io/h5_errors.hpp"

namespace citytwin {

namespace {
template <class T>
const H5::PredType& mem_type();
template <>
const H5::PredType& mem_type<float>() {
  return H5::PredType::NATIVE_FLOAT;
}
template <>
const H5::PredType& mem_type<double>() {
  return H5::PredType::NATIVE_DOUBLE;
}
template <>
const H5::PredType& mem_type<std::uint8_t>() {
  return H5::PredType::NATIVE_UINT8;
}
template <>
const H5::PredType& mem_type<std::int32_t>() {
  return H5::PredType::NATIVE_INT32;
}
template <>
const H5::PredType& mem_type<std::int64_t>() {
  return H5::PredType::NATIVE_INT64;
}
template <>
const H5::PredType& mem_type<std::uint64_t>() {
  return H5::PredType::NATIVE_UINT64;
}
}  // namespace

struct RunReader::Impl {
  H5::H5File file;
  std::string path;
};

RunReader::RunReader(std::unique_ptr<Impl> impl) : m_impl(std::move(impl)) {}
RunReader::~RunReader() = default;

Result<std::unique_ptr<RunReader>> RunReader::open(const std::string& path) {
  quiet_hdf5_errors();
  auto impl = std::make_unique<Impl>();
  impl->path = path;
  // A file a run is writing, or one a killed run left marked open, opens only for SWMR reading.
  // Through the C API: the second try must not depend on how the first one's exception is
  // caught (in the citytwin and viewer executables the nested C++ handlers skipped it).
  hid_t id = H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT);
  if (id < 0) id = H5Fopen(path.c_str(), H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
  if (id < 0) return fail(Error::msg("cannot open as an HDF5 run file", path));
  impl->file = H5::H5File(id);  // takes a reference of its own
  H5Fclose(id);
  return std::unique_ptr<RunReader>(new RunReader(std::move(impl)));
}

bool RunReader::exists(std::string_view path) const {
  try {
    return m_impl->file.nameExists(std::string(path));
  } catch (const H5::Exception&) {
    return false;  // a missing intermediate group
  }
}

template <class T>
Result<Dataset<T>> RunReader::read(std::string_view path) const {
  const std::string p(path);
  if (!exists(p)) return fail(Error::msg("no dataset " + p, m_impl->path));
  try {
    H5::DataSet ds = m_impl->file.openDataSet(p);
    H5::DataSpace space = ds.getSpace();
    std::vector<hsize_t> dims(static_cast<std::size_t>(space.getSimpleExtentNdims()));
    space.getSimpleExtentDims(dims.data());
    Dataset<T> out;
    std::size_t n = 1;
    for (hsize_t d : dims) out.dims.push_back(d), n *= d;
    out.data.resize(n);
    if (n > 0) ds.read(out.data.data(), mem_type<T>());
    return out;
  } catch (const H5::Exception& e) {
    return fail(Error::msg("cannot read " + p + ": " + e.getDetailMsg(), m_impl->path));
  }
}

template <class T>
Result<Dataset<T>> RunReader::read_row(std::string_view path, std::size_t row) const {
  auto r = read_rows<T>(path, row, 1);
  if (r) r->dims.erase(r->dims.begin());
  return r;
}

template <class T>
Result<Dataset<T>> RunReader::read_rows(std::string_view path, std::size_t first,
                                        std::size_t count) const {
  const std::string p(path);
  if (!exists(p)) return fail(Error::msg("no dataset " + p, m_impl->path));
  try {
    H5::DataSet ds = m_impl->file.openDataSet(p);
    H5::DataSpace space = ds.getSpace();
    const int rank = space.getSimpleExtentNdims();
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    space.getSimpleExtentDims(dims.data());
    if (rank < 1 || first + count > dims[0])
      return fail(Error::msg(p + ": no rows " + std::to_string(first) + " to " +
                                 std::to_string(first + count) + " (has " +
                                 std::to_string(rank < 1 ? 0 : dims[0]) + ")",
                             m_impl->path));
    Dataset<T> out;
    out.dims.push_back(count);
    std::size_t n = count;
    for (std::size_t d = 1; d < dims.size(); ++d) out.dims.push_back(dims[d]), n *= dims[d];
    out.data.resize(n);
    if (n == 0) return out;
    std::vector<hsize_t> start(dims.size(), 0), cnt(dims);
    start[0] = first;
    cnt[0] = count;
    space.selectHyperslab(H5S_SELECT_SET, cnt.data(), start.data());
    H5::DataSpace mem(rank, cnt.data());
    ds.read(out.data.data(), mem_type<T>(), mem, space);
    return out;
  } catch (const H5::Exception& e) {
    return fail(Error::msg("cannot read " + p + ": " + e.getDetailMsg(), m_impl->path));
  }
}

Result<std::vector<std::string>> RunReader::read_strings(std::string_view path) const {
  const std::string p(path);
  if (!exists(p)) return fail(Error::msg("no dataset " + p, m_impl->path));
  try {
    H5::DataSet ds = m_impl->file.openDataSet(p);
    hsize_t n = 0;
    ds.getSpace().getSimpleExtentDims(&n);
    const H5::StrType type(H5::PredType::C_S1, H5T_VARIABLE);
    std::vector<char*> ptrs(n, nullptr);
    if (n > 0) ds.read(ptrs.data(), type);
    std::vector<std::string> out;
    for (char* s : ptrs) out.emplace_back(s ? s : "");
    H5::DataSet::vlenReclaim(ptrs.data(), type, ds.getSpace());
    return out;
  } catch (const H5::Exception& e) {
    return fail(Error::msg("cannot read strings " + p + ": " + e.getDetailMsg(), m_impl->path));
  }
}

namespace {
H5::Attribute open_attr(H5::H5File& file, const std::string& path, const std::string& name) {
  if (path != "/" && file.childObjType(path) == H5O_TYPE_DATASET)
    return file.openDataSet(path).openAttribute(name);
  return file.openGroup(path).openAttribute(name);
}
}  // namespace

Result<std::string> RunReader::attr_string(std::string_view path, std::string_view name) const {
  try {
    H5::Attribute a = open_attr(m_impl->file, std::string(path), std::string(name));
    std::string value;
    a.read(a.getStrType(), value);
    return value;
  } catch (const H5::Exception&) {
    return fail(Error::msg("no string attribute " + std::string(name) + " on " + std::string(path),
                           m_impl->path));
  }
}

Result<double> RunReader::attr_double(std::string_view path, std::string_view name) const {
  try {
    H5::Attribute a = open_attr(m_impl->file, std::string(path), std::string(name));
    double value = 0;
    a.read(H5::PredType::NATIVE_DOUBLE, &value);
    return value;
  } catch (const H5::Exception&) {
    return fail(Error::msg("no numeric attribute " + std::string(name) + " on " + std::string(path),
                           m_impl->path));
  }
}

std::vector<std::string> RunReader::list(std::string_view group) const {
  std::vector<std::string> out;
  try {
    H5::Group g = m_impl->file.openGroup(std::string(group));
    for (hsize_t i = 0; i < g.getNumObjs(); ++i) out.push_back(g.getObjnameByIdx(i));
  } catch (const H5::Exception&) {
  }
  return out;
}

template Result<Dataset<float>> RunReader::read<float>(std::string_view) const;
template Result<Dataset<double>> RunReader::read<double>(std::string_view) const;
template Result<Dataset<std::uint8_t>> RunReader::read<std::uint8_t>(std::string_view) const;
template Result<Dataset<std::int32_t>> RunReader::read<std::int32_t>(std::string_view) const;
template Result<Dataset<std::int64_t>> RunReader::read<std::int64_t>(std::string_view) const;
template Result<Dataset<std::uint64_t>> RunReader::read<std::uint64_t>(std::string_view) const;
template Result<Dataset<float>> RunReader::read_rows<float>(std::string_view, std::size_t,
                                                            std::size_t) const;
template Result<Dataset<float>> RunReader::read_row<float>(std::string_view, std::size_t) const;
template Result<Dataset<double>> RunReader::read_row<double>(std::string_view, std::size_t) const;
template Result<Dataset<std::uint8_t>> RunReader::read_row<std::uint8_t>(std::string_view,
                                                                         std::size_t) const;
template Result<Dataset<std::int64_t>> RunReader::read_row<std::int64_t>(std::string_view,
                                                                         std::size_t) const;

}  // namespace citytwin
