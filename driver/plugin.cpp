// plugin.cpp: the plugin's entry points and the PVRT driver's registration.
//
// GDAL looks up GDALRegister_PVRT in gdal_PVRT.so, then GDALRegisterMe;
// both are exported (the failed lookup of the first raises an error that the
// Python bindings in exception mode turn into an exception), and nothing
// else leaves the plugin. Registering twice is a no-op and registering
// changes no process state (limits, config options). Unloading the driver
// (GDALDestroyDriverManager) joins the pool and frees pixel-function caches.
#include <gdal_priv.h>

#include "shim.hpp"

extern "C" {
#include "dataset.h"
#include "pixelfuncs.h"
#include "pool.h"
#include "reopen.h"
}

#define PVRT_EXPORT extern "C" __attribute__((visibility("default")))

namespace
{

const char kOpenOptions[] =
    "<OpenOptionList>"
    "  <Option name='NUM_THREADS' type='string' default='ALL_CPUS' "
    "description='Threads computing one read, the calling thread included: "
    "an integer or ALL_CPUS (config option PVRT_NUM_THREADS)'/>"
    "  <Option name='TILE_SIZE' type='string' default='AUTO' "
    "description='AUTO (whole source blocks) or WIDTHxHEIGHT in pixels "
    "(config option PVRT_TILE_SIZE)'/>"
    "  <Option name='TILE_MEMORY_MB' type='int' default='64' "
    "description='Working memory per tile, sources included (config option "
    "PVRT_TILE_MEMORY_MB)'/>"
    "  <Option name='MIN_TILE_PIXELS' type='int' default='65536' "
    "description='Smallest tile worth scheduling: a local read splits when "
    "every thread gets two such tiles, a remote one from two; smaller reads "
    "run in the calling thread (config option PVRT_MIN_TILE_PIXELS)'/>"
    "  <Option name='CACHE_MB' type='int' default='128' "
    "description='Computed pixels kept per dataset for sequential readers "
    "and mask reads; 0: none (config option PVRT_CACHE_MB)'/>"
    "  <Option name='READ_AHEAD' type='boolean' default='YES' "
    "description='Block and row loops get the region ahead computed at "
    "once, in parallel, and approximate statistics the blocks GDAL samples "
    "for them; a reader slow between large reads "
    "(gdalwarp) gets the next one computed meanwhile (config option "
    "PVRT_READ_AHEAD)'/>"
    "  <Option name='WINDOW_GATHER' type='boolean' default='YES' "
    "description='Full-resolution windows of a derived band too small to "
    "split read their sources in parallel (config option "
    "PVRT_WINDOW_GATHER)'/>"
    "  <Option name='REUSE' type='boolean' default='YES' "
    "description='A dataset closed by the application serves its next open "
    "of the same unchanged local VRT (config option PVRT_REUSE)'/>"
    "  <Option name='ROOT_PATH' type='string' "
    "description='Passed to the VRT driver: root path of inline VRT XML'/>"
    "</OpenOptionList>";

int Identify(GDALOpenInfo *info)
{
    const int update = info->eAccess == GA_Update;
    int r = pvrt_identify(info->pszFilename,
                          reinterpret_cast<const char *>(info->pabyHeader),
                          info->nHeaderBytes, update);
    if (r == 2) {
        // The header says <VRTDataset but not yet whether a band is derived.
        info->TryToIngest(1024 * 1024);
        r = pvrt_identify(info->pszFilename,
                          reinterpret_cast<const char *>(info->pabyHeader),
                          info->nHeaderBytes, update);
    }
    return r == 1;
}

GDALDataset *Open(GDALOpenInfo *info)
{
    if (!Identify(info))
        return nullptr;
    int declined = 0;
    pvrt_dataset *h =
        pvrt_dataset_open(info->pszFilename, info->papszOpenOptions,
                          info->eAccess == GA_Update, &declined);
    if (h == nullptr)
        return nullptr;
    return pvrt_shim_new_dataset(h, info->pszFilename);
}

void Unload(GDALDriver *)
{
    pvrt_reopen_unload();
    pvrt_pool_shutdown();
    pvrt_pixelfuncs_cleanup();
}

} // namespace

PVRT_EXPORT void GDALRegister_PVRT()
{
    if (!GDAL_CHECK_VERSION("PVRT"))
        return;
    if (GDALGetDriverByName("PVRT") != nullptr)
        return;
    if (pvrt_pixelfuncs_register() != 0)
        return;
    // Nothing process-wide happens here: descriptor limits and GDAL's
    // source-pool size are raised, if at all, by the open of a dataset that
    // needs them (host.c).

    GDALDriver *driver = new GDALDriver();
    driver->SetDescription("PVRT");
    driver->SetMetadataItem(GDAL_DCAP_RASTER, "YES");
    driver->SetMetadataItem(GDAL_DMD_LONGNAME, "Parallel VRT");
    driver->SetMetadataItem(GDAL_DMD_CONNECTION_PREFIX, "PVRT:");
    driver->SetMetadataItem(GDAL_DCAP_VIRTUALIO, "YES");
    driver->SetMetadataItem(GDAL_DMD_OPENOPTIONLIST, kOpenOptions);
    driver->pfnIdentify = Identify;
    driver->pfnOpen = Open;
    driver->pfnUnloadDriver = Unload;
    GetGDALDriverManager()->RegisterDriver(driver);
}

PVRT_EXPORT void GDALRegisterMe()
{
    GDALRegister_PVRT();
}
