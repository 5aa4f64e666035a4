// gdal_compat.hpp (C++ only): the GDAL C++ API changes between 3.6 and
// 3.13 that the shim meets, in one place. Each macro is named for the
// change it covers; the PVRT_GDAL_* switches come from compile probes
// (cmake/gdal_api.cmake), so releases with no chroot here (3.7 to 3.9,
// 3.11, 3.12) get the spelling their headers want. Without the probes
// (another build system), the GDAL 3.6 spelling is assumed.
#ifndef PVRT_GDAL_COMPAT_HPP
#define PVRT_GDAL_COMPAT_HPP

#include <gdal_priv.h>

// GDALProxyRasterBand::RefUnderlyingRasterBand gained `bool bForceOpen`.
#if defined(PVRT_GDAL_PROXY_REF_FORCE_OPEN) && PVRT_GDAL_PROXY_REF_FORCE_OPEN
#define PVRT_REF_UNDERLYING_PARAMS bool
#else
#define PVRT_REF_UNDERLYING_PARAMS
#endif

// GDALDataset::GetDriver() became const.
#if defined(PVRT_GDAL_GETDRIVER_CONST) && PVRT_GDAL_GETDRIVER_CONST
#define PVRT_GETDRIVER_CONST const
#else
#define PVRT_GETDRIVER_CONST
#endif

// GDALMajorObject::GetMetadata() returns CSLConstList instead of char **.
#if defined(PVRT_GDAL_METADATA_CSLCONSTLIST) && PVRT_GDAL_METADATA_CSLCONSTLIST
typedef CSLConstList pvrt_metadata_list;
#else
typedef char **pvrt_metadata_list;
#endif

// GDALProxyRasterBand hands GetLockedBlockRef, TryGetLockedBlockRef,
// FlushBlock and FlushCache to the underlying band (GDAL 3.10 has it, 3.6
// not): a block loop over a proxy band then reads the VRT's own blocks.
#if defined(PVRT_GDAL_PROXY_FORWARDS_BLOCKS) && PVRT_GDAL_PROXY_FORWARDS_BLOCKS
#define PVRT_PROXY_FORWARDS_BLOCKS 1
#else
#define PVRT_PROXY_FORWARDS_BLOCKS 0
#endif

// VRTSourcedRasterBand keeps its sources in a vector of unique_ptr
// (m_papoSources, GDAL 3.13) instead of nSources and papoSources.
#if defined(PVRT_GDAL_VRT_SOURCES_VECTOR) && PVRT_GDAL_VRT_SOURCES_VECTOR
#define PVRT_VRT_SOURCES_VECTOR 1
#else
#define PVRT_VRT_SOURCES_VECTOR 0
#endif

#endif
