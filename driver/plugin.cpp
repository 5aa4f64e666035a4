// plugin.cpp: placeholder entry point (the driver lands in the next commit).
#include <gdal.h>

#include "pixelfuncs.h"

#define PVRT_EXPORT extern "C" __attribute__((visibility("default")))

PVRT_EXPORT void GDALRegister_PVRT()
{
    if (!GDAL_CHECK_VERSION("PVRT"))
        return;
    pvrt_pixelfuncs_register();
}

PVRT_EXPORT void GDALRegisterMe() { GDALRegister_PVRT(); }
