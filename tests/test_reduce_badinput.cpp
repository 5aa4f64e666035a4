// test_reduce_badinput.cpp: bad arguments to pvrt_reduce, pvrt_reclass and
// pvrt_index.
//
// Each case must fail with CE_Failure and a CPLError that names the
// function and the argument (or the problem) with what was expected; none
// may crash or read out of bounds (CI runs this under ASan and UBSan).
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <cstring>
#include <string>
#include <vector>

#include "pf_private.h"
#include "pixelfuncs.h"
#include "testutil.h"

namespace
{

struct BadCase {
    const char *fn;
    std::vector<std::pair<std::string, std::string>> args;
    int nsources;
    GDALDataType src_type;
    GDALDataType out_type;
    std::vector<std::string> must_mention;
};

std::string huge(const std::string &unit, size_t bytes)
{
    std::string s;
    while (s.size() < bytes)
        s += unit;
    return s;
}

const std::vector<BadCase> &cases()
{
    static const std::vector<BadCase> all = {
        // ---- pvrt_reduce ----
        {"pvrt_reduce", {}, 3, GDT_Byte, GDT_Byte, {"'op'", "median"}},
        {"pvrt_reduce",
         {{"op", "average"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'op'", "average"}},
        {"pvrt_reduce", {{"op", ""}}, 3, GDT_Byte, GDT_Byte, {"'op'"}},
        {"pvrt_reduce",
         {{"op", "percentile"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'", "[0, 100]"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", "-3"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'", "[0, 100]"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", "nan"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", "inf"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", "100.0000001"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", "0.12.1"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'", "number"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", ""}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", "50%"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", "1e999"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'"}},
        {"pvrt_reduce",
         {{"op", "percentile"}, {"q", huge("9", 1 << 20)}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'"}},
        {"pvrt_reduce",
         {{"op", "median"}, {"q", "50"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'q'", "percentile"}},
        {"pvrt_reduce",
         {{"op", "mean"}, {"min_count", "0"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'min_count'", "[1, 3]"}},
        {"pvrt_reduce",
         {{"op", "mean"}, {"min_count", "4"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'min_count'", "[1, 3]"}},
        {"pvrt_reduce",
         {{"op", "mean"}, {"min_count", "two"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'min_count'"}},
        {"pvrt_reduce",
         {{"op", "mean"}, {"min_count", "2147483648"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'min_count'"}},
        {"pvrt_reduce",
         {{"op", "max"}, {"skip", "1,,2"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'skip'"}},
        {"pvrt_reduce",
         {{"op", "max"}, {"skip", "a"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'skip'", "not a number"}},
        {"pvrt_reduce",
         {{"op", "max"}, {"skip", ""}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'skip'"}},
        {"pvrt_reduce",
         {{"op", "max"}, {"nodata", "none"}},
         3,
         GDT_Byte,
         GDT_Byte,
         {"'nodata'", "number"}},
        {"pvrt_reduce", {{"op", "max"}}, 0, GDT_Byte, GDT_Byte, {"source"}},
        {"pvrt_reduce",
         {{"op", "median"}},
         2,
         GDT_CFloat32,
         GDT_Float32,
         {"complex", "CFloat32"}},
        {"pvrt_reduce",
         {{"op", "median"}},
         2,
         GDT_CInt16,
         GDT_Float32,
         {"complex"}},
        // ---- pvrt_reclass ----
        {"pvrt_reclass", {}, 1, GDT_Byte, GDT_Byte, {"'mapping'", "required"}},
        {"pvrt_reclass",
         {{"mapping", ""}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "no entries"}},
        {"pvrt_reclass",
         {{"mapping", "  ; ;"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "no entries"}},
        {"pvrt_reclass",
         {{"mapping", "1=2;3"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "'3'", "expected '='"}},
        {"pvrt_reclass",
         {{"mapping", "1=2;3=4g"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "expected ';'"}},
        {"pvrt_reclass",
         {{"mapping", "1=2;q=3"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "'q=3'", "interval"}},
        {"pvrt_reclass",
         {{"mapping", "(1, }=3;3=4"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "after ','"}},
        {"pvrt_reclass",
         {{"mapping", "(1,22k}=3"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "']' or ')'"}},
        {"pvrt_reclass",
         {{"mapping", "[1 2]=3"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "','"}},
        {"pvrt_reclass",
         {{"mapping", "3= "}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "NO_DATA or PASS_THROUGH"}},
        {"pvrt_reclass",
         {{"mapping", "1=NO_DATA"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "'nodata'"}},
        {"pvrt_reclass",
         {{"mapping", "NO_DATA=15"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "'nodata'"}},
        {"pvrt_reclass",
         {{"mapping", "[1,NaN]=0"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "NaN"}},
        {"pvrt_reclass",
         {{"mapping", "[NaN,1]=0"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "NaN"}},
        {"pvrt_reclass",
         {{"mapping", "[2,1]=0"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "lower bound"}},
        {"pvrt_reclass",
         {{"mapping", "(1,1)=0"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "no value"}},
        {"pvrt_reclass",
         {{"mapping", "DEFAULT=1;DEFAULT=2"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "twice"}},
        {"pvrt_reclass",
         {{"mapping", "NAN=1;nan=2"}},
         1,
         GDT_Float32,
         GDT_Byte,
         {"'mapping'", "twice"}},
        {"pvrt_reclass",
         {{"mapping", "[1,3]=7;[2,4]=8"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "overlaps"}},
        {"pvrt_reclass",
         {{"mapping", "1=256"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'", "256", "Byte"}},
        {"pvrt_reclass",
         {{"mapping", "1=2"}, {"nodata", "x"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'nodata'"}},
        {"pvrt_reclass",
         {{"mapping", huge("[", 1 << 20)}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'"}},
        {"pvrt_reclass",
         {{"mapping", huge("1=2;", 1 << 20) + "x"}},
         1,
         GDT_Byte,
         GDT_Byte,
         {"'mapping'"}},
        {"pvrt_reclass",
         {{"mapping", "1=2"}},
         2,
         GDT_Byte,
         GDT_Byte,
         {"exactly one source", "2"}},
        {"pvrt_reclass",
         {{"mapping", "1=2"}},
         0,
         GDT_Byte,
         GDT_Byte,
         {"exactly one source"}},
        {"pvrt_reclass",
         {{"mapping", "1=2"}},
         1,
         GDT_CFloat64,
         GDT_Byte,
         {"complex"}},
        // ---- pvrt_index ----
        {"pvrt_index",
         {{"bands", "red,nir"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'index'", "NDVI"}},
        {"pvrt_index",
         {{"index", "FOO"}, {"bands", "red,nir"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'index'", "FOO", "EVI"}},
        {"pvrt_index",
         {{"index", "NDVI"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "nir,red"}},
        {"pvrt_index",
         {{"index", "EVI"}},
         3,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "nir,red,blue"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "2 source"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,nir,blue"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "3 role"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,purple"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "purple", "swir1"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,,nir"}},
         3,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "item 2"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,red"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "twice"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,green"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "'nir'", "nir,red"}},
        {"pvrt_index",
         {{"index", "NBR"}, {"bands", "nir,swir1"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'bands'", "swir2"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,nir"}, {"L", "0.3"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'L'", "NDVI"}},
        {"pvrt_index",
         {{"index", "SAVI"}, {"bands", "red,nir"}, {"G", "2"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'G'", "SAVI"}},
        {"pvrt_index",
         {{"index", "EVI"}, {"bands", "red,nir,blue"}, {"G", "abc"}},
         3,
         GDT_UInt16,
         GDT_Float32,
         {"'G'", "number"}},
        {"pvrt_index",
         {{"index", "EVI"}, {"bands", "red,nir,blue"}, {"C1", "inf"}},
         3,
         GDT_UInt16,
         GDT_Float32,
         {"'C1'", "finite"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,nir"}, {"scale", "1,2,3"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'scale'", "3 values"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,nir"}, {"scale", "abc"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'scale'"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,nir"}, {"offset", "nan"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'offset'", "finite"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,nir"}, {"nodata", "--1"}},
         2,
         GDT_UInt16,
         GDT_Float32,
         {"'nodata'"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,nir"}},
         0,
         GDT_UInt16,
         GDT_Float32,
         {"source"}},
        {"pvrt_index",
         {{"index", "NDVI"}, {"bands", "red,nir"}},
         2,
         GDT_CInt32,
         GDT_Float32,
         {"complex"}},
    };
    return all;
}

TEST(BadInput, EveryCaseFailsWithAClearMessage)
{
    ASSERT_GE(cases().size(), 30u);
    const int w = 4, h = 3;
    // Sources large enough for any type; contents irrelevant.
    std::vector<std::vector<GByte>> bufs(4, std::vector<GByte>(w * h * 16, 1));
    std::vector<void *> ptrs = {bufs[0].data(), bufs[1].data(), bufs[2].data(),
                                bufs[3].data()};
    std::vector<GByte> out(w * h * 16);
    int i = 0;
    for (const BadCase &c : cases()) {
        GDALDerivedPixelFuncWithArgs fn = pvrt_pixelfunc_find(c.fn, nullptr);
        ASSERT_NE(fn, nullptr) << c.fn;
        CPLStringList args;
        for (const auto &a : c.args)
            args.AddNameValue(a.first.c_str(), a.second.c_str());
        const int os = GDALGetDataTypeSizeBytes(c.out_type);
        CPLErrorReset();
        CPLPushErrorHandler(CPLQuietErrorHandler);
        const CPLErr err =
            fn(c.nsources ? ptrs.data() : nullptr, c.nsources, out.data(), w, h,
               c.src_type, c.out_type, os, os * w, args.List());
        CPLPopErrorHandler();
        const std::string msg = CPLGetLastErrorMsg();
        EXPECT_EQ(err, CE_Failure) << "case " << i << " (" << c.fn << ")";
        EXPECT_EQ(CPLGetLastErrorType(), CE_Failure) << "case " << i;
        EXPECT_NE(msg.find(c.fn), std::string::npos)
            << "case " << i << ": " << msg;
        for (const std::string &m : c.must_mention)
            EXPECT_NE(msg.find(m), std::string::npos)
                << "case " << i << ": '" << m
                << "' not in: " << msg.substr(0, 300);
        i++;
    }
}

// The failure surfaces through GDAL's VRT driver as a failed read.
TEST(BadInput, FailsAReadThroughTheVrtDriver)
{
    pvrt_pixelfuncs_register();
    pvrt_test::RasterSpec spec;
    spec.width = 4;
    spec.height = 3;
    const std::string tif = pvrt_test::make_tiff("bad_src.tif", spec);
    const std::string vrt = pvrt_test::write_file(
        "bad.vrt",
        pvrt_test::vrt_dataset(
            4, 3,
            {pvrt_test::derived_band(1, GDT_Byte, "pvrt_reduce",
                                     {pvrt_test::simple_source(tif, 1, 4, 3)},
                                     "op=\"percentile\" q=\"101\"")}));
    GDALDatasetH ds = pvrt_test::open_oracle(vrt);
    ASSERT_NE(ds, nullptr);
    GByte buf[12];
    CPLErrorReset();
    CPLPushErrorHandler(CPLQuietErrorHandler);
    const CPLErr err = GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, 4,
                                    3, buf, 4, 3, GDT_Byte, 0, 0);
    CPLPopErrorHandler();
    GDALClose(ds);
    EXPECT_EQ(err, CE_Failure);
    EXPECT_NE(strstr(CPLGetLastErrorMsg(), "'q'"), nullptr)
        << CPLGetLastErrorMsg();
}

} // namespace
