# Remote sources (issue 5): the PVRT driver reading VRTs over COGs served by
# tests/remote/httpserver.py on 127.0.0.1, against GDAL's VRT driver. Label
# `net`. Each test makes its data in a temporary folder, starts its own
# server with a bounded lifetime, and uses short HTTP time-outs; the whole
# label runs in about a minute. See tests/remote/test_remote.py.
if(PVRT_PYTHON)
  set(_remote_py ${CMAKE_CURRENT_SOURCE_DIR}/remote/test_remote.py)
  pvrt_add_script_test(remote_server_selftest
    COMMAND ${PVRT_PYTHON} ${CMAKE_CURRENT_SOURCE_DIR}/remote/test_httpserver.py
    LABELS net quick TIMEOUT 60)
  pvrt_add_script_test(remote_equiv
    COMMAND ${PVRT_PYTHON} ${_remote_py} equiv --lifetime 200
    LABELS net equiv TIMEOUT 180)
  pvrt_add_script_test(remote_concurrency
    COMMAND ${PVRT_PYTHON} ${_remote_py} concurrency --lifetime 200
    LABELS net TIMEOUT 180 RUN_SERIAL)
  foreach(n 1 2 8)
    pvrt_add_script_test(remote_faults_t${n}
      COMMAND ${PVRT_PYTHON} ${_remote_py} faults --threads ${n} --lifetime 200
      LABELS net badinput TIMEOUT 180)
  endforeach()
  pvrt_add_script_test(remote_tlconfig
    COMMAND ${PVRT_PYTHON} ${_remote_py} tlconfig --lifetime 200
    LABELS net TIMEOUT 180)
  pvrt_add_script_test(remote_leaks
    COMMAND ${PVRT_PYTHON} ${_remote_py} leaks --lifetime 200
    LABELS net TIMEOUT 180)
endif()
if(PVRT_PYTHON)
  pvrt_add_script_test(remote_examples
    COMMAND ${PVRT_PYTHON} ${_remote_py} examples --lifetime 200
    LABELS net e2e TIMEOUT 180)
endif()
