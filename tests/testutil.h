// testutil.h: helpers shared by the test suites.
//
// The driver's contract for tests (claims, open and config options,
// __DEBUG__ metadata, oracle rules) is in README.md (The PVRT driver).
//
// Raster makers that write position-encoding GeoTIFFs, a scratch folder per
// test process, and the two ways to open a VRT: through the PVRT plugin and
// through GDAL's own VRT driver (the oracle), so tests compare the bytes the
// two return for the same request.
#ifndef PVRT_TESTUTIL_H
#define PVRT_TESTUTIL_H

#include <gdal.h>

#include <string>
#include <vector>

namespace pvrt_test
{

// A scratch folder, created once per process and removed at exit.
const std::string &scratch_dir();
// scratch_dir() + "/" + name.
std::string scratch(const std::string &name);

// The value a synthetic raster holds at (x, y) of band b, as a double that
// fits the type (a hash of the position folded into the type's range; for
// float types it includes fractions and negatives).
double pattern_value(GDALDataType type, int x, int y, int band, int seed);

struct RasterSpec {
    int width = 97;
    int height = 61;
    int bands = 1;
    GDALDataType type = GDT_Byte;
    int block_x = 0; // 0: GDAL's default (striped)
    int block_y = 0;
    const char *compress = nullptr; // e.g. "DEFLATE"
    int seed = 0;
    bool has_nodata = false;
    double nodata = 0;
    bool overviews = false; // builds internal overviews 2 and 4
};

// A width x height raster of `type` in 64x64 blocks (other fields default).
RasterSpec tiled_spec(int width, int height, GDALDataType type);

// Writes a GeoTIFF filled with pattern_value; returns its path.
std::string make_tiff(const std::string &name, const RasterSpec &spec);

// Writes n GeoTIFFs <prefix><i>.tif of `spec`, seeds spec.seed + i, and
// returns a <SimpleSource> element covering each whole (simple_source).
std::vector<std::string> tiff_sources(const std::string &prefix, int n,
                                      RasterSpec spec);

// Writes text to a file in the scratch folder; returns its path.
std::string write_file(const std::string &name, const std::string &text);

// A <SimpleSource> element for band `band` of `path` covering the whole
// raster (explicit SrcRect/DstRect of width x height).
std::string simple_source(const std::string &path, int band, int width,
                          int height);

// Opens through the plugin (any driver may claim; PVRT claims what it
// should) with optional open options.
GDALDatasetH open_pvrt(const std::string &path,
                       const std::vector<std::string> &open_options = {});
// Opens with GDAL's VRT driver only: the oracle. A VRT whose sources are
// VRTs opens them lazily while reading; keep an OracleScope alive around the
// oracle's open and reads so PVRT claims none of them.
GDALDatasetH open_oracle(const std::string &path);

// Sets PVRT_CLAIM=NONE in this thread for its lifetime.
class OracleScope
{
  public:
    OracleScope();
    ~OracleScope();
    OracleScope(const OracleScope &) = delete;
    OracleScope &operator=(const OracleScope &) = delete;

  private:
    std::string previous_;
    bool had_previous_;
};

// Name of the driver that opened hDS.
std::string driver_name(GDALDatasetH ds);

// Runs a shell command; returns its exit status and fills output (stdout
// and stderr) if given.
int run_command(const std::string &cmd, std::string *output = nullptr);

// What a command line must start with to run an uninstrumented host
// program (gdalinfo, gdal_translate, python3) that loads this build's
// plugin: "" in a plain build; in a sanitizer build, assignments giving the
// host the sanitizer's shared runtime (environment PVRT_HOST_ENV, set by
// tests/driver.cmake), followed by a space.
std::string host_env();

// The Python interpreter that imports osgeo and numpy, or "" if none.
std::string python();

// Source tree root (PVRT_SOURCE_DIR), for vrt-examples/.
std::string source_dir();

// ---- VRT text builders ----------------------------------------------------

// A <VRTRasterBand subClass="VRTDerivedRasterBand"> element. `args` is the
// inner XML of <PixelFunctionArguments ...> as attributes (e.g.
// "iterations=\"1\""), "" for none; transfer GDT_Unknown leaves
// <SourceTransferType> out. `sources` are source elements (simple_source).
std::string derived_band(int band, GDALDataType type, const std::string &func,
                         const std::vector<std::string> &sources,
                         const std::string &args = "",
                         GDALDataType transfer = GDT_Unknown,
                         const std::string &extra = "");

// A <VRTDataset> with the given band elements (width x height).
std::string vrt_dataset(int width, int height,
                        const std::vector<std::string> &bands);

// ---- Reading and comparing ------------------------------------------------

// Reads __DEBUG__ LAST_READ_TILES of a PVRT dataset (-1 when absent).
int last_read_tiles(GDALDatasetH ds);

// Reads band 1 of ds whole, as `type`, into out (resized to hold it: T is
// the element type, or GByte for raw bytes of any type).
template <typename T>
CPLErr read_band1(GDALDatasetH ds, GDALDataType type, std::vector<T> *out)
{
    const int w = GDALGetRasterXSize(ds), h = GDALGetRasterYSize(ds);
    out->assign(static_cast<size_t>(w) * h * GDALGetDataTypeSizeBytes(type) /
                    sizeof(T),
                T());
    return GDALRasterIO(GDALGetRasterBand(ds, 1), GF_Read, 0, 0, w, h,
                        out->data(), w, h, type, 0, 0);
}

// One RasterIO request, band- or dataset-level, into a buffer of its own.
struct Read {
    int x = 0, y = 0, w = 0, h = 0;      // window
    int buf_w = 0, buf_h = 0;            // 0: the window's size
    GDALDataType buf_type = GDT_Unknown; // Unknown: the band's type
    std::vector<int> bands;              // dataset-level band list; empty: band
    int band = 1;                        // band-level: band number
    int overview = -1;                   // band-level: GetOverview(overview)
    bool mask = false;                   // band-level: its mask band
    GSpacing pixel_space = 0, line_space = 0, band_space = 0; // 0: packed
    GDALRIOResampleAlg resample = GRIORA_NearestNeighbour;
    bool float_window = false; // use dfXOff.. below
    double fx = 0, fy = 0, fw = 0, fh = 0;
    std::string describe() const;
};

// The bytes a read wrote: the buffer, with a poison fill before the read
// and canary zones of 4 KiB on both sides (included in `bytes`, so they are
// compared too). ok is false when RasterIO failed.
struct ReadResult {
    bool ok = false;
    std::vector<unsigned char> bytes;
    std::string error; // CPLGetLastErrorMsg() after a failure
};

// Performs r on ds (any driver).
ReadResult do_read(GDALDatasetH ds, const Read &r);

// The band r reads (resolving overview and mask), or NULL.
GDALRasterBandH read_band(GDALDatasetH ds, const Read &r);

// The GDALRasterIOExtraArg r reads with: its resampling and, if it has one,
// its floating-point window.
GDALRasterIOExtraArg extra_arg(const Read &r);

// ---- Watchdog ---------------------------------------------------------------

// Aborts the process with every thread's stack (gdb) if not destroyed
// within `seconds`: a hang must be reported as a stack, not as a timeout.
class Watchdog
{
  public:
    Watchdog(int seconds, std::string what);
    ~Watchdog();
    Watchdog(const Watchdog &) = delete;
    Watchdog &operator=(const Watchdog &) = delete;

  private:
    struct State;
    State *state_;
};

} // namespace pvrt_test

#endif
