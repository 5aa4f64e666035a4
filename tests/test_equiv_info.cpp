// test_equiv_info.cpp: everything but pixel reading is the VRT's own.
//
// Runs `gdalinfo -json -stats -checksum -mm -listmdd` on rich derived VRTs
// twice, through the plugin and with `--config PVRT_CLAIM NONE` (GDAL's VRT
// driver reads; the plugin stays loaded so pvrt_* functions exist), with
// GDAL_PAM_ENABLED=NO so neither run writes an .aux.xml the other would
// read. The two JSON documents must be identical except the driver's names
// (driverShortName, driverLongName): size, data types, block size,
// georeferencing, nodata, scale/offset, units, colour interpretation and
// table, categories, RAT, every metadata domain, mask flags, overviews,
// file list, and the statistics, checksums and min/max that gdalinfo
// computes by reading every pixel (through PVRT in the first run). The
// first run must really be PVRT's (its driverShortName says so). The same
// is checked through the C API for the overview bands' checksums.
#include <gtest/gtest.h>

#include <cpl_string.h>
#include <gdal.h>
#include <gdal_alg.h>

#include <sstream>
#include <string>
#include <vector>

#include "testutil.h"

using namespace pvrt_test;

namespace
{

const int W = 263, H = 177;

// Writes the rich VRT; `xml` gets its text.
std::string rich_vrt(std::string *xml_out = nullptr)
{
    RasterSpec s;
    s.width = W;
    s.height = H;
    s.type = GDT_Byte;
    s.block_x = 64;
    s.block_y = 32;
    s.bands = 2;
    const std::string tif = make_tiff("info.tif", s);
    RasterSpec o = s;
    o.width = 132;
    o.height = 89;
    o.block_x = o.block_y = 0;
    const std::string ovr = make_tiff("info_ovr.tif", o);
    const std::string overview =
        "<Overview><SourceFilename relativeToVRT=\"0\">" + ovr +
        "</SourceFilename><SourceBand>1</SourceBand></Overview>";
    const std::string band1_extra =
        "<Description>classes</Description>"
        "<Metadata><MDI key=\"band_key\">band value</MDI></Metadata>"
        "<Metadata domain=\"band_domain\"><MDI key=\"k\">v</MDI></Metadata>"
        "<NoDataValue>7</NoDataValue>"
        "<ColorInterp>Palette</ColorInterp>"
        "<ColorTable><Entry c1=\"0\" c2=\"0\" c3=\"0\" c4=\"255\"/>"
        "<Entry c1=\"255\" c2=\"0\" c3=\"0\" c4=\"255\"/>"
        "<Entry c1=\"0\" c2=\"255\" c3=\"0\" c4=\"128\"/></ColorTable>"
        "<CategoryNames><Category>zero</Category><Category>one</Category>"
        "</CategoryNames>"
        "<GDALRasterAttributeTable>"
        "<FieldDefn "
        "index=\"0\"><Name>Value</Name><Type>0</Type><Usage>5</Usage>"
        "</FieldDefn><FieldDefn index=\"1\"><Name>Name</Name><Type>2</Type>"
        "<Usage>2</Usage></FieldDefn>"
        "<Row index=\"0\"><F>0</F><F>water</F></Row>"
        "<Row index=\"1\"><F>1</F><F>land</F></Row>"
        "</GDALRasterAttributeTable>" +
        overview;
    const std::string band2_extra =
        "<NoDataValue>-9999</NoDataValue><Offset>1.5</Offset><Scale>0.25</"
        "Scale>"
        "<UnitType>m</UnitType><ColorInterp>Gray</ColorInterp>" +
        overview;
    std::string xml = vrt_dataset(
        W, H,
        {derived_band(1, GDT_Byte, "pvrt_busy", {simple_source(tif, 1, W, H)},
                      "iterations=\"1\"", GDT_Unknown, band1_extra),
         derived_band(
             2, GDT_Float32, "sum",
             {simple_source(tif, 1, W, H), simple_source(tif, 2, W, H)}, "",
             GDT_Float64, band2_extra)});
    // Dataset-level SRS and metadata in two domains.
    xml.insert(xml.find("<GeoTransform>"),
               "<SRS dataAxisToSRSAxisMapping=\"1,2\">EPSG:32631</SRS>"
               "<Metadata><MDI key=\"AREA_OR_POINT\">Point</MDI>"
               "<MDI key=\"title\">rich</MDI></Metadata>"
               "<Metadata domain=\"custom\"><MDI key=\"a\">b</MDI></Metadata>");
    if (xml_out)
        *xml_out = xml;
    return write_file("info.vrt", xml);
}

// gdalinfo's JSON with the driver-name lines removed; `driver` gets the
// short name it reported.
std::string gdalinfo_json(const std::string &path, const std::string &extra,
                          std::string *driver)
{
    std::string out;
    const std::string cmd = host_env() +
                            "GDAL_PAM_ENABLED=NO gdalinfo -json -stats "
                            "-checksum -mm -listmdd " +
                            extra + " '" + path + "'";
    const int rc = run_command(cmd, &out);
    EXPECT_EQ(rc, 0) << cmd << "\n" << out;
    std::istringstream in(out);
    std::string line, kept;
    while (std::getline(in, line)) {
        if (line.find("\"driverShortName\"") != std::string::npos) {
            *driver = line;
            continue;
        }
        if (line.find("\"driverLongName\"") != std::string::npos)
            continue;
        kept += line + "\n";
    }
    return kept;
}

std::string slurp(const std::string &path)
{
    std::string out;
    FILE *f = fopen(path.c_str(), "rb");
    if (f == nullptr)
        return out;
    char buf[4096];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, f)) > 0)
        out.append(buf, n);
    fclose(f);
    return out;
}

// GDAL's VRT driver writes computed statistics into the .vrt itself when
// PAM is off (re-serialising it, SRS as WKT1 included), so each run starts
// from the original text, and the files the two runs leave must match too.
TEST(EquivInfo, GdalinfoJsonIdenticalButDriver)
{
    std::string xml;
    const std::string vrt = rich_vrt(&xml);
    std::string pvrt_driver, vrt_driver;
    const std::string with = gdalinfo_json(vrt, "", &pvrt_driver);
    const std::string left_by_pvrt = slurp(vrt);
    write_file("info.vrt", xml);
    const std::string without =
        gdalinfo_json(vrt, "--config PVRT_CLAIM NONE", &vrt_driver);
    const std::string left_by_vrt = slurp(vrt);
    EXPECT_EQ(left_by_pvrt, left_by_vrt)
        << "the .vrt is left in another state through PVRT";
    EXPECT_NE(pvrt_driver.find("\"PVRT\""), std::string::npos) << pvrt_driver;
    EXPECT_NE(vrt_driver.find("\"VRT\""), std::string::npos) << vrt_driver;
    // The features are really there (else equality proves little).
    for (const char *needle :
         {"\"colorTable\"", "\"rat\"", "\"overviews\"", "\"checksum\"",
          "\"STATISTICS_MEAN\"", "\"categories\"", "\"unit\"", "\"scale\"",
          "\"custom\"", "\"band_domain\"", "\"classes\""})
        EXPECT_NE(without.find(needle), std::string::npos) << needle;
    if (with != without) {
        // Show the first differing line.
        std::istringstream a(with), b(without);
        std::string la, lb;
        int n = 0;
        while (true) {
            const bool ga = (bool)std::getline(a, la),
                       gb = (bool)std::getline(b, lb);
            n++;
            if (!ga || !gb || la != lb) {
                ADD_FAILURE() << "gdalinfo JSON differs at line " << n
                              << ":\n  PVRT: " << (ga ? la : "<end>")
                              << "\n  VRT:  " << (gb ? lb : "<end>");
                break;
            }
        }
    }
}

// The same VRT through the C API: metadata domain lists and overview
// checksums (overview bands are read through PVRT too).
TEST(EquivInfo, DomainsAndOverviewChecksums)
{
    const std::string vrt = rich_vrt();
    GDALDatasetH pvrt = open_pvrt(vrt, {"NUM_THREADS=3", "TILE_SIZE=16x16"});
    ASSERT_NE(pvrt, nullptr);
    ASSERT_EQ(driver_name(pvrt), "PVRT");
    OracleScope scope;
    GDALDatasetH oracle = open_oracle(vrt);
    ASSERT_NE(oracle, nullptr);
    auto domains = [](GDALMajorObjectH h) {
        std::vector<std::string> out;
        char **list = GDALGetMetadataDomainList(h);
        for (char **p = list; p && *p; p++)
            out.push_back(*p);
        CSLDestroy(list);
        return out;
    };
    EXPECT_EQ(domains(pvrt), domains(oracle));
    for (int b = 1; b <= 2; b++) {
        GDALRasterBandH pb = GDALGetRasterBand(pvrt, b),
                        ob = GDALGetRasterBand(oracle, b);
        EXPECT_EQ(domains(pb), domains(ob)) << "band " << b;
        ASSERT_EQ(GDALGetOverviewCount(pb), GDALGetOverviewCount(ob));
        ASSERT_EQ(GDALGetOverviewCount(ob), 1);
        GDALRasterBandH po = GDALGetOverview(pb, 0),
                        oo = GDALGetOverview(ob, 0);
        EXPECT_EQ(GDALChecksumImage(po, 0, 0, GDALGetRasterBandXSize(po),
                                    GDALGetRasterBandYSize(po)),
                  GDALChecksumImage(oo, 0, 0, GDALGetRasterBandXSize(oo),
                                    GDALGetRasterBandYSize(oo)));
        EXPECT_EQ(GDALChecksumImage(pb, 0, 0, W, H),
                  GDALChecksumImage(ob, 0, 0, W, H));
    }
    GDALClose(oracle);
    GDALClose(pvrt);
}

} // namespace
