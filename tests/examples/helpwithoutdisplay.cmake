# SPDX-License-Identifier: MIT
# cmake -P script: PROGRAM --help, with no display at all, must print its usage (naming EXPECT)
# and exit 0, as a user on a server or over ssh would ask it.
unset(ENV{DISPLAY})
unset(ENV{WAYLAND_DISPLAY})
# Where a window system would be needed, xcb without a display aborts: the offscreen platform of
# the other tests would hide that.
set(ENV{QT_QPA_PLATFORM} xcb)
execute_process(COMMAND ${PROGRAM} --help
                RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE errors)
if(NOT result EQUAL 0)
    message(FATAL_ERROR "${PROGRAM} --help without a display: exit ${result}\n${output}${errors}")
endif()
if(NOT output MATCHES "Usage: [^\n]*${NAME}")
    message(FATAL_ERROR "${PROGRAM} --help printed no usage line naming ${NAME}:\n${output}")
endif()
foreach(option IN LISTS EXPECT)
    if(NOT output MATCHES "${option}")
        message(FATAL_ERROR "${PROGRAM} --help does not list ${option}:\n${output}")
    endif()
endforeach()
message(STATUS "${PROGRAM} --help without a display: usage printed, exit 0")
