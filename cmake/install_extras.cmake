# Installed beside the binary (run by `cmake --install`, hence `make install`): the systemd unit
# with ExecStart pointing at the installed binary, and the help of every command as text (a
# man-page stand-in). WALCAST_EXE (the built binary) and WALCAST_SOURCE_DIR are set by the
# install(CODE) line before this script.
set(root "$ENV{DESTDIR}${CMAKE_INSTALL_PREFIX}")
file(READ "${WALCAST_SOURCE_DIR}/deploy/walcast.service" unit)
string(REPLACE "@WALCAST_BINDIR@" "${CMAKE_INSTALL_PREFIX}/bin" unit "${unit}")
file(WRITE "${root}/lib/systemd/system/walcast.service" "${unit}")
message(STATUS "Installing: ${root}/lib/systemd/system/walcast.service")
file(COPY "${WALCAST_SOURCE_DIR}/deploy/walcast.env.example"
     DESTINATION "${root}/share/doc/walcast")
set(help "")
foreach(cmd "" serve tail "db init" "db check" token)
  separate_arguments(args UNIX_COMMAND "${cmd} --help")
  execute_process(COMMAND "${WALCAST_EXE}" ${args} OUTPUT_VARIABLE out RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "walcast ${cmd} --help failed (${rc})")
  endif()
  string(APPEND help "==> walcast ${cmd} --help\n${out}\n")
endforeach()
file(WRITE "${root}/share/doc/walcast/walcast-help.txt" "${help}")
message(STATUS "Installing: ${root}/share/doc/walcast/walcast-help.txt")
