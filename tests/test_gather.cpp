// test_gather.cpp: downsampled reads of derived bands, gathered in parallel
// (driver/gather.c), equal GDAL's VRT driver byte for byte.
//
// Each source of the request is read on its own handle, then the band's
// pixel function runs in row stripes. The reads here cover random windows
// and buffer ratios (QGIS-shaped windows of the view plus one pixel, and
// floating-point windows), every resampling GDAL offers, four buffer types
// and 1, 2, 3 and 8 threads, over derived bands with and without
// SourceTransferType, NoData, ComplexSource scaling, sources with their own
// SrcRect/DstRect and a source with internal overviews. Each read is
// compared with GDAL's VRT driver (the oracle), canaries included; and the
// reads meant to be gathered must have been (the driver's CPLDebug message
// "gather: band ..." is counted on this thread).
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "testutil.h"

namespace
{

using namespace pvrt_test;

const int W = 301, H = 257;

// gather.c covers GDAL 3.6 to 3.10's VRTDerivedRasterBand; later versions
// read otherwise, so it declines there: those reads run whole and are
// still compared.
int if_gathered(int n)
{
    return GDAL_VERSION_NUM < GDAL_COMPUTE_VERSION(3, 11, 0) ? n : 0;
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
    RasterSpec s;
    s.width = W;
    s.height = H;
    s.type = GDT_UInt16;
    s.block_x = 64;
    s.block_y = 64;
    s.compress = "DEFLATE";
    s.seed = 1;
    const std::string t0 = make_tiff("g0.tif", s);
    s.seed = 2;
    s.overviews = true; // the source's own overviews serve its reads
    const std::string t1 = make_tiff("g1.tif", s);
    s.overviews = false;
    s.seed = 3;
    s.type = GDT_Int16;
    s.has_nodata = true;
    s.nodata = 7;
    const std::string t2 = make_tiff("g2.tif", s);
    s.seed = 4;
    s.type = GDT_Byte;
    s.width = 200;
    s.height = 150;
    s.has_nodata = false;
    const std::string t3 = make_tiff("g3.tif", s);

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
                     {source("SimpleSource", t0, full),
                      source("ComplexSource", t1, scaled),
                      source("SimpleSource", t3, rect),
                      source("ComplexSource", t2, nd7)},
                     "", GDT_Float64, "<NoDataValue>-1</NoDataValue>"),
        // no SourceTransferType: the sources come in the buffer's type
        derived_band(2, GDT_Float32, "sum",
                     {source("SimpleSource", t0, full),
                      source("SimpleSource", t1, full),
                      source("ComplexSource", t2, scaled)},
                     "", GDT_Unknown, "<NoDataValue>0</NoDataValue>"),
        // pvrt_expr over three sources, one with its own rectangles
        derived_band(3, GDT_Float32, "pvrt_expr",
                     {source("SimpleSource", t0, full),
                      source("ComplexSource", t1, scaled),
                      source("SimpleSource", t3, rect)},
                     "expr=\"a * 2 - b + c / 3\" names=\"a,b,c\"", GDT_Float32),
    };
    return write_file(relative ? "gather_rel.vrt" : "gather.vrt",
                      vrt_dataset(W, H, bands));
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
        GDALDatasetH pvrt =
            open_pvrt(vrt, {"NUM_THREADS=" + std::to_string(threads),
                            "MIN_TILE_PIXELS=4096"});
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
                        ReadResult got;
                        {
                            GatherCounter counter;
                            got = do_read(pvrt, r);
                            gathered += counter.count;
                        }
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
    GDALDatasetH pvrt =
        open_pvrt(vrt, {"NUM_THREADS=2", "MIN_TILE_PIXELS=4096"});
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
            ReadResult got;
            {
                GatherCounter counter;
                got = do_read(pvrt, r);
                gathered += counter.count;
            }
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
    GDALDatasetH pvrt =
        open_pvrt(vrt, {"NUM_THREADS=3", "MIN_TILE_PIXELS=4096"});
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
                const ReadResult want = do_read(oracle, r);
                ReadResult got;
                {
                    GatherCounter counter;
                    got = do_read(pvrt, r);
                    gathered += counter.count;
                }
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
    GDALDatasetH pvrt =
        open_pvrt(vrt, {"NUM_THREADS=2", "MIN_TILE_PIXELS=4096"});
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
        GatherCounter counter;
        const ReadResult got = do_read(pvrt, r);
        gathered += counter.count;
        ASSERT_TRUE(want.ok && got.ok);
        EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
    }
    EXPECT_EQ(gathered, if_gathered(1))
        << "the upsampled read should be gathered, the "
           "small one not";
    GDALClose(pvrt);
    GDALClose(oracle);
}

// A dataset-level read of one band (gdal_translate -outsize reads so) is
// that band's read: gathered too, and GDAL's bytes.
TEST(Gather, DatasetLevelReadOfOneBand)
{
    const std::string vrt = make_vrt();
    GDALDatasetH oracle = oracle_of(vrt);
    GDALDatasetH pvrt =
        open_pvrt(vrt, {"NUM_THREADS=2", "MIN_TILE_PIXELS=4096"});
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
        GatherCounter counter;
        const ReadResult got = do_read(pvrt, r);
        gathered += counter.count;
        reads++;
        ASSERT_TRUE(want.ok && got.ok);
        EXPECT_TRUE(got.bytes == want.bytes) << r.describe();
    }
    EXPECT_EQ(gathered, if_gathered(reads));
    GDALClose(pvrt);
    GDALClose(oracle);
}

} // namespace
