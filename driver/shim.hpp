// shim.hpp (C++ only): the C++ classes GDAL requires, hollow: each override
// forwards to one C function (read.c) or to the primary handle
// (GDALProxyDataset and GDALProxyRasterBand forward everything that is not
// pixel reading).
#ifndef PVRT_SHIM_H
#define PVRT_SHIM_H

#include <gdal_priv.h>

// Builds the dataset for an Open that pvrt_dataset_open accepted; takes
// ownership of h (closes it on failure). Returns nullptr after a CPLError.
GDALDataset *pvrt_shim_new_dataset(struct pvrt_dataset *h,
                                   const char *filename);

#endif
