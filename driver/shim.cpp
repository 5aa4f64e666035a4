// shim.cpp: the PVRT dataset and band classes.
//
// PVRTDataset is a GDALProxyDataset over the primary handle: metadata,
// georeferencing, GCPs, file list and every other non-pixel call are the
// VRT's own. Pixel requests (dataset- and band-level IRasterIO, IReadBlock)
// go to pvrt_read. Bands are PVRTBand proxies of the primary's bands;
// overview and mask bands are wrapped the same way, named by a band path,
// so workers find the same band in their clones. Writes are refused: update
// is never claimed. No C++ exception leaves this file.
#include "shim.hpp"

#include "gdal_compat.hpp"

#include <cpl_string.h>
#include <gdal_proxy.h>

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>
#include <vector>

extern "C" {
#include "dataset.h"
#include "errcap.h"
#include "gather.h"
#include "halo.h"
#include "read.h"
#include "reopen.h"
#include "shared.h"
#include "tilecache.h"
#include "vrtinfo.h"
}

namespace
{

class PVRTDataset;

class PVRTBand final : public GDALProxyRasterBand
{
  public:
    PVRTBand(PVRTDataset *ds, pvrt_dataset *h, const pvrt_band_path &path,
             GDALRasterBand *under, bool tile_safe);

    // A neighbourhood band (halo.c) shows no overviews: the VRT's would
    // be GDAL's derived bands over the source's overviews, which GDAL
    // cannot compute. A reduced read is computed from the source read at
    // the buffer's resolution, where GDAL uses the source's overviews.
    int GetOverviewCount() override;
    GDALRasterBand *GetOverview(int i) override;
    GDALRasterBand *GetMaskBand() override;
    GDALRasterBand *GetRasterSampleOverview(GUIntBig pixels) override
    {
        return GDALRasterBand::GetRasterSampleOverview(pixels);
    }
    // GDAL computes a derived band's statistics with GDALRasterBand's own
    // block loop; running that loop here reads our blocks, in parallel.
    CPLErr ComputeStatistics(int approx, double *mn, double *mx, double *mean,
                             double *sd, GDALProgressFunc progress,
                             void *data) override;
    CPLErr ComputeRasterMinMax(int approx, double *minmax) override;
#if PVRT_PROXY_FORWARDS_BLOCKS
    // Block access through our own block cache and IReadBlock, as on GDAL
    // 3.6: GDALProxyRasterBand would hand it to the VRT's band, and
    // GDAL's block loops (statistics, GDALReadBlock) would run serially.
    GDALRasterBlock *GetLockedBlockRef(int bx, int by, int init) override
    {
        return GDALRasterBand::GetLockedBlockRef(bx, by, init);
    }
    GDALRasterBlock *TryGetLockedBlockRef(int bx, int by) override
    {
        return GDALRasterBand::TryGetLockedBlockRef(bx, by);
    }
    CPLErr FlushBlock(int bx, int by, int write_dirty) override
    {
        return GDALRasterBand::FlushBlock(bx, by, write_dirty);
    }
    CPLErr FlushCache(bool at_closing) override
    {
        const CPLErr mine = GDALRasterBand::FlushCache(at_closing);
        const CPLErr under = GDALProxyRasterBand::FlushCache(at_closing);
        return mine != CE_None ? mine : under;
    }
#endif
    // GDALProxyRasterBand would ask the VRT's band, which computes
    // serially: GDALRasterBand's own calls our ComputeStatistics.
    CPLErr GetStatistics(int approx, int force, double *mn, double *mx,
                         double *mean, double *sd) override;
    // With remote sources, a split read keeps one request in flight per
    // worker only if it holds many tiles: ask GDALDatasetCopyWholeRaster
    // (gdal_translate) and GDALRasterBandCopyWholeRaster for swaths as
    // large as GDAL allows (a quarter of the block cache) rather than about
    // 10 MB. Local sources gain nothing from it (measured: a little slower,
    // and the swath buffer and larger tiles cost memory).
    GDALSuggestedBlockAccessPattern
    GetSuggestedBlockAccessPattern() const override
    {
        if (tile_safe_ && h_->threads >= 2 && h_->network)
            return GSBAP_RANDOM | GSBAP_LARGEST_CHUNK_POSSIBLE;
        return GSBAP_UNKNOWN; // as GDAL's VRT driver
    }

  protected:
    GDALRasterBand *
    RefUnderlyingRasterBand(PVRT_REF_UNDERLYING_PARAMS) const override
    {
        return under_;
    }
    void UnrefUnderlyingRasterBand(GDALRasterBand *) const override {}
    CPLErr IReadBlock(int bx, int by, void *data) override;
    CPLErr IWriteBlock(int, int, void *) override;
    CPLErr IRasterIO(GDALRWFlag, int, int, int, int, void *, int, int,
                     GDALDataType, GSpacing, GSpacing,
                     GDALRasterIOExtraArg *) override;

  private:
    bool derived_main() const;
    CPLErr read_through_overview(int x, int y, int w, int h, void *buf, int bw,
                                 int bh, GDALDataType type, GSpacing ps,
                                 GSpacing ls, GDALRasterIOExtraArg *extra,
                                 bool *done);

    PVRTDataset *ds_;
    pvrt_dataset *h_;
    pvrt_band_path path_;
    GDALRasterBand *under_;
    bool tile_safe_; // reads of this band may be split
    std::vector<std::unique_ptr<PVRTBand>> overviews_;
    std::unique_ptr<PVRTBand> mask_;
};

class PVRTDataset final : public GDALProxyDataset
{
  public:
    PVRTDataset(pvrt_dataset *h, const char *filename);
    ~PVRTDataset() override;

    GDALDriver *GetDriver() PVRT_GETDRIVER_CONST override
    {
        return GDALDataset::GetDriver();
    }
    int CloseDependentDatasets() override;
    int Release(bool keep);
    CPLErr IBuildOverviews(const char *resampling, int noverviews,
                           const int *levels, int nbands, const int *bands,
                           GDALProgressFunc progress, void *data,
                           CSLConstList options) override;
    const char *GetMetadataItem(const char *name, const char *domain) override;
    pvrt_metadata_list GetMetadata(const char *domain) override;

  protected:
    GDALDataset *RefUnderlyingDataset() const override
    {
        return h_ ? GDALDataset::FromHandle(h_->primary) : nullptr;
    }
    void UnrefUnderlyingDataset(GDALDataset *) const override {}
    CPLErr IRasterIO(GDALRWFlag, int, int, int, int, void *, int, int,
                     GDALDataType, int, int *, GSpacing, GSpacing, GSpacing,
                     GDALRasterIOExtraArg *) override;

  private:
    bool read_band_by_band(int w, int h, int bw, int bh, GDALDataType type,
                           int nbands, const int *bands, GSpacing ps,
                           GSpacing ls, GSpacing bs,
                           const GDALRasterIOExtraArg *extra) const;
    pvrt_dataset *h_;
    CPLString debug_value_;
    CPLStringList debug_list_;
};

// A read request for window (x, y, w, h) into buf; the caller adds the
// band path or the band list.
pvrt_request window_request(int x, int y, int w, int h, void *buf, int bw,
                            int bh, GDALDataType type, GSpacing ps, GSpacing ls,
                            GDALRasterIOExtraArg *extra)
{
    pvrt_request rq = {};
    rq.x = x;
    rq.y = y;
    rq.w = w;
    rq.h = h;
    rq.buf = buf;
    rq.buf_w = bw;
    rq.buf_h = bh;
    rq.buf_type = type;
    rq.pixel_space = ps;
    rq.line_space = ls;
    rq.extra = extra;
    return rq;
}

CPLErr refuse_write()
{
    CPLError(CE_Failure, CPLE_NotSupported,
             "PVRT: datasets are read-only; write through GDAL's VRT driver");
    return CE_Failure;
}

// Whether reads of an overview band may be split: other formats read any
// window exactly; a VRT overview (explicit, or GDAL's implicit overviews)
// must map its sources 1:1 at integer offsets like any VRT we split, or be
// the implicit-overview shape, one source scaled whole onto the whole
// raster, whose reads resolve to the source's own overview (checked
// against GDAL at odd sizes and tiny tiles by test_overviews).
bool overview_tile_safe(GDALRasterBand *ov)
{
    GDALDataset *d = ov->GetDataset();
    if (d == nullptr)
        return true;
    CSLConstList xml = d->GetMetadata("xml:VRT");
    if (xml == nullptr || xml[0] == nullptr)
        return true;
    pvrt_vrtinfo info;
    if (pvrt_vrtinfo_inspect(xml[0], d->GetDescription(), &info) != 0)
        return false;
    const bool safe = info.tile_safe || !info.unsafe_not_whole;
    pvrt_vrtinfo_clear(&info);
    return safe;
}

PVRTBand::PVRTBand(PVRTDataset *ds, pvrt_dataset *h, const pvrt_band_path &path,
                   GDALRasterBand *under, bool tile_safe)
    : ds_(ds), h_(h), path_(path), under_(under), tile_safe_(tile_safe)
{
    const bool main_band = path.overview < 0 && !path.mask;
    poDS = main_band ? ds : nullptr;
    nBand = main_band ? path.band : 0;
    nRasterXSize = under->GetXSize();
    nRasterYSize = under->GetYSize();
    eDataType = under->GetRasterDataType();
    under->GetBlockSize(&nBlockXSize, &nBlockYSize);
    eAccess = GA_ReadOnly;
    // Descriptions are not virtual: copy the VRT's own.
    GDALMajorObject::SetDescription(under->GetDescription());
}

int PVRTBand::GetOverviewCount()
{
    if (pvrt_halo_band(h_, path_.band))
        return 0;
    return under_->GetOverviewCount();
}

GDALRasterBand *PVRTBand::GetOverview(int i)
{
    if (pvrt_halo_band(h_, path_.band))
        return nullptr;
    if (path_.overview >= 0 || path_.mask)
        return under_->GetOverview(i);
    if (i < 0 || i >= under_->GetOverviewCount())
        return nullptr;
    if (overviews_.size() <= static_cast<size_t>(i))
        overviews_.resize(i + 1);
    if (!overviews_[i]) {
        GDALRasterBand *ov = under_->GetOverview(i);
        if (ov == nullptr)
            return nullptr;
        pvrt_band_path p = path_;
        p.overview = i;
        overviews_[i].reset(new (std::nothrow) PVRTBand(
            ds_, h_, p, ov, overview_tile_safe(ov)));
    }
    return overviews_[i].get();
}

GDALRasterBand *PVRTBand::GetMaskBand()
{
    GDALRasterBand *m = under_->GetMaskBand();
    // Masks of masks, and masks that are constant, stay the VRT's own.
    if (m == nullptr || path_.mask || (under_->GetMaskFlags() & GMF_ALL_VALID))
        return m;
    if (!mask_) {
        pvrt_band_path p = path_;
        p.mask = 1;
        mask_.reset(new (std::nothrow) PVRTBand(ds_, h_, p, m, tile_safe_));
        if (!mask_)
            return m;
    }
    return mask_.get();
}

CPLErr PVRTBand::IRasterIO(GDALRWFlag rw, int x, int y, int w, int h, void *buf,
                           int bw, int bh, GDALDataType type, GSpacing ps,
                           GSpacing ls, GDALRasterIOExtraArg *extra)
{
    if (rw != GF_Read)
        return refuse_write();
    bool done = false;
    const CPLErr err = read_through_overview(x, y, w, h, buf, bw, bh, type, ps,
                                             ls, extra, &done);
    if (done)
        return err;
    pvrt_request rq =
        window_request(x, y, w, h, buf, bw, bh, type, ps, ls, extra);
    rq.path = &path_;
    rq.tile_safe = tile_safe_;
    return pvrt_read(h_, &rq);
}

// A derived band asked for fewer pixels than its window reads an overview
// when it has one (VRTDerivedRasterBand::IRasterIO, GDAL 3.6): the same
// overview, window and arguments GDAL's OverviewRasterIO would pick, read
// through our overview band, where a read that is no longer resampled at
// the overview's scale is split like any other. Sets *done when it read;
// when GDAL would fall back to the sources, it leaves the read to the
// primary handle, which does exactly that.
CPLErr PVRTBand::read_through_overview(int x, int y, int w, int h, void *buf,
                                       int bw, int bh, GDALDataType type,
                                       GSpacing ps, GSpacing ls,
                                       GDALRasterIOExtraArg *extra, bool *done)
{
    *done = false;
    if (!derived_main() || !(bw < w || bh < h) || h_->threads < 2 ||
        GetOverviewCount() <= 0)
        return CE_None;
    GDALRasterIOExtraArg ov_extra;
    INIT_RASTERIO_EXTRA_ARG(ov_extra);
    if (extra)
        GDALCopyRasterIOExtraArg(&ov_extra, extra);
    int ox = x, oy = y, ow = w, oh = h;
    const int ov = GDALBandGetBestOverviewLevel2(under_, ox, oy, ow, oh, bw, bh,
                                                 &ov_extra);
    GDALRasterBand *band = ov >= 0 ? GetOverview(ov) : nullptr;
    if (band == nullptr)
        return CE_None;
    // If the overview read fails GDAL falls back to the sources: then its
    // messages are dropped here and the primary does it all, as GDAL does.
    pvrt_errlog *log = pvrt_errlog_new();
    if (log == nullptr)
        return CE_None;
    pvrt_errcap cap;
    pvrt_errcap_begin(&cap, log, 0);
    const CPLErr err = band->RasterIO(GF_Read, ox, oy, ow, oh, buf, bw, bh,
                                      type, ps, ls, &ov_extra);
    pvrt_errcap_end(&cap);
    if (err == CE_None) {
        pvrt_errlog_replay(log);
        *done = true;
    }
    pvrt_errlog_free(log);
    return err;
}

bool PVRTBand::derived_main() const
{
    return path_.overview < 0 && !path_.mask && h_->bands != nullptr &&
           path_.band <= h_->nbands && h_->bands[path_.band - 1].derived;
}

CPLErr PVRTBand::ComputeStatistics(int approx, double *mn, double *mx,
                                   double *mean, double *sd,
                                   GDALProgressFunc progress, void *data)
{
    if (derived_main())
        return GDALRasterBand::ComputeStatistics(approx, mn, mx, mean, sd,
                                                 progress, data);
    return GDALProxyRasterBand::ComputeStatistics(approx, mn, mx, mean, sd,
                                                  progress, data);
}

CPLErr PVRTBand::GetStatistics(int approx, int force, double *mn, double *mx,
                               double *mean, double *sd)
{
    if (derived_main())
        return GDALRasterBand::GetStatistics(approx, force, mn, mx, mean, sd);
    return GDALProxyRasterBand::GetStatistics(approx, force, mn, mx, mean, sd);
}

CPLErr PVRTBand::ComputeRasterMinMax(int approx, double *minmax)
{
    if (derived_main())
        return GDALRasterBand::ComputeRasterMinMax(approx, minmax);
    return GDALProxyRasterBand::ComputeRasterMinMax(approx, minmax);
}

CPLErr PVRTBand::IReadBlock(int bx, int by, void *data)
{
    const int x = bx * nBlockXSize, y = by * nBlockYSize;
    const int w = std::min(nBlockXSize, nRasterXSize - x);
    const int h = std::min(nBlockYSize, nRasterYSize - y);
    const int size = GDALGetDataTypeSizeBytes(eDataType);
    if (w < nBlockXSize || h < nBlockYSize)
        memset(data, 0, static_cast<size_t>(nBlockXSize) * nBlockYSize * size);
    GDALRasterIOExtraArg extra;
    INIT_RASTERIO_EXTRA_ARG(extra);
    return IRasterIO(GF_Read, x, y, w, h, data, w, h, eDataType, size,
                     static_cast<GSpacing>(size) * nBlockXSize, &extra);
}

CPLErr PVRTBand::IWriteBlock(int, int, void *)
{
    return refuse_write();
}

PVRTDataset::PVRTDataset(pvrt_dataset *h, const char *filename) : h_(h)
{
    GDALDataset *primary = GDALDataset::FromHandle(h->primary);
    nRasterXSize = primary->GetRasterXSize();
    nRasterYSize = primary->GetRasterYSize();
    eAccess = GA_ReadOnly;
    SetDescription(filename);
    for (int i = 1; i <= primary->GetRasterCount(); i++) {
        pvrt_band_path p = {i, -1, 0};
        SetBand(i, new PVRTBand(this, h, p, primary->GetRasterBand(i),
                                h->tile_safe != 0));
    }
}

// Closes bands, clones and primary (`keep`: the application closed us,
// the dataset may be kept for a later open, reopen.h).
// GDALDestroyDriverManager calls CloseDependentDatasets before closing
// datasets left open, in no particular order: afterwards nothing of ours
// may point at the primary.
int PVRTDataset::Release(bool keep)
{
    if (h_ == nullptr)
        return FALSE;
    // Our bands' block caches go first, while the primary still exists.
    // Only ours when the dataset may be kept: the VRT's bands would pass
    // the flush on to their sources, whose cached blocks a later open
    // reuses (the primary's close flushes them if it is not kept).
    if (keep) {
        for (int i = 0; i < nBands; i++)
            papoBands[i]->GDALRasterBand::FlushCache(true);
    } else {
        GDALDataset::FlushCache(true);
    }
    for (int i = 0; i < nBands; i++)
        delete papoBands[i];
    nBands = 0;
    if (keep)
        pvrt_dataset_release(h_);
    else
        pvrt_dataset_close(h_);
    h_ = nullptr;
    return TRUE;
}

int PVRTDataset::CloseDependentDatasets()
{
    return Release(false);
}

// External overviews (gdaladdo -ro, BuildOverviews on a read-only VRT):
// GDAL's VRT driver builds them with GDAL's default overview builder over
// its own bands, serially; the same builder over our bands reads them
// split, in parallel. Kept for VRTs whose reads split, with GDAL's
// VRT_VIRTUAL_OVERVIEWS off (that mode writes no file); anything else is
// the VRT's own.
CPLErr PVRTDataset::IBuildOverviews(const char *resampling, int noverviews,
                                    const int *levels, int nbands,
                                    const int *bands, GDALProgressFunc progress,
                                    void *data, CSLConstList options)
{
    if (h_ == nullptr)
        return CE_Failure;
    GDALDriverH drv = GDALGetDatasetDriver(h_->primary);
    const bool vrt = drv && EQUAL(GDALGetDriverShortName(drv), "VRT");
    if (!vrt || !h_->tile_safe || h_->threads < 2 || noverviews == 0 ||
        CPLTestBool(CPLGetConfigOption("VRT_VIRTUAL_OVERVIEWS", "NO")) ||
        GetDescription()[0] == '\0' || GetDescription()[0] == '<')
        return GDALProxyDataset::IBuildOverviews(resampling, noverviews, levels,
                                                 nbands, bands, progress, data,
                                                 options);
    if (!oOvManager.IsInitialized())
        oOvManager.Initialize(this, GetDescription());
    return GDALDataset::IBuildOverviews(resampling, noverviews, levels, nbands,
                                        bands, progress, data, options);
}

PVRTDataset::~PVRTDataset()
{
    Release(true);
}

// The __DEBUG__ counters the dataset handle keeps (docs/driver.md), by
// name: GetMetadataItem answers each, GetMetadata lists them all.
struct debug_counter {
    const char *name;
    int64_t pvrt_dataset::*count;
};
const debug_counter debug_counters[] = {
    {"SPLIT_READS", &pvrt_dataset::split_reads},
    {"STRIPED_TILES", &pvrt_dataset::striped_tiles},
    {"AHEAD_REGIONS", &pvrt_dataset::ahead_regions},
    {"BACKGROUND_REGIONS", &pvrt_dataset::background_regions},
    {"REGIONS_REUSED", &pvrt_dataset::regions_reused},
    {"LARGE_AHEAD", &pvrt_dataset::large_ahead},
    {"LARGE_TILES_HIT", &pvrt_dataset::large_tiles_hit},
    {"CACHE_HITS", &pvrt_dataset::cache_hits},
    {"MASK_HITS", &pvrt_dataset::mask_hits},
    {"SAMPLED_BLOCKS", &pvrt_dataset::sampled_blocks},
    {"SOURCE_DROPS", &pvrt_dataset::source_drops},
    {"GATHERED_READS", &pvrt_dataset::gathered_reads},
    {"DIRECT_CAPTURES", &pvrt_dataset::direct_captures},
    {"SHARED_READS", &pvrt_dataset::shared_reads},
    {"TOGETHER_BANDS", &pvrt_dataset::together_bands},
    {"TOGETHER_HITS", &pvrt_dataset::together_hits},
};

// The other __DEBUG__ items, computed when asked.
const char *const debug_items[] = {"LAST_READ_TILES",
                                   "LAST_READ_PIXELS",
                                   "LAST_READ_THREADS",
                                   "THREADS",
                                   "TILE_SAFE",
                                   "CLONES_OPEN",
                                   "CACHE_BYTES",
                                   "GATHER_HANDLES",
                                   "GATHER_MEMORY_REUSED",
                                   "SHARED_HANDLES",
                                   "REUSES"};

const char *PVRTDataset::GetMetadataItem(const char *name, const char *domain)
{
    if (h_ && domain && EQUAL(domain, "__DEBUG__") && name) {
        for (const debug_counter &c : debug_counters)
            if (EQUAL(name, c.name)) {
                debug_value_.Printf(CPL_FRMT_GIB,
                                    static_cast<GIntBig>(__atomic_load_n(
                                        &(h_->*c.count), __ATOMIC_RELAXED)));
                return debug_value_.c_str();
            }
        if (EQUAL(name, "LAST_READ_TILES"))
            debug_value_.Printf(
                "%d", __atomic_load_n(&h_->last_tiles, __ATOMIC_RELAXED));
        else if (EQUAL(name, "LAST_READ_PIXELS"))
            debug_value_.Printf(CPL_FRMT_GIB,
                                static_cast<GIntBig>(__atomic_load_n(
                                    &h_->last_pixels, __ATOMIC_RELAXED)));
        else if (EQUAL(name, "LAST_READ_THREADS"))
            debug_value_.Printf(
                "%d", __atomic_load_n(&h_->last_threads, __ATOMIC_RELAXED));
        else if (EQUAL(name, "THREADS"))
            debug_value_.Printf("%d", h_->threads);
        else if (EQUAL(name, "TILE_SAFE"))
            debug_value_ = h_->tile_safe ? "YES" : "NO";
        else if (EQUAL(name, "CLONES_OPEN"))
            debug_value_.Printf("%d", pvrt_clones_open_count(h_->clones));
        else if (EQUAL(name, "CACHE_BYTES"))
            debug_value_.Printf(
                CPL_FRMT_GIB,
                static_cast<GIntBig>(pvrt_tilecache_bytes(h_->cache)));
        else if (EQUAL(name, "GATHER_HANDLES"))
            debug_value_.Printf("%d", pvrt_gather_handles_open(h_->gather));
        else if (EQUAL(name, "GATHER_MEMORY_REUSED"))
            debug_value_.Printf(
                CPL_FRMT_GIB,
                static_cast<GIntBig>(pvrt_gather_memory_reused(h_->gather)));
        else if (EQUAL(name, "SHARED_HANDLES"))
            debug_value_.Printf("%d", pvrt_shared_open_count());
        else if (EQUAL(name, "REUSES"))
            debug_value_.Printf(CPL_FRMT_GIB, static_cast<GIntBig>(h_->reuses));
        else
            return GDALProxyDataset::GetMetadataItem(name, domain);
        return debug_value_.c_str();
    }
    return GDALProxyDataset::GetMetadataItem(name, domain);
}

pvrt_metadata_list PVRTDataset::GetMetadata(const char *domain)
{
    if (h_ && domain && EQUAL(domain, "__DEBUG__")) {
        debug_list_.Clear();
        for (const char *name : debug_items)
            debug_list_.SetNameValue(name, GetMetadataItem(name, domain));
        for (const debug_counter &c : debug_counters)
            debug_list_.SetNameValue(c.name, GetMetadataItem(c.name, domain));
        return debug_list_.List();
    }
    return GDALProxyDataset::GetMetadata(domain);
}

// Whether GDAL's VRT dataset reads this request band after band, as
// GDALDataset::BandBasedRasterIO (each band's IRasterIO into its place in
// the buffer, progress scaled per band), on GDAL 3.6 to 3.13: several
// derived bands (the dataset is then not one VRTDataset reads at once),
// resampled, and not one GDALDataset::IRasterIO resamples at dataset level
// (cubic, cubic spline, bilinear or Lanczos unless both sides shrink,
// which VRTDataset::IRasterIO sends band by band itself). Our bands then
// read them as GDAL's would, gathered, and bands read after one another are
// computed together (gather.c); a dataset-level read would run whole on the
// primary. Not for packed pixels in wider lines: there GDAL's derived band
// clears, before each band, bytes of the bands written before it, which
// PVRT does not do (docs/driver.md).
bool PVRTDataset::read_band_by_band(int w, int h, int bw, int bh,
                                    GDALDataType type, int nbands,
                                    const int *bands, GSpacing ps, GSpacing ls,
                                    GSpacing bs,
                                    const GDALRasterIOExtraArg *extra) const
{
    // A progress callback stays with the primary, which calls it as GDAL
    // does (gathered reads do not call it).
    if (nbands < 2 || h_->bands == nullptr || (bw == w && bh == h) ||
        extra->pfnProgress != nullptr)
        return false;
    for (int i = 0; i < nbands; i++)
        if (bands[i] < 1 || bands[i] > h_->nbands ||
            !h_->bands[bands[i] - 1].derived)
            return false;
    const GDALRIOResampleAlg alg = extra->eResampleAlg;
    if ((alg == GRIORA_Cubic || alg == GRIORA_CubicSpline ||
         alg == GRIORA_Bilinear || alg == GRIORA_Lanczos) &&
        !(bw < w && bh < h))
        return false;
    const GSpacing size = GDALGetDataTypeSizeBytes(type);
    const GSpacing packed_line = size * bw;
    if (ps == size && (ls != packed_line || bs < packed_line * bh))
        return false;
    return true;
}

CPLErr PVRTDataset::IRasterIO(GDALRWFlag rw, int x, int y, int w, int h,
                              void *buf, int bw, int bh, GDALDataType type,
                              int nbands, int *bands, GSpacing ps, GSpacing ls,
                              GSpacing bs, GDALRasterIOExtraArg *extra)
{
    if (rw != GF_Read)
        return refuse_write();
    if (h_ == nullptr)
        return CE_Failure;
    if (extra != nullptr &&
        read_band_by_band(w, h, bw, bh, type, nbands, bands, ps, ls, bs, extra))
        return BandBasedRasterIO(rw, x, y, w, h, buf, bw, bh, type, nbands,
                                 bands, ps, ls, bs, extra);
    pvrt_request rq =
        window_request(x, y, w, h, buf, bw, bh, type, ps, ls, extra);
    rq.tile_safe = h_->tile_safe;
    rq.nbands = nbands;
    rq.bands = bands;
    rq.band_space = bs;
    return pvrt_read(h_, &rq);
}

} // namespace

GDALDataset *pvrt_shim_new_dataset(pvrt_dataset *h, const char *filename)
{
    try {
        return new PVRTDataset(h, filename);
    } catch (const std::exception &e) {
        CPLError(CE_Failure, CPLE_OutOfMemory, "PVRT: %s", e.what());
    }
    pvrt_dataset_close(h);
    return nullptr;
}
