// test_equiv.cpp: PVRT returns the bytes GDAL's own VRT driver returns.
//
// Every case opens one VRT twice, through the plugin (driver PVRT, checked)
// and with GDAL's VRT driver only (the oracle, read inside an OracleScope so
// nested VRTs are GDAL's too), performs the same RasterIO on both into
// buffers filled with the same poison and framed by canaries, and compares
// the whole buffers with memcmp. Axes, as a representative (pairwise-style)
// subset that runs in seconds: source and band data types Byte, Int16,
// UInt16, Int32, UInt32, Float32, Float64, CInt16, CFloat32, with and without
// SourceTransferType; pvrt_busy and GDAL's builtin sum/diff; a raster size
// that is a multiple of nothing (263x177); windows touching every edge;
// buffers smaller and larger than the window with every resampling method;
// floating-point windows; dataset-level reads with band-, line- and
// pixel-interleaved buffers, band subsets, reordering and repeats; buffer
// types other than the band's; striped and tiled sources of different block
// sizes; nested derived VRTs; overview bands and downsampled reads on
// sources with overviews; nodata mask bands; GDALReadBlock including partial
// edge blocks; NUM_THREADS 1, 2, 3, 8 and TILE_SIZE AUTO, 1x1, 7x5, 64x64.
// A read that should have been split asserts it was (LAST_READ_TILES > 1 in
// the __DEBUG__ metadata), so the parallel path cannot silently go unused.
#include <gtest/gtest.h>

#include <cpl_conv.h>
#include <cpl_error.h>
#include <gdal.h>
#include <gdal_priv.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

#include "testutil.h"

using namespace pvrt_test;

namespace
{

const int W = 263, H = 177;

// Thread and tile configurations, as open options.
struct Config {
    int threads;
    const char *tile; // "AUTO" or WxH
    int tile_w() const
    {
        return strcmp(tile, "AUTO") ? atoi(tile) : 0;
    }
    int tile_h() const
    {
        const char *x = strchr(tile, 'x');
        return x ? atoi(x + 1) : 0;
    }
    std::vector<std::string> options() const
    {
        std::vector<std::string> o = {"NUM_THREADS=" + std::to_string(threads),
                                      std::string("TILE_SIZE=") + tile};
        if (!strcmp(tile, "AUTO"))
            o.push_back("MIN_TILE_PIXELS=256"); // split small test rasters
        return o;
    }
    std::string describe() const
    {
        return "NUM_THREADS=" + std::to_string(threads) + " TILE_SIZE=" + tile;
    }
};

const Config kConfigs[] = {{1, "AUTO"}, {2, "1x1"},  {3, "7x5"},   {8, "64x64"},
                           {2, "AUTO"}, {8, "AUTO"}, {3, "64x64"}, {8, "7x5"}};

// Windows touching every edge of a W x H raster, and one inside.
std::vector<Read> edge_windows(int w, int h)
{
    std::vector<Read> out;
    auto add = [&](int x, int y, int ww, int hh) {
        Read r;
        r.x = x;
        r.y = y;
        r.w = ww;
        r.h = hh;
        out.push_back(r);
    };
    add(0, 0, w, h);             // everything
    add(0, 0, 37, 29);           // top-left corner
    add(w - 41, 0, 41, 23);      // top-right
    add(0, h - 19, 53, 19);      // bottom-left
    add(w - 33, h - 27, 33, 27); // bottom-right
    add(0, 11, w, 13);           // a full-width swath
    add(17, 0, 9, h);            // a full-height column
    add(w - 1, h - 1, 1, 1);     // the last pixel
    add(13, 7, 101, 77);         // odd offset inside
    return out;
}

// Whether PVRT should have split this read under cfg (README.md, The PVRT
// driver: non-resampled reads bigger than one tile, on more than one thread).
bool should_split(const Read &r, const Config &cfg)
{
    const int bw = r.buf_w ? r.buf_w : r.w, bh = r.buf_h ? r.buf_h : r.h;
    if (cfg.threads < 2 || bw != r.w || bh != r.h || r.float_window)
        return false;
    if (cfg.tile_w() > 0)
        return r.w > cfg.tile_w() || r.h > cfg.tile_h();
    // AUTO: only claim it for large reads (several source blocks).
    return (long long)r.w * r.h >= (long long)W * H / 2;
}

// The bytes a read should give, assembled from packed band-level reads of
// the same window (one band at a time, GDAL's VRT driver when ds is the
// oracle) placed at the request's spacing, on a buffer poisoned like
// do_read's. Empty when a band read fails.
std::vector<unsigned char> assemble_from_bands(GDALDatasetH ds, const Read &r,
                                               size_t total)
{
    std::vector<unsigned char> out(total, 0xA5);
    const std::vector<int> bands =
        r.bands.empty() ? std::vector<int>{r.band} : r.bands;
    GDALRasterBandH first = read_band(ds, r);
    if (first == nullptr)
        return {};
    const GDALDataType type =
        r.buf_type != GDT_Unknown ? r.buf_type : GDALGetRasterDataType(first);
    const int size = GDALGetDataTypeSizeBytes(type);
    const int bw = r.buf_w ? r.buf_w : r.w, bh = r.buf_h ? r.buf_h : r.h;
    const GSpacing ps = r.pixel_space ? r.pixel_space : size;
    const GSpacing ls = r.line_space ? r.line_space : ps * bw;
    const GSpacing bs = r.band_space ? r.band_space : ls * bh;
    for (size_t k = 0; k < bands.size(); k++) {
        Read one = r;
        one.bands.clear();
        one.band = bands[k];
        one.buf_type = type;
        one.pixel_space = one.line_space = one.band_space = 0;
        const ReadResult res = do_read(ds, one);
        if (!res.ok)
            return {};
        for (int y = 0; y < bh; y++)
            for (int x = 0; x < bw; x++)
                memcpy(out.data() + 4096 + k * bs + y * ls + x * ps,
                       res.bytes.data() + 4096 + ((size_t)y * bw + x) * size,
                       size);
    }
    return out;
}

// GDAL 3.6.2's VRTDerivedRasterBand::IRasterIO zero-fills its output before
// computing it with memset(pData, 0, nBufXSize * nBufYSize * nPixelSpace)
// whenever nPixelSpace is the type size (and the band's sources do not let
// it skip initialisation): it ignores nLineSpace. With lines wider than the
// band's own pixels (line-interleaved dataset reads, padded lines) that
// memset runs over bytes of other bands or padding: a dataset-level read
// returns zeros in place of pixels of bands read before (seen: window 0,0
// 263x177, Byte buffer, bands 1 2 3, spacing 1/789/263: byte 789, band 1's
// first pixel of line 1, is 0 instead of 255). For such layouts the oracle
// is GDAL's VRT driver read band by band into packed buffers, placed at the
// request's spacing: the pixels GDAL computes, with no byte outside them
// touched, which is what RasterIO promises.
bool gdal_zero_fill_overruns(const Read &r, GDALDataType band_type)
{
    const GDALDataType type =
        r.buf_type != GDT_Unknown ? r.buf_type : band_type;
    const GSpacing size = GDALGetDataTypeSizeBytes(type);
    const int bw = r.buf_w ? r.buf_w : r.w;
    const GSpacing ps = r.pixel_space ? r.pixel_space : size;
    const GSpacing ls = r.line_space ? r.line_space : ps * bw;
    return ps == size && ls != size * bw;
}

// Compares one read; `where` names the case in failure messages.
void expect_same_read(GDALDatasetH pvrt, GDALDatasetH oracle, const Read &r,
                      bool expect_split, const std::string &where)
{
    ReadResult want;
    bool assembled = false;
    {
        OracleScope scope;
        want = do_read(oracle, r);
        GDALRasterBandH b = read_band(oracle, r);
        if (want.ok && b &&
            gdal_zero_fill_overruns(r, GDALGetRasterDataType(b))) {
            want.bytes = assemble_from_bands(oracle, r, want.bytes.size());
            want.ok = !want.bytes.empty();
            assembled = true;
        }
    }
    ASSERT_TRUE(want.ok) << where << ": oracle failed: " << want.error << " "
                         << r.describe();
    const ReadResult got = do_read(pvrt, r);
    ASSERT_TRUE(got.ok) << where << ": PVRT failed: " << got.error << " "
                        << r.describe();
    ASSERT_EQ(got.bytes.size(), want.bytes.size());
    if (memcmp(got.bytes.data(), want.bytes.data(), got.bytes.size()) != 0) {
        size_t i = 0;
        while (got.bytes[i] == want.bytes[i])
            i++;
        std::string hint;
        if (assembled) {
            OracleScope scope;
            hint = do_read(oracle, r).bytes == got.bytes
                       ? " (oracle assembled from band reads; PVRT equals "
                         "GDAL's direct read, zero-fill overrun included)"
                       : " (oracle assembled from band reads)";
        }
        ADD_FAILURE() << where << ": bytes differ from GDAL's VRT driver, "
                      << r.describe() << ": first at byte " << i
                      << " (after the 4096-byte canary): " << (int)got.bytes[i]
                      << " vs " << (int)want.bytes[i] << hint;
    }
    if (expect_split) {
        EXPECT_GT(last_read_tiles(pvrt), 1)
            << where << ": read was not split, " << r.describe();
    }
}

// Opens path through PVRT (asserting PVRT claimed it) and the oracle, and
// runs the reads under cfg.
void check_vrt(const std::string &path, const Config &cfg,
               const std::vector<Read> &reads, const std::string &what)
{
    const std::string where = what + " [" + cfg.describe() + "]";
    GDALDatasetH pvrt = open_pvrt(path, cfg.options());
    ASSERT_NE(pvrt, nullptr) << where << ": " << CPLGetLastErrorMsg();
    GDALDatasetH oracle;
    {
        OracleScope scope;
        oracle = open_oracle(path);
    }
    ASSERT_NE(oracle, nullptr) << where;
    EXPECT_EQ(driver_name(pvrt), "PVRT") << where;
    EXPECT_EQ(driver_name(oracle), "VRT") << where;
    for (const Read &r : reads) {
        // Tile 1x1 means a RasterIO per pixel: keep those reads small.
        if (!strcmp(cfg.tile, "1x1") && (long long)r.w * r.h > 4000)
            continue;
        expect_same_read(pvrt, oracle, r, should_split(r, cfg), where);
        if (::testing::Test::HasFatalFailure())
            break;
    }
    GDALClose(pvrt);
    {
        OracleScope scope;
        GDALClose(oracle);
    }
}

const GDALDataType kTypes[] = {GDT_Byte,    GDT_Int16,  GDT_UInt16,
                               GDT_Int32,   GDT_UInt32, GDT_Float32,
                               GDT_Float64, GDT_CInt16, GDT_CFloat32};
const int kNTypes = sizeof kTypes / sizeof *kTypes;

// Source layouts: striped by GDAL's default, striped by 7 rows, tiled
// 32x16 and 64x64, DEFLATE on some.
RasterSpec layout(int i, GDALDataType type, int seed)
{
    RasterSpec s;
    s.width = W;
    s.height = H;
    s.type = type;
    s.seed = seed;
    switch (i % 4) {
        case 0:
            break;
        case 1:
            s.block_y = 7;
            break;
        case 2:
            s.block_x = 32;
            s.block_y = 16;
            s.compress = "DEFLATE";
            break;
        default:
            s.block_x = 64;
            s.block_y = 64;
            break;
    }
    return s;
}

std::string name(const std::string &stem, int i)
{
    return stem + "_" + std::to_string(i);
}

// Every type as a source type and as a band type, pvrt_busy iterations=1,
// SourceTransferType set on half of them; buffer types vary too.
TEST(Equiv, DataTypesAsSourceAndBandType)
{
    int case_no = 0;
    for (int i = 0; i < kNTypes; i++) {
        for (int shift : {0, 4}) {
            const GDALDataType src = kTypes[i];
            const GDALDataType band = kTypes[(i + shift) % kNTypes];
            const GDALDataType transfer =
                case_no % 2 ? kTypes[(i + 2) % kNTypes] : GDT_Unknown;
            const std::string tif = make_tiff(name("types", case_no) + ".tif",
                                              layout(case_no, src, case_no));
            const std::string vrt = write_file(
                name("types", case_no) + ".vrt",
                vrt_dataset(W, H,
                            {derived_band(1, band, "pvrt_busy",
                                          {simple_source(tif, 1, W, H)},
                                          "iterations=\"1\"", transfer)}));
            std::vector<Read> reads = edge_windows(W, H);
            // The same windows again into another buffer type.
            const GDALDataType other = kTypes[(i + 5) % kNTypes];
            for (size_t k = 0; k < 4; k++) {
                Read r = reads[k];
                r.buf_type = other;
                reads.push_back(r);
            }
            const Config &cfg =
                kConfigs[case_no % (sizeof kConfigs / sizeof *kConfigs)];
            check_vrt(vrt, cfg, reads,
                      std::string("src ") + GDALGetDataTypeName(src) +
                          " band " + GDALGetDataTypeName(band) + " transfer " +
                          (transfer ? GDALGetDataTypeName(transfer) : "unset"));
            case_no++;
        }
    }
}

// GDAL's builtin pixel functions over sources of different types and block
// sizes (the planner must align tiles to several grids at once).
TEST(Equiv, BuiltinFunctionsOverMixedSources)
{
    const std::string a =
        make_tiff("mix_a.tif", layout(1, GDT_Byte, 1)); // striped by 7
    const std::string b =
        make_tiff("mix_b.tif", layout(2, GDT_Int16, 2)); // tiled 32x16
    const std::string c =
        make_tiff("mix_c.tif", layout(3, GDT_UInt16, 3)); // tiled 64x64
    const std::vector<std::string> srcs = {simple_source(a, 1, W, H),
                                           simple_source(b, 1, W, H),
                                           simple_source(c, 1, W, H)};
    struct Case {
        const char *func;
        GDALDataType band, transfer;
        int nsrc;
    } cases[] = {{"sum", GDT_Float32, GDT_Unknown, 3},
                 {"sum", GDT_Int16, GDT_Float64, 3},
                 {"diff", GDT_Int32, GDT_Unknown, 2},
                 {"mul", GDT_Float64, GDT_Float32, 2},
                 {"sum", GDT_Byte, GDT_Int32, 2}};
    int k = 0;
    for (const Case &cs : cases) {
        std::vector<std::string> use(srcs.begin(), srcs.begin() + cs.nsrc);
        const std::string vrt =
            write_file(name("mix", k) + ".vrt",
                       vrt_dataset(W, H,
                                   {derived_band(1, cs.band, cs.func, use, "",
                                                 cs.transfer)}));
        std::vector<Read> reads = edge_windows(W, H);
        Read r = reads[0];
        r.buf_type = GDT_Float64;
        reads.push_back(r);
        for (const Config &cfg : {kConfigs[k % 8], kConfigs[(k + 3) % 8]})
            check_vrt(vrt, cfg, reads,
                      std::string(cs.func) + " -> " +
                          GDALGetDataTypeName(cs.band));
        k++;
    }
}

// Buffers smaller and larger than the window, with every resampling method
// GDALRasterIOExtraArg offers; floating-point windows.
TEST(Equiv, ResampledReads)
{
    const std::string tif = make_tiff("rs.tif", layout(2, GDT_UInt16, 7));
    const std::string vrt_int = write_file(
        "rs_int.vrt", vrt_dataset(W, H,
                                  {derived_band(1, GDT_UInt16, "pvrt_busy",
                                                {simple_source(tif, 1, W, H)},
                                                "iterations=\"1\"")}));
    const std::string tif_f = make_tiff("rs_f.tif", layout(3, GDT_Float32, 8));
    const std::string vrt_float =
        write_file("rs_float.vrt",
                   vrt_dataset(W, H,
                               {derived_band(1, GDT_Float32, "sum",
                                             {simple_source(tif, 1, W, H),
                                              simple_source(tif_f, 1, W, H)},
                                             "", GDT_Float64)}));
    const GDALRIOResampleAlg algs[] = {GRIORA_NearestNeighbour,
                                       GRIORA_Bilinear,
                                       GRIORA_Cubic,
                                       GRIORA_CubicSpline,
                                       GRIORA_Lanczos,
                                       GRIORA_Average,
                                       GRIORA_Mode,
                                       GRIORA_Gauss};
    std::vector<Read> reads;
    for (GDALRIOResampleAlg alg : algs) {
        Read down; // the whole raster into a smaller buffer
        down.w = W;
        down.h = H;
        down.buf_w = 100;
        down.buf_h = 67;
        down.resample = alg;
        reads.push_back(down);
        Read edge = down; // bottom-right corner, shrunk unevenly
        edge.x = W - 90;
        edge.y = H - 61;
        edge.w = 90;
        edge.h = 61;
        edge.buf_w = 29;
        edge.buf_h = 40;
        reads.push_back(edge);
        Read up; // a small window into a larger buffer
        up.x = 11;
        up.y = 5;
        up.w = 30;
        up.h = 20;
        up.buf_w = 77;
        up.buf_h = 53;
        up.resample = alg;
        reads.push_back(up);
        Read fl = down; // a floating-point window
        fl.x = 10;
        fl.y = 20;
        fl.w = 120;
        fl.h = 80;
        fl.float_window = true;
        fl.fx = 10.25;
        fl.fy = 20.5;
        fl.fw = 119.5;
        fl.fh = 79.75;
        fl.buf_w = 50;
        fl.buf_h = 33;
        reads.push_back(fl);
    }
    Read typed = reads[1];
    typed.buf_type = GDT_Float64;
    reads.push_back(typed);
    check_vrt(vrt_int, {3, "7x5"}, reads, "resampled UInt16 pvrt_busy");
    check_vrt(vrt_float, {8, "AUTO"}, reads, "resampled Float32 sum");
    check_vrt(vrt_int, {1, "AUTO"}, reads, "resampled UInt16, serial");
}

// A three-band VRT (two derived functions, one with two sources) and
// dataset-level reads of it with every buffer layout.
std::string three_band_vrt()
{
    RasterSpec s = layout(3, GDT_UInt16, 11);
    s.bands = 3;
    const std::string tif = make_tiff("ds.tif", s);
    const std::string vrt = write_file(
        "ds.vrt", vrt_dataset(W, H,
                              {derived_band(1, GDT_UInt16, "pvrt_busy",
                                            {simple_source(tif, 1, W, H)},
                                            "iterations=\"1\""),
                               derived_band(2, GDT_UInt16, "sum",
                                            {simple_source(tif, 2, W, H),
                                             simple_source(tif, 3, W, H)}),
                               derived_band(3, GDT_UInt16, "pvrt_busy",
                                            {simple_source(tif, 3, W, H)},
                                            "iterations=\"2\"", GDT_Float32)}));
    return vrt;
}

std::vector<Read> dataset_level_reads()
{
    const std::vector<std::vector<int>> lists = {
        {1, 2, 3}, {3, 1}, {2}, {3, 2, 1}, {1, 1, 2}};
    const GDALDataType types[] = {GDT_UInt16, GDT_Float64, GDT_Byte, GDT_Int16,
                                  GDT_CFloat32};
    std::vector<Read> reads;
    int k = 0;
    for (const auto &bands : lists) {
        for (int layout_kind = 0; layout_kind < 3; layout_kind++) {
            const std::vector<Read> wins = edge_windows(W, H);
            Read r = wins[k % 2 == 0 ? 0 : 1 + k % 8];
            r.bands = bands;
            r.buf_type = types[k % 5];
            const GSpacing size = GDALGetDataTypeSizeBytes(r.buf_type);
            const int nb = (int)bands.size();
            if (layout_kind == 1) // pixel-interleaved
            {
                r.pixel_space = size * nb;
                r.line_space = r.pixel_space * r.w;
                r.band_space = size;
            } else if (layout_kind == 2) // line-interleaved
            {
                r.pixel_space = size;
                r.line_space = size * r.w * nb;
                r.band_space = size * r.w;
            }
            reads.push_back(r);
            k++;
        }
    }
    // Padded pixels and lines (gaps must stay untouched: the poison is
    // compared too).
    Read pad = edge_windows(W, H)[8];
    pad.bands = {2, 3};
    pad.buf_type = GDT_Int32;
    pad.pixel_space = 12;
    pad.line_space = 12 * pad.w + 20;
    pad.band_space = 4;
    reads.push_back(pad);
    // Resampled dataset-level reads (run unsplit, but must agree).
    Read rs = edge_windows(W, H)[0];
    rs.bands = {3, 1};
    rs.buf_w = 90;
    rs.buf_h = 60;
    rs.resample = GRIORA_Bilinear;
    reads.push_back(rs);
    rs.buf_w = 300;
    rs.buf_h = 200;
    rs.resample = GRIORA_Cubic;
    reads.push_back(rs);
    return reads;
}

const Config kDatasetConfigs[] = {
    {2, "AUTO"}, {3, "64x64"}, {8, "7x5"}, {1, "AUTO"}};

TEST(Equiv, DatasetLevelLayoutsAndBandLists)
{
    const std::string vrt = three_band_vrt();
    std::vector<Read> reads;
    for (const Read &r : dataset_level_reads())
        if (!gdal_zero_fill_overruns(r, GDT_UInt16))
            reads.push_back(r);
    ASSERT_GE(reads.size(), 12u);
    for (const Config &cfg : kDatasetConfigs)
        check_vrt(vrt, cfg, reads, "dataset-level");
}

// The layouts where GDAL 3.6.2's derived-band zero-fill overruns (see
// gdal_zero_fill_overruns): line-interleaved dataset reads and band reads
// with padded lines, against GDAL's band-by-band result, for every
// configuration: reads PVRT serves inline (NUM_THREADS=1, windows smaller
// than a tile) and reads it splits must give the same bytes. (Before the
// driver packed such windows, inline reads gave GDAL's overrun: window 0,0
// 263x177, Byte buffer, bands 1 2 3, spacing 1/789/263, NUM_THREADS=1: byte
// 789 was 0 instead of 255.)
TEST(Equiv, LayoutsWhereGdalZeroFillOverruns)
{
    const std::string vrt = three_band_vrt();
    std::vector<Read> reads;
    for (const Read &r : dataset_level_reads())
        if (gdal_zero_fill_overruns(r, GDT_UInt16))
            reads.push_back(r);
    Read padded = edge_windows(W, H)[0]; // band 2: two sources
    padded.band = 2;
    padded.line_space = 2 * (W + 9);
    reads.push_back(padded);
    ASSERT_GE(reads.size(), 4u);
    for (const Config &cfg : kDatasetConfigs)
        check_vrt(vrt, cfg, reads, "dataset-level, zero-fill overrun");
}

// Every thread count with every tile size on one VRT.
TEST(Equiv, ThreadCountsAndTileSizes)
{
    const std::string tif = make_tiff("tt.tif", layout(2, GDT_Int16, 21));
    const std::string vrt = write_file(
        "tt.vrt", vrt_dataset(W, H,
                              {derived_band(1, GDT_Float32, "pvrt_busy",
                                            {simple_source(tif, 1, W, H)},
                                            "iterations=\"1\"", GDT_Float64)}));
    for (int threads : {1, 2, 3, 8})
        for (const char *tile : {"AUTO", "1x1", "7x5", "64x64"})
            check_vrt(vrt, {threads, tile}, edge_windows(W, H), "matrix");
}

long long debug_count(GDALDatasetH ds, const char *name)
{
    const char *v = GDALGetMetadataItem(ds, name, "__DEBUG__");
    return v ? atoll(v) : -1;
}

// The tiles of a derived band are read in stripes of rows (read.c,
// STRIPE_BYTES): a large read's tiles are striped and still give GDAL's
// bytes, packed, in lines wider than the window, in another buffer type
// and at odd offsets; a VRT without derived bands is never striped.
TEST(Equiv, TilesOfDerivedBandsAreReadInStripes)
{
    const int w = 1100, h = 700;
    std::vector<std::string> sources;
    for (int i = 0; i < 4; i++) {
        RasterSpec s = tiled_spec(w, h, GDT_UInt16);
        s.block_x = s.block_y = 128;
        s.compress = i % 2 ? "DEFLATE" : nullptr;
        s.seed = 41 + i;
        sources.push_back(simple_source(
            make_tiff("stripe" + std::to_string(i) + ".tif", s), 1, w, h));
    }
    const std::string derived =
        write_file("stripe_sum.vrt",
                   vrt_dataset(w, h,
                               {derived_band(1, GDT_Float32, "sum", sources, "",
                                             GDT_Unknown,
                                             "<NoDataValue>0</NoDataValue>")}));
    const std::string plain = write_file(
        "stripe_plain.vrt",
        vrt_dataset(w, h,
                    {"<VRTRasterBand dataType=\"UInt16\" band=\"1\">" +
                     sources[0] + "</VRTRasterBand>"}));

    std::vector<Read> reads(4);
    reads[0].w = w; // the whole band, packed
    reads[0].h = h;
    reads[1] = reads[0]; // as Float64, in lines wider than the band
    reads[1].buf_type = GDT_Float64;
    reads[1].line_space = 8 * (w + 5);
    reads[2].x = 13; // odd offsets
    reads[2].y = 29;
    reads[2].w = 1003;
    reads[2].h = 611;
    reads[3] = reads[2]; // dataset-level
    reads[3].bands = {1};

    for (int threads : {2, 3}) {
        const Config cfg = {threads, "AUTO"};
        const std::string where = "stripes [" + cfg.describe() + "]";
        GDALDatasetH pvrt =
            open_pvrt(derived, {"NUM_THREADS=" + std::to_string(threads)});
        ASSERT_NE(pvrt, nullptr) << CPLGetLastErrorMsg();
        GDALDatasetH oracle;
        {
            OracleScope scope;
            oracle = open_oracle(derived);
        }
        ASSERT_NE(oracle, nullptr);
        for (const Read &r : reads) {
            const long long before = debug_count(pvrt, "STRIPED_TILES");
            expect_same_read(pvrt, oracle, r, true, where);
            EXPECT_GT(debug_count(pvrt, "STRIPED_TILES"), before)
                << where << ": no tile read in stripes, " << r.describe();
        }
        GDALClose(pvrt);
        {
            OracleScope scope;
            GDALClose(oracle);
        }

        pvrt = open_pvrt("PVRT:" + plain,
                         {"NUM_THREADS=" + std::to_string(threads)});
        ASSERT_NE(pvrt, nullptr) << CPLGetLastErrorMsg();
        {
            OracleScope scope;
            oracle = open_oracle(plain);
        }
        expect_same_read(pvrt, oracle, reads[0], true, where + " plain");
        EXPECT_EQ(debug_count(pvrt, "STRIPED_TILES"), 0) << where;
        GDALClose(pvrt);
        {
            OracleScope scope;
            GDALClose(oracle);
        }
    }
}

// A derived VRT whose sources are derived VRTs, two levels deep.
TEST(Equiv, NestedDerivedVrts)
{
    const std::string tif = make_tiff("nest.tif", layout(2, GDT_Int16, 31));
    const std::string tif2 = make_tiff("nest2.tif", layout(1, GDT_Byte, 32));
    const std::string inner =
        write_file("nest_inner.vrt",
                   vrt_dataset(W, H,
                               {derived_band(1, GDT_Float32, "pvrt_busy",
                                             {simple_source(tif, 1, W, H)},
                                             "iterations=\"1\"")}));
    const std::string middle =
        write_file("nest_middle.vrt",
                   vrt_dataset(W, H,
                               {derived_band(1, GDT_Float64, "sum",
                                             {simple_source(inner, 1, W, H),
                                              simple_source(tif2, 1, W, H)})}));
    const std::string outer = write_file(
        "nest_outer.vrt",
        vrt_dataset(W, H,
                    {derived_band(1, GDT_Float32, "diff",
                                  {simple_source(middle, 1, W, H),
                                   simple_source(inner, 1, W, H)})}));
    check_vrt(middle, {3, "64x64"}, edge_windows(W, H), "nested 1");
    check_vrt(outer, {8, "7x5"}, edge_windows(W, H), "nested 2");
    check_vrt(outer, {2, "AUTO"}, edge_windows(W, H), "nested 2 auto");
}

// Sources with overviews: the VRT's implicit overviews, read directly, and
// downsampled reads of the full-resolution band (which GDAL serves from
// them).
TEST(Equiv, Overviews)
{
    // GDAL exposes a VRT's implicit overviews only when they are at least
    // 128 pixels on each side (VRTDataset::BuildVirtualOverviews): 600x520
    // gives 300x260 and 150x130.
    const int OW = 600, OH = 520;
    RasterSpec s = layout(2, GDT_Int16, 41);
    s.width = OW;
    s.height = OH;
    s.overviews = true;
    const std::string tif = make_tiff("ovr.tif", s);
    const std::string vrt = write_file(
        "ovr.vrt", vrt_dataset(OW, OH,
                               {derived_band(1, GDT_Int16, "pvrt_busy",
                                             {simple_source(tif, 1, OW, OH)},
                                             "iterations=\"1\"")}));
    GDALDatasetH pvrt = open_pvrt(vrt, {"NUM_THREADS=3", "TILE_SIZE=16x16"});
    ASSERT_NE(pvrt, nullptr);
    GDALDatasetH oracle;
    int want_count;
    {
        OracleScope scope;
        oracle = open_oracle(vrt);
        want_count = GDALGetOverviewCount(GDALGetRasterBand(oracle, 1));
    }
    ASSERT_EQ(want_count, 2) << "the oracle should see the source's overviews";
    GDALRasterBandH band = GDALGetRasterBand(pvrt, 1);
    ASSERT_EQ(GDALGetOverviewCount(band), want_count);
    for (int i = 0; i < want_count; i++) {
        GDALRasterBandH ovr = GDALGetOverview(band, i);
        ASSERT_NE(ovr, nullptr);
        const int ow = GDALGetRasterBandXSize(ovr),
                  oh = GDALGetRasterBandYSize(ovr);
        for (Read r : edge_windows(ow, oh)) {
            r.overview = i;
            expect_same_read(pvrt, oracle, r, false,
                             "overview " + std::to_string(i));
        }
        // The whole overview splits like any read.
        Read whole;
        whole.w = ow;
        whole.h = oh;
        whole.overview = i;
        expect_same_read(pvrt, oracle, whole, ow > 16 || oh > 16,
                         "whole overview " + std::to_string(i));
    }
    for (GDALRIOResampleAlg alg :
         {GRIORA_NearestNeighbour, GRIORA_Average, GRIORA_Bilinear})
        for (int f : {2, 3, 4}) {
            Read r;
            r.w = OW;
            r.h = OH;
            r.buf_w = OW / f;
            r.buf_h = OH / f;
            r.resample = alg;
            expect_same_read(pvrt, oracle, r, false, "downsampled");
        }
    GDALClose(pvrt);
    OracleScope scope;
    GDALClose(oracle);
}

// Nodata-based mask bands, and the all-valid mask of a band without nodata.
TEST(Equiv, MaskBands)
{
    RasterSpec s = layout(3, GDT_Byte, 51);
    const std::string tif = make_tiff("mask.tif", s);
    // Band 1 has nodata 7 (the pattern hits it about once in 256 pixels),
    // band 2 has none.
    const std::string vrt = write_file(
        "mask.vrt",
        vrt_dataset(
            W, H,
            {derived_band(1, GDT_Byte, "pvrt_busy",
                          {simple_source(tif, 1, W, H)}, "iterations=\"1\"",
                          GDT_Unknown, "<NoDataValue>7</NoDataValue>"),
             derived_band(2, GDT_UInt16, "pvrt_busy",
                          {simple_source(tif, 1, W, H)}, "iterations=\"1\"")}));
    GDALDatasetH pvrt = open_pvrt(vrt, {"NUM_THREADS=3", "TILE_SIZE=32x32"});
    ASSERT_NE(pvrt, nullptr);
    GDALDatasetH oracle;
    {
        OracleScope scope;
        oracle = open_oracle(vrt);
    }
    for (int b = 1; b <= 2; b++) {
        int want_flags;
        {
            OracleScope scope;
            want_flags = GDALGetMaskFlags(GDALGetRasterBand(oracle, b));
        }
        EXPECT_EQ(GDALGetMaskFlags(GDALGetRasterBand(pvrt, b)), want_flags);
        for (Read r : edge_windows(W, H)) {
            r.band = b;
            r.mask = true;
            // The nodata mask is computed from the band's pixels: splitting
            // it is what "read the same parallel way" means.
            expect_same_read(pvrt, oracle, r, b == 1 && r.w * r.h > 32 * 32 * 2,
                             "mask");
        }
    }
    // The nodata pixels really are there (else the mask test is vacuous).
    Read whole;
    whole.w = W;
    whole.h = H;
    whole.mask = true;
    ReadResult m = do_read(pvrt, whole);
    ASSERT_TRUE(m.ok);
    int zeros = 0;
    for (size_t i = 4096; i < m.bytes.size() - 4096; i++)
        zeros += m.bytes[i] == 0;
    EXPECT_GT(zeros, 0);
    GDALClose(pvrt);
    OracleScope scope;
    GDALClose(oracle);
}

// GDALReadBlock for every block, including the partial ones at the right
// and bottom edges, with the default block size and an explicit one.
TEST(Equiv, ReadBlockIncludingPartialEdgeBlocks)
{
    const std::string tif = make_tiff("blk.tif", layout(2, GDT_UInt16, 61));
    for (const char *blocks : {"", " blockXSize=\"64\" blockYSize=\"48\""}) {
        std::string band =
            derived_band(1, GDT_Float32, "pvrt_busy",
                         {simple_source(tif, 1, W, H)}, "iterations=\"1\"");
        band.insert(band.find('>'), blocks);
        const std::string vrt =
            write_file(std::string("blk") + (*blocks ? "64" : "") + ".vrt",
                       vrt_dataset(W, H, {band}));
        for (const Config &cfg : {Config{3, "16x16"}, Config{8, "AUTO"}}) {
            GDALDatasetH pvrt = open_pvrt(vrt, cfg.options());
            ASSERT_NE(pvrt, nullptr);
            GDALDatasetH oracle;
            {
                OracleScope scope;
                oracle = open_oracle(vrt);
            }
            GDALRasterBandH pb = GDALGetRasterBand(pvrt, 1);
            GDALRasterBandH ob = GDALGetRasterBand(oracle, 1);
            int bx, by, obx, oby;
            GDALGetBlockSize(pb, &bx, &by);
            GDALGetBlockSize(ob, &obx, &oby);
            ASSERT_EQ(bx, obx);
            ASSERT_EQ(by, oby);
            const size_t bytes = (size_t)bx * by * 4;
            for (int j = 0; j * by < H; j++)
                for (int i = 0; i * bx < W; i++) {
                    std::vector<unsigned char> got(bytes, 0xA5),
                        want(bytes, 0xA5);
                    {
                        OracleScope scope;
                        ASSERT_EQ(GDALReadBlock(ob, i, j, want.data()),
                                  CE_None);
                    }
                    ASSERT_EQ(GDALReadBlock(pb, i, j, got.data()), CE_None)
                        << CPLGetLastErrorMsg();
                    // GDALRasterBand::ReadBlock: "data beyond the edge of
                    // the underlying raster band in these edge blocks is of
                    // an undetermined value": compare the pixels inside.
                    const int vw = std::min(bx, W - i * bx);
                    const int vh = std::min(by, H - j * by);
                    for (int y = 0; y < vh; y++) {
                        const size_t off = (size_t)y * bx * 4;
                        if (memcmp(got.data() + off, want.data() + off,
                                   (size_t)vw * 4) != 0) {
                            ADD_FAILURE()
                                << "block " << i << "," << j << " of " << bx
                                << "x" << by << " " << cfg.describe()
                                << ": row " << y << " differs";
                            break;
                        }
                    }
                    if (cfg.tile_w() == 16 && (bx > 16 || by > 16) &&
                        (i + 1) * bx <= W && (j + 1) * by <= H) {
                        EXPECT_GT(last_read_tiles(pvrt), 1)
                            << "block " << i << "," << j << " not split";
                    }
                }
            GDALClose(pvrt);
            OracleScope scope;
            GDALClose(oracle);
        }
    }
}

// GDALDatasetCopyWholeRaster (gdal_translate, CreateCopy) reads in swaths
// sized by the source band's suggested access pattern. PVRT asks for the
// largest (GSBAP_LARGEST_CHUNK_POSSIBLE) when the dataset has remote sources
// and its reads split, so a copy hands the pool every tile (and every
// request) at once; otherwise it suggests nothing, like GDAL's VRT driver,
// and a local copy reads GDAL's default swaths. Checking the remote cases
// needs no server: opening reads no source (the grid comes from the VRT
// file's SourceProperties) and no pixel is read.
TEST(Equiv, LargeSwathsForRemoteSources)
{
    const int size = 2048; // Float32: 16 MB, more than GDAL's 10 MB swath
    auto props = [](const std::string &source) {
        std::string s = source;
        s.insert(s.find("<SrcRect"), "<SourceProperties RasterXSize=\"2048\" "
                                     "RasterYSize=\"2048\" DataType=\"UInt16\" "
                                     "BlockXSize=\"256\" BlockYSize=\"256\"/>");
        return s;
    };
    // Nothing listens on port 1 of the loopback: a read would fail at once.
    const std::string url = "/vsicurl/http://127.0.0.1:1/pvrt_none.tif";
    const std::string remote_src = props(simple_source(url, 1, size, size));
    // Scaled by half: reads of this one cannot be split.
    std::string scaled = remote_src;
    const size_t at = scaled.find("<DstRect");
    ASSERT_NE(at, std::string::npos);
    scaled.replace(at, scaled.find("/>", at) + 2 - at,
                   "<DstRect xOff=\"0\" yOff=\"0\" xSize=\"1024\" "
                   "ySize=\"1024\"/>");
    // GDAL's builtin sum of two sources, Float32.
    auto sum_vrt = [&](const std::string &name, const std::string &a,
                       const std::string &b) {
        return write_file(
            name, vrt_dataset(size, size,
                              {derived_band(1, GDT_Float32, "sum", {a, b})}));
    };
    const std::string remote =
        sum_vrt("swath_remote.vrt", remote_src, remote_src);
    const std::string remote_scaled =
        sum_vrt("swath_remote_scaled.vrt", scaled, remote_src);
    RasterSpec spec;
    spec.width = spec.height = size;
    spec.type = GDT_UInt16;
    spec.block_x = spec.block_y = 256;
    const std::string tif = make_tiff("swath.tif", spec);
    const std::string local_src = props(simple_source(tif, 1, size, size));
    const std::string local = sum_vrt("swath_local.vrt", local_src, local_src);
    struct Case {
        const std::string *path;
        const char *threads;
        bool large;
    };
    for (const Case &c :
         {Case{&remote, "2", true}, Case{&remote, "1", false},
          Case{&remote_scaled, "2", false}, Case{&local, "2", false}}) {
        SCOPED_TRACE(*c.path + " NUM_THREADS=" + c.threads);
        GDALDatasetH pvrt =
            open_pvrt(*c.path, {std::string("NUM_THREADS=") + c.threads});
        ASSERT_NE(pvrt, nullptr) << CPLGetLastErrorMsg();
        ASSERT_EQ(driver_name(pvrt), "PVRT");
        GDALRasterBand *band =
            GDALRasterBand::FromHandle(GDALGetRasterBand(pvrt, 1));
        EXPECT_EQ((band->GetSuggestedBlockAccessPattern() &
                   GSBAP_LARGEST_CHUNK_POSSIBLE) != 0,
                  c.large);
        GDALClose(pvrt);
    }

    // The local copy: GDAL's default swaths, the oracle's bytes.
    const GIntBig cache = GDALGetCacheMax64();
    GDALSetCacheMax64(GIntBig(256) << 20);
    GDALDatasetH pvrt = open_pvrt(local, {"NUM_THREADS=2"});
    ASSERT_NE(pvrt, nullptr);
    GDALDatasetH copy = GDALCreateCopy(GDALGetDriverByName("MEM"), "", pvrt,
                                       FALSE, nullptr, nullptr, nullptr);
    ASSERT_NE(copy, nullptr) << CPLGetLastErrorMsg();
    const char *px = GDALGetMetadataItem(pvrt, "LAST_READ_PIXELS", "__DEBUG__");
    ASSERT_NE(px, nullptr);
    const GIntBig whole = GIntBig(size) * size;
    EXPECT_GT(CPLAtoGIntBig(px), 0);
    EXPECT_LT(CPLAtoGIntBig(px), whole) << "GDAL's default swaths";
    std::vector<float> want, got;
    {
        OracleScope scope;
        GDALDatasetH oracle = open_oracle(local);
        ASSERT_NE(oracle, nullptr);
        ASSERT_EQ(read_band1(oracle, GDT_Float32, &want), CE_None);
        GDALClose(oracle);
    }
    ASSERT_EQ(read_band1(copy, GDT_Float32, &got), CE_None);
    EXPECT_EQ(memcmp(got.data(), want.data(), got.size() * 4), 0);
    GDALClose(copy);
    GDALClose(pvrt);
    GDALSetCacheMax64(cache);
}

} // namespace
