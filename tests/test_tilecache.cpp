// test_tilecache.cpp: the cache of computed pixels (tilecache.h).
//
// An entry holds its rectangle packed, or as the tiles it was computed in,
// one after another, each packed. Here every pixel's value is a function of
// its position in the band, written into an entry laid out either way by
// this file's own loops, and every window read back (inside one tile,
// across tiles, one row, one column, the whole entry, with pixel and line
// spacings wider than the type) must hold exactly that function's values,
// and leave the bytes around it untouched. Tile lists come from the
// planner (tiles.h), as the driver's regions do, and by hand. Entries hold
// memory from bigmem.h, whose large buffers are tested here too.
#include <gtest/gtest.h>

#include <cpl_conv.h>

#include <cstdint>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "bigmem.h"
#include "tilecache.h"
#include "tiles.h"

// AddressSanitizer builds keep large buffers on its allocator (bigmem.h).
#if defined(__SANITIZE_ADDRESS__)
#define TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define TEST_ASAN 1
#endif
#endif
#ifndef TEST_ASAN
#define TEST_ASAN 0
#endif

namespace
{

// The value of band pixel (x, y): unique within any test's entry.
float value_at(int x, int y)
{
    return static_cast<float>(y * 10007 + x);
}

// Pixels of rectangle (x0, y0, w, h) laid out as `tiles` (relative to
// (x0, y0)) one after another, each packed; no tiles: packed whole.
float *layout(int x0, int y0, int w, int h, const std::vector<pvrt_rect> &tiles)
{
    float *data = static_cast<float *>(
        pvrt_big_alloc(sizeof(float) * static_cast<size_t>(w) * h));
    std::vector<pvrt_rect> list = tiles;
    if (list.empty())
        list.push_back({0, 0, w, h});
    size_t at = 0;
    for (const pvrt_rect &t : list)
        for (int r = 0; r < t.h; r++)
            for (int c = 0; c < t.w; c++)
                data[at++] = value_at(x0 + t.x + c, y0 + t.y + r);
    EXPECT_EQ(at, static_cast<size_t>(w) * h);
    return data;
}

pvrt_rect *copy_tiles(const std::vector<pvrt_rect> &tiles)
{
    if (tiles.empty())
        return nullptr;
    pvrt_rect *t =
        static_cast<pvrt_rect *>(VSIMalloc(sizeof(pvrt_rect) * tiles.size()));
    std::memcpy(t, tiles.data(), sizeof(pvrt_rect) * tiles.size());
    return t;
}

// Reads window (x, y, w, h) with pixel spacing ps and line spacing ls
// (bytes) into a buffer with a guard byte pattern, and checks every pixel
// and that nothing outside the window's pixels was written.
void check_read(pvrt_tilecache *c, const pvrt_band_path *p, int x, int y, int w,
                int h, int ps, int ls)
{
    SCOPED_TRACE(testing::Message()
                 << "window " << x << "," << y << " " << w << "x" << h << " ps "
                 << ps << " ls " << ls);
    std::vector<unsigned char> buf(static_cast<size_t>(ls) * h + 64, 0xA5);
    ASSERT_EQ(
        pvrt_tilecache_read(c, p, GDT_Float32, x, y, w, h, buf.data(), ps, ls),
        1);
    std::vector<bool> mine(buf.size(), false);
    for (int r = 0; r < h; r++)
        for (int k = 0; k < w; k++) {
            const size_t at =
                static_cast<size_t>(r) * ls + static_cast<size_t>(k) * ps;
            float v;
            std::memcpy(&v, &buf[at], sizeof v);
            ASSERT_EQ(v, value_at(x + k, y + r)) << "pixel " << k << "," << r;
            for (size_t b = 0; b < sizeof v; b++)
                mine[at + b] = true;
        }
    for (size_t i = 0; i < buf.size(); i++) {
        if (!mine[i]) {
            ASSERT_EQ(buf[i], 0xA5) << "byte " << i << " written";
        }
    }
}

// Windows of entry (x0, y0, w, h) worth reading: corners, single rows and
// columns, the whole entry, and random ones.
void check_windows(pvrt_tilecache *c, const pvrt_band_path *p, int x0, int y0,
                   int w, int h, unsigned seed)
{
    const int size = sizeof(float);
    check_read(c, p, x0, y0, w, h, size, w * size);
    check_read(c, p, x0, y0, w, h, 2 * size, 2 * w * size + 8);
    for (int r : {0, 1, h / 2, h - 1})
        check_read(c, p, x0, y0 + r, w, 1, size, w * size);
    for (int k : {0, w / 3, w - 1})
        check_read(c, p, x0 + k, y0, 1, h, size, size);
    std::mt19937 rng(seed);
    for (int i = 0; i < 200; i++) {
        const int ww = 1 + static_cast<int>(rng() % w);
        const int hh = 1 + static_cast<int>(rng() % h);
        const int xx = x0 + static_cast<int>(rng() % (w - ww + 1));
        const int yy = y0 + static_cast<int>(rng() % (h - hh + 1));
        const int ps = (1 + static_cast<int>(rng() % 2)) * size;
        check_read(c, p, xx, yy, ww, hh, ps,
                   ps * ww + static_cast<int>(rng() % 3) * size);
    }
}

TEST(TileCache, PackedEntry)
{
    pvrt_tilecache *c = pvrt_tilecache_new(64 << 20);
    const pvrt_band_path p = {1, -1, 0};
    ASSERT_EQ(pvrt_tilecache_put(c, &p, GDT_Float32, 100, 40, 70, 30,
                                 layout(100, 40, 70, 30, {}), nullptr, 0),
              1);
    check_windows(c, &p, 100, 40, 70, 30, 1);
    pvrt_tilecache_free(c);
}

// The driver's case: a region split by the planner on its grid, each tile
// where the split wrote it.
TEST(TileCache, EntryOfPlannedTiles)
{
    struct Case {
        int x, y, w, h, grid, threads, per_thread;
    };
    const Case cases[] = {
        {0, 0, 4096, 256, 256, 2, 16},  // a row walk's region
        {0, 512, 1024, 768, 256, 2, 4}, // several cell rows
        {37, 11, 300, 200, 64, 3, 16},  // odd offsets, edge tiles
    };
    unsigned seed = 2;
    for (const Case &k : cases) {
        pvrt_tile_params tp;
        std::memset(&tp, 0, sizeof tp);
        tp.win_x = k.x;
        tp.win_y = k.y;
        tp.win_w = k.w;
        tp.win_h = k.h;
        tp.grid_x = tp.grid_y = k.grid;
        tp.bytes_per_pixel = 28;
        tp.budget_bytes = 64 << 20;
        tp.min_pixels = 1024;
        tp.threads = k.threads;
        tp.per_thread = k.per_thread;
        pvrt_rect *planned = nullptr;
        const int n = pvrt_tiles_plan(&tp, &planned);
        ASSERT_GT(n, 1);
        const std::vector<pvrt_rect> tiles(planned, planned + n);
        free(planned);

        pvrt_tilecache *c = pvrt_tilecache_new(256 << 20);
        const pvrt_band_path p = {2, -1, 0};
        ASSERT_EQ(pvrt_tilecache_put(c, &p, GDT_Float32, k.x, k.y, k.w, k.h,
                                     layout(k.x, k.y, k.w, k.h, tiles),
                                     copy_tiles(tiles), n),
                  1);
        check_windows(c, &p, k.x, k.y, k.w, k.h, seed++);
        pvrt_tilecache_free(c);
    }
}

// Tiles of different sizes in an order that is not row-major.
TEST(TileCache, EntryOfUnevenTilesInAnyOrder)
{
    const std::vector<pvrt_rect> tiles = {{30, 0, 20, 25},
                                          {0, 10, 30, 15},
                                          {0, 0, 30, 10},
                                          {30, 25, 20, 5},
                                          {0, 25, 30, 5}};
    pvrt_tilecache *c = pvrt_tilecache_new(1 << 20);
    const pvrt_band_path p = {1, 0, 1};
    ASSERT_EQ(pvrt_tilecache_put(c, &p, GDT_Float32, 5, 7, 50, 30,
                                 layout(5, 7, 50, 30, tiles), copy_tiles(tiles),
                                 static_cast<int>(tiles.size())),
              1);
    check_windows(c, &p, 5, 7, 50, 30, 3);
    // Outside the entry, or another band: not served.
    float v[4];
    EXPECT_EQ(pvrt_tilecache_read(c, &p, GDT_Float32, 4, 7, 2, 1, v, 4, 8), 0);
    const pvrt_band_path other = {1, 0, 0};
    EXPECT_EQ(pvrt_tilecache_read(c, &other, GDT_Float32, 5, 7, 1, 1, v, 4, 4),
              0);
    pvrt_tilecache_free(c);
}

// Taking, dropping and evicting tiled entries frees their tile lists
// (LeakSanitizer would see them otherwise) and keeps the byte count.
TEST(TileCache, TiledEntriesLeaveWhole)
{
    const std::vector<pvrt_rect> tiles = {{0, 0, 8, 8}, {8, 0, 8, 8}};
    const int64_t bytes = 16 * 8 * sizeof(float);
    pvrt_tilecache *c = pvrt_tilecache_new(2 * bytes);
    const pvrt_band_path p = {1, -1, 0};
    for (int i = 0; i < 3; i++) // the third evicts the first
        ASSERT_EQ(pvrt_tilecache_put(c, &p, GDT_Float32, 0, 8 * i, 16, 8,
                                     layout(0, 8 * i, 16, 8, tiles),
                                     copy_tiles(tiles), 2),
                  1);
    EXPECT_EQ(pvrt_tilecache_entries(c), 2);
    EXPECT_EQ(pvrt_tilecache_bytes(c), 2 * bytes);
    int64_t taken = 0;
    void *data = pvrt_tilecache_take(c, &p, GDT_Float32, 0, 8, 16, 8, &taken);
    ASSERT_NE(data, nullptr);
    EXPECT_EQ(taken, bytes);
    pvrt_big_free(data);
    pvrt_tilecache_drop_within(c, &p, GDT_Float32, 0, 0, 16, 24);
    EXPECT_EQ(pvrt_tilecache_entries(c), 0);
    EXPECT_EQ(pvrt_tilecache_bytes(c), 0);
    // Larger than the cap: freed at once, tiles too.
    const std::vector<pvrt_rect> halves = {{0, 0, 16, 12}, {0, 12, 16, 12}};
    EXPECT_EQ(pvrt_tilecache_put(c, &p, GDT_Float32, 0, 0, 16, 24,
                                 layout(0, 0, 16, 24, halves),
                                 copy_tiles(halves), 2),
              0);
    pvrt_tilecache_free(c);
}

// The VmFlags of the mapping holding address a (/proc/self/smaps), or "".
std::string vm_flags_at(const void *a)
{
    std::ifstream smaps("/proc/self/smaps");
    std::string line;
    bool in = false;
    const auto at = reinterpret_cast<uintptr_t>(a);
    while (std::getline(smaps, line)) {
        unsigned long lo = 0, hi = 0;
        char dash = 0;
        std::istringstream head(line);
        if (head >> std::hex >> lo >> dash >> hi && dash == '-' &&
            line.find(':') > line.find(' '))
            in = lo <= at && at < hi;
        else if (in && line.rfind("VmFlags:", 0) == 0)
            return line;
    }
    return "";
}

TEST(BigMemory, EveryBufferHoldsItsBytesAndLargeOnesAreAdvisedHugePages)
{
    const size_t huge = size_t(2) << 20;
    const size_t sizes[] = {0,
                            1,
                            4095,
                            huge - 1,
                            huge,
                            huge + 1,
                            3 * huge / 2,
                            4036836,
                            5 * huge + 12345};
    std::vector<unsigned char *> bufs;
    for (size_t size : sizes) {
        auto *p = static_cast<unsigned char *>(pvrt_big_alloc(size));
        ASSERT_NE(p, nullptr) << size;
        EXPECT_EQ(reinterpret_cast<uintptr_t>(p) % 16, 0u) << size;
        for (size_t i = 0; i < size; i++)
            p[i] = static_cast<unsigned char>(size + i * 7);
        bufs.push_back(p);
    }
    // Written all at once, then checked: no two buffers overlap.
    for (size_t k = 0; k < bufs.size(); k++) {
        for (size_t i = 0; i < sizes[k]; i += 997) {
            ASSERT_EQ(bufs[k][i], static_cast<unsigned char>(sizes[k] + i * 7))
                << sizes[k] << " at " << i;
        }
    }
#if defined(__linux__) && !TEST_ASAN
    const bool thp =
        std::ifstream("/sys/kernel/mm/transparent_hugepage/enabled").good();
    for (size_t k = 0; k < bufs.size(); k++) {
        const std::string flags = vm_flags_at(bufs[k]);
        const bool advised = flags.find(" hg") != std::string::npos;
        if (sizes[k] < huge) {
            EXPECT_FALSE(advised) << sizes[k] << ": " << flags;
            continue;
        }
        EXPECT_EQ(reinterpret_cast<uintptr_t>(bufs[k]) % huge, 0u) << sizes[k];
        if (thp) {
            EXPECT_TRUE(advised) << sizes[k] << ": " << flags;
        }
    }
#endif
    for (unsigned char *p : bufs)
        pvrt_big_free(p);
    pvrt_big_free(nullptr);
}

// An entry of a few MB (huge pages) serves its pixels as a small one does.
TEST(TileCache, LargeEntriesServeTheirPixels)
{
    const int w = 1100, h = 1000;
    const std::vector<pvrt_rect> tiles = {
        {0, 0, 600, 500}, {600, 0, 500, 500}, {0, 500, 1100, 500}};
    pvrt_tilecache *c = pvrt_tilecache_new(int64_t(64) << 20);
    const pvrt_band_path p = {1, -1, 0};
    ASSERT_EQ(pvrt_tilecache_put(c, &p, GDT_Float32, 0, 0, w, h,
                                 layout(0, 0, w, h, tiles), copy_tiles(tiles),
                                 3),
              1);
    std::vector<float> out(size_t(w) * h, -1.0f);
    ASSERT_EQ(pvrt_tilecache_read(c, &p, GDT_Float32, 0, 0, w, h, out.data(),
                                  sizeof(float), sizeof(float) * w),
              1);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            ASSERT_EQ(out[size_t(y) * w + x], value_at(x, y)) << x << "," << y;
        }
    }
    pvrt_tilecache_free(c);
}

} // namespace
