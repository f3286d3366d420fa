# Builds for the checks that guard the data path (the tsan and fuzz presets, CMakePresets.json).
# Included from the top-level CMakeLists.txt after WALCAST_SANITIZE; each option changes the
# flags of the whole build directory.

option(WALCAST_TSAN "Build with ThreadSanitizer (the tsan preset)" OFF)

if(WALCAST_TSAN)
  if(WALCAST_SANITIZE)
    message(FATAL_ERROR "WALCAST_TSAN and WALCAST_SANITIZE (ASan) cannot be combined: use the "
                        "tsan preset, which turns WALCAST_SANITIZE off")
  endif()
  add_compile_options(-fsanitize=thread -fno-omit-frame-pointer)
  add_link_options(-fsanitize=thread)
endif()

# Unity build of walcast's own libraries (src/): batches of .cpp files compiled as one
# translation unit each, so the Boost/Beast/Asio headers are parsed once per batch instead of
# once per file. The tsan preset uses it to keep `make test`'s TSan build inside the CI budget.
# The tests stay one translation unit per file (CMakeLists.txt turns it off before tests/).
# Files of one library therefore must not define the same name in anonymous namespaces.
option(WALCAST_UNITY "Compile walcast's src/ libraries as unity batches (the tsan preset; make debug without a compiler launcher)" OFF)
set(WALCAST_UNITY_BATCH 12 CACHE STRING "Source files per unity batch (WALCAST_UNITY)")
if(WALCAST_UNITY)
  set(CMAKE_UNITY_BUILD ON)
  set(CMAKE_UNITY_BUILD_BATCH_SIZE ${WALCAST_UNITY_BATCH})
  # In a unity batch each .cpp is an included file, so GCC reads a class of that .cpp holding a
  # type of its anonymous namespace as a header's class doing so; true of no real header.
  add_compile_options($<$<CXX_COMPILER_ID:GNU>:-Wno-subobject-linkage>)
endif()

option(WALCAST_FUZZ "Build the libFuzzer targets of tests/fuzz (clang; the fuzz preset)" OFF)

if(WALCAST_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "WALCAST_FUZZ needs clang (libFuzzer): use the fuzz preset, which sets "
                        "CMAKE_CXX_COMPILER=clang++ (Debian packages clang, libclang-rt-14-dev)")
  endif()
  # Coverage feedback from every library; the fuzz targets also link libFuzzer's main
  # (-fsanitize=fuzzer, tests/fuzz/CMakeLists.txt).
  add_compile_options(-fsanitize=fuzzer-no-link)
endif()
