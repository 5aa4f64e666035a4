// test_tiles.cpp: the tile planner (tiles.h).
//
// Every plan is checked against the properties tiles.h promises, computed
// independently here: the tiles cover the window exactly once (a coverage
// count per pixel), lie inside it, come in row-major order (rows of tiles
// sharing y and height, x increasing), start and end on lines of the
// alignment grid except where they touch the window's edges, stay within
// the memory budget whenever one grid cell fits in it, and are numerous
// enough to keep the threads busy when the window is large. Forced tile
// sizes (the TILE_SIZE test knob) including 1x1 and sizes that do not divide
// the window give the exact expected lattice. Windows at odd offsets and
// grids with odd origins are covered, by hand-picked cases and by a seeded
// random sweep.
#include <gtest/gtest.h>

#include <cstdint>
#include <cstdlib>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "tiles.h"

namespace
{

struct Plan {
    std::vector<pvrt_rect> tiles;
};

Plan plan(const pvrt_tile_params &p)
{
    pvrt_rect *t = nullptr;
    const int n = pvrt_tiles_plan(&p, &t);
    Plan out;
    if (n > 0 && t != nullptr)
        out.tiles.assign(t, t + n);
    free(t);
    EXPECT_GE(n, 1);
    return out;
}

std::string describe(const pvrt_tile_params &p)
{
    std::ostringstream s;
    s << "win " << p.win_x << "," << p.win_y << " " << p.win_w << "x" << p.win_h
      << " grid " << p.grid_x << "x" << p.grid_y << " @" << p.grid_off_x << ","
      << p.grid_off_y << " bpp " << p.bytes_per_pixel << " budget "
      << p.budget_bytes << " min " << p.min_pixels << " threads " << p.threads
      << " force " << p.force_w << "x" << p.force_h;
    return s.str();
}

bool on_grid(int raster_pos, int cell, int off)
{
    long long r = ((long long)raster_pos - off) % cell;
    return r == 0;
}

// Checks the properties every plan has; returns the number of failures
// (reported through gtest with the parameters).
void check_plan(const pvrt_tile_params &p, const Plan &pl)
{
    const std::string what = describe(p);
    ASSERT_FALSE(pl.tiles.empty()) << what;

    // Inside the window, non-empty.
    for (const pvrt_rect &r : pl.tiles) {
        ASSERT_GT(r.w, 0) << what;
        ASSERT_GT(r.h, 0) << what;
        ASSERT_GE(r.x, 0) << what;
        ASSERT_GE(r.y, 0) << what;
        ASSERT_LE(r.x + r.w, p.win_w) << what;
        ASSERT_LE(r.y + r.h, p.win_h) << what;
    }

    // Exactly once: a coverage count per pixel.
    std::vector<uint8_t> cover((size_t)p.win_w * p.win_h, 0);
    for (const pvrt_rect &r : pl.tiles)
        for (int y = r.y; y < r.y + r.h; y++)
            for (int x = r.x; x < r.x + r.w; x++)
                cover[(size_t)y * p.win_w + x]++;
    for (size_t i = 0; i < cover.size(); i++) {
        ASSERT_EQ(cover[i], 1)
            << what << " pixel " << i % p.win_w << "," << i / p.win_w;
    }

    // Row-major: within a row of tiles y and h agree and x grows; the next
    // row starts below.
    for (size_t i = 1; i < pl.tiles.size(); i++) {
        const pvrt_rect &a = pl.tiles[i - 1], &b = pl.tiles[i];
        if (b.y == a.y) {
            ASSERT_EQ(b.h, a.h) << what << " tile " << i;
            ASSERT_EQ(b.x, a.x + a.w) << what << " tile " << i;
        } else {
            ASSERT_EQ(b.y, a.y + a.h) << what << " tile " << i;
            ASSERT_EQ(b.x, 0) << what << " tile " << i;
        }
    }

    // Aligned to the grid except at the window's edges (forced sizes are
    // exempt: they ignore the grid on purpose).
    if (p.force_w <= 0 || p.force_h <= 0) {
        const int gx = p.grid_x > 0 ? p.grid_x : 1;
        const int gy = p.grid_y > 0 ? p.grid_y : 1;
        for (const pvrt_rect &r : pl.tiles) {
            if (r.x != 0) {
                EXPECT_TRUE(on_grid(p.win_x + r.x, gx, p.grid_off_x)) << what;
            }
            if (r.x + r.w != p.win_w) {
                EXPECT_TRUE(on_grid(p.win_x + r.x + r.w, gx, p.grid_off_x))
                    << what;
            }
            if (r.y != 0) {
                EXPECT_TRUE(on_grid(p.win_y + r.y, gy, p.grid_off_y)) << what;
            }
            if (r.y + r.h != p.win_h) {
                EXPECT_TRUE(on_grid(p.win_y + r.y + r.h, gy, p.grid_off_y))
                    << what;
            }
        }
        // The budget holds whenever one whole grid cell fits in it.
        const long long bpp = p.bytes_per_pixel > 0 ? p.bytes_per_pixel : 1;
        if (p.budget_bytes > 0 && (long long)gx * gy * bpp <= p.budget_bytes)
            for (const pvrt_rect &r : pl.tiles) {
                EXPECT_LE((long long)r.w * r.h * bpp, p.budget_bytes)
                    << what << " tile " << r.x << "," << r.y << " " << r.w
                    << "x" << r.h;
            }
    }
}

pvrt_tile_params base(int w, int h)
{
    pvrt_tile_params p{};
    p.win_w = w;
    p.win_h = h;
    p.grid_x = 1;
    p.grid_y = 1;
    p.bytes_per_pixel = 8;
    p.budget_bytes = 64 << 20;
    p.min_pixels = 1024;
    p.threads = 4;
    return p;
}

// base() on a square grid of cells `grid` pixels wide.
pvrt_tile_params gridded(int w, int h, int grid)
{
    pvrt_tile_params p = base(w, h);
    p.grid_x = grid;
    p.grid_y = grid;
    return p;
}

// The plan for p, after check_plan.
Plan checked(const pvrt_tile_params &p)
{
    Plan pl = plan(p);
    check_plan(p, pl);
    return pl;
}

TEST(Tiles, WholeRasterOnTiledGrid)
{
    pvrt_tile_params p = gridded(1000, 700, 128);
    const Plan pl = checked(p);
    // Enough tiles to keep four threads busy.
    EXPECT_GE(pl.tiles.size(), 4u);
}

// Tiles wanted per thread: 4 by default, 1 when asked (remote sources,
// where every round of tiles costs round trips): a 4096x4096 window on a
// 512 grid with 16 threads gets 64 single-block tiles, or 16 of 2x2 blocks.
TEST(Tiles, TilesPerThread)
{
    pvrt_tile_params p = gridded(4096, 4096, 512);
    p.threads = 16;
    const Plan four = checked(p);
    EXPECT_EQ(four.tiles.size(), 64u);
    p.per_thread = 1;
    const Plan one = checked(p);
    ASSERT_EQ(one.tiles.size(), 16u);
    for (const pvrt_rect &r : one.tiles) {
        EXPECT_EQ(r.w, 1024);
        EXPECT_EQ(r.h, 1024);
    }
}

// one_row (remote sources): no tile is more than one grid cell high,
// whatever else the plan wants; the tile count still follows per_thread.
TEST(Tiles, OneRowTilesForRemoteSources)
{
    pvrt_tile_params p = gridded(4096, 4096, 512);
    p.threads = 16;
    p.per_thread = 2;
    p.one_row = 1;
    const Plan pl = checked(p);
    ASSERT_EQ(pl.tiles.size(), 32u);
    for (const pvrt_rect &r : pl.tiles) {
        EXPECT_EQ(r.w, 1024);
        EXPECT_EQ(r.h, 512);
    }
    // Two threads on a 1024x1024 window of 256 blocks: without one_row the
    // plan cuts 256x512 tiles (two blocks high).
    p = gridded(1024, 1024, 256);
    p.threads = 2;
    const Plan tall = checked(p);
    bool any_tall = false;
    for (const pvrt_rect &r : tall.tiles)
        any_tall = any_tall || r.h > 256;
    EXPECT_TRUE(any_tall);
    p.one_row = 1;
    const Plan rows = checked(p);
    for (const pvrt_rect &r : rows.tiles)
        EXPECT_LE(r.h, 256);
    // A grid offset: rows follow the grid lines, the first one partial.
    p = gridded(1000, 700, 128);
    p.win_y = 100;
    p.one_row = 1;
    const Plan off = checked(p);
    for (const pvrt_rect &r : off.tiles) {
        const int top = p.win_y + r.y, bottom = top + r.h - 1;
        EXPECT_EQ(top / 128, bottom / 128) << "tile crosses a grid row";
    }
}

TEST(Tiles, SwathOneBlockRowHighIsSplitByColumns)
{
    // gdal_translate's request on a striped-by-64 / tiled-by-64 source.
    pvrt_tile_params p = gridded(1024, 64, 64);
    p.min_pixels = 4096;
    const Plan pl = checked(p);
    EXPECT_GE(pl.tiles.size(), 4u);
    for (const pvrt_rect &r : pl.tiles) {
        EXPECT_EQ(r.h, 64);
    }
}

TEST(Tiles, SmallRequestIsOneTile)
{
    pvrt_tile_params p = base(30, 20); // 600 pixels < min_pixels
    p.min_pixels = 16384;
    const Plan pl = checked(p);
    ASSERT_EQ(pl.tiles.size(), 1u);
    EXPECT_EQ(pl.tiles[0].w, 30);
    EXPECT_EQ(pl.tiles[0].h, 20);
}

TEST(Tiles, NoSplitBelowMinimumPixels)
{
    // 8 cells of 32x32 = 1024 px each; halving below 2048 px is not worth it.
    pvrt_tile_params p = gridded(256, 32, 32);
    p.min_pixels = 2048;
    const Plan pl = checked(p);
    for (const pvrt_rect &r : pl.tiles) {
        EXPECT_GE((long long)r.w * r.h, 2048) << r.x;
    }
}

TEST(Tiles, BudgetForcesSplitsEvenForOneThread)
{
    pvrt_tile_params p = gridded(512, 512, 16);
    p.threads = 1;
    p.min_pixels = 1 << 30;     // never split for threads' sake
    p.bytes_per_pixel = 12 * 8; // e.g. 12 sources of Float64
    p.budget_bytes = 1 << 20;   // 1 MiB
    const Plan pl = checked(p);
    EXPECT_GE(pl.tiles.size(), (size_t)(512LL * 512 * 96 / (1 << 20)));
}

TEST(Tiles, BudgetSmallerThanOneCellGivesSingleCells)
{
    pvrt_tile_params p = gridded(300, 200, 100);
    p.budget_bytes = 1000; // smaller than any cell: best effort
    const Plan pl = checked(p);
    EXPECT_EQ(pl.tiles.size(), 6u); // one tile per cell
}

TEST(Tiles, WindowAtOddOffsetCutsAtGridLines)
{
    pvrt_tile_params p = base(200, 150);
    p.win_x = 13;
    p.win_y = 7;
    p.grid_x = 32;
    p.grid_y = 16;
    p.threads = 8;
    p.min_pixels = 16;
    p.budget_bytes = 32 * 16 * 8; // one cell per tile
    const Plan pl = checked(p);
    // The first column of tiles ends at raster x 32 (window x 19), the first
    // row at raster y 16 (window y 9).
    EXPECT_EQ(pl.tiles[0].x, 0);
    EXPECT_EQ(pl.tiles[0].w, 19);
    EXPECT_EQ(pl.tiles[0].h, 9);
}

TEST(Tiles, GridWithOffsetOrigin)
{
    pvrt_tile_params p = gridded(100, 90, 10);
    p.win_x = 3;
    p.win_y = 2;
    p.grid_off_x = 5;  // grid lines at x = 5, 15, 25, ...
    p.grid_off_y = -4; // and y = -4, 6, 16, ...
    p.budget_bytes = 10 * 10 * 8;
    p.min_pixels = 1;
    const Plan pl = checked(p);
    EXPECT_EQ(pl.tiles[0].w, 2); // raster 3..5
    EXPECT_EQ(pl.tiles[0].h, 4); // raster 2..6
}

TEST(Tiles, ForcedSizes)
{
    struct Case {
        int w, h, fw, fh;
    } cases[] = {{263, 177, 1, 1},     {263, 177, 7, 5},     {263, 177, 64, 64},
                 {263, 177, 263, 177}, {263, 177, 500, 500}, {1, 1, 1, 1},
                 {5, 3, 2, 2},         {64, 64, 64, 1}};
    for (const Case &c : cases) {
        pvrt_tile_params p = base(c.w, c.h);
        p.win_x = 11; // the offset plays no part in forced tiling
        p.win_y = 4;
        p.grid_x = 16;
        p.grid_y = 16;
        p.force_w = c.fw;
        p.force_h = c.fh;
        const Plan pl = checked(p);
        const int nx = (c.w + c.fw - 1) / c.fw, ny = (c.h + c.fh - 1) / c.fh;
        ASSERT_EQ(pl.tiles.size(), (size_t)nx * ny) << describe(p);
        for (size_t i = 0; i < pl.tiles.size(); i++) {
            const pvrt_rect &r = pl.tiles[i];
            const int ix = (int)(i % nx), iy = (int)(i / nx);
            EXPECT_EQ(r.x, ix * c.fw);
            EXPECT_EQ(r.y, iy * c.fh);
            EXPECT_EQ(r.w, std::min(c.fw, c.w - ix * c.fw));
            EXPECT_EQ(r.h, std::min(c.fh, c.h - iy * c.fh));
        }
    }
}

TEST(Tiles, OnePixelWindow)
{
    pvrt_tile_params p = gridded(1, 1, 256);
    p.win_x = 262;
    p.win_y = 176;
    const Plan pl = checked(p);
    EXPECT_EQ(pl.tiles.size(), 1u);
}

TEST(Tiles, RandomSweep)
{
    std::mt19937 rng(20240611);
    auto pick = [&](int lo, int hi) {
        return std::uniform_int_distribution<int>(lo, hi)(rng);
    };
    for (int i = 0; i < 1500; i++) {
        pvrt_tile_params p{};
        p.win_w = pick(1, 600);
        p.win_h = pick(1, 400);
        p.win_x = pick(0, 5000);
        p.win_y = pick(0, 5000);
        static const int grids[] = {1, 2, 7, 16, 64, 128, 256, 512, 1000};
        p.grid_x = grids[pick(0, 8)];
        p.grid_y = grids[pick(0, 8)];
        p.grid_off_x = pick(-300, 300);
        p.grid_off_y = pick(-300, 300);
        p.bytes_per_pixel = pick(1, 200);
        p.budget_bytes = pick(0, 3) == 0 ? 0 : (int64_t)pick(64, 4 << 20);
        p.min_pixels = pick(0, 3) == 0 ? 0 : pick(1, 40000);
        p.threads = pick(1, 16);
        if (pick(0, 9) == 0) {
            p.force_w = pick(1, 80);
            p.force_h = pick(1, 80);
        }
        const Plan pl = checked(p);
        if (HasFatalFailure())
            return;
    }
}

} // namespace
