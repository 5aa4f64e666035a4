// test_gather.cpp: downsampled reads and full-resolution windows of derived
// bands, gathered in parallel (driver/gather.c), equal GDAL's VRT driver
// byte for byte.
//
// Each source of the request is read on its own handle, then the band's
// pixel function runs in row stripes. The reads here cover random windows
// and buffer ratios (QGIS-shaped windows of the view plus one pixel, and
// floating-point windows), every resampling GDAL offers, four buffer types
// and 1, 2, 3 and 8 threads, over derived bands with and without
// SourceTransferType, NoData, ComplexSource scaling, sources with their own
// SrcRect/DstRect and a source with internal overviews; full-resolution
// windows too (buffer types, layouts, windows of one size in a row, which
// reuse the kept buffers), each source read through one handle, and
// WINDOW_GATHER=NO. Then what GDAL 3.13
// changed: the transfer type of sources of mixed types without
// SourceTransferType (a mask band and Int8 among them), NoData with GDAL's
// sum/mean and propagateNoData, builtin arguments (a function of this test
// declaring every builtin the GDAL in use knows, with positions, CRS and
// source names, also where GDAL halves the apply stripes for memory;
// GDAL's `expression` with _CENTER_X_/_CENTER_Y_ and named sources), the
// sources' bOperateInBufType, a 1:1 read of a floating-point window
// (declined on 3.13) and a missing source (failing through both). Each read
// is compared with GDAL's VRT driver (the oracle), canaries included; and
// the reads meant to be gathered must have been (the driver's CPLDebug
// message "gather: band ..." is counted on this thread), on GDAL 3.6 to
// 3.10 and 3.13; elsewhere gathering declines and the count must be 0.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <ogr_srs_api.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "testutil.h"

namespace
{

using namespace pvrt_test;

const int W = 301, H = 257;

// gather.c covers the VRTDerivedRasterBand of GDAL 3.6 to 3.10 and of 3.13;
// on other versions (3.11, 3.12, 3.14 and later) it declines: those reads
// run whole and are still compared.
constexpr bool kGathers = GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 11, 0) ||
                          (GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0) &&
                           GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 14, 0));

int if_gathered(int n)
{
    return kGathers ? n : 0;
}

// Counts this thread's "gather: band ... ->" debug messages while alive.
class GatherCounter
{
  public:
    GatherCounter()
    {
        CPLSetThreadLocalConfigOption("CPL_DEBUG", "ON");
        CPLPushErrorHandlerEx(handler, this);
    }
    ~GatherCounter()
    {
        CPLPopErrorHandler();
        CPLSetThreadLocalConfigOption("CPL_DEBUG", nullptr);
    }
    int count = 0;

  private:
    static void CPL_STDCALL handler(CPLErr cls, CPLErrorNum, const char *msg)
    {
        auto *self = static_cast<GatherCounter *>(CPLGetErrorHandlerUserData());
        if (cls == CE_Debug && strstr(msg, "gather: band") && strstr(msg, "->"))
            self->count++;
    }
};

// Reads r through PVRT, adding to *gathered the reads gather.c served.
ReadResult counted_read(GDALDatasetH pvrt, const Read &r, int *gathered)
{
    GatherCounter counter;
    ReadResult got = do_read(pvrt, r);
    *gathered += counter.count;
    return got;
}

// Sources named relative to the VRT (all files share the scratch folder)
// or by their full path.
bool g_relative = false;

std::string source(const char *kind, const std::string &path,
                   const std::string &extra)
{
    const std::string name =
        g_relative ? path.substr(path.rfind('/') + 1) : path;
    return std::string("<") + kind + "><SourceFilename relativeToVRT=\"" +
           (g_relative ? "1" : "0") + "\">" + name +
           "</SourceFilename><SourceBand>1</SourceBand>" + extra + "</" + kind +
           ">";
}

std::string make_vrt(bool relative = false)
{
    g_relative = relative;
    // Each band reads files of its own (the same rasters under other
    // names): a file two bands share is not gathered (gather.c).
    std::vector<std::string> t0, t1, t2, t3;
    for (const char *copy : {"", "b", "c"}) {
        const std::string tag = copy;
        RasterSpec s = tiled_spec(W, H, GDT_UInt16);
        s.compress = "DEFLATE";
        s.seed = 1;
        t0.push_back(make_tiff("g0" + tag + ".tif", s));
        s.seed = 2;
        s.overviews = true; // the source's own overviews serve its reads
        t1.push_back(make_tiff("g1" + tag + ".tif", s));
        s.overviews = false;
        s.seed = 3;
        s.type = GDT_Int16;
        s.has_nodata = true;
        s.nodata = 7;
        t2.push_back(make_tiff("g2" + tag + ".tif", s));
        s.seed = 4;
        s.type = GDT_Byte;
        s.width = 200;
        s.height = 150;
        s.has_nodata = false;
        t3.push_back(make_tiff("g3" + tag + ".tif", s));
    }

    const std::string full =
        CPLSPrintf("<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>"
                   "<DstRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>",
                   W, H, W, H);
    const std::string rect = "<SrcRect xOff=\"10\" yOff=\"5\" xSize=\"180\" "
                             "ySize=\"140\"/><DstRect xOff=\"40.5\" "
                             "yOff=\"30\" xSize=\"250\" ySize=\"201.25\"/>";
    const std::string scaled = full + "<NODATA>0</NODATA>"
                                      "<ScaleOffset>3</ScaleOffset>"
                                      "<ScaleRatio>0.5</ScaleRatio>";
    const std::string nd7 = full + "<NODATA>7</NODATA>";
    const std::vector<std::string> bands = {
        // builtin sum, NoData, transfer Float64, four kinds of source
        derived_band(1, GDT_Float32, "sum",
                     {source("SimpleSource", t0[0], full),
                      source("ComplexSource", t1[0], scaled),
                      source("SimpleSource", t3[0], rect),
                      source("ComplexSource", t2[0], nd7)},
                     "", GDT_Float64, "<NoDataValue>-1</NoDataValue>"),
        // no SourceTransferType: the sources come in the buffer's type
        derived_band(2, GDT_Float32, "sum",
                     {source("SimpleSource", t0[1], full),
                      source("SimpleSource", t1[1], full),
                      source("ComplexSource", t2[1], scaled)},
                     "", GDT_Unknown, "<NoDataValue>0</NoDataValue>"),
        // pvrt_expr over three sources, one with its own rectangles
        derived_band(3, GDT_Float32, "pvrt_expr",
                     {source("SimpleSource", t0[2], full),
                      source("ComplexSource", t1[2], scaled),
                      source("SimpleSource", t3[2], rect)},
                     "expr=\"a * 2 - b + c / 3\" names=\"a,b,c\"", GDT_Float32),
    };
    return write_file(relative ? "gather_rel.vrt" : "gather.vrt",
                      vrt_dataset(W, H, bands));
}

// The oracle's bytes for band read r. With packed pixels in lines wider
// than the buffer, GDAL 3.6 to 3.10's derived band clears bytes that are
// not its pixels, a GDAL bug PVRT does not reproduce whatever path a read
// takes (docs/driver.md, "Differences"; test_equiv's
// LayoutsWhereGdalZeroFillOverruns): then GDAL's pixels, read packed,
// placed at r's spacing in a buffer poisoned as do_read's, nothing else
// written.
ReadResult oracle_read(GDALDatasetH oracle, const Read &r)
{
    ReadResult want = do_read(oracle, r);
    const int size = GDALGetDataTypeSizeBytes(r.buf_type);
    const int bw = r.buf_w ? r.buf_w : r.w, bh = r.buf_h ? r.buf_h : r.h;
    const GSpacing ps = r.pixel_space ? r.pixel_space : size;
    const GSpacing ls = r.line_space ? r.line_space : ps * bw;
    if (!want.ok || ps != size || ls == ps * bw)
        return want;
    Read packed = r;
    packed.pixel_space = packed.line_space = 0;
    const ReadResult pixels = do_read(oracle, packed);
    if (!pixels.ok)
        return pixels;
    const size_t canary = 4096;
    std::fill(want.bytes.begin(), want.bytes.end(), 0xA5);
    for (int y = 0; y < bh; y++)
        memcpy(want.bytes.data() + canary + y * ls,
               pixels.bytes.data() + canary +
                   static_cast<size_t>(y) * bw * size,
               static_cast<size_t>(bw) * size);
    return want;
}

const GDALRIOResampleAlg kAlgs[] = {GRIORA_NearestNeighbour,
                                    GRIORA_Bilinear,
                                    GRIORA_Cubic,
                                    GRIORA_CubicSpline,
                                    GRIORA_Lanczos,
                                    GRIORA_Average,
                                    GRIORA_Mode,
                                    GRIORA_Gauss,
                                    GRIORA_RMS};
const GDALDataType kTypes[] = {GDT_Byte, GDT_Int16, GDT_Float32, GDT_Float64};

// The oracle. Its sources are GeoTIFFs: only its open needs the scope.
GDALDatasetH oracle_of(const std::string &vrt)
{
    OracleScope scope;
    return open_oracle(vrt);
}

// vrt through PVRT with `threads` threads and tiles small enough for the
// test rasters to gather.
GDALDatasetH pvrt_of(const std::string &vrt, int threads)
{
    return open_pvrt(vrt, {"NUM_THREADS=" + std::to_string(threads),
                           "MIN_TILE_PIXELS=4096"});
}

// A downsampled request: QGIS-shaped (a view of zoom z over bw x bh
// pixels reads its integer window plus one pixel), random, or with a
// floating-point window.
Read random_read(std::mt19937 &rng, int shape)
{
    auto uni = [&rng](int lo, int hi) {
        return std::uniform_int_distribution<int>(lo, hi)(rng);
    };
    Read r;
    r.buf_w = uni(64, 140);
    r.buf_h = uni(64, 120);
    if (shape == 0) {
        const double z = std::uniform_real_distribution<double>(1.3, 2.1)(rng);
        r.w = std::min(W, static_cast<int>(z * r.buf_w) + 1);
        r.h = std::min(H, static_cast<int>(z * r.buf_h) + 1);
    } else {
        r.w = std::min(W, uni(r.buf_w + 1, 3 * r.buf_w));
        r.h = std::min(H, uni(r.buf_h + 1, 3 * r.buf_h));
    }
    r.x = uni(0, W - r.w);
    r.y = uni(0, H - r.h);
    if (shape == 2) {
        r.float_window = true;
        r.fx = r.x + 0.37;
        r.fy = r.y + 0.81;
        r.fw = r.w - 1.2;
        r.fh = r.h - 0.9;
    }
    return r;
}

TEST(Gather, DownsampledReadsEqualGdal)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    for (int threads : {1, 2, 3, 8}) {
        GDALDatasetH pvrt = pvrt_of(vrt, threads);
        ASSERT_NE(pvrt, nullptr);
        ASSERT_EQ(driver_name(pvrt), "PVRT");
        std::mt19937 rng(threads * 7919);
        int reads = 0, gathered = 0;
        for (int band = 1; band <= 3; band++) {
            for (GDALRIOResampleAlg alg : kAlgs) {
                for (GDALDataType type : kTypes) {
                    for (int shape = 0; shape < 3; shape++) {
                        Read r = random_read(rng, shape);
                        r.band = band;
                        r.resample = alg;
                        r.buf_type = type;
                        const ReadResult want = do_read(oracle, r);
                        const ReadResult got = counted_read(pvrt, r, &gathered);
                        reads++;
                        ASSERT_TRUE(want.ok) << want.error;
                        ASSERT_TRUE(got.ok) << got.error;
                        EXPECT_TRUE(got.bytes == want.bytes)
                            << "threads " << threads << ", band " << band
                            << ", alg " << alg << ", "
                            << GDALGetDataTypeName(type) << ", "
                            << r.describe();
                    }
                }
            }
        }
        // Every read here is downsampled, of a derived band without
        // overviews, 64x64 buffer pixels or more: gathered whenever the
        // dataset has threads to spare.
        EXPECT_EQ(gathered, if_gathered(threads > 1 ? reads : 0))
            << threads << " threads";
        GDALClose(pvrt);
    }
    GDALClose(oracle);
}

// Sources relative to the VRT: the capture VRTs must find them where the
// VRT driver does.
TEST(Gather, RelativeSourcesEqualGdal)
{
    const std::string vrt = make_vrt(true);
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(pvrt, nullptr);
    std::mt19937 rng(5);
    int gathered = 0, reads = 0;
    for (int band = 1; band <= 3; band++) {
        for (int shape = 0; shape < 3; shape++) {
            Read r = random_read(rng, shape);
            r.band = band;
            r.buf_type = GDT_Float32;
            r.resample = shape == 1 ? GRIORA_Lanczos : GRIORA_NearestNeighbour;
            const ReadResult want = do_read(oracle, r);
            const ReadResult got = counted_read(pvrt, r, &gathered);
            reads++;
            ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
            EXPECT_TRUE(got.bytes == want.bytes)
                << "band " << band << ", " << r.describe();
        }
    }
    EXPECT_EQ(gathered, if_gathered(reads));
    GDALClose(pvrt);
    GDALClose(oracle);
}

// Buffers with strides: pixels apart (a band of an interleaved buffer) and
// lines wider than the buffer (GDAL 3.6 clears bytes between lines there).
TEST(Gather, StridedBuffersEqualGdal)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    GDALDatasetH pvrt = pvrt_of(vrt, 3);
    ASSERT_NE(pvrt, nullptr);
    std::mt19937 rng(17);
    int gathered = 0, reads = 0;
    for (int band = 1; band <= 3; band++) {
        for (GDALDataType type : {GDT_Int16, GDT_Float32}) {
            const int size = GDALGetDataTypeSizeBytes(type);
            for (int layout = 0; layout < 3; layout++) {
                Read r = random_read(rng, layout % 2);
                r.band = band;
                r.buf_type = type;
                r.resample = layout == 2 ? GRIORA_Average : GRIORA_Cubic;
                if (layout == 0) { // interleaved
                    r.pixel_space = 3 * size;
                    r.line_space = r.pixel_space * r.buf_w + 8 * size;
                } else { // packed pixels, wider lines
                    r.line_space = static_cast<GSpacing>(size) * r.buf_w + 40;
                }
                const ReadResult want = oracle_read(oracle, r);
                const ReadResult got = counted_read(pvrt, r, &gathered);
                reads++;
                ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
                EXPECT_TRUE(got.bytes == want.bytes)
                    << "band " << band << ", " << GDALGetDataTypeName(type)
                    << ", layout " << layout << ", " << r.describe();
            }
        }
    }
    EXPECT_EQ(gathered, if_gathered(reads));
    GDALClose(pvrt);
    GDALClose(oracle);
}

// A small buffer is not gathered and an upsampled one is; both are right.
TEST(Gather, SmallAndUpsampledReadsEqualGdal)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    Read small; // 40x30 buffer pixels: not worth a gather
    small.x = 5;
    small.y = 9;
    small.w = 120;
    small.h = 90;
    small.buf_w = 40;
    small.buf_h = 30;
    small.buf_type = GDT_Float32;
    Read up = small; // upsampled: more buffer than window
    up.w = 60;
    up.h = 50;
    up.buf_w = 130;
    up.buf_h = 100;
    up.resample = GRIORA_Bilinear;
    int gathered = 0;
    for (const Read &r : {small, up}) {
        const ReadResult want = do_read(oracle, r);
        const ReadResult got = counted_read(pvrt, r, &gathered);
        ASSERT_TRUE(want.ok && got.ok);
        EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
    }
    EXPECT_EQ(gathered, if_gathered(1))
        << "the upsampled read should be gathered, the "
           "small one not";
    GDALClose(pvrt);
    GDALClose(oracle);
}

// Two bands of one pixel-interleaved file, or files that two bands read:
// GDAL's VRT opens each file once and decodes each block once for all its
// sources; gathering would read them on handles of their own, decoding
// again (band after band, as QGIS reads RGB). Not gathered, and GDAL's
// bytes.
TEST(Gather, SharedFilesAreNotGathered)
{
    RasterSpec s = tiled_spec(W, H, GDT_UInt16);
    s.bands = 2;
    s.compress = "DEFLATE";
    s.seed = 21;
    const std::string tif = make_tiff("g_two_bands.tif", s);
    s.seed = 22;
    const std::string other = make_tiff("g_two_bands_b.tif", s);
    const std::string one_file =
        write_file("g_two_bands.vrt",
                   vrt_dataset(W, H,
                               {derived_band(1, GDT_Float32, "sum",
                                             {simple_source(tif, 1, W, H),
                                              simple_source(tif, 2, W, H)})}));
    const std::string two_bands = write_file(
        "g_shared_files.vrt",
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float32, "sum",
                                  {simple_source(tif, 1, W, H),
                                   simple_source(other, 1, W, H)}),
                     derived_band(2, GDT_Float32, "sum",
                                  {simple_source(tif, 2, W, H),
                                   simple_source(other, 2, W, H)})}));
    Read down; // downsampled
    down.w = W;
    down.h = H;
    down.buf_w = W / 3;
    down.buf_h = H / 3;
    Read window; // full resolution, too small to split
    window.x = 17;
    window.y = 11;
    window.w = window.h = 70;
    for (const std::string &vrt : {one_file, two_bands}) {
        GDALDatasetH oracle = oracle_of(vrt);
        GDALDatasetH pvrt = pvrt_of(vrt, 2);
        ASSERT_NE(oracle, nullptr);
        ASSERT_NE(pvrt, nullptr);
        int gathered = 0;
        for (int band = 1; band <= GDALGetRasterCount(pvrt); band++)
            for (Read r : {down, window, window, window}) {
                r.band = band;
                const ReadResult want = do_read(oracle, r);
                const ReadResult got = counted_read(pvrt, r, &gathered);
                ASSERT_TRUE(want.ok && got.ok);
                EXPECT_TRUE(got.bytes == want.bytes) << vrt << r.describe();
            }
        EXPECT_EQ(gathered, 0) << vrt;
        GDALClose(pvrt);
        GDALClose(oracle);
    }
}

// A dataset-level read of one band (gdal_translate -outsize reads so) is
// that band's read: gathered too, and GDAL's bytes.
TEST(Gather, DatasetLevelReadOfOneBand)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    int gathered = 0, reads = 0;
    for (GDALRIOResampleAlg alg : {GRIORA_NearestNeighbour, GRIORA_Average}) {
        Read r;
        r.bands = {1};
        r.x = 3;
        r.y = 2;
        r.w = W - 7;
        r.h = H - 5;
        r.buf_w = (W - 7) / 3;
        r.buf_h = (H - 5) / 3;
        r.buf_type = GDT_Float32;
        r.resample = alg;
        const ReadResult want = do_read(oracle, r);
        const ReadResult got = counted_read(pvrt, r, &gathered);
        reads++;
        ASSERT_TRUE(want.ok && got.ok);
        EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
    }
    EXPECT_EQ(gathered, if_gathered(reads));
    GDALClose(pvrt);
    GDALClose(oracle);
}

// ---- Full-resolution windows
// -------------------------------------------------

// A full-resolution window too small to split (random windows, a tile
// server's tiles) is gathered too, each source through the same handle
// every time. This VRT's reads never split (a source lies at a fractional
// offset), so every window of MIN_TILE_PIXELS or more is gathered, on GDAL
// 3.6 to 3.10 (3.13 declines 1:1 reads: see OneToOneFloatingWindow).
constexpr bool kGathersWindows =
    GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 11, 0);

// With 8 threads, the handles full-resolution gathering keeps open (one per
// source, 8 apply VRTs) and the clones' (8 x 10 sources) would outgrow
// GDAL's source pool of 100, which would then close and reopen them with
// cold caches: the windows run on the primary.
bool windows_gathered(int threads)
{
    return kGathersWindows && threads > 1 && threads < 8;
}

Read random_window(std::mt19937 &rng, int w, int h)
{
    Read r;
    r.w = w;
    r.h = h;
    r.buf_w = w;
    r.buf_h = h;
    r.x = std::uniform_int_distribution<int>(0, W - w)(rng);
    r.y = std::uniform_int_distribution<int>(0, H - h)(rng);
    return r;
}

// Random windows, buffer types and layouts (packed, interleaved, wider
// lines), then windows of one size at random places: those reuse the
// buffers and apply VRT of the read before, which must read what the new
// window gathered.
TEST(Gather, FullResolutionWindowsEqualGdal)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    for (int threads : {1, 2, 3, 8}) {
        GDALDatasetH pvrt = pvrt_of(vrt, threads);
        ASSERT_NE(pvrt, nullptr);
        std::mt19937 rng(threads * 31);
        auto uni = [&rng](int lo, int hi) {
            return std::uniform_int_distribution<int>(lo, hi)(rng);
        };
        int reads = 0, gathered = 0;
        for (int band = 1; band <= 3; band++) {
            std::vector<Read> windows;
            // Packed pixels in wider lines: GDAL's pixels, nothing else
            // written, gathered or not (oracle_read).
            const int layouts = 3;
            for (GDALDataType type : kTypes)
                for (int layout = 0; layout < layouts; layout++) {
                    Read r = random_window(rng, uni(64, 200), uni(64, 180));
                    r.buf_type = type;
                    const int size = GDALGetDataTypeSizeBytes(type);
                    if (layout == 1) { // interleaved
                        r.pixel_space = 2 * size;
                        r.line_space = r.pixel_space * r.buf_w + 4 * size;
                    } else if (layout == 2) { // packed pixels, wider lines
                        r.line_space =
                            static_cast<GSpacing>(size) * r.buf_w + 24;
                    }
                    windows.push_back(r);
                }
            for (int k = 0; k < 6; k++) {
                Read r = random_window(rng, 128, 96);
                r.buf_type = GDT_Float32;
                windows.push_back(r);
            }
            for (Read &r : windows) {
                r.band = band;
                const ReadResult want = oracle_read(oracle, r);
                const ReadResult got = counted_read(pvrt, r, &gathered);
                reads++;
                ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
                EXPECT_TRUE(got.bytes == want.bytes)
                    << "threads " << threads << ", band " << band << ", "
                    << GDALGetDataTypeName(r.buf_type) << ", " << r.describe();
            }
        }
        // All but the first window the dataset read.
        EXPECT_EQ(gathered, windows_gathered(threads) ? reads - 1 : 0)
            << threads << " threads";
        GDALClose(pvrt);
    }
    GDALClose(oracle);
}

// Each source of a band is read through one handle, whichever thread reads
// it, so its blocks are decoded once (as on GDAL's one VRT handle), not
// once per thread; and WINDOW_GATHER=NO reads windows on the primary.
TEST(Gather, WindowsReadEachSourceThroughOneHandle)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    for (const char *option : {"YES", "NO"}) {
        GDALDatasetH pvrt =
            open_pvrt(vrt, {"NUM_THREADS=3", "MIN_TILE_PIXELS=4096",
                            std::string("WINDOW_GATHER=") + option});
        ASSERT_NE(pvrt, nullptr);
        std::mt19937 rng(99);
        int gathered = 0;
        const int reads = 24;
        for (int k = 0; k < reads; k++) {
            Read r = random_window(rng, 100 + k, 90);
            r.band = 1;
            r.buf_type = GDT_Float32;
            const ReadResult want = do_read(oracle, r);
            const ReadResult got = counted_read(pvrt, r, &gathered);
            ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
            EXPECT_TRUE(got.bytes == want.bytes)
                << option << ", " << r.describe();
        }
        const bool yes = EQUAL(option, "YES");
        EXPECT_EQ(gathered, yes && kGathersWindows ? reads - 1 : 0) << option;
        // Band 1 has four sources.
        EXPECT_STREQ(GDALGetMetadataItem(pvrt, "GATHER_HANDLES", "__DEBUG__"),
                     yes && kGathersWindows ? "4" : "0")
            << option;
        GDALClose(pvrt);
    }
    GDALClose(oracle);
}

// ---- Bands read together
// -----------------------------------------------------

// Derived bands of one source and of two, each over files of its own, and a
// band that is not derived: QGIS's RGB layer over bands that scale a band
// of a scene each.
std::string make_walk_vrt()
{
    RasterSpec s = tiled_spec(W, H, GDT_UInt16);
    s.compress = "DEFLATE";
    std::vector<std::string> f;
    for (int i = 0; i < 5; i++) {
        s.seed = 40 + i;
        s.type = i == 3 ? GDT_Int16 : GDT_UInt16;
        s.has_nodata = i == 3;
        s.nodata = 7;
        f.push_back(make_tiff("walk" + std::to_string(i) + ".tif", s));
    }
    const std::string full =
        CPLSPrintf("<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>"
                   "<DstRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>",
                   W, H, W, H);
    const std::string scaled = full + "<NODATA>7</NODATA>"
                                      "<ScaleOffset>3</ScaleOffset>"
                                      "<ScaleRatio>0.5</ScaleRatio>";
    return write_file(
        "walk.vrt",
        vrt_dataset(
            W, H,
            {derived_band(1, GDT_Float32, "pvrt_expr",
                          {simple_source(f[0], 1, W, H)},
                          "expr=\"a * 3 - 7\" names=\"a\"", GDT_Float32,
                          "<NoDataValue>-1</NoDataValue>"),
             derived_band(
                 2, GDT_Float32, "sum",
                 {simple_source(f[1], 1, W, H), simple_source(f[2], 1, W, H)},
                 "", GDT_Unknown, "<NoDataValue>0</NoDataValue>"),
             derived_band(3, GDT_Float32, "pvrt_expr",
                          {"<ComplexSource><SourceFilename "
                           "relativeToVRT=\"0\">" +
                           f[3] +
                           "</SourceFilename><SourceBand>1</SourceBand>" +
                           scaled + "</ComplexSource>"},
                          "expr=\"a / 2 + 1\" names=\"a\"", GDT_Float64),
             "<VRTRasterBand dataType=\"UInt16\" band=\"4\">" +
                 simple_source(f[4], 1, W, H) + "</VRTRasterBand>"}));
}

int64_t debug_count(GDALDatasetH ds, const char *name)
{
    const char *v = GDALGetMetadataItem(ds, name, "__DEBUG__");
    return v ? std::atoll(v) : -1;
}

// ---- Direct capture ------------------------------------------------------

// A W x H tiled DEFLATE UInt16 GeoTIFF of random values from `seed`.
std::string deflate_tiff(const char *name, int seed)
{
    RasterSpec s = tiled_spec(W, H, GDT_UInt16);
    s.compress = "DEFLATE";
    s.seed = seed;
    return make_tiff(name, s);
}

// Sources of nearest and 1:1 reads are read through the capture VRTs' plain
// sourced band, straight into the gathered buffers (gather.c, "Direct
// capture"); other resamplings through the derived band. Every read
// equals GDAL's (band 1 with NoData -1 and a SimpleSource over the whole
// raster, band 2 with NoData 0, band 3 without), and each gathered nearest
// or 1:1 read counts its sources in DIRECT_CAPTURES, no other read does.
TEST(Gather, DirectCaptureServesNearestAndOneToOneReads)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    // CACHE_MB=0: no band computed with another, so each gather is one
    // band's read.
    GDALDatasetH pvrt =
        open_pvrt(vrt, {"NUM_THREADS=2", "MIN_TILE_PIXELS=4096", "CACHE_MB=0"});
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    const int nsources[] = {0, 4, 3, 3};
    std::mt19937 rng(4242);
    int64_t direct = 0;
    int gathered_direct = 0, gathered_other = 0;
    auto check = [&](const Read &r, bool is_direct) {
        int gathered = 0;
        const ReadResult want = do_read(oracle, r);
        const ReadResult got = counted_read(pvrt, r, &gathered);
        ASSERT_TRUE(want.ok) << want.error;
        ASSERT_TRUE(got.ok) << got.error;
        EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
        if (is_direct) {
            direct += gathered * nsources[r.band];
            gathered_direct += gathered;
        } else {
            gathered_other += gathered;
        }
        EXPECT_EQ(debug_count(pvrt, "DIRECT_CAPTURES"), direct)
            << r.describe() << ", alg " << r.resample;
    };
    for (int band = 1; band <= 3; band++)
        for (GDALRIOResampleAlg alg :
             {GRIORA_NearestNeighbour, GRIORA_Average, GRIORA_Cubic})
            for (int shape = 0; shape < 3; shape++)
                for (GDALDataType type : {GDT_Float32, GDT_Int16}) {
                    Read r = random_read(rng, shape);
                    r.band = band;
                    r.resample = alg;
                    r.buf_type = type;
                    check(r, alg == GRIORA_NearestNeighbour);
                }
    // Full-resolution windows, whatever the resampling asked.
    for (int i = 0; i < 6; i++) {
        Read r;
        r.band = 1 + i % 3;
        r.x = 3 + 17 * i;
        r.y = 5 + 11 * i;
        r.w = r.buf_w = 90;
        r.h = r.buf_h = 80;
        r.resample = i % 2 ? GRIORA_Average : GRIORA_NearestNeighbour;
        check(r, true);
    }
    // 18 downsampled nearest reads; 5 windows (not the first) on GDAL 3.6
    // to 3.10, none on 3.13, which declines 1:1 reads.
    const bool gdal_313 = GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0);
    EXPECT_EQ(gathered_direct, if_gathered(gdal_313 ? 18 : 23));
    EXPECT_EQ(gathered_other, if_gathered(36));
    GDALClose(pvrt);
    GDALClose(oracle);
}

// Not through the direct band: a source with a resampling of its own
// (GDAL 3.13's sourced band may then read the whole band another way,
// where the derived band hands each source the request) and a 64-bit
// integer transfer type (whose NoData is not a double in a sourced band).
// Gathered through the derived band, and GDAL's bytes.
TEST(Gather, OwnResamplingAndInt64AreNotCapturedDirectly)
{
    const std::string a = deflate_tiff("g_direct_a.tif", 31);
    const std::string b = deflate_tiff("g_direct_b.tif", 32);
    const std::string c = deflate_tiff("g_direct_c.tif", 33);
    const std::string d = deflate_tiff("g_direct_d.tif", 34);
    const std::string own =
        std::string("<ComplexSource resampling=\"cubic\"><SourceFilename "
                    "relativeToVRT=\"0\">") +
        b +
        "</SourceFilename><SourceBand>1</SourceBand>"
        "<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"150\" ySize=\"120\"/>"
        "<DstRect xOff=\"0\" yOff=\"0\" xSize=\"301\" ySize=\"257\"/>"
        "</ComplexSource>";
    const std::string vrt = write_file(
        "g_not_direct.vrt",
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float32, "sum",
                                  {simple_source(a, 1, W, H), own}, "",
                                  GDT_Float32, "<NoDataValue>0</NoDataValue>"),
                     derived_band(
                         2, GDT_Float64, "sum",
                         {simple_source(c, 1, W, H), simple_source(d, 1, W, H)},
                         "", GDT_Int64)}));
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    int gathered = 0;
    for (int band = 1; band <= 2; band++) {
        Read r;
        r.band = band;
        r.x = 7;
        r.y = 3;
        r.w = 281;
        r.h = 240;
        r.buf_w = 141;
        r.buf_h = 121;
        r.buf_type = GDT_Float64;
        const ReadResult want = do_read(oracle, r);
        const ReadResult got = counted_read(pvrt, r, &gathered);
        ASSERT_TRUE(want.ok) << want.error;
        ASSERT_TRUE(got.ok) << got.error;
        EXPECT_TRUE(got.bytes == want.bytes) << "band " << band;
    }
    EXPECT_EQ(gathered, if_gathered(2));
    EXPECT_EQ(debug_count(pvrt, "DIRECT_CAPTURES"), 0);
    GDALClose(pvrt);
    GDALClose(oracle);
}

// Reads band after band of view r through pvrt and the oracle, in `order`,
// with the layout of view number v (packed; pixel-interleaved, as a 3-band
// image; lines wider than the buffer): each equals GDAL's.
void walk_view(GDALDatasetH oracle, GDALDatasetH pvrt, Read r, int v,
               const std::vector<int> &order, int threads)
{
    const int size = GDALGetDataTypeSizeBytes(r.buf_type);
    if (v % 3 == 1) {
        r.pixel_space = 3 * size;
        r.line_space = r.pixel_space * r.buf_w;
    } else if (v % 3 == 2) {
        r.line_space = size * r.buf_w + 24;
    }
    for (int band : order) {
        r.band = band;
        const ReadResult want = oracle_read(oracle, r);
        const ReadResult got = do_read(pvrt, r);
        ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
        EXPECT_TRUE(got.bytes == want.bytes)
            << threads << " threads, view " << v << ", band " << band << ", "
            << r.describe();
    }
}

// A reader walking the bands of one view after another (QGIS's RGB layer):
// downsampled views of every shape, resampling, buffer type and layout,
// then full-resolution windows; bands in order, then in another order.
// Every read equals GDAL's; bands computed with another are the reads that
// follow it, and every one of them is read.
TEST(Gather, BandsReadTogetherEqualGdal)
{
    const std::string vrt = make_walk_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    for (int threads : {2, 3, 8}) {
        GDALDatasetH pvrt = pvrt_of(vrt, threads);
        ASSERT_NE(pvrt, nullptr);
        std::mt19937 rng(threads * 131);
        const int views = 18;
        for (int v = 0; v < views + 6; v++) {
            Read r = v < views ? random_read(rng, v % 3)
                               : random_window(rng, 90 + v, 80);
            r.resample = kAlgs[v % 9];
            r.buf_type = kTypes[v % 4];
            walk_view(oracle, pvrt, r, v,
                      v % 2 ? std::vector<int>{1, 2, 3, 4}
                            : std::vector<int>{3, 4, 1, 2},
                      threads);
        }
        const int64_t together = debug_count(pvrt, "TOGETHER_BANDS");
        EXPECT_EQ(together, debug_count(pvrt, "TOGETHER_HITS"));
        if (kGathers)
            EXPECT_GE(together, views) << threads << " threads";
        else
            EXPECT_EQ(together, 0);
        GDALClose(pvrt);
    }
    GDALClose(oracle);
}

// Bands computed together at 2 to 3 MB each (upsampled views; kept in
// buffers of their own mappings, bigmem.h), read band after band into
// packed, pixel-interleaved and wider-lined buffers: each equals GDAL's,
// canaries included.
TEST(Gather, LargeBandsReadTogetherEqualGdal)
{
    const std::string vrt = make_walk_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    for (int threads : {2, 3}) {
        GDALDatasetH pvrt = pvrt_of(vrt, threads);
        ASSERT_NE(pvrt, nullptr);
        for (int v = 0; v < 6; v++) {
            Read r;
            r.x = 3 * v;
            r.y = 2 * v;
            r.w = W - 20;
            r.h = H - 15;
            r.buf_w = 701 + v;
            r.buf_h = 431 + 2 * v;
            r.buf_type = v % 2 ? GDT_Float64 : GDT_Float32;
            walk_view(oracle, pvrt, r, v, {1, 2, 3, 4}, threads);
        }
        EXPECT_GE(debug_count(pvrt, "TOGETHER_HITS"), if_gathered(10));
        GDALClose(pvrt);
    }
    GDALClose(oracle);
}

// A QGIS view zoomed out 2x: buf_w x buf_h Float32 from the window twice
// its size plus one pixel, at the origin.
Read view_2x_out(int buf_w, int buf_h)
{
    Read r;
    r.buf_w = buf_w;
    r.buf_h = buf_h;
    r.w = 2 * buf_w + 1;
    r.h = 2 * buf_h + 1;
    r.buf_type = GDT_Float32;
    return r;
}

// A view panned (QGIS moving an RGB layer): each view is the size of the
// one before, read band after band, so the bands computed together reuse
// the memory of those of the view before (GATHER_MEMORY_REUSED): every
// band equals GDAL's. A view of another size then gets new memory, and
// equals GDAL's too.
TEST(Gather, PannedViewsReuseTheMemoryOfTheViewBefore)
{
    const std::string vrt = make_walk_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(pvrt, nullptr);
    Read r = view_2x_out(90, 70);
    const int views = 6;
    int64_t reused = -1;
    for (int v = 0; v <= views; v++) {
        r.x = 7 * v;
        r.y = 11 * v;
        r.resample = kAlgs[v % 9];
        if (v == views) { // another size
            r.buf_w = 77;
            r.w = 2 * r.buf_w + 1;
        }
        for (int band : {1, 2, 3, 4}) {
            r.band = band;
            const ReadResult want = do_read(oracle, r);
            const ReadResult got = do_read(pvrt, r);
            ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
            EXPECT_TRUE(got.bytes == want.bytes)
                << "view " << v << ", band " << band << ", " << r.describe();
        }
        if (v == 0) { // nothing before
            EXPECT_EQ(debug_count(pvrt, "GATHER_MEMORY_REUSED"), 0);
        }
        if (v == views - 1)
            reused = debug_count(pvrt, "GATHER_MEMORY_REUSED");
    }
    // Views 2 to 5: the two bands computed together with band 1 each (the
    // walk VRT's fourth band is not gathered); none for the other size.
    EXPECT_GE(reused, if_gathered(8));
    EXPECT_EQ(debug_count(pvrt, "GATHER_MEMORY_REUSED"), reused);
    GDALClose(pvrt);
    GDALClose(oracle);
}

// A band of one source read alone, in a dataset with other derived bands
// (the first band of a view of an RGB of one-source bands): gathered
// through its own capture handle, where the later reads of its panned
// views, computed with the other bands, find its blocks; not on the
// primary, which they never use.
TEST(Gather, OneSourceBandAloneGoesThroughItsCaptureHandle)
{
    const std::string vrt = make_walk_vrt(); // band 1: one source
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(pvrt, nullptr);
    Read r = view_2x_out(90, 70);
    r.x = 13;
    r.y = 29;
    r.band = 1;
    const ReadResult want = do_read(oracle, r);
    const ReadResult got = do_read(pvrt, r);
    ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
    EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
    EXPECT_EQ(debug_count(pvrt, "GATHERED_READS"), if_gathered(1));
    EXPECT_EQ(debug_count(pvrt, "GATHER_HANDLES"), if_gathered(1));
    EXPECT_EQ(debug_count(pvrt, "TOGETHER_BANDS"), 0);
    GDALClose(pvrt);
    GDALClose(oracle);
}

// What is computed with a band follows what the reader did at the view
// before: the first view computes the bands after the second read
// together, the next ones all of them from the first read; a reader that
// then reads one band only wastes the others once. CACHE_MB=0 keeps
// nothing, so nothing is computed together.
TEST(Gather, TogetherFollowsTheReader)
{
    const std::string vrt = make_walk_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    ASSERT_NE(oracle, nullptr);
    const std::vector<std::vector<int>> walks = {{1, 2, 3}, {1, 2, 3}, {1}, {1},
                                                 {1},       {2, 3, 1}};
    for (const char *cache : {"128", "0"}) {
        GDALDatasetH pvrt =
            open_pvrt(vrt, {"NUM_THREADS=2", "MIN_TILE_PIXELS=4096",
                            std::string("CACHE_MB=") + cache});
        ASSERT_NE(pvrt, nullptr);
        std::mt19937 rng(5);
        for (const std::vector<int> &walk : walks) {
            Read r = random_read(rng, 0);
            r.buf_type = GDT_Float32;
            for (int band : walk) {
                r.band = band;
                const ReadResult want = do_read(oracle, r);
                const ReadResult got = do_read(pvrt, r);
                ASSERT_TRUE(want.ok && got.ok);
                EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
            }
        }
        // View 1: band 3 with band 2. View 2: bands 2 and 3 with band 1.
        // View 3: the same, unread. Views 4 and 5: none (band 1 alone the
        // view before). View 6: band 2 then band 3, alone; no walk known
        // when band 3 comes, band 1 is computed with it.
        const bool on = kGathers && EQUAL(cache, "128");
        EXPECT_EQ(debug_count(pvrt, "TOGETHER_BANDS"), on ? 6 : 0) << cache;
        EXPECT_EQ(debug_count(pvrt, "TOGETHER_HITS"), on ? 4 : 0) << cache;
        GDALClose(pvrt);
    }
    GDALClose(oracle);
}

// Dataset-level resampled reads of several derived bands (rasterio's
// read(out_shape=...), a tile server's RGB tiles): GDAL's VRT dataset reads
// them band after band, and so do we, through our bands, so they are
// gathered and computed together. Band-sequential and pixel-interleaved
// buffers, every resampling, four buffer types; a band list with a band
// that is not derived reads as before.
TEST(Gather, DatasetLevelReadsOfBandsEqualGdal)
{
    const std::string vrt = make_walk_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    std::mt19937 rng(23);
    int64_t together = 0, hits = 0;
    for (int v = 0; v < 36; v++) {
        Read r = random_read(rng, v % 3);
        // Bands 1, 2, 3, then other lists, whose order changes from one
        // read to the next (what is computed together is then partly
        // wasted: counted before them).
        if (v == 30) {
            together = debug_count(pvrt, "TOGETHER_BANDS");
            hits = debug_count(pvrt, "TOGETHER_HITS");
        }
        r.bands = v < 30       ? std::vector<int>{1, 2, 3}
                  : v % 2 == 0 ? std::vector<int>{1, 4, 2}
                               : std::vector<int>{3, 1};
        r.resample = kAlgs[v % 9];
        r.buf_type = kTypes[v % 4];
        if (v % 3 == 1) { // pixel-interleaved
            const int size = GDALGetDataTypeSizeBytes(r.buf_type);
            r.pixel_space = static_cast<GSpacing>(size) * r.bands.size();
            r.line_space = r.pixel_space * r.buf_w;
            r.band_space = size;
        }
        const ReadResult want = do_read(oracle, r);
        const ReadResult got = do_read(pvrt, r);
        ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
        EXPECT_TRUE(got.bytes == want.bytes)
            << "view " << v << ", " << r.describe();
    }
    // The first read computes band 3 with band 2, the 29 others bands 2
    // and 3 with band 1.
    EXPECT_EQ(together, if_gathered(1 + 2 * 29));
    EXPECT_EQ(hits, together);
    GDALClose(pvrt);
    GDALClose(oracle);
}

// Downsampled reads (QGIS zooming and panning over what it drew) read each
// source through the same handle too, whichever worker runs it: with three
// threads, band 1's four sources open four handles, not up to twelve.
TEST(Gather, DownsampledReadsReadEachSourceThroughOneHandle)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 3);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    std::mt19937 rng(17);
    for (int k = 0; k < 24; k++) {
        Read r = random_read(rng, k % 3);
        r.buf_type = GDT_Float32;
        const ReadResult want = do_read(oracle, r);
        const ReadResult got = do_read(pvrt, r);
        ASSERT_TRUE(want.ok && got.ok);
        EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
    }
    EXPECT_STREQ(GDALGetMetadataItem(pvrt, "GATHER_HANDLES", "__DEBUG__"),
                 kGathers ? "4" : "0");
    GDALClose(pvrt);
    GDALClose(oracle);
}

TEST(Gather, BadWindowGatherFailsNamingIt)
{
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLErrorReset();
    GDALDatasetH ds = open_pvrt(make_vrt(), {"WINDOW_GATHER=sometimes"});
    CPLPopErrorHandler();
    EXPECT_EQ(ds, nullptr);
    EXPECT_NE(std::string(CPLGetLastErrorMsg()).find("WINDOW_GATHER"),
              std::string::npos)
        << CPLGetLastErrorMsg();
    if (ds)
        GDALClose(ds);
}

// ---- What GDAL 3.13 changed -------------------------------------------------

// Reads each of `reads` through both handles; the same outcome, and the
// same bytes when it succeeded. Returns how many PVRT gathered.
int compare_reads(GDALDatasetH oracle, GDALDatasetH pvrt,
                  const std::vector<Read> &reads)
{
    int gathered = 0;
    for (const Read &r : reads) {
        const ReadResult want = do_read(oracle, r);
        const ReadResult got = counted_read(pvrt, r, &gathered);
        const std::string what = "band " + std::to_string(r.band) + ", alg " +
                                 std::to_string(r.resample) + ", " +
                                 GDALGetDataTypeName(r.buf_type) + ", " +
                                 r.describe();
        EXPECT_EQ(got.ok, want.ok)
            << what << ": " << want.error << " / " << got.error;
        if (got.ok && want.ok) {
            EXPECT_TRUE(got.bytes == want.bytes) << what;
        }
    }
    return gathered;
}

// n random downsampled reads of each band, cycling through resamplings and
// buffer types.
std::vector<Read> random_reads(int nbands, int n, unsigned seed,
                               const std::vector<GDALDataType> &types)
{
    static const GDALRIOResampleAlg algs[] = {
        GRIORA_NearestNeighbour, GRIORA_Average, GRIORA_Cubic,
        GRIORA_Bilinear,         GRIORA_Mode,    GRIORA_Lanczos};
    std::mt19937 rng(seed);
    std::vector<Read> out;
    for (int band = 1; band <= nbands; band++) {
        for (int i = 0; i < n; i++) {
            Read r = random_read(rng, i % 3);
            r.band = band;
            r.resample = algs[i % (sizeof algs / sizeof *algs)];
            r.buf_type = types[(i + band) % types.size()];
            out.push_back(r);
        }
    }
    return out;
}

std::string named(const std::string &source, const char *name)
{
    const size_t end = source.find('>');
    return source.substr(0, end) + " name=\"" + name + "\"" +
           source.substr(end);
}

std::string full_rects()
{
    return CPLSPrintf(
        "<SrcRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>"
        "<DstRect xOff=\"0\" yOff=\"0\" xSize=\"%d\" ySize=\"%d\"/>",
        W, H, W, H);
}

// A part of the raster (the buffer outside it keeps its initial value).
const char kPartRects[] =
    "<SrcRect xOff=\"20\" yOff=\"10\" xSize=\"200\" ySize=\"190\"/>"
    "<DstRect xOff=\"31\" yOff=\"17.5\" xSize=\"230\" ySize=\"201\"/>";

std::string tiff(const char *name, GDALDataType type, int seed,
                 bool nodata = false, double nd = 0)
{
    RasterSpec s = tiled_spec(W, H, type);
    s.compress = "DEFLATE";
    s.seed = seed;
    s.has_nodata = nodata;
    s.nodata = nd;
    return make_tiff(name, s);
}

// Band element `xml` reading copies of its own of the files in `tifs`
// (<name>_b<band>.tif, made here), named as xml names them (full path or
// relative): a file two bands share is not gathered (gather.c).
std::string own_files(std::string xml, int band,
                      const std::vector<std::string> &tifs)
{
    for (const std::string &tif : tifs) {
        const std::string copy = tif.substr(0, tif.size() - 4) + "_b" +
                                 std::to_string(band) + ".tif";
        if (CPLCopyFile(copy.c_str(), tif.c_str()) != 0)
            ADD_FAILURE() << "cannot copy " << tif;
        for (const std::string &from :
             {tif + "<", tif.substr(tif.rfind('/') + 1) + "<"}) {
            const std::string to =
                (from[0] == '/' ? copy : copy.substr(copy.rfind('/') + 1)) +
                "<";
            for (size_t at = xml.find(">" + from); at != std::string::npos;
                 at = xml.find(">" + from, at + to.size()))
                xml.replace(at + 1, from.size(), to);
        }
    }
    return xml;
}

// Without SourceTransferType, 3.13 reads the sources in the union of their
// bands' types and the band's (3.6 to 3.10: in the buffer's type). Resampled
// in an integer type, values are rounded; in Float64 they are not: a wrong
// type shows.
TEST(Gather, MixedSourceTypesWithoutTransferType)
{
    const std::string byte_tif = tiff("mx_byte.tif", GDT_Byte, 11);
    const std::string u16_tif = tiff("mx_u16.tif", GDT_UInt16, 12);
    const std::string i16_tif = tiff("mx_i16.tif", GDT_Int16, 13, true, 7);
    const std::string f32_tif = tiff("mx_f32.tif", GDT_Float32, 14);
    const std::string full = full_rects();
    std::vector<std::string> first = {
        source("SimpleSource", byte_tif, full),
        source("SimpleSource", u16_tif, full),
        // the mask band of an Int16 raster with NoData: Byte
        "<ComplexSource><SourceFilename relativeToVRT=\"0\">" + i16_tif +
            "</SourceFilename><SourceBand>mask,1</SourceBand>" + full +
            "</ComplexSource>",
    };
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 7, 0)
    first.push_back(
        source("SimpleSource", tiff("mx_i8.tif", GDT_Int8, 15), kPartRects));
#endif
    const std::vector<std::string> bands = {
        // Byte, UInt16, Byte (mask), Int8: Int32 on 3.13
        derived_band(1, GDT_Byte, "sum", first),
        // Float32 and a part of an Int16 raster, band Int16: Float32
        derived_band(2, GDT_Int16, "sum",
                     {source("SimpleSource", f32_tif, full),
                      source("ComplexSource", i16_tif,
                             std::string(kPartRects) +
                                 "<ScaleRatio>0.25</ScaleRatio>")}),
        // two whole UInt16 rasters, band UInt16: UInt16
        derived_band(3, GDT_UInt16, "sum",
                     {source("SimpleSource", u16_tif, full),
                      source("SimpleSource",
                             tiff("mx_u16b.tif", GDT_UInt16, 16), full)}),
        // pvrt_expr over Byte and UInt16, band Float32: Float32
        derived_band(4, GDT_Float32, "pvrt_expr",
                     {source("SimpleSource", byte_tif, full),
                      source("SimpleSource", u16_tif, kPartRects)},
                     "expr=\"a / 3 - b / 7\" names=\"a,b\""),
    };
    const std::vector<std::string> tifs = {byte_tif, u16_tif, i16_tif, f32_tif};
    std::vector<std::string> own;
    for (size_t i = 0; i < bands.size(); i++)
        own.push_back(own_files(bands[i], static_cast<int>(i) + 1, tifs));
    const std::string vrt =
        write_file("gather_mixed.vrt", vrt_dataset(W, H, own));
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 3);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    const std::vector<Read> reads = random_reads(
        4, 12, 23, {GDT_Float64, GDT_Byte, GDT_Float32, GDT_Int16});
    EXPECT_EQ(compare_reads(oracle, pvrt, reads),
              if_gathered(static_cast<int>(reads.size())));
    GDALClose(pvrt);
    GDALClose(oracle);
}

// NoData: the source buffers start as the band's NoData where a source
// does not reach (3.13: none for a SimpleSource of a whole raster onto the
// whole raster), ComplexSource NODATA keeps it, GDAL's sum (and mean, 3.12)
// skip it or, with propagateNoData (3.13), return it. Strided buffers too:
// 3.13 writes the NoData it starts the buffer with pixel by pixel.
TEST(Gather, NoDataAndPropagateNoData)
{
    const std::string a = tiff("nd_a.tif", GDT_Byte, 21);
    const std::string b = tiff("nd_b.tif", GDT_Byte, 22);
    const std::string c = tiff("nd_c.tif", GDT_UInt16, 23);
    const std::string full = full_rects();
    const std::vector<std::string> sources = {
        source("SimpleSource", a, full),
        source("ComplexSource", b, full + "<NODATA>7</NODATA>"),
        source("ComplexSource", c,
               std::string(kPartRects) + "<NODATA>7</NODATA>"),
    };
    const std::string nd = "<NoDataValue>7</NoDataValue>";
    std::vector<std::string> bands = {
        derived_band(1, GDT_Float32, "sum", sources, "propagateNoData=\"true\"",
                     GDT_Unknown, nd),
        derived_band(2, GDT_Float32, "sum", sources, "", GDT_Float64, nd),
        derived_band(3, GDT_Int16, "sum", sources, "propagateNoData=\"true\"",
                     GDT_Int16, nd),
    };
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 12, 0)
    bands.push_back(derived_band(4, GDT_Float32, "mean", sources,
                                 "propagateNoData=\"true\"", GDT_Unknown, nd));
    bands.push_back(
        derived_band(5, GDT_Float64, "mean", sources, "", GDT_Unknown, nd));
#endif
    for (size_t i = 0; i < bands.size(); i++)
        bands[i] = own_files(bands[i], static_cast<int>(i) + 1, {a, b, c});
    const std::string vrt =
        write_file("gather_nodata.vrt", vrt_dataset(W, H, bands));
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 3);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    std::vector<Read> reads =
        random_reads(static_cast<int>(bands.size()), 9, 31,
                     {GDT_Float32, GDT_Int16, GDT_Float64, GDT_Byte});
    std::mt19937 rng(37);
    for (int band = 1; band <= static_cast<int>(bands.size()); band++) {
        for (int layout = 0; layout < 2; layout++) {
            Read r = random_read(rng, layout);
            r.band = band;
            r.buf_type = GDT_Float32;
            r.resample = layout ? GRIORA_Average : GRIORA_NearestNeighbour;
            if (layout == 0) { // interleaved
                r.pixel_space = 12;
                r.line_space = r.pixel_space * r.buf_w + 32;
            } else { // packed pixels, wider lines
                r.line_space = 4 * r.buf_w + 40;
            }
            reads.push_back(r);
        }
    }
    EXPECT_EQ(compare_reads(oracle, pvrt, reads),
              if_gathered(static_cast<int>(reads.size())));
    GDALClose(pvrt);
    GDALClose(oracle);
}

// A pixel function of this test declaring every builtin argument the GDAL
// in use knows. Each pixel is the sum of its sources plus a term of every
// argument GDAL passed (NoData, scale, offset; 3.13: the CRS's semi-major
// axis through the pointer GDAL passes, the geotransform, the source names
// in order) and, when GDAL passes xoff and yoff (3.13), of its position
// (xoff + i, yoff + j): a gathered read that passes any of them otherwise,
// or places a stripe elsewhere, differs. (Without xoff and yoff, a pixel
// function has no position: one computing with i or j would compute
// something else for every split of the call, GDAL's own included.)
const char kBuiltinsFunc[] = "test_gather_builtins";

CPLErr builtins_func(void **sources, int nsources, void *out, int w, int h,
                     GDALDataType src_type, GDALDataType out_type,
                     int pixel_space, int line_space, CSLConstList args)
{
    auto number = [args](const char *key) {
        const char *v = CSLFetchNameValue(args, key);
        return v ? CPLAtof(v) : 0.0;
    };
    double term =
        number("NoData") * 0.5 + number("scale") * 3 + number("offset") * 5;
    if (const char *gt = CSLFetchNameValue(args, "geotransform")) {
        const CPLStringList parts(CSLTokenizeString2(gt, ",", 0));
        for (int i = 0; i < parts.size(); i++)
            term += CPLAtof(parts[i]) * (i + 1) * 1e-3;
    }
    if (const char *crs = CSLFetchNameValue(args, "crs")) {
        const auto h_srs =
            reinterpret_cast<OGRSpatialReferenceH>(std::strtoull(crs, 0, 10));
        term += OSRGetSemiMajor(h_srs, nullptr) * 1e-6;
    }
    if (const char *names = CSLFetchNameValue(args, "source_names")) {
        for (size_t i = 0; names[i]; i++)
            term += static_cast<unsigned char>(names[i]) * (i + 1) * 1e-2;
    }
    const char *xoff = CSLFetchNameValue(args, "xoff");
    const char *yoff = CSLFetchNameValue(args, "yoff");
    const bool placed = xoff != nullptr && yoff != nullptr;
    const int x0 = placed ? atoi(xoff) : 0, y0 = placed ? atoi(yoff) : 0;
    const int size = GDALGetDataTypeSizeBytes(src_type);
    for (int j = 0; j < h; j++) {
        for (int i = 0; i < w; i++) {
            double v = term;
            if (placed)
                v += (x0 + i) * 0.25 + (y0 + j) * 0.125;
            for (int k = 0; k < nsources; k++) {
                double s = 0;
                GDALCopyWords(static_cast<GByte *>(sources[k]) +
                                  (static_cast<size_t>(j) * w + i) * size,
                              src_type, 0, &s, GDT_Float64, 0, 1);
                v += s * (k + 1);
            }
            GDALCopyWords(&v, GDT_Float64, 0,
                          static_cast<GByte *>(out) +
                              static_cast<GSpacing>(j) * line_space +
                              static_cast<GSpacing>(i) * pixel_space,
                          out_type, 0, 1);
        }
    }
    return CE_None;
}

void register_builtins_func()
{
    std::string meta = "<PixelFunctionArgumentsList>"
                       "<Argument type='builtin' value='NoData'/>"
                       "<Argument type='builtin' value='scale'/>"
                       "<Argument type='builtin' value='offset'/>";
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0)
    meta += "<Argument type='builtin' value='xoff'/>"
            "<Argument type='builtin' value='yoff'/>"
            "<Argument type='builtin' value='geotransform'/>"
            "<Argument type='builtin' value='crs'/>"
            "<Argument type='builtin' value='source_names'/>";
#endif
    meta += "</PixelFunctionArgumentsList>";
    GDALAddDerivedBandPixelFuncWithArgs(kBuiltinsFunc, builtins_func,
                                        meta.c_str());
}

// Restores a configuration option when it goes.
class ConfigScope
{
  public:
    ConfigScope(const char *key, const char *value) : key_(key)
    {
        const char *was = CPLGetConfigOption(key, nullptr);
        had_ = was != nullptr;
        if (had_)
            was_ = was;
        CPLSetConfigOption(key, value);
    }
    ~ConfigScope()
    {
        CPLSetConfigOption(key_.c_str(), had_ ? was_.c_str() : nullptr);
    }

  private:
    std::string key_, was_;
    bool had_ = false;
};

// With GDAL_FORCE_CACHING=YES GDAL reads a derived band through its
// blocks: the function at full resolution, then resampled. A gather
// resamples the sources, then applies the function: other pixels for an
// averaging resampling and a function that is not linear. Such reads are
// not gathered, whether the option was set when the dataset opened or is
// set when it reads, and equal GDAL's.
TEST(Gather, ForcedCachingIsNotGathered)
{
    const std::string a = deflate_tiff("g_forced_a.tif", 41);
    const std::string b = deflate_tiff("g_forced_b.tif", 42);
    const std::string vrt = write_file(
        "g_forced.vrt",
        vrt_dataset(
            W, H,
            {derived_band(
                1, GDT_Float32, "pvrt_expr",
                {simple_source(a, 1, W, H), simple_source(b, 1, W, H)},
                "expr=\"a * a / (b + 1)\" names=\"a,b\"", GDT_Float32)}));
    Read r;
    r.x = 5;
    r.y = 8;
    r.w = 290;
    r.h = 240;
    r.buf_w = 97;
    r.buf_h = 80;
    r.buf_type = GDT_Float32;
    for (int opened_with : {1, 0}) {
        GDALDatasetH oracle, pvrt;
        {
            ConfigScope force("GDAL_FORCE_CACHING", opened_with ? "YES" : "NO");
            oracle = oracle_of(vrt);
            pvrt = pvrt_of(vrt, 2);
        }
        ASSERT_NE(oracle, nullptr);
        ASSERT_NE(pvrt, nullptr);
        int gathered = 0;
        for (GDALRIOResampleAlg alg :
             {GRIORA_Average, GRIORA_Bilinear, GRIORA_NearestNeighbour}) {
            r.resample = alg;
            ConfigScope force("GDAL_FORCE_CACHING", "YES");
            const ReadResult want = do_read(oracle, r);
            const ReadResult got = counted_read(pvrt, r, &gathered);
            ASSERT_TRUE(want.ok && got.ok) << want.error << got.error;
            EXPECT_TRUE(got.bytes == want.bytes)
                << "opened with the option: " << opened_with << ", alg " << alg;
        }
        EXPECT_EQ(gathered, 0);
        GDALClose(pvrt);
        GDALClose(oracle);
    }
}

TEST(Gather, BuiltinArgumentsEqualGdal)
{
    register_builtins_func();
    const std::string a = tiff("bi_a.tif", GDT_UInt16, 41);
    const std::string b = tiff("bi_b.tif", GDT_Int16, 42);
    const std::string c = tiff("bi_c.tif", GDT_Byte, 43);
    const std::string full = full_rects();
    const std::vector<std::string> sources = {
        named(source("SimpleSource", a, full), "nir"),
        named(source("ComplexSource", b, kPartRects), "red"),
        source("SimpleSource", c, full), // unnamed: B3
    };
    const std::string own = "<NoDataValue>-5</NoDataValue>"
                            "<Offset>1.5</Offset><Scale>2</Scale>";
    std::vector<std::string> bands = {
        derived_band(1, GDT_Float64, kBuiltinsFunc, sources, "", GDT_Unknown,
                     own),
        derived_band(2, GDT_Float32, kBuiltinsFunc, sources, "", GDT_Float32,
                     own),
    };
#if GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 12, 0)
    // GDAL's expression: positions (_CENTER_X_/_CENTER_Y_ from xoff, yoff
    // and the geotransform) and source names.
    bands.push_back(derived_band(
        3, GDT_Float64, "expression", sources,
        "expression=\"nir * 2 - red + B3 / 3 + _CENTER_X_ / 1000 - "
        "_CENTER_Y_ / 5000\"",
        GDT_Unknown, "<NoDataValue>-5</NoDataValue>"));
    bands.push_back(derived_band(4, GDT_Float32, "expression", sources,
                                 "expression=\"(nir + red) * B3 / 100\" "
                                 "propagateNoData=\"true\"",
                                 GDT_Float32, "<NoDataValue>-5</NoDataValue>"));
#endif
    for (size_t i = 0; i < bands.size(); i++)
        bands[i] = own_files(bands[i], static_cast<int>(i) + 1, {a, b, c});
    std::string text = vrt_dataset(W, H, bands);
    // A CRS (WKT: no PROJ database needed) for the `crs` builtin.
    const std::string srs =
        "<SRS>GEOGCS[&quot;WGS 84&quot;,DATUM[&quot;WGS_1984&quot;,"
        "SPHEROID[&quot;WGS 84&quot;,6378137,298.257223563]],"
        "PRIMEM[&quot;Greenwich&quot;,0],"
        "UNIT[&quot;degree&quot;,0.0174532925199433]]</SRS>";
    text.insert(text.find("<GeoTransform>"), srs);
    const std::string vrt = write_file("gather_builtins.vrt", text);
    const int nbands = static_cast<int>(bands.size());
    // Also where GDAL halves the apply VRT's 1:1 stripes for memory
    // (3.12+: a derived read larger than its allowed RAM), down to pieces
    // of a few hundred pixels: each half is passed its own offset.
    for (const char *ram : {static_cast<const char *>(nullptr), "10000"}) {
        ConfigScope scope("VRT_DERIVED_DATASET_ALLOWED_RAM_USAGE", ram);
        GDALDatasetH oracle = oracle_of(vrt);
        GDALDatasetH pvrt = pvrt_of(vrt, 3);
        ASSERT_NE(oracle, nullptr);
        ASSERT_NE(pvrt, nullptr);
        const std::vector<Read> reads =
            random_reads(nbands, 8, ram ? 53 : 51, {GDT_Float64, GDT_Float32});
        EXPECT_EQ(compare_reads(oracle, pvrt, reads),
                  if_gathered(static_cast<int>(reads.size())))
            << "allowed RAM " << (ram ? ram : "default");
        GDALClose(pvrt);
        GDALClose(oracle);
    }
}

#if RASTERIO_EXTRA_ARG_CURRENT_VERSION >= 2
// Reads band `band` of ds as r says, packed in `type`, with the extra
// arguments `tweak` sets; adds to *gathered what PVRT gathered.
std::vector<GByte> read_with(GDALDatasetH ds, int band, const Read &r,
                             GDALDataType type,
                             void (*tweak)(GDALRasterIOExtraArg *, int),
                             int flag, int *gathered)
{
    GatherCounter counter;
    GDALRasterIOExtraArg extra = extra_arg(r);
    tweak(&extra, flag);
    std::vector<GByte> buf(static_cast<size_t>(r.buf_w) * r.buf_h *
                               GDALGetDataTypeSizeBytes(type),
                           0xA5);
    const CPLErr err =
        GDALRasterIOEx(GDALGetRasterBand(ds, band), GF_Read, r.x, r.y, r.w, r.h,
                       buf.data(), r.buf_w, r.buf_h, type, 0, 0, &extra);
    EXPECT_EQ(err, CE_None) << CPLGetLastErrorMsg();
    *gathered += counter.count;
    return buf;
}

// bUseOnlyThisScale (GDALRegenerateOverviews sets it) keeps a source from
// its own overviews unless one is of the exact scale: the flag reaches the
// gathered sources as it reaches GDAL's (band 1 of make_vrt has a source
// with overviews 2 and 4).
TEST(Gather, UseOnlyThisScaleReachesTheSources)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    auto only_this_scale = [](GDALRasterIOExtraArg *e, int flag) {
        e->bUseOnlyThisScale = flag;
    };
    int gathered = 0, reads = 0, ignored = 0;
    for (GDALRIOResampleAlg alg : {GRIORA_NearestNeighbour, GRIORA_Average}) {
        for (int flag : {0, 1}) {
            Read r; // 2.5 source pixels a buffer pixel: overview 2 serves
            r.x = 6;
            r.y = 3;
            r.w = 250;
            r.h = 225;
            r.buf_w = 100;
            r.buf_h = 90;
            r.resample = alg;
            const auto want = read_with(oracle, 1, r, GDT_Float32,
                                        only_this_scale, flag, &ignored);
            const auto got = read_with(pvrt, 1, r, GDT_Float32, only_this_scale,
                                       flag, &gathered);
            reads++;
            EXPECT_TRUE(got == want)
                << "alg " << alg << ", bUseOnlyThisScale " << flag;
        }
    }
    EXPECT_EQ(gathered, if_gathered(reads));
    GDALClose(pvrt);
    GDALClose(oracle);
}
#endif

#if RASTERIO_EXTRA_ARG_CURRENT_VERSION >= 3
// GDAL 3.13 sources resample into the buffer's type or, when the caller
// says so (bOperateInBufType = FALSE), into their own: integer sources read
// in a float transfer type then come rounded. The flag reaches the
// gathered sources as it reaches GDAL's.
TEST(Gather, OperateInBufTypeReachesTheSources)
{
    const std::string f = tiff("ob_f.tif", GDT_Byte, 61);
    const std::string g = tiff("ob_g.tif", GDT_UInt16, 62);
    const std::string full = full_rects();
    const std::vector<std::string> bands = {
        derived_band(1, GDT_Int16, "sum",
                     {source("SimpleSource", f, full),
                      source("ComplexSource", g, kPartRects)},
                     "", GDT_Float32),
        // no SourceTransferType: Float64, the band's type
        derived_band(
            2, GDT_Float64, "sum",
            {source("SimpleSource", f, full), source("SimpleSource", g, full)}),
    };
    std::vector<std::string> own;
    for (size_t i = 0; i < bands.size(); i++)
        own.push_back(own_files(bands[i], static_cast<int>(i) + 1, {f, g}));
    const std::string vrt =
        write_file("gather_opbuf.vrt", vrt_dataset(W, H, own));
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    auto operate_in_buf_type = [](GDALRasterIOExtraArg *e, int flag) {
        e->bOperateInBufType = flag;
    };
    std::mt19937 rng(67);
    int gathered = 0, reads = 0, ignored = 0;
    for (int band = 1; band <= 2; band++) {
        for (GDALRIOResampleAlg alg :
             {GRIORA_Cubic, GRIORA_Average, GRIORA_Bilinear}) {
            for (int flag : {0, 1}) {
                Read r = random_read(rng, reads % 3);
                r.resample = alg;
                const GDALDataType type = band == 1 ? GDT_Float32 : GDT_Float64;
                const auto want = read_with(
                    oracle, band, r, type, operate_in_buf_type, flag, &ignored);
                const auto got = read_with(
                    pvrt, band, r, type, operate_in_buf_type, flag, &gathered);
                reads++;
                EXPECT_TRUE(got == want)
                    << "band " << band << ", alg " << alg
                    << ", bOperateInBufType " << flag << ", " << r.describe();
            }
        }
    }
    EXPECT_EQ(gathered, if_gathered(reads));
    GDALClose(pvrt);
    GDALClose(oracle);
}
#endif

// A floating-point window read 1:1 is resampled (GDAL 3.6 to 3.10 gather
// it), but 3.13 may halve such a read for memory: declined there.
TEST(Gather, OneToOneFloatingWindow)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    Read r;
    r.band = 1;
    r.x = 11;
    r.y = 7;
    r.w = r.buf_w = 150;
    r.h = r.buf_h = 120;
    r.buf_type = GDT_Float32;
    r.resample = GRIORA_Bilinear;
    r.float_window = true;
    r.fx = 11.4;
    r.fy = 7.7;
    r.fw = 149.5;
    r.fh = 119.2;
    const bool gdal_313 = GDAL_VERSION_NUM >= GDAL_COMPUTE_VERSION(3, 13, 0);
    EXPECT_EQ(compare_reads(oracle, pvrt, {r}), gdal_313 ? 0 : if_gathered(1));
    GDALClose(pvrt);
    GDALClose(oracle);
}

// A source that does not exist: the read fails through both, with GDAL's
// error, and nothing is gathered.
TEST(Gather, MissingSourceFailsAsGdal)
{
    const std::string a = tiff("ms_a.tif", GDT_UInt16, 71);
    const std::string full = full_rects();
    const std::vector<std::string> bands = {
        derived_band(1, GDT_Float32, "sum",
                     {source("SimpleSource", a, full),
                      source("SimpleSource", scratch("ms_missing.tif"), full)}),
        derived_band(2, GDT_Float32, "sum",
                     {source("SimpleSource", a, full),
                      source("SimpleSource", scratch("ms_missing.tif"), full)},
                     "", GDT_Float32),
    };
    const std::string vrt =
        write_file("gather_missing.vrt", vrt_dataset(W, H, bands));
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt = pvrt_of(vrt, 2);
    ASSERT_NE(oracle, nullptr);
    ASSERT_NE(pvrt, nullptr);
    std::mt19937 rng(73);
    for (int band = 1; band <= 2; band++) {
        Read r = random_read(rng, band);
        r.band = band;
        r.buf_type = GDT_Float32;
        const ReadResult want = do_read(oracle, r);
        GatherCounter counter;
        const ReadResult got = do_read(pvrt, r);
        EXPECT_FALSE(want.ok);
        EXPECT_FALSE(got.ok);
        EXPECT_EQ(got.error, want.error);
        EXPECT_EQ(counter.count, 0);
    }
    GDALClose(pvrt);
    GDALClose(oracle);
}

} // namespace
