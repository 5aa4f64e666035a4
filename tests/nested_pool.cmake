# Nested derived VRTs closed by GDAL's source pool under its global lock
# while callers read through PVRT (issue 10): byte-identity with GDAL's VRT
# driver, a watchdog, the mechanisms from __DEBUG__ and GDAL's debug log.
# Serial: it loads every core; CI also runs it under TSan (fewer rounds).
pvrt_add_gtest(test_nested_pool SOURCES test_nested_pool.cpp
               LABELS "stress;concurrency" TIMEOUT 600 RUN_SERIAL)
