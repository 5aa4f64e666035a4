# What the plugin takes from its host process (driver/host.c): the CPU count
# behind ALL_CPUS (affinity, cgroup v1/v2 quotas; fixture texts and taskset),
# and that loading the plugin changes no process state while a dataset that
# needs more descriptors and pool entries raises them only as far as it
# needs (own executable with its own main: it sets the state before GDAL
# loads the plugin).
pvrt_add_gtest(test_host SOURCES test_host.cpp LIBS pvrt_core LABELS quick
               TIMEOUT 120)

add_executable(test_polite test_polite.cpp)
target_link_libraries(test_polite PRIVATE GTest::gtest GDAL::GDAL)
target_compile_definitions(test_polite PRIVATE
    PVRT_PLUGIN_DIR="${PVRT_PLUGIN_DIR}")
add_test(NAME test_polite COMMAND test_polite)
set_tests_properties(test_polite PROPERTIES ENVIRONMENT "${PVRT_TEST_ENV}"
                     TIMEOUT 120 LABELS quick)
