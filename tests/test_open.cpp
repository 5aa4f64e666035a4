// test_open.cpp: what the driver claims, and how it refuses.
//
// Identify and Open through GDAL itself (GDALIdentifyDriverEx, GDALOpenEx):
// the default, ALL and NONE claim modes; files never claimed (update
// access, OGR VRTs, Python pixel functions); the PVRT: prefix on any
// raster; and bad open options, each a CE_Failure whose message names the
// option and what was expected, never a crash or a silent default.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <cpl_minixml.h>
#include <cpl_string.h>
#include <gdal.h>

#include <algorithm>
#include <string>
#include <vector>

#include "testutil.h"

namespace
{

using namespace pvrt_test;

std::string g_tif;

const std::string &tif()
{
    if (g_tif.empty()) {
        RasterSpec s;
        s.width = 64;
        s.height = 48;
        g_tif = make_tiff("open_src.tif", s);
    }
    return g_tif;
}

std::string derived_vrt_text()
{
    return vrt_dataset(64, 48,
                       {derived_band(1, GDT_Float32, "pvrt_busy",
                                     {simple_source(tif(), 1, 64, 48)})});
}

std::string mosaic_vrt_text()
{
    return "<VRTDataset rasterXSize=\"64\" rasterYSize=\"48\">"
           "<VRTRasterBand dataType=\"Byte\" band=\"1\">" +
           simple_source(tif(), 1, 64, 48) + "</VRTRasterBand></VRTDataset>";
}

// Opens path with options; returns the driver name ("" if it failed) and
// the last error message.
std::string open_driver(const std::string &path,
                        const std::vector<std::string> &oo = {},
                        unsigned flags = GDAL_OF_RASTER,
                        std::string *error = nullptr)
{
    CPLStringList list;
    for (const auto &o : oo)
        list.AddString(o.c_str());
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    GDALDatasetH ds =
        GDALOpenEx(path.c_str(), flags, nullptr, list.List(), nullptr);
    CPLPopErrorHandler();
    if (error)
        *error = CPLGetLastErrorMsg();
    const std::string name = ds ? driver_name(ds) : "";
    if (ds)
        GDALClose(ds);
    return name;
}

// The driver's open option list is XML GDAL can parse (else every open
// with options warns, and gdalinfo --format PVRT prints an error), and
// lists the options the README documents.
TEST(Open, OpenOptionListParses)
{
    GDALDriverH drv = GDALGetDriverByName("PVRT");
    ASSERT_NE(drv, nullptr);
    const char *xml = GDALGetMetadataItem(drv, GDAL_DMD_OPENOPTIONLIST, "");
    ASSERT_NE(xml, nullptr);
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    CPLXMLNode *tree = CPLParseXMLString(xml);
    CPLPopErrorHandler();
    ASSERT_NE(tree, nullptr) << CPLGetLastErrorMsg();
    EXPECT_EQ(CPLGetLastErrorType(), CE_None) << CPLGetLastErrorMsg();
    std::vector<std::string> names;
    for (CPLXMLNode *o = CPLGetXMLNode(tree, "=OpenOptionList")->psChild; o;
         o = o->psNext)
        if (o->eType == CXT_Element && EQUAL(o->pszValue, "Option"))
            names.push_back(CPLGetXMLValue(o, "name", ""));
    CPLDestroyXMLNode(tree);
    for (const char *name :
         {"NUM_THREADS", "TILE_SIZE", "TILE_MEMORY_MB", "MIN_TILE_PIXELS",
          "CACHE_MB", "READ_AHEAD", "WINDOW_GATHER", "REUSE"})
        EXPECT_NE(std::find(names.begin(), names.end(), name), names.end())
            << name;
}

// GetMetadata("__DEBUG__") lists every item docs/driver.md names, each
// with the value GetMetadataItem gives.
TEST(Open, DebugMetadataListsEveryItem)
{
    const std::string vrt = write_file("open_debug.vrt", derived_vrt_text());
    GDALDatasetH ds =
        GDALOpenEx(vrt.c_str(), GDAL_OF_RASTER, nullptr, nullptr, nullptr);
    ASSERT_NE(ds, nullptr);
    ASSERT_EQ(driver_name(ds), "PVRT");
    CSLConstList list = GDALGetMetadata(ds, "__DEBUG__");
    for (const char *name : {"LAST_READ_TILES",     "LAST_READ_PIXELS",
                             "LAST_READ_THREADS",   "THREADS",
                             "TILE_SAFE",           "CLONES_OPEN",
                             "SPLIT_READS",         "STRIPED_TILES",
                             "AHEAD_REGIONS",       "BACKGROUND_REGIONS",
                             "REGIONS_REUSED",      "LARGE_AHEAD",
                             "LARGE_TILES_HIT",     "CACHE_HITS",
                             "CACHE_BYTES",         "SAMPLED_BLOCKS",
                             "SOURCE_DROPS",        "GATHERED_READS",
                             "DIRECT_CAPTURES",     "GATHER_HANDLES",
                             "TOGETHER_BANDS",      "TOGETHER_HITS",
                             "MASK_HITS",           "SHARED_READS",
                             "SHARED_HANDLES",      "REUSES",
                             "GATHER_MEMORY_REUSED"}) {
        const char *listed = CSLFetchNameValue(list, name);
        const char *item = GDALGetMetadataItem(ds, name, "__DEBUG__");
        ASSERT_NE(listed, nullptr) << name;
        ASSERT_NE(item, nullptr) << name;
        EXPECT_STREQ(listed, item) << name;
    }
    GDALClose(ds);
}

TEST(Open, ClaimModes)
{
    const std::string derived =
        write_file("claim_derived.vrt", derived_vrt_text());
    const std::string mosaic =
        write_file("claim_mosaic.vrt", mosaic_vrt_text());
    EXPECT_EQ(open_driver(derived), "PVRT");
    EXPECT_EQ(open_driver(mosaic), "VRT");
    EXPECT_EQ(open_driver(derived_vrt_text()), "PVRT") << "inline XML";
    EXPECT_EQ(open_driver("PVRT:" + mosaic), "PVRT");
    EXPECT_EQ(open_driver("PVRT:" + tif()), "PVRT") << "any raster";

    CPLSetThreadLocalConfigOption("PVRT_CLAIM", "ALL");
    EXPECT_EQ(open_driver(mosaic), "PVRT");
    EXPECT_EQ(open_driver(tif()), "GTiff") << "only VRTs are claimed";
    CPLSetThreadLocalConfigOption("PVRT_CLAIM", "NONE");
    EXPECT_EQ(open_driver(derived), "VRT");
    EXPECT_EQ(open_driver("PVRT:" + derived), "PVRT") << "explicit prefix";
    CPLSetThreadLocalConfigOption("PVRT_CLAIM", nullptr);
}

TEST(Open, NeverClaimed)
{
    const std::string derived =
        write_file("never_derived.vrt", derived_vrt_text());
    // Update access stays with the VRT driver.
    EXPECT_EQ(open_driver(derived, {}, GDAL_OF_RASTER | GDAL_OF_UPDATE), "VRT");
    // Python pixel functions stay with the VRT driver (not run here).
    std::string py = derived_vrt_text();
    const std::string from = "<PixelFunctionType>";
    py.replace(py.find(from), 0,
               "<PixelFunctionLanguage>Python</PixelFunctionLanguage>");
    const std::string pyvrt = write_file("never_python.vrt", py);
    GDALDriverH id =
        GDALIdentifyDriverEx(pyvrt.c_str(), GDAL_OF_RASTER, nullptr, nullptr);
    ASSERT_NE(id, nullptr);
    EXPECT_EQ(open_driver(pyvrt), "VRT");
    // An OGR VRT is not a raster VRT.
    const std::string ogr =
        write_file("never.ovf", "<OGRVRTDataSource><OGRVRTLayer name=\"x\">"
                                "<SrcDataSource>nothing.csv</SrcDataSource>"
                                "</OGRVRTLayer></OGRVRTDataSource>");
    GDALDriverH d =
        GDALIdentifyDriverEx(ogr.c_str(), GDAL_OF_RASTER, nullptr, nullptr);
    EXPECT_TRUE(d == nullptr ||
                std::string(GDALGetDriverShortName(d)) != "PVRT");
    // A broken VRT is reported by GDAL's VRT driver, not claimed.
    const std::string broken = write_file(
        "never_broken.vrt",
        "<VRTDataset rasterXSize=\"10\" rasterYSize=\"10\"><VRTRasterBand "
        "dataType=\"Byte\" band=\"1\" subClass=\"VRTDerivedRasterBand\">"
        "<SimpleSource><SourceFilename>no_such.tif</SourceFilename>"
        "<SourceBand>1</SourceBand><SourceProperties RasterXSize=\"10\" "
        "RasterYSize=\"10\" DataType=\"Byte\"/></SimpleSource>");
    std::string err;
    EXPECT_EQ(open_driver(broken, {}, GDAL_OF_RASTER, &err), "");
    EXPECT_FALSE(err.empty());
}

TEST(Open, BadOpenOptionsFailWithClearErrors)
{
    const std::string derived = write_file("opts.vrt", derived_vrt_text());
    struct Case {
        std::string option, needle;
    };
    const Case cases[] = {
        {"NUM_THREADS=abc", "NUM_THREADS"},
        {"NUM_THREADS=0", "NUM_THREADS"},
        {"NUM_THREADS=-4", "NUM_THREADS"},
        {"NUM_THREADS=2x", "NUM_THREADS"},
        {"TILE_SIZE=0x5", "TILE_SIZE"},
        {"TILE_SIZE=64", "TILE_SIZE"},
        {"TILE_SIZE=64x64x2", "TILE_SIZE"},
        {"TILE_SIZE=wide", "TILE_SIZE"},
        {"TILE_MEMORY_MB=0", "TILE_MEMORY_MB"},
        {"TILE_MEMORY_MB=lots", "TILE_MEMORY_MB"},
        {"MIN_TILE_PIXELS=-1", "MIN_TILE_PIXELS"},
    };
    for (const Case &c : cases) {
        std::string err;
        EXPECT_EQ(open_driver(derived, {c.option}, GDAL_OF_RASTER, &err), "")
            << c.option << " should fail the open";
        EXPECT_NE(err.find(c.needle), std::string::npos)
            << c.option << ": " << err;
        EXPECT_NE(err.find("PVRT"), std::string::npos) << err;
    }
    // The same through the config options.
    CPLSetThreadLocalConfigOption("PVRT_NUM_THREADS", "many");
    std::string err;
    EXPECT_EQ(open_driver(derived, {}, GDAL_OF_RASTER, &err), "");
    EXPECT_NE(err.find("NUM_THREADS"), std::string::npos) << err;
    CPLSetThreadLocalConfigOption("PVRT_NUM_THREADS", nullptr);
    // And good values open.
    EXPECT_EQ(open_driver(derived, {"NUM_THREADS=ALL_CPUS", "TILE_SIZE=AUTO",
                                    "TILE_MEMORY_MB=8", "MIN_TILE_PIXELS=1"}),
              "PVRT");
}

TEST(Open, PrefixErrors)
{
    std::string err;
    EXPECT_EQ(open_driver("PVRT:", {}, GDAL_OF_RASTER, &err), "");
    EXPECT_NE(err.find("PVRT"), std::string::npos) << err;
    EXPECT_EQ(open_driver("PVRT:PVRT:" + tif(), {}, GDAL_OF_RASTER, &err), "");
    EXPECT_NE(err.find("PVRT"), std::string::npos) << err;
    EXPECT_EQ(
        open_driver("PVRT:" + tif(), {}, GDAL_OF_RASTER | GDAL_OF_UPDATE, &err),
        "");
    EXPECT_NE(err.find("read-only"), std::string::npos) << err;
    EXPECT_EQ(open_driver("PVRT:/no/such/file.tif", {}, GDAL_OF_RASTER, &err),
              "");
    EXPECT_FALSE(err.empty());
}

} // namespace
