// test_expr_examples.cpp: the pvrt_expr vrt-examples, end to end.
//
// Writes the inputs with vrt-examples/make_expr_inputs.py into the scratch
// folder (with copies of the VRTs), reads each VRT through GDAL's own VRT
// driver (pvrt_expr registered with GDAL), and compares with numpy's
// result computed by Debian's python3 from the same input GeoTIFFs: bytes
// equal, NaN equal to NaN.
#include <gtest/gtest.h>

#include <cpl_error.h>
#include <cpl_vsi.h>
#include <gdal.h>

#include <cmath>
#include <cstring>
#include <string>
#include <vector>

#include "pixelfuncs.h"
#include "testutil.h"

namespace
{

const char *kOracle = R"PY(
import sys
import numpy as np
from osgeo import gdal
d = sys.argv[1]
def read(name):
    return gdal.Open(d + "/" + name).ReadAsArray().astype(np.float64)
red, nir, qa = read("expr_red.tif"), read("expr_nir.tif"), read("expr_qa.tif")
with np.errstate(divide="ignore", invalid="ignore"):
    ndvi = (nir - red) / (nir + red)
ndvi.astype(np.float32).tofile(d + "/want_ndvi.bin")
cls = np.select([ndvi < 0, ndvi < 0.2, ndvi < 0.5], [1, 2, 3], 4)
cls[(red == 0) | (nir == 0) | np.isnan(ndvi)] = 0
cls.astype(np.uint8).tofile(d + "/want_classify.bin")
q = qa.astype(np.int64)
mask = np.where(q & 1, 255, ((q >> 3) & 1) | ((q >> 4) & 1))
mask.astype(np.uint8).tofile(d + "/want_cloud_mask.bin")
print('counts:', int(np.isnan(ndvi).sum()), int((cls == 0).sum()), int((mask == 1).sum()),
      int((mask == 255).sum()), *[int((cls == k).sum()) for k in (1, 2, 3, 4)])
)PY";

std::vector<GByte> read_file(const std::string &path)
{
    std::vector<GByte> data;
    VSILFILE *f = VSIFOpenL(path.c_str(), "rb");
    if (f == nullptr)
        return data;
    VSIFSeekL(f, 0, SEEK_END);
    data.resize((size_t)VSIFTellL(f));
    VSIFSeekL(f, 0, SEEK_SET);
    if (VSIFReadL(data.data(), 1, data.size(), f) != data.size())
        data.clear();
    VSIFCloseL(f);
    return data;
}

class ExprExamples : public ::testing::Test
{
  protected:
    static void SetUpTestSuite()
    {
        // The plugin registered the pvrt_* functions when it loaded; register
        // this binary's copy too (the same code), so the test also runs
        // where the plugin cannot load (sanitizer builds).
        ASSERT_EQ(pvrt_pixelfuncs_register(), 0);
        dir_ = pvrt_test::scratch("expr_examples");
        if (pvrt_test::python().empty())
            return;
        const std::string gen =
            pvrt_test::source_dir() + "/vrt-examples/make_expr_inputs.py";
        std::string out;
        // The scripts need no plugin: keep them from loading this build's
        // (a sanitizer build's cannot load into python).
        const std::string py = "env -u GDAL_DRIVER_PATH " + pvrt_test::python();
        status_ = pvrt_test::run_command(py + " " + gen + " " + dir_, &out);
        if (status_ != 0) {
            log_ = out;
            return;
        }
        pvrt_test::write_file("expr_examples_oracle.py", kOracle);
        out.clear();
        status_ = pvrt_test::run_command(
            py + " " + pvrt_test::scratch("expr_examples_oracle.py") + " " +
                dir_,
            &out);
        log_ = out;
    }

    void check(const char *name, GDALDataType type, bool float_nan_equal)
    {
        if (pvrt_test::python().empty())
            GTEST_SKIP() << "no python3 with osgeo and numpy";
        ASSERT_EQ(status_, 0) << log_;
        const std::string vrt = dir_ + "/" + name + ".vrt";
        pvrt_test::OracleScope scope;
        GDALDatasetH ds = pvrt_test::open_oracle(vrt);
        ASSERT_NE(ds, nullptr) << vrt;
        const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
        const int size = GDALGetDataTypeSizeBytes(type);
        std::vector<GByte> got;
        ASSERT_EQ(pvrt_test::read_band1(ds, type, &got), CE_None)
            << CPLGetLastErrorMsg();
        GDALClose(ds);
        const std::vector<GByte> want =
            read_file(dir_ + "/want_" + name + ".bin");
        ASSERT_EQ(want.size(), got.size());
        int nan_pixels = 0;
        for (size_t i = 0; i < (size_t)w * h; i++) {
            if (float_nan_equal) {
                float a, b;
                memcpy(&a, &got[i * 4], 4);
                memcpy(&b, &want[i * 4], 4);
                if (std::isnan(a) && std::isnan(b)) {
                    nan_pixels++;
                    continue;
                }
            }
            ASSERT_EQ(memcmp(&got[i * size], &want[i * size], size), 0)
                << name << " pixel " << i % w << "," << i / w;
        }
        if (float_nan_equal) {
            EXPECT_EQ(nan_pixels, 400) << "the 20x20 fill corner is 0/0";
        }
    }

    static std::string dir_;
    static int status_;
    static std::string log_;
};

std::string ExprExamples::dir_;
int ExprExamples::status_ = -1;
std::string ExprExamples::log_;

TEST_F(ExprExamples, Ndvi)
{
    check("ndvi", GDT_Float32, true);
}
TEST_F(ExprExamples, CloudMask)
{
    check("cloud_mask", GDT_Byte, false);
}
TEST_F(ExprExamples, Classify)
{
    check("classify", GDT_Byte, false);
}

// The oracle's class counts: every class occurs, so the test compares
// something.
TEST_F(ExprExamples, InputsCoverEveryCase)
{
    if (pvrt_test::python().empty())
        GTEST_SKIP() << "no python3 with osgeo and numpy";
    ASSERT_EQ(status_, 0) << log_;
    int nan = 0, cls0 = 0, cloud = 0, fill = 0, c[4] = {0, 0, 0, 0};
    // The counts line is found by its tag: the child's stderr (a Python
    // FutureWarning on newer numpy/GDAL) shares the captured output.
    const size_t at = log_.find("counts:");
    ASSERT_NE(at, std::string::npos) << log_;
    ASSERT_EQ(sscanf(log_.c_str() + at, "counts: %d %d %d %d %d %d %d %d", &nan,
                     &cls0, &cloud, &fill, &c[0], &c[1], &c[2], &c[3]),
              8)
        << log_;
    EXPECT_EQ(nan, 400);
    EXPECT_EQ(cls0, 410); // the fill corner and the 10-pixel nir gap
    EXPECT_GT(cloud, 1000);
    EXPECT_EQ(fill, 400);
    for (int k : c)
        EXPECT_GT(k, 100);
}

} // namespace
