# CPack runs this on the staged files, after CPACK_STRIP_FILES' plain strip
# and before it builds the package: it removes the .comment and .note
# sections too, as dh_strip does (lintian: binary-has-unneeded-section).
file(GLOB _npzfs_binaries "${CPACK_TEMPORARY_INSTALL_DIRECTORY}/${CPACK_PACKAGING_INSTALL_PREFIX}/bin/*")
if(NOT _npzfs_binaries)
  message(FATAL_ERROR "no binaries staged under ${CPACK_TEMPORARY_INSTALL_DIRECTORY}")
endif()
execute_process(COMMAND strip --remove-section=.comment --remove-section=.note ${_npzfs_binaries}
                COMMAND_ERROR_IS_FATAL ANY)
