// test_reduce_examples.cpp: vrt-examples/median_composite.vrt,
// landcover_reclass.vrt and evi.vrt against numpy.
//
// The inputs are written into a scratch folder by
// vrt-examples/make_reduce_inputs.py (which copies the VRTs there); numpy
// computes each result independently from the input GeoTIFFs
// (tests/oracles/reduce_oracle.py examples); each VRT is read whole in its
// band type with GDAL's own VRT driver and compared bit for bit. When the
// PVRT driver claims the VRT, its bytes must equal the VRT driver's.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_string.h>
#include <gdal.h>

#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "pixelfuncs.h"
#include "testutil.h"

namespace
{

class Examples : public ::testing::Test
{
  protected:
    static std::string dir_;

    static void SetUpTestSuite()
    {
        pvrt_pixelfuncs_register();
        if (pvrt_test::python().empty())
            return;
        dir_ = pvrt_test::scratch("reduce_examples");
        std::string out;
        // The Python side never loads our plugin: its results must not
        // depend on the code under test (and an instrumented plugin cannot
        // load into an uninstrumented interpreter).
        const std::string py = "GDAL_DRIVER_PATH=disable '" +
                               pvrt_test::python() + "' '" +
                               pvrt_test::source_dir();
        if (pvrt_test::run_command(
                py + "/vrt-examples/make_reduce_inputs.py' '" + dir_ + "'",
                &out) != 0 ||
            pvrt_test::run_command(
                py + "/tests/oracles/reduce_oracle.py' examples '" + dir_ + "'",
                &out) != 0) {
            ADD_FAILURE() << out;
            dir_.clear();
        }
    }

    // Reads band 1 whole in its own type; returns it as doubles and the raw
    // bytes.
    static std::vector<double> read(GDALDatasetH ds, std::vector<GByte> *bytes)
    {
        GDALRasterBandH b = GDALGetRasterBand(ds, 1);
        const GDALDataType t = GDALGetRasterDataType(b);
        const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
        const int size = GDALGetDataTypeSizeBytes(t);
        bytes->assign((size_t)w * h * size, 0);
        if (GDALRasterIO(b, GF_Read, 0, 0, w, h, bytes->data(), w, h, t, 0,
                         0) != CE_None)
            return {};
        std::vector<double> v((size_t)w * h);
        GDALCopyWords(bytes->data(), t, size, v.data(), GDT_Float64, 8, w * h);
        return v;
    }

    static void check(const std::string &name)
    {
        if (dir_.empty())
            GTEST_SKIP() << "no python3 with numpy";
        const std::string vrt = dir_ + "/" + name + ".vrt";
        GDALDatasetH ds = pvrt_test::open_oracle(vrt);
        ASSERT_NE(ds, nullptr) << CPLGetLastErrorMsg();
        std::vector<GByte> oracle_bytes;
        std::vector<double> got;
        {
            pvrt_test::OracleScope scope;
            got = read(ds, &oracle_bytes);
        }
        GDALClose(ds);
        ASSERT_FALSE(got.empty()) << CPLGetLastErrorMsg();

        std::vector<double> want(got.size());
        FILE *f = fopen((dir_ + "/" + name + ".expected").c_str(), "rb");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(fread(want.data(), sizeof(double), want.size(), f),
                  want.size());
        fclose(f);
        size_t bad = 0;
        for (size_t i = 0; i < got.size(); i++)
            if (memcmp(&got[i], &want[i], sizeof(double)) != 0 && bad++ < 5)
                ADD_FAILURE() << name << " pixel " << i << ": got " << got[i]
                              << ", numpy " << want[i];
        EXPECT_EQ(bad, 0u);

        // Under PVRT (when it claims the file): the VRT driver's bytes.
        GDALDatasetH pds = pvrt_test::open_pvrt(vrt);
        if (pds != nullptr && pvrt_test::driver_name(pds) == "PVRT") {
            std::vector<GByte> pvrt_bytes;
            EXPECT_FALSE(read(pds, &pvrt_bytes).empty())
                << CPLGetLastErrorMsg();
            EXPECT_EQ(pvrt_bytes, oracle_bytes) << name << " under PVRT";
        }
        if (pds != nullptr)
            GDALClose(pds);
    }
};

std::string Examples::dir_;

TEST_F(Examples, MedianComposite)
{
    check("median_composite");
}
TEST_F(Examples, LandcoverReclass)
{
    check("landcover_reclass");
}
TEST_F(Examples, Evi)
{
    check("evi");
}

} // namespace
