# Whether npy_header_cases.inc is what npy_header_cases.py writes now: a
# case added to the script but not regenerated, or an edit of the .inc by
# hand, fails here. Run by ctest:
#
#   cmake -DPYTHON=... -DSCRIPT=.../npy_header_cases.py
#         -DCOMMITTED=.../npy_header_cases.inc -DOUTPUT=... -P this file
#
# The tables come from numpy's own behaviour, so another numpy than the one
# that made them may differ for good reason: then the test is skipped
# (SKIP_REGULAR_EXPRESSION "^SKIP: " in tests/CMakeLists.txt).

foreach(_var PYTHON SCRIPT COMMITTED OUTPUT)
  if(NOT DEFINED ${_var})
    message(FATAL_ERROR "npy_header_cases_test.cmake: -D${_var}=... is required")
  endif()
endforeach()

file(STRINGS ${COMMITTED} _first LIMIT_COUNT 1)
string(REGEX MATCH "with numpy ([0-9A-Za-z.+_-]+)" _ "${_first}")
set(_made_with "${CMAKE_MATCH_1}")
if(NOT _made_with)
  message(FATAL_ERROR "${COMMITTED}: no \"with numpy VERSION\" in its first line")
endif()
execute_process(COMMAND ${PYTHON} -c "import numpy; print(numpy.__version__)"
                OUTPUT_VARIABLE _numpy OUTPUT_STRIP_TRAILING_WHITESPACE
                RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${PYTHON} cannot import numpy")
endif()
if(NOT _numpy STREQUAL _made_with)
  message("SKIP: ${PYTHON} has numpy ${_numpy}; the committed tables were made with "
          "numpy ${_made_with}")
  return()
endif()

execute_process(COMMAND ${PYTHON} ${SCRIPT} OUTPUT_FILE ${OUTPUT} RESULT_VARIABLE _rc)
if(NOT _rc EQUAL 0)
  message(FATAL_ERROR "${SCRIPT} failed (exit status ${_rc})")
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -E compare_files ${COMMITTED} ${OUTPUT}
                RESULT_VARIABLE _differs)
if(_differs)
  find_program(_diff diff)
  if(_diff)
    execute_process(COMMAND ${_diff} -u ${COMMITTED} ${OUTPUT})
  endif()
  message(FATAL_ERROR "${COMMITTED} differs from what ${SCRIPT} writes (${OUTPUT}); "
                      "regenerate it: ${PYTHON} ${SCRIPT} > ${COMMITTED}")
endif()
