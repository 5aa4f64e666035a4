/* rowio.c: moving one row between GDAL buffers and doubles.
 *
 * Every pixel function works a row at a time: sources are converted to a
 * double row, the function computes, and one GDALCopyWords per row writes
 * the result with GDAL's own conversion rules (rounding, clamping), which is
 * what makes our outputs match GDAL's functions bit for bit. */
#include "pf_private.h"

void pvrt__row_read(const void *src, GDALDataType src_type, int width, int y,
                    double *out)
{
    const int size = GDALGetDataTypeSizeBytes(src_type);
    const GByte *row = (const GByte *)src + (size_t)y * (size_t)width * size;
    GDALCopyWords(row, src_type, size, out, GDT_Float64, sizeof(double), width);
}

void pvrt__row_write(const double *row, void *dst, GDALDataType dst_type,
                     int pixel_space, int line_space, int width, int y)
{
    GByte *line = (GByte *)dst + (size_t)y * (size_t)line_space;
    GDALCopyWords(row, GDT_Float64, sizeof(double), line, dst_type, pixel_space,
                  width);
}
