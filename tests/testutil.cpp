// testutil.cpp: see testutil.h.
#include "testutil.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <sys/wait.h>
#include <unistd.h>

namespace pvrt_test
{

namespace
{
std::string g_scratch;
std::once_flag g_scratch_once;

void remove_scratch()
{
    if (!g_scratch.empty() && getenv("PVRT_KEEP_SCRATCH") == nullptr)
    {
        std::string cmd = "rm -rf '" + g_scratch + "'";
        if (system(cmd.c_str()) != 0)
            fprintf(stderr, "could not remove %s\n", g_scratch.c_str());
    }
}

uint64_t mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    h *= 0xc4ceb9fe1a85ec53ULL;
    h ^= h >> 33;
    return h;
}
}  // namespace

const std::string &scratch_dir()
{
    std::call_once(g_scratch_once,
                   []
                   {
                       char tmpl[] = "/tmp/pvrt-test-XXXXXX";
                       const char *dir = mkdtemp(tmpl);
                       if (dir == nullptr)
                           abort();
                       g_scratch = dir;
                       atexit(remove_scratch);
                   });
    return g_scratch;
}

std::string scratch(const std::string &name)
{
    return scratch_dir() + "/" + name;
}

double pattern_value(GDALDataType type, int x, int y, int band, int seed)
{
    const uint64_t h = mix((uint64_t)x * 73856093ULL ^ (uint64_t)y * 19349663ULL ^
                           (uint64_t)band * 83492791ULL ^ (uint64_t)seed * 2654435761ULL);
    switch (type)
    {
        case GDT_Byte:
            return (double)(h % 256);
        case GDT_UInt16:
            return (double)(h % 65536);
        case GDT_Int16:
            return (double)(int)(h % 65536) - 32768;
        case GDT_UInt32:
            return (double)(h % 4294967296ULL);
        case GDT_Int32:
            return (double)(int64_t)(h % 4294967296ULL) - 2147483648.0;
        case GDT_Float32:
            return (double)(float)(((double)(h % 2000001) - 1000000.0) / 64.0);
        default:
            return ((double)(h % 20000001) - 10000000.0) / 1024.0;
    }
}

std::string make_tiff(const std::string &name, const RasterSpec &spec)
{
    const std::string path = scratch(name);
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    CPLStringList opts;
    if (spec.block_x > 0)
    {
        opts.AddNameValue("TILED", "YES");
        opts.AddNameValue("BLOCKXSIZE", CPLSPrintf("%d", spec.block_x));
        opts.AddNameValue("BLOCKYSIZE", CPLSPrintf("%d", spec.block_y));
    }
    else if (spec.block_y > 0)
    {
        opts.AddNameValue("BLOCKYSIZE", CPLSPrintf("%d", spec.block_y));
    }
    if (spec.compress)
        opts.AddNameValue("COMPRESS", spec.compress);
    GDALDatasetH ds = GDALCreate(drv, path.c_str(), spec.width, spec.height,
                                 spec.bands, spec.type, opts.List());
    if (ds == nullptr)
        abort();
    double gt[6] = {500000, 10, 0, 4000000, 0, -10};
    GDALSetGeoTransform(ds, gt);
    std::vector<double> row(spec.width);
    for (int b = 1; b <= spec.bands; b++)
    {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        if (spec.has_nodata)
            GDALSetRasterNoDataValue(band, spec.nodata);
        for (int y = 0; y < spec.height; y++)
        {
            for (int x = 0; x < spec.width; x++)
                row[x] = pattern_value(spec.type, x, y, b, spec.seed);
            if (GDALRasterIO(band, GF_Write, 0, y, spec.width, 1, row.data(),
                             spec.width, 1, GDT_Float64, 0, 0) != CE_None)
                abort();
        }
    }
    if (spec.overviews)
    {
        int levels[2] = {2, 4};
        if (GDALBuildOverviews(ds, "AVERAGE", 2, levels, 0, nullptr, nullptr,
                               nullptr) != CE_None)
            abort();
    }
    GDALClose(ds);
    return path;
}

std::string write_file(const std::string &name, const std::string &text)
{
    const std::string path = scratch(name);
    FILE *f = fopen(path.c_str(), "wb");
    if (f == nullptr)
        abort();
    fwrite(text.data(), 1, text.size(), f);
    fclose(f);
    return path;
}

std::string simple_source(const std::string &path, int band, int width,
                          int height)
{
    return CPLSPrintf("<SimpleSource><SourceFilename relativeToVRT=\"0\">%s"
                      "</SourceFilename><SourceBand>%d</SourceBand>"
                      "<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>"
                      "<DstRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>"
                      "</SimpleSource>",
                      path.c_str(), band, width, height, width, height);
}

GDALDatasetH open_pvrt(const std::string &path,
                       const std::vector<std::string> &open_options)
{
    CPLStringList oo;
    for (const auto &o : open_options)
        oo.AddString(o.c_str());
    return GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR,
                      nullptr, oo.List(), nullptr);
}

GDALDatasetH open_oracle(const std::string &path)
{
    const char *const allowed[] = {"VRT", nullptr};
    OracleScope scope;
    return GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_VERBOSE_ERROR,
                      allowed, nullptr, nullptr);
}

OracleScope::OracleScope()
{
    const char *prev = CPLGetThreadLocalConfigOption("PVRT_CLAIM", nullptr);
    had_previous_ = prev != nullptr;
    if (prev)
        previous_ = prev;
    CPLSetThreadLocalConfigOption("PVRT_CLAIM", "NONE");
}

OracleScope::~OracleScope()
{
    CPLSetThreadLocalConfigOption("PVRT_CLAIM",
                                  had_previous_ ? previous_.c_str() : nullptr);
}

std::string driver_name(GDALDatasetH ds)
{
    GDALDriverH drv = GDALGetDatasetDriver(ds);
    return drv ? GDALGetDriverShortName(drv) : "";
}

int run_command(const std::string &cmd, std::string *output)
{
    FILE *p = popen((cmd + " 2>&1").c_str(), "r");
    if (p == nullptr)
        return -1;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, p)) > 0)
        if (output)
            output->append(buf, n);
    const int status = pclose(p);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string python()
{
    const char *p = getenv("PVRT_PYTHON");
    return p ? p : "";
}

std::string source_dir()
{
    const char *p = getenv("PVRT_SOURCE_DIR");
    return p ? p : ".";
}

}  // namespace pvrt_test
