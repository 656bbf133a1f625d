# Every third-party package, found once. Each is linked only by the module that owns it
# (DESIGN.md: HDF5 in io, Bullet in spatial, OSG in viewer, TBB behind core/parallel).
find_package(Eigen3 3.4 REQUIRED NO_MODULE)
find_package(TBB REQUIRED)
find_package(fmt REQUIRED)
find_package(spdlog REQUIRED)
find_package(nlohmann_json 3 REQUIRED)
find_package(tomlplusplus 3 REQUIRED)
find_package(CLI11 REQUIRED)
find_package(GDAL REQUIRED)
find_package(PROJ REQUIRED CONFIG)
find_package(HDF5 REQUIRED COMPONENTS C CXX)
find_package(ZLIB REQUIRED)
find_package(EXPAT REQUIRED)
find_package(BZip2 REQUIRED)
find_package(Threads REQUIRED)
find_package(MPI REQUIRED COMPONENTS C)  # OpenMPI: batches across processes (docs/batch.md)
# libmosquitto: the live twin's broker connection (docs/live.md).
find_package(PkgConfig REQUIRED)
pkg_check_modules(MOSQUITTO REQUIRED IMPORTED_TARGET libmosquitto)

# libosmium is header-only; it needs protozero (headers) and zlib/expat/bz2 for its readers.
find_path(OSMIUM_INCLUDE_DIR osmium/osm.hpp REQUIRED)
add_library(citytwin_osmium INTERFACE)
target_include_directories(citytwin_osmium SYSTEM INTERFACE ${OSMIUM_INCLUDE_DIR})
target_link_libraries(citytwin_osmium INTERFACE ZLIB::ZLIB EXPAT::EXPAT BZip2::BZip2 Threads::Threads)

# HDF5's C++ API, as an imported target (Debian's FindHDF5 gives variables only).
add_library(citytwin_hdf5 INTERFACE)
target_include_directories(citytwin_hdf5 SYSTEM INTERFACE ${HDF5_INCLUDE_DIRS})
target_link_libraries(citytwin_hdf5 INTERFACE ${HDF5_CXX_LIBRARIES} ${HDF5_LIBRARIES})
target_compile_definitions(citytwin_hdf5 INTERFACE ${HDF5_DEFINITIONS})
