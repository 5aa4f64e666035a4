// sources.cpp: drops the blocks a VRT band's sources hold (sources.h).
//
// The one C++ file of the core besides the shim: a VRT band's sources are
// GDAL C++ objects with no C API. Why drop them: GDAL allocates each
// decoded block on its own, and a block of 128 KiB or more (a 256x256
// UInt16 tile) gets a new mapping from the C library, every 4 KiB page of
// which faults when first written; on the reference machine that is about
// 3.5 ms per MB, a quarter of the time GDAL spends reading the benchmark's
// sum of six DEFLATE sources. The VRT driver keeps every block it decodes
// in GDAL's cache, so each one is new memory. Blocks dropped go back to the
// allocator, which then serves the next blocks from that memory (glibc
// stops mapping blocks of a size it has seen freed). Dropping is for
// blocks no later tile reads (read.c decides).
#include "sources.h"

#include "gdal_compat.hpp"

#include <vrtdataset.h>

namespace
{

// GetRasterBandNoOpen is protected (GetRasterBand opens a source not yet
// open): reached through a member pointer named via a derived class.
struct SourceAccess : VRTSimpleSource {
    static GDALRasterBand *band_if_open(VRTSimpleSource *s)
    {
        return (s->*(&SourceAccess::GetRasterBandNoOpen))();
    }
};

template <class F> void for_each_source(VRTSourcedRasterBand *band, F f)
{
#if PVRT_VRT_SOURCES_VECTOR
    for (auto &s : band->m_papoSources)
        f(s.get());
#else
    for (int i = 0; i < band->nSources; i++)
        f(band->papoSources[i]);
#endif
}

} // namespace

extern "C" int pvrt_sources_drop_blocks(GDALDatasetH vrt, int band)
{
    try {
        auto *ds = dynamic_cast<VRTDataset *>(GDALDataset::FromHandle(vrt));
        if (ds == nullptr || band < 1 || band > ds->GetRasterCount())
            return 0;
        auto *b = dynamic_cast<VRTSourcedRasterBand *>(ds->GetRasterBand(band));
        if (b == nullptr)
            return 0;
        int dropped = 0;
        for_each_source(b, [&dropped](VRTSource *s) {
            if (!s->IsSimpleSource())
                return;
            GDALRasterBand *sb =
                SourceAccess::band_if_open(static_cast<VRTSimpleSource *>(s));
            if (sb != nullptr && sb->FlushCache(false) == CE_None)
                dropped++;
        });
        return dropped;
    } catch (...) {
        return 0;
    }
}
