# Compile settings shared by every CityTwin target, applied per target (no global flags).
add_library(citytwin_options INTERFACE)
target_compile_features(citytwin_options INTERFACE cxx_std_23)
target_compile_options(citytwin_options INTERFACE
  -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor -Wold-style-cast -Wcast-align
  -Woverloaded-virtual -Wimplicit-fallthrough
  # The compiler must not fuse a*b+c into an FMA behind our back: results would differ by
  # build and machine, and the determinism tests compare bits.
  -ffp-contract=off
  $<$<BOOL:${CITYTWIN_WERROR}>:-Werror>)
target_compile_definitions(citytwin_options INTERFACE
  $<$<BOOL:${CITYTWIN_ASSERTS}>:CITYTWIN_ASSERTS=1>
  $<$<BOOL:${CITYTWIN_DOUBLE}>:CITYTWIN_DOUBLE=1>
  CITYTWIN_VERSION="${PROJECT_VERSION}")
# The fuzz build: every engine object carries libFuzzer's coverage hooks and the sanitizers; the
# harness executables add -fsanitize=fuzzer (tests/fuzz). clang-14 with libstdc++ 12 lacks
# std::expected, which the shim force-included here supplies (see its header).
if(CITYTWIN_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "CITYTWIN_FUZZ needs clang (libFuzzer); use the fuzz preset")
  endif()
  target_compile_options(citytwin_options INTERFACE
    -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined
    -fno-omit-frame-pointer
    "SHELL:-include ${PROJECT_SOURCE_DIR}/tests/fuzz/compat/expected_shim.hpp")
  target_link_options(citytwin_options INTERFACE -fsanitize=address,undefined)
endif()

# citytwin_private_include(TARGET MODULE): TARGET may include MODULE's private headers as
# "MODULE/x.hpp" and no other module's: its private include path holds a single link, to
# engine/src/MODULE (DESIGN.md: CMake enforces the walls between modules).
function(citytwin_private_include target module)
  set(root ${PROJECT_BINARY_DIR}/private_include/${module})
  file(MAKE_DIRECTORY ${root})
  file(CREATE_LINK ${PROJECT_SOURCE_DIR}/engine/src/${module} ${root}/${module} SYMBOLIC)
  target_include_directories(${target} PRIVATE ${root})
endfunction()

# citytwin_module(NAME SOURCES... [LINK targets...]): one static library per engine module, which
# sees the public headers (engine/include) and its own private ones.
function(citytwin_module name)
  cmake_parse_arguments(ARG "" "" "SOURCES;LINK;PRIVATE_LINK" ${ARGN})
  add_library(citytwin_${name} STATIC ${ARG_SOURCES})
  target_include_directories(citytwin_${name} PUBLIC ${PROJECT_SOURCE_DIR}/engine/include)
  citytwin_private_include(citytwin_${name} ${name})
  target_link_libraries(citytwin_${name} PUBLIC citytwin_options ${ARG_LINK} PRIVATE ${ARG_PRIVATE_LINK})
  set_target_properties(citytwin_${name} PROPERTIES POSITION_INDEPENDENT_CODE ON)
endfunction()
