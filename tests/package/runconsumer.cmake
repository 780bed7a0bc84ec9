# SPDX-License-Identifier: MIT
# cmake -P script: install, configure the consumer against the staged package, build, run.
function(run)
    execute_process(COMMAND ${ARGN} RESULT_VARIABLE result)
    if(NOT result EQUAL 0)
        string(REPLACE ";" " " command "${ARGN}")
        message(FATAL_ERROR "failed (${result}): ${command}")
    endif()
endfunction()

file(REMOVE_RECURSE ${STAGE_DIR} ${CONSUMER_BUILD_DIR})
run(${CMAKE_COMMAND} --install ${QTPUSH_BUILD_DIR} --prefix ${STAGE_DIR})
set(flags "")
if(SANITIZE)
    set(flags "-fsanitize=${SANITIZE}")
endif()
run(${CMAKE_COMMAND} -S ${CONSUMER_SOURCE_DIR} -B ${CONSUMER_BUILD_DIR} -G ${GENERATOR}
    -DCMAKE_PREFIX_PATH=${STAGE_DIR} -DCMAKE_CXX_FLAGS=${flags})
run(${CMAKE_COMMAND} --build ${CONSUMER_BUILD_DIR})
run(${CONSUMER_BUILD_DIR}/qtpush-consumer)

# An installed QML module: `import QtPush` found through the import path alone. An
# instrumented plugin cannot load into the uninstrumented qmltestrunner, so a sanitizer build
# leaves this to tst_qml.
if(SANITIZE)
    message(STATUS "skipping the QML import check in a -fsanitize=${SANITIZE} build")
else()
    run(${CMAKE_COMMAND} -E env QT_QPA_PLATFORM=offscreen
        ${QMLTESTRUNNER} -import ${STAGE_DIR}/${QML_DIR} -input ${CONSUMER_SOURCE_DIR}/tst_import.qml)
endif()
