// testutil.cpp: see testutil.h.
#include "testutil.h"

#include <cpl_conv.h>
#include <cpl_string.h>
#include <cpl_vsi.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <sstream>
#include <thread>
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
    if (!g_scratch.empty() && getenv("PVRT_KEEP_SCRATCH") == nullptr) {
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
} // namespace

const std::string &scratch_dir()
{
    std::call_once(g_scratch_once, [] {
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
    const uint64_t h =
        mix((uint64_t)x * 73856093ULL ^ (uint64_t)y * 19349663ULL ^
            (uint64_t)band * 83492791ULL ^ (uint64_t)seed * 2654435761ULL);
    switch (type) {
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

RasterSpec tiled_spec(int width, int height, GDALDataType type)
{
    RasterSpec s;
    s.width = width;
    s.height = height;
    s.type = type;
    s.block_x = 64;
    s.block_y = 64;
    return s;
}

std::string make_tiff(const std::string &name, const RasterSpec &spec)
{
    const std::string path = scratch(name);
    GDALDriverH drv = GDALGetDriverByName("GTiff");
    CPLStringList opts;
    if (spec.block_x > 0) {
        opts.AddNameValue("TILED", "YES");
        opts.AddNameValue("BLOCKXSIZE", CPLSPrintf("%d", spec.block_x));
        opts.AddNameValue("BLOCKYSIZE", CPLSPrintf("%d", spec.block_y));
    } else if (spec.block_y > 0) {
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
    for (int b = 1; b <= spec.bands; b++) {
        GDALRasterBandH band = GDALGetRasterBand(ds, b);
        if (spec.has_nodata)
            GDALSetRasterNoDataValue(band, spec.nodata);
        for (int y = 0; y < spec.height; y++) {
            for (int x = 0; x < spec.width; x++)
                row[x] = pattern_value(spec.type, x, y, b, spec.seed);
            if (GDALRasterIO(band, GF_Write, 0, y, spec.width, 1, row.data(),
                             spec.width, 1, GDT_Float64, 0, 0) != CE_None)
                abort();
        }
    }
    if (spec.overviews) {
        int levels[2] = {2, 4};
        if (GDALBuildOverviews(ds, "AVERAGE", 2, levels, 0, nullptr, nullptr,
                               nullptr) != CE_None)
            abort();
    }
    GDALClose(ds);
    return path;
}

std::vector<std::string> tiff_sources(const std::string &prefix, int n,
                                      RasterSpec spec)
{
    std::vector<std::string> out;
    const int seed = spec.seed;
    for (int i = 0; i < n; i++) {
        spec.seed = seed + i;
        out.push_back(
            simple_source(make_tiff(prefix + std::to_string(i) + ".tif", spec),
                          1, spec.width, spec.height));
    }
    return out;
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
    return CPLSPrintf(
        "<SimpleSource><SourceFilename relativeToVRT=\"0\">%s"
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

std::string host_env()
{
    const char *e = getenv("PVRT_HOST_ENV");
    return e && *e ? std::string("env ") + e + " " : "";
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

std::string derived_band(int band, GDALDataType type, const std::string &func,
                         const std::vector<std::string> &sources,
                         const std::string &args, GDALDataType transfer,
                         const std::string &extra)
{
    std::string x = CPLSPrintf("<VRTRasterBand dataType=\"%s\" band=\"%d\" "
                               "subClass=\"VRTDerivedRasterBand\">",
                               GDALGetDataTypeName(type), band);
    x += "<PixelFunctionType>" + func + "</PixelFunctionType>";
    if (!args.empty())
        x += "<PixelFunctionArguments " + args + "/>";
    if (transfer != GDT_Unknown)
        x += std::string("<SourceTransferType>") +
             GDALGetDataTypeName(transfer) + "</SourceTransferType>";
    x += extra;
    for (const auto &src : sources)
        x += src;
    x += "</VRTRasterBand>";
    return x;
}

std::string vrt_dataset(int width, int height,
                        const std::vector<std::string> &bands)
{
    std::string x = CPLSPrintf(
        "<VRTDataset rasterXSize=\"%d\" rasterYSize=\"%d\">"
        "<GeoTransform>500000, 10, 0, 4000000, 0, -10</GeoTransform>",
        width, height);
    for (const auto &b : bands)
        x += b;
    x += "</VRTDataset>\n";
    return x;
}

int last_read_tiles(GDALDatasetH ds)
{
    const char *v = GDALGetMetadataItem(ds, "LAST_READ_TILES", "__DEBUG__");
    return v ? atoi(v) : -1;
}

std::string Read::describe() const
{
    std::ostringstream s;
    s << "window " << x << "," << y << " " << w << "x" << h;
    if (float_window)
        s << " (float " << fx << "," << fy << " " << fw << "x" << fh << ")";
    s << " buffer " << (buf_w ? buf_w : w) << "x" << (buf_h ? buf_h : h);
    if (buf_type != GDT_Unknown)
        s << " " << GDALGetDataTypeName(buf_type);
    if (bands.empty()) {
        s << " band " << band;
        if (overview >= 0)
            s << " overview " << overview;
        if (mask)
            s << " mask";
    } else {
        s << " bands";
        for (int b : bands)
            s << " " << b;
    }
    if (pixel_space || line_space || band_space)
        s << " spacing " << pixel_space << "/" << line_space << "/"
          << band_space;
    if (resample != GRIORA_NearestNeighbour)
        s << " resample " << (int)resample;
    return s.str();
}

GDALRasterBandH read_band(GDALDatasetH ds, const Read &r)
{
    GDALRasterBandH b = GDALGetRasterBand(ds, r.band);
    if (b && r.overview >= 0)
        b = GDALGetOverview(b, r.overview);
    if (b && r.mask)
        b = GDALGetMaskBand(b);
    return b;
}

GDALRasterIOExtraArg extra_arg(const Read &r)
{
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    extra.eResampleAlg = r.resample;
    if (r.float_window) {
        extra.bFloatingPointWindowValidity = TRUE;
        extra.dfXOff = r.fx;
        extra.dfYOff = r.fy;
        extra.dfXSize = r.fw;
        extra.dfYSize = r.fh;
    }
    return extra;
}

ReadResult do_read(GDALDatasetH ds, const Read &r)
{
    static const size_t kCanary = 4096;
    static const unsigned char kPoison = 0xA5;
    ReadResult out;
    const bool dataset_level = !r.bands.empty();
    GDALRasterBandH band =
        dataset_level ? GDALGetRasterBand(ds, r.bands[0]) : read_band(ds, r);
    if (band == nullptr) {
        out.error = "no such band";
        return out;
    }
    const GDALDataType type =
        r.buf_type != GDT_Unknown ? r.buf_type : GDALGetRasterDataType(band);
    const int bw = r.buf_w ? r.buf_w : r.w, bh = r.buf_h ? r.buf_h : r.h;
    const GSpacing size = GDALGetDataTypeSizeBytes(type);
    const int nb = dataset_level ? (int)r.bands.size() : 1;
    const GSpacing ps = r.pixel_space ? r.pixel_space : size;
    const GSpacing ls = r.line_space ? r.line_space : ps * bw;
    const GSpacing bs = r.band_space ? r.band_space : ls * bh;
    const size_t span =
        (size_t)((nb - 1) * bs + (bh - 1) * ls + (bw - 1) * ps + size);
    out.bytes.assign(span + 2 * kCanary, kPoison);
    void *buf = out.bytes.data() + kCanary;

    GDALRasterIOExtraArg extra = extra_arg(r);
    CPLErrorReset();
    CPLErr err;
    if (dataset_level)
        err = GDALDatasetRasterIOEx(
            ds, GF_Read, r.x, r.y, r.w, r.h, buf, bw, bh, type, nb,
            const_cast<int *>(r.bands.data()), r.pixel_space, r.line_space,
            r.band_space, &extra);
    else
        err = GDALRasterIOEx(band, GF_Read, r.x, r.y, r.w, r.h, buf, bw, bh,
                             type, r.pixel_space, r.line_space, &extra);
    out.ok = err == CE_None;
    if (!out.ok)
        out.error = CPLGetLastErrorMsg();
    return out;
}

struct Watchdog::State {
    std::mutex lock;
    std::condition_variable cv;
    bool done = false; // (guarded by lock)
    std::thread thread;
};

Watchdog::Watchdog(int seconds, std::string what) : state_(new State)
{
    State *st = state_;
    st->thread = std::thread([st, seconds, what] {
        std::unique_lock<std::mutex> lk(st->lock);
        if (st->cv.wait_for(lk, std::chrono::seconds(seconds),
                            [st] { return st->done; }))
            return;
        fprintf(stderr, "watchdog: %s did not finish in %d s; stacks:\n",
                what.c_str(), seconds);
        fflush(stderr);
        const std::string cmd =
            "gdb -p " + std::to_string(getpid()) +
            " -batch -ex 'thread apply all bt' 1>&2 2>/dev/null";
        if (system(cmd.c_str()) != 0)
            fprintf(stderr, "(gdb failed)\n");
        fflush(stderr);
        _exit(3);
    });
}

Watchdog::~Watchdog()
{
    {
        std::lock_guard<std::mutex> g(state_->lock);
        state_->done = true;
    }
    state_->cv.notify_all();
    state_->thread.join();
    delete state_;
}

} // namespace pvrt_test
