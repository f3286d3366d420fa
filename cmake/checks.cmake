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
