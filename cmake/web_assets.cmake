# The inspector page (web/): bundled with esbuild at build time, then embedded into the binary
# as a generated C++ source (walcast_web_assets), so `walcast serve` serves it at GET / without
# the source tree and without any CDN. Included from the top-level CMakeLists.txt.
#
#   web/src/*  --(node web/build.mjs)-->  <build>/web/{index.html, inspector-<hash>.js|css,
#   manifest.txt}  --(cmake -P cmake/embed_files.cmake)-->  <build>/generated/web_assets.cpp
#
# web/node_modules comes from `npm ci` in web/ (scripts/install-deps.sh, run by `make run` and
# `make test` before cmake). WALCAST_INSPECTOR=OFF builds without Node.js and serves a page
# that says how to get the real one.

option(WALCAST_INSPECTOR "Build the inspector page from web/ (needs Node.js and web/node_modules)" ON)

set(walcast_web_dir ${CMAKE_SOURCE_DIR}/web)
set(walcast_web_out ${CMAKE_BINARY_DIR}/web)
set(walcast_web_cpp ${CMAKE_BINARY_DIR}/generated/web_assets.cpp)

if(WALCAST_INSPECTOR)
  find_program(WALCAST_NODE node)
  if(NOT WALCAST_NODE)
    message(FATAL_ERROR "Node.js (node) not found: it builds the inspector page. Run "
                        "./scripts/install-deps.sh, or configure with -DWALCAST_INSPECTOR=OFF.")
  endif()
  file(GLOB walcast_web_srcs CONFIGURE_DEPENDS ${walcast_web_dir}/src/*)
  set(walcast_web_deps ${walcast_web_srcs} ${walcast_web_dir}/build.mjs
      ${walcast_web_dir}/package.json ${walcast_web_dir}/package-lock.json)
  if(EXISTS ${walcast_web_dir}/node_modules/.package-lock.json)
    list(APPEND walcast_web_deps ${walcast_web_dir}/node_modules/.package-lock.json)
  endif()
  add_custom_command(
    OUTPUT ${walcast_web_out}/manifest.txt
    COMMAND ${WALCAST_NODE} build.mjs --outdir ${walcast_web_out}
    WORKING_DIRECTORY ${walcast_web_dir}
    DEPENDS ${walcast_web_deps}
    COMMENT "Building the inspector page (esbuild, @supabase/realtime-js)"
    VERBATIM)
else()
  file(WRITE ${walcast_web_out}/index.html
    "<!doctype html><meta charset=\"utf-8\"><title>walcast</title>"
    "<p>This walcast was built without its inspector page (WALCAST_INSPECTOR=OFF). "
    "The WebSocket endpoint is <code>/socket/websocket</code>. To get the page, install Node.js "
    "(./scripts/install-deps.sh) and rebuild with -DWALCAST_INSPECTOR=ON.</p>\n")
  file(WRITE ${walcast_web_out}/manifest.txt "index.html\n")
endif()

add_custom_command(
  OUTPUT ${walcast_web_cpp}
  COMMAND ${CMAKE_COMMAND} -DDIR=${walcast_web_out} -DOUT=${walcast_web_cpp}
          -P ${CMAKE_SOURCE_DIR}/cmake/embed_files.cmake
  DEPENDS ${walcast_web_out}/manifest.txt ${CMAKE_SOURCE_DIR}/cmake/embed_files.cmake
  COMMENT "Embedding the inspector page into walcast"
  VERBATIM)

add_library(walcast_web_assets STATIC ${walcast_web_cpp})
target_include_directories(walcast_web_assets PRIVATE ${CMAKE_SOURCE_DIR}/src)
