# Builds for the checks that guard the data path (the tsan preset, CMakePresets.json).
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
