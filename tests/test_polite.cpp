// test_polite.cpp: loading the plugin changes no process state.
//
// Its own main (not test_main.cpp): it lowers the soft descriptor limit and
// clears GDAL_MAX_DATASET_POOL_SIZE before GDALAllRegister loads the plugin
// through GDAL_DRIVER_PATH, so the tests can tell what registration and
// each open changed. Registration must change neither; a PVRT dataset that
// fits in what the process has must not either; one that needs more (4
// threads x 60 sources) raises both, only as far as it needs, says so with
// CPLDebug, and reads GDAL's bytes; a value the user set is kept (then the
// threads are capped to fit it).
#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace
{

// The soft limit main() sets before loading the plugin.
const rlim_t kSoftLimit = 256;
rlim_t g_soft_at_start;
std::string g_dir;

std::mutex g_debug_mutex;
std::vector<std::string> g_debug;

void CPL_STDCALL collect(CPLErr cls, CPLErrorNum, const char *msg)
{
    if (cls == CE_Debug) {
        std::lock_guard<std::mutex> lock(g_debug_mutex);
        g_debug.push_back(msg);
    } else {
        fprintf(stderr, "GDAL: %s\n", msg);
    }
}

bool debug_has(const std::string &text)
{
    std::lock_guard<std::mutex> lock(g_debug_mutex);
    for (const auto &m : g_debug)
        if (m.find(text) != std::string::npos)
            return true;
    return false;
}

rlim_t soft_limit()
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    return rl.rlim_cur;
}

const char *pool_option()
{
    return CPLGetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", nullptr);
}

// A derived VRT summing n single-band GeoTIFFs (written once each).
std::string sum_vrt(const std::string &name, int n)
{
    std::string xml = "<VRTDataset rasterXSize=\"128\" rasterYSize=\"96\">"
                      "<VRTRasterBand dataType=\"Float32\" band=\"1\" "
                      "subClass=\"VRTDerivedRasterBand\">"
                      "<PixelFunctionType>sum</PixelFunctionType>";
    GDALDriverH gtiff = GDALGetDriverByName("GTiff");
    for (int i = 0; i < n; i++) {
        const std::string tif = g_dir + "/s" + std::to_string(i) + ".tif";
        if (access(tif.c_str(), F_OK) != 0) {
            GDALDatasetH ds =
                GDALCreate(gtiff, tif.c_str(), 128, 96, 1, GDT_Byte, nullptr);
            GDALFillRaster(GDALGetRasterBand(ds, 1), i + 1, 0);
            GDALClose(ds);
        }
        xml += "<SimpleSource><SourceFilename>" + tif +
               "</SourceFilename><SourceBand>1</SourceBand></SimpleSource>";
    }
    xml += "</VRTRasterBand></VRTDataset>";
    const std::string path = g_dir + "/" + name;
    VSILFILE *f = VSIFOpenL(path.c_str(), "wb");
    VSIFWriteL(xml.data(), 1, xml.size(), f);
    VSIFCloseL(f);
    return path;
}

GDALDatasetH open_with_threads(const std::string &path, const char *threads)
{
    const std::string oo = std::string("NUM_THREADS=") + threads;
    const char *const options[] = {oo.c_str(), nullptr};
    return GDALOpenEx(path.c_str(), GDAL_OF_RASTER | GDAL_OF_READONLY, nullptr,
                      options, nullptr);
}

std::string driver_of(GDALDatasetH ds)
{
    return GDALGetDriverShortName(GDALGetDatasetDriver(ds));
}

int debug_threads(GDALDatasetH ds)
{
    const char *v = GDALGetMetadataItem(ds, "THREADS", "__DEBUG__");
    return v ? atoi(v) : -1;
}

std::vector<float> read_all(GDALDatasetH ds)
{
    std::vector<float> out(128 * 96);
    if (GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, 128, 96,
                     out.data(), 128, 96, GDT_Float32, 0, 0) != CE_None)
        out.clear();
    return out;
}

TEST(Polite, RegistrationChangesNothing)
{
    ASSERT_NE(GDALGetDriverByName("PVRT"), nullptr)
        << "the plugin did not load from GDAL_DRIVER_PATH="
        << CPLGetConfigOption("GDAL_DRIVER_PATH", "");
    EXPECT_EQ(soft_limit(), g_soft_at_start);
    EXPECT_EQ(pool_option(), nullptr);
}

TEST(Polite, ADatasetThatFitsChangesNothing)
{
    const std::string vrt = sum_vrt("small.vrt", 2);
    GDALDatasetH ds = open_with_threads(vrt, "2");
    ASSERT_NE(ds, nullptr);
    EXPECT_EQ(driver_of(ds), "PVRT");
    EXPECT_EQ(debug_threads(ds), 2);
    EXPECT_EQ(read_all(ds).size(), 128u * 96u);
    GDALClose(ds);
    EXPECT_EQ(soft_limit(), g_soft_at_start);
    EXPECT_EQ(pool_option(), nullptr);
}

TEST(Polite, ADatasetThatNeedsMoreRaisesOnlyThat)
{
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    if (rl.rlim_max != RLIM_INFINITY && rl.rlim_max < 1024)
        GTEST_SKIP() << "hard descriptor limit " << rl.rlim_max
                     << " leaves nothing to raise";
    const std::string vrt = sum_vrt("big.vrt", 60);

    // The oracle first, with GDAL's VRT driver and 100 pool entries.
    CPLSetThreadLocalConfigOption("PVRT_CLAIM", "NONE");
    GDALDatasetH oracle = GDALOpen(vrt.c_str(), GA_ReadOnly);
    ASSERT_NE(oracle, nullptr);
    ASSERT_EQ(driver_of(oracle), "VRT");
    const std::vector<float> want = read_all(oracle);
    GDALClose(oracle);
    CPLSetThreadLocalConfigOption("PVRT_CLAIM", nullptr);
    EXPECT_EQ(soft_limit(), g_soft_at_start);
    EXPECT_EQ(pool_option(), nullptr);

    CPLSetConfigOption("CPL_DEBUG", "ON");
    GDALDatasetH ds = open_with_threads(vrt, "4");
    CPLSetConfigOption("CPL_DEBUG", nullptr);
    ASSERT_NE(ds, nullptr);
    EXPECT_EQ(driver_of(ds), "PVRT");
    // 4 threads x 60 sources: the pool option and the descriptors grow to
    // hold 240 sources, and the threads are not capped.
    ASSERT_NE(pool_option(), nullptr);
    EXPECT_STREQ(pool_option(), "240");
    EXPECT_GT(soft_limit(), g_soft_at_start);
    EXPECT_GE(soft_limit(), 240u + 64u);
    EXPECT_LE(soft_limit(), 1024u) << "raised further than the dataset needs";
    EXPECT_EQ(debug_threads(ds), 4);
    EXPECT_TRUE(debug_has("raised the soft file descriptor limit"));
    EXPECT_TRUE(debug_has("GDAL_MAX_DATASET_POOL_SIZE=240"));
    const std::vector<float> got = read_all(ds);
    GDALClose(ds);
    ASSERT_EQ(got.size(), want.size());
    EXPECT_TRUE(got == want) << "PVRT's bytes differ from the VRT driver's";
    CPLSetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", nullptr);
}

TEST(Polite, AValueTheUserSetIsKept)
{
    const std::string vrt = sum_vrt("big.vrt", 60);
    CPLSetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", "150");
    GDALDatasetH ds = open_with_threads(vrt, "4");
    ASSERT_NE(ds, nullptr);
    EXPECT_STREQ(pool_option(), "150");
    // 150 pool entries hold two threads' 60 sources.
    EXPECT_EQ(debug_threads(ds), 2);
    GDALClose(ds);
    CPLSetConfigOption("GDAL_MAX_DATASET_POOL_SIZE", nullptr);
}

} // namespace

int main(int argc, char **argv)
{
    ::testing::InitGoogleTest(&argc, argv);
    // The state the plugin must leave alone, set before it loads.
    unsetenv("GDAL_MAX_DATASET_POOL_SIZE");
    unsetenv("PVRT_NUM_THREADS");
    setenv("GDAL_DRIVER_PATH", PVRT_PLUGIN_DIR, 0);
    struct rlimit rl;
    getrlimit(RLIMIT_NOFILE, &rl);
    rl.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < kSoftLimit
                      ? rl.rlim_max
                      : kSoftLimit;
    setrlimit(RLIMIT_NOFILE, &rl);
    g_soft_at_start = soft_limit();

    char tmpl[] = "/tmp/pvrt_polite_XXXXXX";
    if (mkdtemp(tmpl) == nullptr)
        return 1;
    g_dir = tmpl;

    CPLPushErrorHandler(collect);
    GDALAllRegister();
    const int rc = RUN_ALL_TESTS();
    CPLPopErrorHandler();
    char **files = VSIReadDir(g_dir.c_str());
    for (char **f = files; f && *f; f++)
        VSIUnlink((g_dir + "/" + *f).c_str());
    CSLDestroy(files);
    VSIRmdir(g_dir.c_str());
    GDALDestroy();
    return rc;
}
