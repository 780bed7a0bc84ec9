# SPDX-License-Identifier: MIT
# qtpush_public_headers(<target> <header>...): installs the headers to include/QtPush and makes
# <QtPush/header.h> resolve in the build tree through one-line forwarding headers.
function(qtpush_public_headers target)
    foreach(header IN LISTS ARGN)
        get_filename_component(name ${header} NAME)
        get_filename_component(path ${header} ABSOLUTE)
        file(CONFIGURE OUTPUT ${QTPUSH_BUILD_INCLUDE_DIR}/QtPush/${name}
             CONTENT "#include \"${path}\"\n")
        install(FILES ${header} DESTINATION ${CMAKE_INSTALL_INCLUDEDIR}/QtPush)
    endforeach()
    target_include_directories(${target} PUBLIC
        $<BUILD_INTERFACE:${QTPUSH_BUILD_INCLUDE_DIR}>
        $<INSTALL_INTERFACE:${CMAKE_INSTALL_INCLUDEDIR}>)
endfunction()
