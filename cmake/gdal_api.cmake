# gdal_api.cmake: compile probes for the GDAL C++ API changes the shim meets
# between GDAL 3.6 and 3.13. Each probe is named for the change it detects
# and becomes a 0/1 compile definition that driver/gdal_compat.hpp turns
# into the spelling this GDAL wants. A probe, not a version number: it is
# right for the releases in between that no chroot here has (3.7 to 3.9,
# 3.11, 3.12).
include(CheckCXXSourceCompiles)
include(CMakePushCheckState)

cmake_push_check_state(RESET)
set(CMAKE_REQUIRED_LIBRARIES GDAL::GDAL)
set(CMAKE_REQUIRED_QUIET ON)

# GDALProxyRasterBand::RefUnderlyingRasterBand(bool bForceOpen) const
check_cxx_source_compiles([[
#include <gdal_proxy.h>
struct B : GDALProxyRasterBand {
  GDALRasterBand *RefUnderlyingRasterBand(bool) const override { return nullptr; }
};
int main() { return 0; }
]] PVRT_GDAL_PROXY_REF_FORCE_OPEN)

# GDALDataset::GetDriver() const
check_cxx_source_compiles([[
#include <gdal_proxy.h>
struct D : GDALProxyDataset {
  GDALDriver *GetDriver() const override { return nullptr; }
};
int main() { return 0; }
]] PVRT_GDAL_GETDRIVER_CONST)

# GDALMajorObject::GetMetadata() returns CSLConstList
check_cxx_source_compiles([[
#include <gdal_proxy.h>
struct D : GDALProxyDataset {
  CSLConstList GetMetadata(const char *) override { return nullptr; }
};
int main() { return 0; }
]] PVRT_GDAL_METADATA_CSLCONSTLIST)

# GDALProxyRasterBand forwards GetLockedBlockRef & co to the underlying band
# (virtual in GDALRasterBand)
check_cxx_source_compiles([[
#include <gdal_proxy.h>
struct B : GDALProxyRasterBand {
  GDALRasterBlock *GetLockedBlockRef(int, int, int) override { return nullptr; }
};
int main() { return 0; }
]] PVRT_GDAL_PROXY_FORWARDS_BLOCKS)

# VRTSourcedRasterBand's sources: std::vector<std::unique_ptr<VRTSource>>
# m_papoSources (GDAL 3.13) instead of nSources and papoSources
check_cxx_source_compiles([[
#include <vrtdataset.h>
int main() {
  VRTSourcedRasterBand *b = nullptr;
  return b ? static_cast<int>(b->m_papoSources.size()) : 0;
}
]] PVRT_GDAL_VRT_SOURCES_VECTOR)

cmake_pop_check_state()

foreach(probe PVRT_GDAL_PROXY_REF_FORCE_OPEN PVRT_GDAL_GETDRIVER_CONST
        PVRT_GDAL_METADATA_CSLCONSTLIST PVRT_GDAL_PROXY_FORWARDS_BLOCKS
        PVRT_GDAL_VRT_SOURCES_VECTOR)
  if(${probe})
    add_compile_definitions(${probe}=1)
  else()
    add_compile_definitions(${probe}=0)
  endif()
  message(STATUS "GDAL API: ${probe} = ${${probe}}")
endforeach()
